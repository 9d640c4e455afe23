"""`expertpool panel build | show | list | replace | export`: the program officer's main job (the review
after the draw — invite, respond, confirm, unseal, evaluate — is in review_cmd)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.text import Text

from expertpool.cli.app import JSON_OPTION, ExpertPoolTyper, console, err_console, print_json, progress_for, state
from expertpool.errors import InputError

panel_app = ExpertPoolTyper(name="panel", help="评审专家组：抽取、邀请、补抽、监督确认、密封、导出抽取记录表、评价。")


def register(app: typer.Typer) -> None:
    from expertpool.cli import review_cmd  # noqa: F401 — registers invite, respond, confirm, unseal, evaluate

    app.add_typer(panel_app, name="panel")


@panel_app.command("build")
def build(
    ctx: typer.Context,
    spec: Optional[Path] = typer.Option(None, "--spec", help="规则文件（TOML），见 README 中的示例"),
    projects: List[str] = typer.Option([], "--projects", "-p", help="申报项目：JSONL 文件或库中的项目编号（可多次给出）"),
    review_date: Optional[str] = typer.Option(None, "--review-date", help="评审日期，如 2026-12-01"),
    size: Optional[int] = typer.Option(None, "--size", help="专家组人数（通常为奇数）"),
    mode: Optional[str] = typer.Option(None, "--mode", help="抽取方式：lottery（公平随机，默认）或 best（最相关）"),
    seed: Optional[int] = typer.Option(None, "--seed", help="随机种子（同一种子、同一数据得到同一专家组）"),
    backups: Optional[int] = typer.Option(None, "--backups", help="备选专家人数"),
    max_per_institution: Optional[int] = typer.Option(None, "--max-per-institution", help="同一法人单位最多人数"),
    max_probability: Optional[float] = typer.Option(None, "--max-probability", help="抽签模式下任一专家的最大入选概率"),
    min_senior: Optional[float] = typer.Option(None, "--min-full-senior-share", help="正高级职称最低占比"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="求解时间上限（秒）"),
    name: Optional[str] = typer.Option(None, "--name", help="专家组名称"),
    place: Optional[str] = typer.Option(None, "--place", help="评审地点（写入邀请和抽取记录表）"),
    sealed_until: Optional[str] = typer.Option(None, "--sealed-until",
                                               help="名单密封至该时间（如 2026-12-01T08:00+08:00；不带时区按本机时区）；"
                                                    "密封期间只显示人数，种子由系统生成"),
    allow_same_day: bool = typer.Option(False, "--allow-same-day",
                                        help="允许抽取同日已入选其他专家组的专家（给出警告），默认不抽取"),
    no_projects: bool = typer.Option(False, "--no-projects",
                                     help="不针对申报项目抽取（不做利益冲突审查；专家组上会注明）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只抽取和显示，不保存"),
    json_output: bool = JSON_OPTION,
) -> None:
    """按规则抽取评审专家组：资格、利益冲突、科研诚信、工作量、领域与地区覆盖、职称与单位限制。

    Example: expertpool panel build --spec data/samples/panel.toml --seed 20261201
    """
    from expertpool.services.panels import build_panel, load_spec

    store, actor = state(ctx).authorise("panel", "抽取评审专家组")
    overrides = {"projects": tuple(projects) or None, "review_date": review_date, "size": size, "mode": mode,
                 "seed": seed, "backups": backups, "max_per_institution": max_per_institution,
                 "max_probability": max_probability, "min_full_senior_share": min_senior,
                 "time_limit_s": time_limit, "name": name, "place": place,
                 "no_projects": no_projects or None, "same_day": "warn" if allow_same_day else None}
    until = None
    if sealed_until is not None:
        from expertpool.services.panels import parse_moment

        if seed is not None:
            raise InputError("--seed 与 --sealed-until 不能同时使用：密封抽取的随机种子由系统生成并随名单密封，"
                             "否则任何人都能用同一种子重现名单")
        until = parse_moment(sealed_until, "--sealed-until")
    panel_spec = load_spec(spec, overrides)
    if panel_spec.size % 2 == 0 and not json_output:
        err_console().print(f"[yellow]提示：[/]专家组人数为偶数（{panel_spec.size}），表决可能出现平票。", markup=True)
    outcome = build_panel(store, actor, panel_spec, progress=progress_for(ctx, json_output), save=not dry_run,
                          sealed_until=until)
    if json_output:
        print_json({"id": outcome.panel_id, **outcome.document})
    else:
        render_panel(outcome.record)
    if not outcome.has_panel:
        raise typer.Exit(1)


@panel_app.command("show")
def show(
    ctx: typer.Context,
    panel_id: str = typer.Argument(..., help="专家组编号"),
    reproduce: bool = typer.Option(False, "--reproduce", help="用保存的规则和种子在当前数据上重新抽取，并核对是否相同"),
    json_output: bool = JSON_OPTION,
) -> None:
    """查看已保存的评审专家组（成员、备选、排除原因、种子）；--reproduce 重新抽取并核对。

    Example: expertpool panel show PNL-20261201-20261201-1a2b3c4d --reproduce
    """
    from expertpool.services.panels import reproduce_panel

    store, actor = state(ctx).authorise("panel.read", "查看评审专家组")
    if reproduce:
        report_reproduction(panel_id, *reproduce_panel(store, actor, panel_id, progress=progress_for(ctx, json_output)),
                            json_output, render_panel, "专家组")
        return
    from expertpool.services.panel_view import panel_view

    view = panel_view(store, actor, panel_id)
    if json_output:
        print_json({**view.record.to_document(), "state": view.state.label, "state_counts": view.state.counts,
                    "state_diagnosis": list(view.state.diagnosis),
                    "evaluations": [e.model_dump(mode="json") for e in view.evaluations.values()]})
    else:
        render_panel(view.record, view)


@panel_app.command("list")
def list_(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
    """列出已保存的评审专家组。

    Example: expertpool panel list
    """
    from rich.table import Table

    from expertpool.domain.panel.labels import mode_label
    from expertpool.services.panels import list_panels

    store, actor = state(ctx).authorise("panel.read", "查看评审专家组")
    panels = list_panels(store, actor)
    if json_output:
        print_json([p.model_dump(mode="json") for p in panels])
        return
    table = Table(title=f"评审专家组（{len(panels)}）")
    for header in ("编号", "名称", "评审日期", "方式", "种子", "人数", "创建人", "创建时间"):
        table.add_column(header)
    for p in panels:
        table.add_row(*(str(v if v is not None else "") for v in (
            p.id, p.name, p.review_date, mode_label(p.mode), p.seed, p.members, p.created_by, p.created_at)))
    console().print(table)


@panel_app.command("replace")
def replace(
    ctx: typer.Context,
    panel_id: str = typer.Argument(..., help="专家组编号"),
    expert_id: str = typer.Argument(..., help="要替换的成员：专家编号（四川或重庆名单中的编号均可）或回执码（名单密封期间只能用回执码）"),
    reason: str = typer.Option(..., "--reason", help="替换理由（如：本人回避、时间冲突）"),
    json_output: bool = JSON_OPTION,
) -> None:
    """用排名最前、且替换后仍满足全部规则的备选专家替换一名成员（编号或回执码），并记录理由。

    Example: expertpool panel replace PNL-20261201-20261201-1a2b3c4d SC-000123 --reason 本人因病无法参加
    """
    from expertpool.services.panels import replace_member

    store, actor = state(ctx).authorise("panel", "替换评审专家")
    record = replace_member(store, actor, panel_id, expert_id, reason, progress=progress_for(ctx, json_output))
    if json_output:
        print_json(record.to_document())
        return
    if record.sealed:
        console().print("已替换（名单密封中，不显示成员）。新成员须经 expertpool panel invite 邀请。")
        return
    last = record.replaced[-1]
    console().print(f"已将 {last.out} 替换为 {last.in_}（理由：{last.reason}）。新成员须经 expertpool panel invite 邀请。")
    render_panel(record)


@panel_app.command("export")
def export(
    ctx: typer.Context,
    panel_id: str = typer.Argument(..., help="专家组编号"),
    out: Path = typer.Option(..., "--out", "-o", help="输出文件（.xlsx、.pdf 或 .csv）"),
    format_: Optional[str] = typer.Option(None, "--format", "-f", help="xlsx、pdf 或 csv（默认按文件后缀）"),
) -> None:
    """导出可打印的评审专家抽取记录表（A4 横向）：规则、抽取时间与种子、抽取人与监督人签字栏、成员及联系方式、
    替补、邀请与补抽记录、排除统计、审计锚点。

    Example: expertpool panel export PNL-20261201-20261201-1a2b3c4d --format pdf --out 抽取记录表.pdf
    """
    from expertpool.services.record_sheet import export_record_sheet

    store, actor = state(ctx).authorise("panel.read", "导出评审专家组")
    result = export_record_sheet(store, actor, panel_id, out, format_)
    console().print(f"已导出到 {result.path}（审计锚点 {result.anchor}）", highlight=False, soft_wrap=True)


def render_panel(record, view=None) -> None:
    """A `PanelRecord` as the officer reads it: head line, pool figures, members, the field × region
    coverage the service computed, backups or each member's replacements, replacements made, and
    the diagnosis when the rules cannot all hold; with the `PanelView` of `panel show`, also the
    invitation state, each member's answer and evaluation, the witness and the seal."""
    from rich.table import Table

    from expertpool.domain import taxonomy
    from expertpool.domain.panel.labels import mode_label, status_label
    out = console()
    lottery = record.lottery
    head = (f"{record.name}  编号 {record.id or '（未保存）'}  评审日期 {record.review_date}  "
            f"方式 {mode_label(record.strategy)}  "
            f"种子 {'（密封）' if record.sealed else record.seed}  求解状态 {status_label(record.status)}")
    if record.gap is not None:
        head += f"  最优性差距 {record.gap:.2%}"
    out.print(head, highlight=False)
    pool = record.pool
    out.print(f"专家库 {pool.experts} 人，符合条件 {pool.eligible} 人"
              + (f"，合格（相关度达标）{pool.qualified} 人" if lottery else "")
              + "；排除：" + "，".join(f"{k} {v}" for k, v in record.exclusions.items()), highlight=False)
    if not record.checked_for_conflicts:
        out.print("[bold red]注意：未做利益冲突审查[/]——抽取时没有申报项目（--no-projects），"
                  "成员未按与项目的利益冲突排除；用于评审前须另行审查。", highlight=False, markup=True)
    if lottery:
        out.print(f"入选概率：最低 {record.probability_min:.4f}，最高 {record.probability_max:.4f}", highlight=False)
    if view is not None:
        render_review_state(record, view)
    statuses = view.statuses if view is not None else {}
    evaluations = view.evaluations if view is not None else {}
    if record.members:
        out.print(members_table(f"成员（{len(record.members)}）", record.members, lottery, statuses, evaluations))
        grid = Table(title="领域 × 地区 覆盖")
        grid.add_column("领域")
        for region in taxonomy.REGIONS:
            grid.add_column(region, justify="right")
        for f, counts in record.coverage().items():
            grid.add_row(f, *(str(counts[r]) if counts[r] else Text("0", style="red") for r in taxonomy.REGIONS))
        out.print(grid)
    if record.backups:
        out.print("备选（依次替补）：" + "、".join(f"{b.id} {b.name}" for b in record.backups), highlight=False)
    elif record.spec.get("backups") and record.members:
        out.print("没有能替换任一成员的通用备选（规则较紧：例如某领域只有一名成员覆盖）；"
                  "下表为每位成员的专属替补，panel replace 按此顺序选用。", highlight=False)
    replacements = record.replacements
    if record.members and not record.backups and any(replacements.values()):
        names = {v.id: v.name for v in (*record.alternates, *record.members)}
        table = Table(title="专属替补（依次）")
        table.add_column("成员", no_wrap=True)
        table.add_column("可替补", overflow="fold")
        for m in record.members:
            table.add_row(f"{m.id} {m.name}",
                          "、".join(f"{r} {names.get(r, '')}".strip() for r in replacements.get(m.id, [])) or "—")
        out.print(table)
    for r in record.replaced:
        out.print(f"{'自动补抽' if r.automatic else '替换记录'}：{r.out} → {r.in_}（{r.reason}，{r.by}，{r.at}）",
                  highlight=False)
    if record.quota_counts:
        out.print("配额：" + "；".join(q.text() for q in record.quota_counts), highlight=False)
    for warning in record.warnings:
        out.print(f"[yellow]警告：[/]{escape(warning)}", highlight=False, markup=True)
    print_diagnosis(record.diagnosis, "无法同时满足全部规则：", "可行的最小放宽：")


def members_table(title: str, members, lottery: bool, statuses=None, evaluations=None):
    """Drawn experts as a rich table (with their selection probability in lottery mode, and each
    one's invitation answer and evaluation when given: `panel show`)."""
    from rich.table import Table

    statuses, evaluations = statuses or {}, evaluations or {}
    table = Table(title=title)
    extra = (("邀请",) if statuses else ()) + (("评价",) if evaluations else ())
    for header in ("#", "编号", "姓名", "地区", "单位", "职称", "领域", "相关度") + (("入选概率",) if lottery else ()) + extra:
        table.add_column(header, no_wrap=header in ("#", "编号", "姓名"), overflow="fold")
    for i, m in enumerate(members, 1):
        row = [str(i), m.id, m.name, m.region, m.institution, m.title, "、".join(m.fields), f"{m.relevance:.2f}"]
        if lottery:
            row.append(f"{m.probability or 0:.4f}")
        if statuses:
            row.append(statuses[m.id].label if m.id in statuses else "")
        if evaluations:
            e = evaluations.get(m.id)
            row.append("" if e is None else e.attendance + (f" {e.score} 分" if e.score is not None else ""))
        table.add_row(*row)
    return table


def print_diagnosis(diagnosis, heading: str, relaxed_heading: str) -> None:
    """Why the rules cannot all hold, and the smallest relaxations found."""
    if not diagnosis:
        return
    out = console()
    out.print(f"[bold red]{heading}[/]", markup=True)
    for message in diagnosis.messages:
        out.print(f"  • {message}", highlight=False)
    if diagnosis.relaxations:
        out.print(f"[bold]{relaxed_heading}[/]", markup=True)
        for r in diagnosis.relaxations:
            out.print(f"  • {r.get('message')}", highlight=False)


def report_reproduction(record_id: str, saved, redrawn, same: bool, json_output: bool, render, what: str) -> None:
    """`show --reproduce`: the saved record and whether the redraw matched; exit 1 when it did not."""
    if json_output:
        print_json({"id": record_id, "reproduced": same, "saved": saved.to_document(),
                    "redrawn": redrawn.to_document()})
    else:
        render(saved)
        console().print(f"[green]重新抽取结果与保存的{what}一致。[/]" if same else
                        "[red]重新抽取结果不同：专家库数据已变化。[/]", markup=True)
    if not same:
        raise typer.Exit(1)


def render_review_state(record, view) -> None:
    """The invitation state, the seal and the witness (`panel show`)."""
    out = console()
    state = view.state
    counts = "，".join(f"{k} {v}" for k, v in state.counts.items())
    out.print(f"邀请状态：[bold]{state.label}[/]" + (f"（{counts}）" if counts else ""), highlight=False, markup=True)
    for line in state.diagnosis:
        out.print(f"  • {line}", highlight=False)
    seal = record.seal
    if seal is not None:
        if seal.released:
            out.print(f"名单曾密封至 {seal.until}；{seal.released_at} 由 {seal.released_by} 解封（{seal.release_reason}）",
                      highlight=False)
        else:
            out.print(f"[bold yellow]名单密封至 {seal.until}[/]：成员 {seal.members} 人、备选 {seal.backups} 人，"
                      "解封前不显示（监督人可提前解封：expertpool panel unseal）", highlight=False, markup=True)
    witness = record.witness
    out.print(f"抽取人：{record.created_by or '—'}；监督人："
              + (f"{witness.by}（{witness.at} 确认）" if witness else "尚未确认（expertpool panel confirm）"),
              highlight=False)
