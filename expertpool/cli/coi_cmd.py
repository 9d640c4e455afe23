"""`expertpool coi check`: who may not review a project, with the evidence."""
from __future__ import annotations

from typing import Optional

import typer

from expertpool.cli.app import JSON_OPTION, ExpertPoolTyper, console, print_json, state

coi = ExpertPoolTyper(name="coi", help="利益冲突审查：哪些专家不得评审哪些项目，以及依据。")


def register(app: typer.Typer) -> None:
    app.add_typer(coi, name="coi")


@coi.command("check")
def check(
    ctx: typer.Context,
    project: str = typer.Option(..., "--project", "-p",
                                help="申报项目 JSONL 文件（与导入类型 projects 格式相同），或库中已导入项目的编号"),
    expert: Optional[str] = typer.Option(None, "--expert", "-e", help="只审查这位专家（四川或重庆编号均可）"),
    review_date: Optional[str] = typer.Option(None, "--review-date", "-d",
                                              help="评审日期，如 2025-06-01（默认今天）；各规则的年限据此计算"),
    policy: Optional[str] = typer.Option(None, "--policy",
                                         help="本次评审的回避规则 TOML（格式同 indexes/coi_policy.toml，未写的键取默认值）"),
    json_output: bool = JSON_OPTION,
) -> None:
    """审查申报项目与专家库之间的利益冲突，列出每位需回避的专家、规则和证据路径。

    Hard conflicts exclude the expert; soft flags are listed separately and do not exclude unless
    the policy says so. Exit 0 when the check ran, whether or not conflicts were found.

    Example: expertpool coi check --project projects.jsonl --review-date 2025-06-01
    """
    from expertpool.services.conflicts import check_command

    store, _ = state(ctx).authorise("coi", "审查利益冲突")
    report = check_command(store, project, expert=expert, review_date=review_date, policy_path=policy)
    if json_output:
        print_json(report.to_json())
        return
    render_check(report)


def render_check(report) -> None:
    """Per project: the excluded experts, then the soft flags, one line each with rule and evidence.
    Lines are not wrapped by rich, so an evidence path stays one line (and can be grepped)."""
    from rich.markup import escape

    from expertpool.domain.conflicts import RULE_LABELS

    out = console()

    def say(text: str = "") -> None:
        out.print(text, highlight=False, soft_wrap=True)

    scope = f"，仅审查专家 {report.expert}" if report.expert else ""
    say(f"评审日期 {report.review_date.isoformat()}，审查项目 {len(report.projects)} 个{scope}。")
    for project in report.projects:
        hard = [c for c in report.hard if c.project_id == project.id]
        soft = [c for c in report.soft if c.project_id == project.id]
        say()
        say(f"[bold]{escape(project.id)}[/] {escape(project.title)}：需回避专家 {len({c.expert_id for c in hard})} 位，"
            f"提示 {len({c.expert_id for c in soft})} 位")
        for title, items, style in (("需回避（排除）", hard, "red"), ("提示（不排除，供核实）", soft, "yellow")):
            if not items:
                continue
            say(f"[{style}]{title}[/]（{len(items)} 条）")
            for c in items:
                name = report.names.get(c.expert_id, "")
                say(f"  {escape(c.expert_id)} {escape(name)}  [{style}]{escape(c.label)}[/]  {escape(c.evidence)}")
        if not hard and not soft:
            say("未发现利益冲突。")
    counts = report.counts(hard=True)
    if counts:
        say()
        say("按规则统计（项目×专家）：" + "，".join(f"{RULE_LABELS[r]} {n}" for r, n in counts.most_common()))
