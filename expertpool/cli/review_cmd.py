"""`expertpool panel invite | respond | confirm | unseal | evaluate`: from the draw to the signed
record — the program officer invites and records answers, the supervisor (监督人) witnesses and
unseals, and after the review each member is evaluated. Registered on the `panel` sub-app."""
from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape

from expertpool.cli.app import JSON_OPTION, console, err_console, print_json, progress_for, state
from expertpool.cli.panel_cmd import panel_app
from expertpool.errors import InputError


def _notifier():
    from expertpool.notify.email import notifier_from_env

    return notifier_from_env()


@panel_app.command("invite")
def invite(
    ctx: typer.Context,
    panel_id: str = typer.Argument(..., help="专家组编号"),
    place: Optional[str] = typer.Option(None, "--place", help="评审地点（默认取规则文件中的 place）"),
    reply_by: Optional[str] = typer.Option(None, "--reply-by", help="请专家在此之前答复，如 2026年11月25日17时"),
    contact: Optional[str] = typer.Option(None, "--contact", help="邀请中的联系方式，如 科技厅评审处 张老师 028-12345678"),
    call_list: bool = typer.Option(False, "--call-list", help="只显示电话名单（名单密封期间仅监督人可用，且会记入审计）"),
    json_output: bool = JSON_OPTION,
) -> None:
    """邀请专家组成员：配置了邮件服务器（EXPERTPOOL_SMTP_HOST 等）时向有邮箱的成员发送邀请邮件，其余成员列入电话名单；
    每位成员获得一个回执码。再次执行只向尚未邀请或发送失败的成员发送。

    Example: expertpool panel invite PNL-20261201-20261201-1a2b3c4d --place 成都市科技会堂 --reply-by 2026年11月25日
    """
    from expertpool.services.invitations import ReviewDetails, call_list as get_call_list, invite_panel

    if call_list:
        store, actor = state(ctx).authorise("panel.read", "查看电话名单")
        entries = get_call_list(store, actor, panel_id)
        if json_output:
            print_json([e.__dict__ for e in entries])
        else:
            render_call_list(entries)
        return
    store, actor = state(ctx).authorise("panel", "邀请评审专家")
    report = invite_panel(store, actor, panel_id, details=ReviewDetails(place, reply_by, contact), notifier=_notifier())
    if json_output:
        print_json(report.to_json())
    else:
        out = console()
        out.print(f"新邀请 {len(report.invited)} 人（邮件 {len(report.emailed)}，电话 {len(report.by_phone)}）；"
                  f"专家组状态：{report.state.label}", highlight=False)
        for code, why in report.failed.items():
            err_console().print(f"[yellow]邮件未送达[/] 回执码 {escape(str(code))}：{escape(str(why))}", highlight=False, markup=True)
        if report.sealed:
            out.print("名单密封中：不显示成员；专家以回执码答复（expertpool panel respond 专家组编号 回执码 答复）。")
        elif report.call_list:
            render_call_list(report.call_list)
    if report.failed:
        err_console().print(f"{len(report.failed)} 封邀请未发出；修正后再次执行 expertpool panel invite {panel_id} 即只重发这些。",
                            highlight=False)
        raise typer.Exit(1)


def render_call_list(entries) -> None:
    from rich.table import Table

    table = Table(title=f"电话名单（{len(entries)}）")
    for header in ("回执码", "编号", "姓名", "工作单位", "手机", "邮箱", "邀请状态"):
        table.add_column(header, overflow="fold")
    for e in entries:
        table.add_row(e.code, e.expert_id, e.name, e.institution, e.phone or "", e.email or "", e.status)
    console().print(table)


@panel_app.command("respond")
def respond(
    ctx: typer.Context,
    panel_id: str = typer.Argument(..., help="专家组编号"),
    member: str = typer.Argument(..., help="成员：专家编号（四川或重庆名单中的编号均可）或回执码（名单密封期间只能用回执码）"),
    response: str = typer.Argument(..., help="接受、拒绝、未接通 或 申报回避"),
    reason: Optional[str] = typer.Option(None, "--reason", help="说明（如拒绝的原因、申报回避的关系）"),
    place: Optional[str] = typer.Option(None, "--place", help="补抽专家的邀请中的评审地点（默认取规则文件中的 place）"),
    reply_by: Optional[str] = typer.Option(None, "--reply-by", help="补抽专家的答复期限"),
    contact: Optional[str] = typer.Option(None, "--contact", help="补抽专家的邀请中的联系方式"),
    json_output: bool = JSON_OPTION,
) -> None:
    """记录成员的答复。拒绝、申报回避或多次未接通时，按 panel replace 的同一规则自动补抽并邀请补抽的专家。

    Example: expertpool panel respond PNL-20261201-20261201-1a2b3c4d K7PX-3MQA 拒绝 --reason 时间冲突
    """
    from expertpool.services.invitations import ReviewDetails
    from expertpool.services.invitations import respond as record_response

    store, actor = state(ctx).authorise("panel", "记录专家答复")
    outcome = record_response(store, actor, panel_id, member, response.strip(), reason=reason,
                              details=ReviewDetails(place, reply_by, contact), notifier=_notifier(),
                              progress=progress_for(ctx, json_output))
    if json_output:
        print_json({"panel_id": panel_id, "code": outcome.code, "response": outcome.response,
                    "replaced": outcome.replaced, "substitute_code": outcome.substitute_code,
                    "substitute_invited": outcome.substitute_invited, "unfilled": outcome.unfilled,
                    "state": outcome.state.label, "counts": outcome.state.counts})
    else:
        out = console()
        out.print(f"已记录：{member} {outcome.response}。", highlight=False)
        if outcome.replaced:
            out.print(f"已自动补抽一名专家（回执码 {outcome.substitute_code}），邀请方式：{outcome.substitute_invited}。",
                      highlight=False)
        if outcome.unfilled:
            err_console().print(f"[bold red]{outcome.state.label}：[/]{escape(outcome.unfilled)}", highlight=False, markup=True)
        out.print(f"专家组状态：{outcome.state.label}", highlight=False)
    if outcome.unfilled:
        raise typer.Exit(1)


@panel_app.command("confirm")
def confirm(
    ctx: typer.Context,
    panel_id: str = typer.Argument(..., help="专家组编号"),
    note: Optional[str] = typer.Option(None, "--note", help="监督意见"),
    json_output: bool = JSON_OPTION,
) -> None:
    """监督人确认抽取过程（不能确认自己抽取的专家组）；抽取记录表显示抽取人与监督人。

    Example: expertpool panel confirm PNL-20261201-20261201-1a2b3c4d --note 抽取过程规范
    """
    from expertpool.services.supervision import confirm_panel

    store, actor = state(ctx).authorise("panel.supervise", "以监督人身份确认抽取")
    record = confirm_panel(store, actor, panel_id, note=note)
    if json_output:
        print_json({"panel_id": panel_id, "witness": record.witness.model_dump(mode="json"),
                    "drawn_by": record.created_by})
    else:
        console().print(f"监督人 {record.witness.by} 已确认（抽取人 {record.created_by}，{record.witness.at}）。",
                        highlight=False)


@panel_app.command("unseal")
def unseal(
    ctx: typer.Context,
    panel_id: str = typer.Argument(..., help="专家组编号"),
    reason: str = typer.Option(..., "--reason", help="提前解封的理由（记入审计日志）"),
    json_output: bool = JSON_OPTION,
) -> None:
    """监督人说明理由后提前解封密封的专家组名单（每次解封都记入审计日志）。到达解封时间后名单自动解封。

    Example: expertpool panel unseal PNL-20261201-SEALED-1a2b3c4d --reason 评审提前一天举行
    """
    from expertpool.services.supervision import unseal_panel

    store, actor = state(ctx).authorise("panel.supervise", "提前解封评审专家组名单")
    record = unseal_panel(store, actor, panel_id, reason=reason)
    if json_output:
        print_json(record.to_document())
    else:
        from expertpool.cli.panel_cmd import render_panel

        console().print(f"已解封（{record.seal.release_reason}）。", highlight=False)
        render_panel(record)


@panel_app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    panel_id: str = typer.Argument(..., help="专家组编号"),
    member: str = typer.Argument(..., help="成员：专家编号（四川或重庆名单中的编号均可）或回执码"),
    attended: Optional[bool] = typer.Option(None, "--attended/--absent", help="出席或缺席（必选其一）"),
    excused: bool = typer.Option(False, "--excused", help="缺席已请假（不计入暂停规则）"),
    score: Optional[int] = typer.Option(None, "--score", help="评分 1..5（出席时必填）"),
    note: Optional[str] = typer.Option(None, "--note", help="评价说明"),
    json_output: bool = JSON_OPTION,
) -> None:
    """评审结束后评价成员：出席与评分，或缺席（是否请假）。评价政策（indexes/evaluation_policy.toml）据此暂停抽取。

    Example: expertpool panel evaluate PNL-20261201-20261201-1a2b3c4d SC000225 --attended --score 5
    """
    from expertpool.services.evaluations import evaluate_member

    if attended is None:
        raise InputError("请给出 --attended（出席）或 --absent（缺席）")
    store, actor = state(ctx).authorise("panel", "评价评审专家")
    evaluation = evaluate_member(store, actor, panel_id, member, attended=attended, score=score, excused=excused,
                                 note=note)
    if json_output:
        print_json(evaluation.model_dump(mode="json"))
    else:
        console().print(f"已评价 {evaluation.expert_id}：{evaluation.attendance}"
                        + (f"，评分 {evaluation.score}" if evaluation.score is not None else ""), highlight=False)
