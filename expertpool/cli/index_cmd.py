"""`expertpool index rebuild`: the administrator's index maintenance."""
from __future__ import annotations

import typer

from expertpool.cli.app import JSON_OPTION, ExpertPoolTyper, console, print_json, progress_for, state

index_app = ExpertPoolTyper(name="index", help="检索索引维护（管理员）。")


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")


@index_app.command("rebuild")
def rebuild(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
    """用当前分词词典重建检索索引，完成后原子切换（重建期间检索照常可用）。

    Example: expertpool --backend elasticsearch index rebuild
    """
    from expertpool.services.indexing import rebuild_index

    store, actor = state(ctx).authorise("import", "重建检索索引")
    result = rebuild_index(store, actor, progress_for(ctx, json_output))
    if json_output:
        print_json({"backend": store.backend, "index": result.index, "previous": result.previous,
                    "experts": result.experts})
        return
    console().print(f"已重建检索索引：{result.experts} 位专家，当前索引 {result.index}"
                    + (f"（替换 {result.previous}）" if result.previous and result.previous != result.index else ""))
