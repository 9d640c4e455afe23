"""`expertpool coi check`: who may not review a project, with the evidence."""
from __future__ import annotations

from typing import List, Optional

import typer

from expertpool.cli.app import JSON_OPTION, ExpertPoolTyper, console, print_json, progress_for, state

coi = ExpertPoolTyper(name="coi", help="利益冲突审查：哪些专家不得评审哪些项目，以及依据。")


def register(app: typer.Typer) -> None:
    app.add_typer(coi, name="coi")


@coi.command("check")
def check(
    ctx: typer.Context,
    project: str = typer.Option(..., "--project", "-p",
                                help="申报项目 JSONL 文件（与导入类型 projects 格式相同），或库中已导入项目的编号"),
    expert: List[str] = typer.Option([], "--expert", "-e",
                                     help="只审查这些专家（四川或重庆编号均可；可多次给出），逐条列出其冲突"),
    rule: List[str] = typer.Option([], "--rule", "-r",
                                   help="只看这些规则（如 same_unit 或 同一法人单位；可多次给出），逐条列出"),
    detail: bool = typer.Option(False, "--detail", help="逐条列出全部冲突（默认按项目和规则汇总）"),
    review_date: Optional[str] = typer.Option(None, "--review-date", "-d",
                                              help="评审日期，如 2025-06-01（默认今天）；各规则的年限据此计算"),
    policy: Optional[str] = typer.Option(None, "--policy",
                                         help="本次评审的回避规则 TOML（格式同 indexes/coi_policy.toml，未写的键取默认值）"),
    json_output: bool = JSON_OPTION,
) -> None:
    """审查申报项目与专家库之间的利益冲突：按项目和规则汇总，直接关系（本人、亲属、师生、合著、
    项目合作、申请人要求回避、专家声明回避）逐一列出姓名和证据路径。

    同一法人单位、原单位等按单位计数；--detail 列出全部，--rule、--expert 只看指定的规则或专家。
    Hard conflicts exclude the expert; soft flags are counted separately and do not exclude unless
    the policy says so. --json gives every conflict (narrowed by --rule / --expert). Exit 0 when
    the check ran, whether or not conflicts were found.

    Example: expertpool coi check --project projects.jsonl --review-date 2025-06-01
    """
    from expertpool.services.conflicts import check_command

    store, _ = state(ctx).authorise("coi", "审查利益冲突")
    report = check_command(store, project, experts=expert, rules=rule, detail=detail, review_date=review_date,
                           policy_path=policy, progress=progress_for(ctx, json_output))
    if json_output:
        print_json(report.to_json())
        return
    render_check(report)


#: units named in a unit rule's line before "等 N 个单位"
UNITS_SHOWN = 5


def render_check(report) -> None:
    """Per project: how many experts are excluded and flagged, per rule how many (the unit rules by
    unit), then the conflicts listed one by one with rule and evidence (by default the direct
    relations; everything with --detail, --rule or --expert). The totals close the output, so they
    are on screen after a long list. Lines are not wrapped by rich: an evidence path stays one
    line (and can be grepped)."""
    from rich.markup import escape

    from expertpool.domain.conflicts import RULE_LABELS
    from expertpool.services.conflicts import LISTED_RULES

    out = console()

    def say(text: str = "") -> None:
        out.print(text, highlight=False, soft_wrap=True, markup=True)  # callers escape their data

    scope = ""
    if report.experts:
        scope += f"，仅审查专家 {'、'.join(report.experts)}"
    if report.rules:
        scope += f"，仅看规则 {'、'.join(RULE_LABELS[r] for r in report.rules)}"
    head = f"评审日期 {report.review_date.isoformat()}，审查项目 {len(report.projects)} 个{scope}。"
    say(head)
    for item in report.summary():
        project = item.project
        say()
        say(f"[bold]{escape(project.id)}[/] {escape(project.title)}：需回避专家 {item.hard_experts} 位，"
            f"提示 {item.soft_experts} 位")
        if not item.rules:
            say("未发现利益冲突。")
            continue
        for count in item.rules:
            style, kind = ("red", "需回避") if count.hard else ("yellow", "提示")
            line = f"  [{style}]{kind}[/] {escape(count.label)} {count.experts} 位"
            if count.units:
                shown = "、".join(f"{escape(u)} {n}" for u, n in count.units[:UNITS_SHOWN])
                more = f" 等 {len(count.units)} 个单位" if len(count.units) > UNITS_SHOWN else ""
                line += f"（{shown}{more}）"
            say(line)
        if item.listed:
            say("  逐条列出：" if report.detail or report.rules or report.experts else
                f"  直接关系（{'、'.join(RULE_LABELS[r] for r in LISTED_RULES)}）：")
            for c in item.listed:
                style = "red" if c.hard else "yellow"
                name = report.names.get(c.expert_id, "")
                say(f"  {escape(c.expert_id)} {escape(name)}  [{style}]{escape(c.label)}[/]  {escape(c.evidence)}")
    counts = report.counts(hard=True)
    say()
    if counts:
        say("按规则统计（项目×专家）：" + "，".join(f"{RULE_LABELS[r]} {n}" for r, n in counts.most_common()))
    soft = report.counts(hard=False)
    if soft:
        say("提示（不排除，供核实）：" + "，".join(f"{RULE_LABELS[r]} {n}" for r, n in soft.most_common()))
    if not (report.detail or report.rules or report.experts) and any(
            c.rule not in LISTED_RULES for c in report.conflicts):
        say("单位类规则只计人数：--detail 逐条列出全部，--rule 同一法人单位 只列该规则，--expert 编号 只看这些专家。")
    say(f"合计：{head[:-1]}；需回避专家 {len({c.expert_id for c in report.hard})} 位，"
        f"提示 {len({c.expert_id for c in report.soft})} 位。")
