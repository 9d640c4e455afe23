"""`expertpool integrity add | amend | revoke | list | show`: the integrity office's records."""
from __future__ import annotations

import datetime as dt
from typing import List, Optional

import typer

from expertpool.cli.app import JSON_OPTION, ExpertPoolTyper, console, print_json, state

REASON_OPTION = typer.Option(..., "--reason", help="更改理由（必填，如依据的处理决定）；写入审计日志")


def register(app: typer.Typer) -> None:
    sub = ExpertPoolTyper(name="integrity", help="科研诚信记录：录入、修改、撤销、查询（诚信审核员）。")
    app.add_typer(sub, name="integrity")

    @sub.command("add")
    def add(
        ctx: typer.Context,
        expert_id: str = typer.Argument(..., help="专家编号（四川或重庆名单中的编号均可）"),
        category: str = typer.Option(..., "--category", help="失信行为类型，如 抄袭剽窃、伪造篡改、署名不当"),
        severity: str = typer.Option(..., "--severity", help="严重程度：一般 / 较重 / 严重"),
        start: str = typer.Option(..., "--start", help="处理开始日期，如 2026-01-01、2026/1/1、2026年1月1日"),
        end: Optional[str] = typer.Option(None, "--end", help="处理结束日期（当天起不再限制）；不给出 = 永久"),
        sanction: List[str] = typer.Option([], "--sanction",
                                           help="处理措施（可多次给出）；默认 取消评审专家资格"),
        issuer: Optional[str] = typer.Option(None, "--issuer", help="处理机构，如 科技部、四川省科学技术厅"),
        doc_no: Optional[str] = typer.Option(None, "--doc-no", help="处理决定文号"),
        decision_date: Optional[str] = typer.Option(None, "--decision-date", help="处理决定日期"),
        record_id: Optional[str] = typer.Option(None, "--id", help="记录编号（默认自动生成 IR-年份-序号）"),
        reason: str = REASON_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """录入一条科研诚信记录（版本 1），并写入审计日志。

        Example: expertpool integrity add SC-000123 --category 抄袭剽窃 --severity 一般 --start 2026-01-01 --end 2029-01-01 --issuer 四川省科学技术厅 --doc-no 川科监〔2025〕12号 --reason 依据处理决定录入
        """
        from expertpool.services.integrity import add_record

        store, actor = state(ctx).authorise("integrity.write", "录入科研诚信记录")
        change = add_record(store, actor, expert_id, category=category, severity=severity, start=start, end=end,
                            sanctions=sanction, issuer=issuer, document_no=doc_no, decision_date=decision_date,
                            record_id=record_id, reason=reason)
        if json_output:
            print_json(change.to_json())
            return
        console().print(f"已录入科研诚信记录 {change.record.id}（专家 {change.record.expert_id}，版本 1，"
                        f"审计日志第 {change.audit.seq} 条）。", highlight=False, markup=False)
        render_record(change.record)

    @sub.command("amend")
    def amend(
        ctx: typer.Context,
        record_id: str = typer.Argument(..., help="记录编号"),
        category: Optional[str] = typer.Option(None, "--category", help="失信行为类型"),
        severity: Optional[str] = typer.Option(None, "--severity", help="严重程度：一般 / 较重 / 严重"),
        start: Optional[str] = typer.Option(None, "--start", help="处理开始日期"),
        end: Optional[str] = typer.Option(None, "--end", help="处理结束日期"),
        permanent: bool = typer.Option(False, "--permanent", help="改为永久（清除结束日期）"),
        sanction: List[str] = typer.Option([], "--sanction", help="处理措施（可多次给出，整体替换原有措施）"),
        issuer: Optional[str] = typer.Option(None, "--issuer", help="处理机构（给出空字符串则清除）"),
        doc_no: Optional[str] = typer.Option(None, "--doc-no", help="处理决定文号（给出空字符串则清除）"),
        decision_date: Optional[str] = typer.Option(None, "--decision-date", help="处理决定日期"),
        status: Optional[str] = typer.Option(None, "--status", help="状态：active / revoked / expired（有效/已撤销/已到期）"),
        expert: Optional[str] = typer.Option(None, "--expert", help="改正记录所属的专家编号"),
        expected_version: Optional[int] = typer.Option(
            None, "--expected-version",
            help="您所依据的版本号（见 integrity show）；若他人已改动则拒绝写入（退出码 4）"),
        reason: str = REASON_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """修改科研诚信记录的指定字段，保留旧版本；他人同时修改时拒绝写入（退出码 4）。

        Example: expertpool integrity amend IR-2026-000001 --end 2027-06-30 --reason 复核后缩短处理期限 --expected-version 1
        """
        from expertpool.errors import InputError
        from expertpool.services.integrity import amend_record

        if permanent and end is not None:
            raise InputError("--end 与 --permanent 只能给出一个")
        changes: dict = {}
        for key, value in (("category", category), ("severity", severity), ("start", start), ("end", end),
                           ("issuer", issuer), ("document_no", doc_no), ("decision_date", decision_date),
                           ("status", status), ("expert_id", expert)):
            if value is not None:
                changes[key] = value
        if permanent:
            changes["end"] = None
        if sanction:
            changes["sanctions"] = sanction
        store, actor = state(ctx).authorise("integrity.write", "修改科研诚信记录")
        change = amend_record(store, actor, record_id, changes, reason=reason, expected_version=expected_version)
        if json_output:
            print_json(change.to_json())
            return
        render_change(change, "已修改")

    @sub.command("revoke")
    def revoke(
        ctx: typer.Context,
        record_id: str = typer.Argument(..., help="记录编号"),
        expected_version: Optional[int] = typer.Option(None, "--expected-version",
                                                       help="您所依据的版本号；若他人已改动则拒绝写入（退出码 4）"),
        reason: str = REASON_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """撤销一条科研诚信记录（状态改为 revoked，不再限制评审），保留旧版本。

        Example: expertpool integrity revoke IR-2026-000001 --reason 处理决定已被复核撤销
        """
        from expertpool.services.integrity import revoke_record

        store, actor = state(ctx).authorise("integrity.write", "撤销科研诚信记录")
        change = revoke_record(store, actor, record_id, reason=reason, expected_version=expected_version)
        if json_output:
            print_json(change.to_json())
            return
        render_change(change, "已撤销")

    @sub.command("list")
    def list_(
        ctx: typer.Context,
        expert: Optional[str] = typer.Option(None, "--expert", help="只列该专家的记录"),
        status: Optional[str] = typer.Option(None, "--status", help="只列该状态：active / revoked / expired"),
        active_on: Optional[str] = typer.Option(None, "--active-on", help="只列该日期处于处理期内的有效记录"),
        json_output: bool = JSON_OPTION,
    ) -> None:
        """列出科研诚信记录（当前版本），可按专家、状态、日期筛选。

        Example: expertpool integrity list --expert SC-000123 --active-on 2026-12-01
        """
        from expertpool.services.integrity import list_records, record_view
        from expertpool.services.eligibility import parse_review_date

        store, actor = state(ctx).authorise("integrity.read", "查看科研诚信记录")
        records = list_records(store, actor, expert_id=expert, status=status, active_on=active_on)
        day = parse_review_date(active_on, "--active-on") if active_on else None
        if json_output:
            print_json([record_view(r, day) for r in records])
            return
        render_list(records, day or dt.date.today())

    @sub.command("show")
    def show(
        ctx: typer.Context,
        record_id: str = typer.Argument(..., help="记录编号"),
        json_output: bool = JSON_OPTION,
    ) -> None:
        """显示一条科研诚信记录：当前内容、全部历史版本及相关审计日志。

        Example: expertpool integrity show IR-2026-000001 --json
        """
        from expertpool.services.integrity import record_history

        store, actor = state(ctx).authorise("integrity.read", "查看科研诚信记录")
        history = record_history(store, actor, record_id)
        if json_output:
            print_json(history.to_json())
            return
        render_history(history)


_LABELS = {"id": "记录编号", "version": "版本", "expert_id": "专家编号", "category": "失信行为类型",
           "severity": "严重程度", "decision_date": "决定日期", "start": "处理开始", "end": "处理结束",
           "sanctions": "处理措施", "issuer": "处理机构", "document_no": "文号", "status": "状态",
           "entered_by": "录入人", "entered_at": "录入时间"}


def _fmt(key: str, value) -> str:
    """A field's value as display text (printed as written: the console has markup off)."""
    from expertpool.services.integrity import STATUS_LABELS

    if key == "end" and value is None:
        return "永久"
    if key == "status":
        return f"{STATUS_LABELS.get(value, value)}（{value}）"
    if isinstance(value, list):
        return "、".join(map(str, value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return "" if value is None else str(value)


def render_record(record) -> None:
    from rich.table import Table

    table = Table(show_header=False)
    table.add_column("项", style="bold")
    table.add_column("值", overflow="fold")
    for key, label in _LABELS.items():
        table.add_row(label, _fmt(key, getattr(record, key)))
    console().print(table)


def render_change(change, verb: str) -> None:
    out = console()
    out.print(f"{verb}科研诚信记录 {change.record.id}：版本 {change.previous.version} → {change.record.version}"
              f"（审计日志第 {change.audit.seq} 条）。", highlight=False, markup=False)
    before, after = change.previous.model_dump(), change.record.model_dump()
    for key, label in _LABELS.items():
        if key not in ("version",) and before.get(key) != after.get(key):
            out.print(f"  {label}：{_fmt(key, before.get(key))} → {_fmt(key, after.get(key))}", highlight=False)


def render_list(records, day: dt.date) -> None:
    from rich.table import Table

    from expertpool.domain.eligibility import bars_on

    out = console()
    table = Table(title=f"科研诚信记录（{len(records)} 条）")
    for header in ("记录编号", "专家编号", "类型", "严重程度", "处理期", "处理措施", "处理机构", "状态",
                   f"{day.isoformat()} 限制评审"):
        table.add_column(header, overflow="fold", no_wrap=header in ("记录编号", "专家编号"))
    for r in records:
        table.add_row(_fmt("id", r.id), _fmt("expert_id", r.expert_id), r.category, r.severity,
                      f"{r.start}–{r.end or '永久'}", _fmt("sanctions", r.sanctions), _fmt("issuer", r.issuer),
                      _fmt("status", r.status),
                      "是" if bars_on(r, day) else "否")
    out.print(table)
    if not records:
        out.print("没有符合条件的记录。")


def render_history(history) -> None:
    from rich.table import Table

    from expertpool.services.access import ROLES

    out = console()
    render_record(history.record)
    versions = Table(title=f"历史版本（{len(history.versions)}）")
    for header in ("版本", "严重程度", "处理期", "处理措施", "状态"):
        versions.add_column(header, overflow="fold")
    for v in history.versions:
        versions.add_row(str(v.version), v.severity, f"{v.start}–{v.end or '永久'}", _fmt("sanctions", v.sanctions),
                         _fmt("status", v.status))
    out.print(versions)
    entries = Table(title=f"审计日志（{len(history.audit)}）")
    for header in ("序号", "时间", "用户", "角色", "操作", "理由"):
        entries.add_column(header, overflow="fold", no_wrap=header in ("序号", "时间", "操作"))
    for e in history.audit:
        entries.add_row(str(e.seq), e.at.astimezone().strftime("%Y-%m-%d %H:%M"), _fmt("user", e.user),
                        ROLES.get(e.role, e.role), e.action, _fmt("reason", e.reason))
    out.print(entries)
