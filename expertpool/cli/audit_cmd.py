"""`expertpool audit log | verify`: read and check the hash-chained audit trail."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from expertpool.cli.app import JSON_OPTION, ExpertPoolTyper, console, err_console, print_json, state


def register(app: typer.Typer) -> None:
    sub = ExpertPoolTyper(name="audit", help="审计日志：查看与校验（诚信审核员、管理员）。")
    app.add_typer(sub, name="audit")

    @sub.command("log")
    def log(
        ctx: typer.Context,
        expert: Optional[str] = typer.Option(None, "--expert", help="只列涉及该专家的条目"),
        since: Optional[str] = typer.Option(None, "--since", help="只列该日期（含，本地时间）以来的条目"),
        action: Optional[str] = typer.Option(None, "--action", help="只列该类操作，如 integrity、roles、import"),
        json_output: bool = JSON_OPTION,
    ) -> None:
        """列出审计日志：谁、以何角色、何时、做了什么、为什么，以及更改前后的内容。

        Example: expertpool audit log --expert SC-000123 --since 2026-01-01
        """
        from expertpool.services.audit import audit_log

        store, actor = state(ctx).authorise("audit.read", "查看审计日志")
        entries = audit_log(store, expert, since, actor=actor, action=action)
        if json_output:
            print_json([e.model_dump(mode="json") for e in entries])
            return
        render_log(entries)

    @sub.command("verify")
    def verify(
        ctx: typer.Context,
        anchor: List[str] = typer.Option([], "--anchor",
                                         help="先前记下的 序号:哈希（可多次给出），用于发现整体改写或末尾删除"),
        anchors: List[Path] = typer.Option([], "--anchors",
                                           help="含锚点的文件（可多次给出）：导出的专家组表（.xlsx/.csv）、"
                                                "保存的 audit verify 输出，或每行一个 序号:哈希 的清单"),
        json_output: bool = JSON_OPTION,
    ) -> None:
        """校验审计日志：哈希链、锚点（命令行给出的、文件中的，以及已保存专家组所记的），以及库中数据与日志所记是否一致。

        Fails (exit 1) naming the first changed, removed, inserted or re-ordered entry, an anchor the
        log no longer matches, or an expert, integrity record version, panel or role that was
        written, changed or deleted outside the tool (so a store whose data has no audit history fails).

        Example: expertpool audit verify --anchors 专家组.xlsx --anchor 120:3f9a0c… --json
        """
        from rich.markup import escape

        from expertpool.services.audit import Anchor, parse_anchor, read_anchors, verify_audit

        given = [Anchor(*parse_anchor(a), "--anchor") for a in anchor]
        for path in anchors:
            given += read_anchors(path)
        store, actor = state(ctx).authorise("audit.read", "校验审计日志")
        result = verify_audit(store, given, actor=actor)
        if json_output:
            print_json(result.to_json())
        elif result.ok:
            out = console()
            out.print(f"审计日志完好：共 {result.entries} 条，哈希链无断裂；核对锚点 {result.anchors_checked} 个；"
                      f"库中 {result.records_checked} 项数据（专家、诚信记录各版本、专家组成员、用户角色）与日志所记一致。",
                      highlight=False)
            if result.unchecked:
                out.print(f"另有 {result.unchecked} 项由早期版本写入，日志只记了写入、未记内容摘要：只核对了存在，未核对内容。",
                          highlight=False)
            out.print(f"锚点（请另处记下，日后用 --anchor 核对）：{result.entries}:{result.head_hash}",
                      highlight=False, markup=False, soft_wrap=True)
        if not result.ok:
            if result.problems:  # the chain is whole; the data is not what it recorded
                head = f"库中数据已在本工具之外被篡改（{result.problem_count} 处）：{result.problem}"
            else:
                head = f"审计日志已被篡改，第一条有问题的是第 {result.first_bad_seq} 条：{result.problem}"
            err_console().print(f"[bold red]错误：[/]{escape(head)}", highlight=False, soft_wrap=True, markup=True)
            for line in result.problems[1:]:
                err_console().print(f"  • {line}", highlight=False, markup=False, soft_wrap=True)
            if result.problem_count > len(result.problems):
                err_console().print(f"  ……共 {result.problem_count} 处（以上列出前 {len(result.problems)} 处）",
                                    highlight=False)
            raise typer.Exit(1)


def render_log(entries) -> None:
    """One block per entry: a heading line (seq, time, who, action, target), then why and what changed."""
    from expertpool.services.access import ROLES

    out = console()
    out.print(f"审计日志（{len(entries)} 条）", style="bold")
    for e in entries:
        when = e.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        out.print(f"#{e.seq}  {when}  {e.user}（{ROLES.get(e.role, e.role)}）  {e.action}  {e.target or ''}",
                  highlight=False, markup=False)
        if e.reason:
            out.print(f"    理由：{e.reason}", highlight=False, markup=False)
        for line in _changes(e.action, e.before, e.after):
            out.print(f"    {line}", highlight=False, markup=False)
    if not entries:
        out.print("没有符合条件的条目。")


def _value(value) -> str:
    import json

    if value is None:
        return "（空）"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _changes(action: str, before: dict | None, after: dict | None) -> list[str]:
    """`key: old → new` for each changed key; the fields of an added or removed record."""
    if before is None and after is None:
        return []
    if before is None or after is None:
        shown = after if before is None else before
        label = "结果" if action.startswith("import") else "新增" if before is None else "删除"
        fields = "，".join(f"{k}={_value(v)}" for k, v in shown.items() if v not in (None, [], ""))
        return [f"{label}：{fields}"]
    return [f"{key}：{_value(before.get(key))} → {_value(after.get(key))}"
            for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key) and key != "version"]
