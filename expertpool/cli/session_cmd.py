"""`expertpool session plan | show | list | replace | export`: a review session (评审会) of many
groups on one day, each with its own panel, no expert in two groups."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from expertpool.cli.app import JSON_OPTION, ExpertPoolTyper, console, print_json, progress_for, state
from expertpool.cli.panel_cmd import members_table, print_diagnosis, report_reproduction

session_app = ExpertPoolTyper(name="session", help="评审会：多个分组同日评审，各组专家一次联合抽取、查看、替换、导出（项目主管）。")


def register(app: typer.Typer) -> None:
    app.add_typer(session_app, name="session")


@session_app.command("plan")
def plan(
    ctx: typer.Context,
    spec: Path = typer.Argument(..., help="评审会规则文件（TOML），见 README「评审会」"),
    mode: Optional[str] = typer.Option(None, "--mode", help="抽取方式：lottery（整场公平随机，默认）或 best（总相关度最优）"),
    seed: Optional[int] = typer.Option(None, "--seed", help="随机种子（同一种子、同一数据得到同一结果）"),
    groups: Optional[int] = typer.Option(None, "--groups", help="组数（按 group_by 自动分组时）"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="求解时间上限（秒）"),
    allow_same_day: bool = typer.Option(False, "--allow-same-day",
                                        help="允许抽取同日已入选其他专家组的专家（给出警告），默认不抽取"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只抽取和显示，不保存"),
    json_output: bool = JSON_OPTION,
) -> None:
    """安排评审会：按规则一次抽取各组专家，一位专家只入一个组，各组只回避本组的申报项目。

    Example: expertpool session plan data/samples/session.toml --seed 20261201
    """
    from expertpool.services.sessions import load_session_spec, plan_session

    store, actor = state(ctx).authorise("panel", "安排评审会")
    session_spec = load_session_spec(spec, {"mode": mode, "seed": seed, "groups": groups, "time_limit_s": time_limit,
                                            "same_day": "warn" if allow_same_day else None})
    outcome = plan_session(store, actor, session_spec, progress=progress_for(ctx, json_output), save=not dry_run)
    if json_output:
        print_json({"id": outcome.session_id, **outcome.document})
    else:
        render_session(outcome.record)
    if not outcome.has_panel:
        raise typer.Exit(1)


@session_app.command("show")
def show(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., help="评审会编号"),
    group: Optional[str] = typer.Option(None, "--group", help="只看这一组的成员"),
    reproduce: bool = typer.Option(False, "--reproduce", help="用保存的规则和种子在当前数据上重新抽取，并核对是否相同"),
    json_output: bool = JSON_OPTION,
) -> None:
    """查看已保存的评审会：各组项目、成员、备选与求解状态；--reproduce 重新抽取并核对。

    Example: expertpool session show SES-20261201-20261201-1a2b3c4d --reproduce
    """
    from expertpool.services.sessions import get_session, reproduce_session

    store, actor = state(ctx).authorise("panel", "查看评审会")
    if reproduce:
        report_reproduction(session_id, *reproduce_session(store, actor, session_id,
                                                           progress=progress_for(ctx, json_output)), json_output,
                            lambda record: render_session(record, group), "评审会")
        return
    record = get_session(store, actor, session_id)
    if json_output:
        print_json(record.to_document())
    else:
        render_session(record, group)


@session_app.command("list")
def list_(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
    """列出已保存的评审会。

    Example: expertpool session list
    """
    from rich.table import Table

    from expertpool.domain.panel.labels import mode_label, status_label
    from expertpool.services.sessions import list_sessions

    store, actor = state(ctx).authorise("panel", "查看评审会")
    sessions = list_sessions(store, actor)
    if json_output:
        print_json([s.model_dump(mode="json") for s in sessions])
        return
    table = Table(title=f"评审会（{len(sessions)}）")
    for header in ("编号", "名称", "评审日期", "方式", "种子", "组数", "人数", "状态", "创建人", "创建时间"):
        table.add_column(header)
    for s in sessions:
        table.add_row(*(str(v if v is not None else "") for v in (
            s.id, s.name, s.review_date, mode_label(s.mode), s.seed, s.groups, s.members, status_label(s.status),
            s.created_by, s.created_at)))
    console().print(table)


@session_app.command("replace")
def replace(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., help="评审会编号"),
    expert_id: str = typer.Argument(..., help="要替换的成员编号"),
    reason: str = typer.Option(..., "--reason", help="替换理由（如：本人回避、时间冲突）"),
    group: Optional[str] = typer.Option(None, "--group", help="成员所在的组（默认按编号查找）"),
    json_output: bool = JSON_OPTION,
) -> None:
    """替换评审会任一组的一名成员：保持该组全部规则，新成员不在其他组、不在同日其他专家组中。

    Example: expertpool session replace SES-20261201-20261201-1a2b3c4d SC-000123 --reason 本人因病无法参加
    """
    from expertpool.services.sessions import replace_session_member

    store, actor = state(ctx).authorise("panel", "替换评审会专家")
    record = replace_session_member(store, actor, session_id, expert_id, reason, group=group,
                                    progress=progress_for(ctx, json_output))
    last = record.replaced[-1]
    if json_output:
        print_json(record.to_document())
        return
    console().print(f"{last.group}：已将 {last.out} 替换为 {last.in_}（理由：{last.reason}）。")
    render_session(record, last.group)


@session_app.command("export")
def export(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., help="评审会编号"),
    out: Path = typer.Option(..., "--out", "-o", help="输出文件：.xlsx（总览加每组一页）或 .csv"),
) -> None:
    """把整场评审会导出为 Excel（总览一页、每组一页）或 CSV。

    Example: expertpool session export SES-20261201-20261201-1a2b3c4d --out 评审会.xlsx
    """
    from expertpool.services.sessions import export_session

    store, actor = state(ctx).authorise("panel", "导出评审会")
    path = export_session(store, actor, session_id, out)
    console().print(f"已导出到 {path}")


def render_session(record, only: str | None = None) -> None:
    """A `SessionRecord` as the officer reads it: head line, the summary per group, then each
    group's members (or one group's), warnings, replacements and the diagnosis."""
    from rich.table import Table

    from expertpool.domain.panel.labels import mode_label, status_label

    out = console()
    head = (f"{record.name}  编号 {record.id or '（未保存）'}  评审日期 {record.review_date}  "
            f"方式 {mode_label(record.strategy)}  种子 {record.seed}  求解状态 {status_label(record.status)}")
    if record.gap is not None:
        head += f"  最优性差距 {record.gap:.2%}"
    out.print(head, highlight=False)
    pool = record.pool
    out.print(f"专家库 {pool.experts} 人，可入选（至少一组）{pool.eligible} 人"
              + (f"，合格 {pool.qualified} 人" if record.lottery else "")
              + "；共同排除：" + "，".join(f"{k} {v}" for k, v in record.exclusions.items()), highlight=False)
    if record.lottery and record.probability_min is not None:
        out.print(f"整场入选概率：最低 {record.probability_min:.4f}，最高 {record.probability_max:.4f}", highlight=False)
    summary = Table(title=f"各组概况（{len(record.groups)} 组）")
    for header in ("分组", "项目", "人数", "可选", "冲突排除", "相关度合计", "成员"):
        summary.add_column(header, overflow="fold")
    for g in record.groups:
        summary.add_row(g.name, str(len(g.projects)), str(len(g.members)), str(g.pool.eligible),
                        str(g.exclusions.get("与申报项目有利益冲突", 0)), f"{g.relevance_sum:.2f}",
                        "、".join(m.name for m in g.members))
    out.print(summary)
    for g in record.groups:
        if only is not None and g.name != only:
            continue
        if not g.members:
            continue
        out.print(members_table(f"{g.name}（项目 {'、'.join(g.projects)}）", g.members, record.lottery))
        if g.quota_counts:
            out.print("配额：" + "；".join(q.text() for q in g.quota_counts), highlight=False)
        if g.backups:
            out.print("备选（依次替补）：" + "、".join(f"{b.id} {b.name}" for b in g.backups), highlight=False)
    for r in record.replaced:
        out.print(f"替换记录：{r.group} {r.out} → {r.in_}（{r.reason}，{r.by}，{r.at}）", highlight=False)
    for warning in record.warnings:
        out.print(f"[yellow]警告：[/]{escape(warning)}", highlight=False, markup=True)
    print_diagnosis(record.diagnosis, "评审会无法按规则组成：", "可行的最小放宽（已对整场重新求解验证）：")
