"""`expertpool`: the entry point. Sub-apps are split by user job, one module each."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from expertpool import __version__
from expertpool.cli import data_cmd, import_cmd, search_cmd
from expertpool.cli import coi_cmd
from expertpool.cli import audit_cmd, index_cmd, integrity_cmd, panel_cmd, roles_cmd, session_cmd
from expertpool.cli.app import ExpertPoolTyper, state

app = ExpertPoolTyper(
    name="expertpool",
    help="川渝科技专家库：导入专家名单、中文检索、利益冲突审查、科研诚信记录与评审专家组抽取。",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"expertpool {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: Optional[Path] = typer.Option(None, "--db", envvar="EXPERTPOOL_DB",
                                      help="嵌入式数据库文件（默认在用户数据目录）"),
    backend: Optional[str] = typer.Option(None, "--backend", envvar="EXPERTPOOL_BACKEND",
                                          help="存储后端：sqlite（默认）或 elasticsearch"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="不显示进度条"),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="显示版本"),
) -> None:
    """川渝科技专家库 ExpertPool."""
    st = state(ctx)
    st.db, st.backend, st.quiet = db, backend, quiet
    ctx.call_on_close(st.close)


import_cmd.register(app)
search_cmd.register(app)
data_cmd.register(app)
coi_cmd.register(app)
integrity_cmd.register(app)
roles_cmd.register(app)
audit_cmd.register(app)
panel_cmd.register(app)
session_cmd.register(app)
index_cmd.register(app)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
