"""`expertpool generate`: a realistic synthetic pool for trials, demos and benchmarks."""
from __future__ import annotations

from pathlib import Path

import typer

from expertpool.cli.app import JSON_OPTION, console, print_json


def register(app: typer.Typer) -> None:
    @app.command()
    def generate(
        count: int = typer.Option(32000, "--count", help="专家人数"),
        seed: int = typer.Option(1, "--seed", help="随机种子（同一种子生成完全相同的文件）"),
        out: Path = typer.Option(..., "--out", help="输出目录"),
        projects: int = typer.Option(40, "--projects", help="示例申报项目数"),
        json_output: bool = JSON_OPTION,
    ) -> None:
        """生成川渝两地的模拟专家库文件（与真实导入文件格式相同），用于演示与性能测试。

        Example: expertpool generate --count 32000 --seed 1 --out /tmp/pool
        """
        from expertpool.errors import InputError
        from expertpool.synthetic.generate import generate_pool

        if count < 10:
            raise InputError("--count 至少为 10")
        summary = generate_pool(count, seed, out, projects=projects).summary()
        if json_output:
            print_json(summary)
            return
        counts = summary["counts"]
        say = console().print
        say(f"已生成 {counts['people']} 位专家（四川名单 {counts['sichuan_rows']} 行，重庆名单 "
            f"{counts['chongqing_rows']} 行，两份名单都有的 {counts['listed_twice']} 人）到 {out}：",
            highlight=False)
        for path in summary["import_files"]:
            say(f"  {path}", highlight=False)
        for path in summary["other_files"].values():
            say(f"  {path}（评测真值，不是导入文件）", highlight=False)
        say("导入（专家名单在前）：", highlight=False)
        say(f"  {summary['import_command']}", highlight=False, soft_wrap=True)
