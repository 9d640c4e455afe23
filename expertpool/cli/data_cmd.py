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
        from dataclasses import asdict, is_dataclass

        from expertpool.errors import InputError
        from expertpool.synthetic.generate import generate_pool

        if count < 10:
            raise InputError("--count 至少为 10")
        report = generate_pool(count, seed, out, projects=projects)
        data = asdict(report) if is_dataclass(report) else dict(report)
        if json_output:
            print_json(data)
            return
        console().print(f"已生成到 {out}：")
        for key, value in data.items():
            console().print(f"  {key}: {value}", highlight=False)
