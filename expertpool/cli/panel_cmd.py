"""`expertpool panel build | show | list | replace | export`: the program officer's main job."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from expertpool.cli.app import JSON_OPTION, ExpertPoolTyper, console, err_console, print_json, progress_for, state

panel_app = ExpertPoolTyper(name="panel", help="评审专家组：按规则抽取、查看、替换、导出（项目主管）。")


def register(app: typer.Typer) -> None:
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
                 "time_limit_s": time_limit, "name": name, "no_projects": no_projects or None,
                 "same_day": "warn" if allow_same_day else None}
    panel_spec = load_spec(spec, overrides)
    if panel_spec.size % 2 == 0 and not json_output:
        err_console().print(f"[yellow]提示：[/]专家组人数为偶数（{panel_spec.size}），表决可能出现平票。")
    outcome = build_panel(store, actor, panel_spec, progress=progress_for(ctx, json_output), save=not dry_run)
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
    from expertpool.services.panels import get_panel, reproduce_panel

    store, actor = state(ctx).authorise("panel", "查看评审专家组")
    if reproduce:
        report_reproduction(panel_id, *reproduce_panel(store, actor, panel_id), json_output, render_panel, "专家组")
        return
    record = get_panel(store, actor, panel_id)
    if json_output:
        print_json(record.to_document())
    else:
        render_panel(record)


@panel_app.command("list")
def list_(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
    """列出已保存的评审专家组。

    Example: expertpool panel list
    """
    from rich.table import Table

    from expertpool.services.panels import list_panels, mode_label

    store, actor = state(ctx).authorise("panel", "查看评审专家组")
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
    expert_id: str = typer.Argument(..., help="要替换的成员编号"),
    reason: str = typer.Option(..., "--reason", help="替换理由（如：本人回避、时间冲突）"),
    json_output: bool = JSON_OPTION,
) -> None:
    """用排名最前、且替换后仍满足全部规则的备选专家替换一名成员，并记录理由。

    Example: expertpool panel replace PNL-20261201-20261201-1a2b3c4d SC-000123 --reason 本人因病无法参加
    """
    from expertpool.services.panels import replace_member

    store, actor = state(ctx).authorise("panel", "替换评审专家")
    record = replace_member(store, actor, panel_id, expert_id, reason, progress=progress_for(ctx, json_output))
    last = record.replaced[-1]
    if json_output:
        print_json(record.to_document())
        return
    console().print(f"已将 {last.out} 替换为 {last.in_}（理由：{last.reason}）。")
    render_panel(record)


@panel_app.command("export")
def export(
    ctx: typer.Context,
    panel_id: str = typer.Argument(..., help="专家组编号"),
    out: Path = typer.Option(..., "--out", "-o", help="输出文件：.xlsx 或 .csv"),
) -> None:
    """把评审专家组（成员、备选与各成员的替补）导出为 Excel 或 CSV。

    Example: expertpool panel export PNL-20261201-20261201-1a2b3c4d --out 专家组.xlsx
    """
    from expertpool.services.panels import export_panel

    store, actor = state(ctx).authorise("panel", "导出评审专家组")
    path = export_panel(store, actor, panel_id, out)
    console().print(f"已导出到 {path}")


def render_panel(record) -> None:
    """A `PanelRecord` as the officer reads it: head line, pool figures, members, the field × region
    coverage the service computed, backups or each member's replacements, replacements made, and
    the diagnosis when the rules cannot all hold."""
    from rich.table import Table

    from expertpool.domain import taxonomy
    from expertpool.services.panels import mode_label
    out = console()
    lottery = record.lottery
    head = (f"{record.name}  编号 {record.id or '（未保存）'}  评审日期 {record.review_date}  "
            f"方式 {mode_label(record.strategy)}  种子 {record.seed}  求解状态 {record.status}")
    if record.gap is not None:
        head += f"  最优性差距 {record.gap:.2%}"
    out.print(head, highlight=False)
    pool = record.pool
    out.print(f"专家库 {pool.experts} 人，符合条件 {pool.eligible} 人"
              + (f"，合格（相关度达标）{pool.qualified} 人" if lottery else "")
              + "；排除：" + "，".join(f"{k} {v}" for k, v in record.exclusions.items()), highlight=False)
    if not record.checked_for_conflicts:
        out.print("[bold red]注意：未做利益冲突审查[/]——抽取时没有申报项目（--no-projects），"
                  "成员未按与项目的利益冲突排除；用于评审前须另行审查。", highlight=False)
    if lottery:
        out.print(f"入选概率：最低 {record.probability_min:.4f}，最高 {record.probability_max:.4f}", highlight=False)
    if record.members:
        out.print(members_table(f"成员（{len(record.members)}）", record.members, lottery))
        grid = Table(title="领域 × 地区 覆盖")
        grid.add_column("领域")
        for region in taxonomy.REGIONS:
            grid.add_column(region, justify="right")
        for f, counts in record.coverage().items():
            grid.add_row(f, *(str(counts[r]) if counts[r] else "[red]0[/]" for r in taxonomy.REGIONS))
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
        out.print(f"替换记录：{r.out} → {r.in_}（{r.reason}，{r.by}，{r.at}）", highlight=False)
    if record.quota_counts:
        out.print("配额：" + "；".join(q.text() for q in record.quota_counts), highlight=False)
    for warning in record.warnings:
        out.print(f"[yellow]警告：[/]{warning}", highlight=False)
    print_diagnosis(record.diagnosis, "无法同时满足全部规则：", "可行的最小放宽：")


def members_table(title: str, members, lottery: bool):
    """Drawn experts as a rich table (with their selection probability in lottery mode)."""
    from rich.table import Table

    table = Table(title=title)
    for header in ("#", "编号", "姓名", "地区", "单位", "职称", "领域", "相关度") + (("入选概率",) if lottery else ()):
        table.add_column(header, no_wrap=header in ("#", "编号", "姓名"), overflow="fold")
    for i, m in enumerate(members, 1):
        row = [str(i), m.id, m.name, m.region, m.institution, m.title, "、".join(m.fields), f"{m.relevance:.2f}"]
        if lottery:
            row.append(f"{m.probability or 0:.4f}")
        table.add_row(*row)
    return table


def print_diagnosis(diagnosis, heading: str, relaxed_heading: str) -> None:
    """Why the rules cannot all hold, and the smallest relaxations found."""
    if not diagnosis:
        return
    out = console()
    out.print(f"[bold red]{heading}[/]")
    for message in diagnosis.messages:
        out.print(f"  • {message}", highlight=False)
    if diagnosis.relaxations:
        out.print(f"[bold]{relaxed_heading}[/]")
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
                        "[red]重新抽取结果不同：专家库数据已变化。[/]")
    if not same:
        raise typer.Exit(1)
