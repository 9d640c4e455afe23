"""`expertpool roles list | grant | revoke`: who may do what (administrators change roles)."""
from __future__ import annotations

from typing import Optional

import typer

from expertpool.cli.app import CREATE_OPTION, JSON_OPTION, ExpertPoolTyper, console, print_json, state

ROLE_HELP = "角色：administrator（管理员）/ program_officer（项目主管）/ reviewer（诚信审核员）/ supervisor（监督人）"


def register(app: typer.Typer) -> None:
    sub = ExpertPoolTyper(name="roles", help="用户角色：查看、授予、撤销（管理员）。当前用户取自 EXPERTPOOL_USER。")
    app.add_typer(sub, name="roles")

    @sub.command("list")
    def list_(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
        """列出各用户的角色，以及每个角色拥有的权限。

        Example: expertpool roles list --json
        """
        from expertpool.services.roles import list_roles, role_permissions

        store, actor = state(ctx).authorise("read", "查看角色")
        users = list_roles(store, actor)
        if json_output:
            print_json({"users": users, "permissions": role_permissions(), "current_user": actor.user})
            return
        render_roles(users, actor.user)

    @sub.command("grant")
    def grant(
        ctx: typer.Context,
        user: str = typer.Argument(..., help="用户名（即其 EXPERTPOOL_USER 或登录名）"),
        role: str = typer.Argument(..., help=ROLE_HELP),
        reason: Optional[str] = typer.Option(None, "--reason", help="理由（写入审计日志）"),
        create: bool = CREATE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """授予用户一个角色（仅管理员）；写入审计日志。

        Example: expertpool roles grant zhangsan reviewer --reason 调入诚信办公室
        """
        from expertpool.services.roles import grant_role

        store, actor = state(ctx).authorise("roles", "授予角色", may_create=True, create=create)
        change = grant_role(store, actor, user, role, reason=reason)
        if json_output:
            print_json(change.to_json())
            return
        render_change(change, "授予")

    @sub.command("revoke")
    def revoke(
        ctx: typer.Context,
        user: str = typer.Argument(..., help="用户名"),
        role: str = typer.Argument(..., help=ROLE_HELP),
        reason: Optional[str] = typer.Option(None, "--reason", help="理由（写入审计日志）"),
        json_output: bool = JSON_OPTION,
    ) -> None:
        """撤销用户的一个角色（仅管理员；不能撤销最后一位管理员）；写入审计日志。

        Example: expertpool roles revoke zhangsan reviewer --reason 调离
        """
        from expertpool.services.roles import revoke_role

        store, actor = state(ctx).authorise("roles", "撤销角色")
        change = revoke_role(store, actor, user, role, reason=reason)
        if json_output:
            print_json(change.to_json())
            return
        render_change(change, "撤销")


def _names(roles) -> str:
    from expertpool.services.access import ROLES

    return "、".join(f"{ROLES[r]}（{r}）" for r in roles) or "无角色"


def render_roles(users: dict[str, list[str]], current: str) -> None:
    from rich.table import Table

    table = Table(title=f"用户角色（{len(users)} 位用户）")
    table.add_column("用户")
    table.add_column("角色")
    for user, roles in users.items():
        table.add_row(user + ("（当前用户）" if user == current else ""), _names(roles))
    console().print(table)


def render_change(change, verb: str) -> None:
    from expertpool.services.access import ROLES

    if not change.changed:
        console().print(f"用户 {change.user} 已拥有角色 {ROLES[change.role]}（{change.role}），未作更改。",
                        highlight=False, markup=False)
        return
    console().print(f"已{verb}用户 {change.user} 的角色 {ROLES[change.role]}（{change.role}）；"
                    f"现有角色：{_names(change.roles)}（审计日志第 {change.audit.seq} 条）。",
                    highlight=False, markup=False)
