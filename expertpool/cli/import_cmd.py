"""`expertpool import`: the administrator's bulk import."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.text import Text

from expertpool.cli.app import CREATE_OPTION, JSON_OPTION, console, err_console, print_json, progress_for, state


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_(
        ctx: typer.Context,
        files: List[Path] = typer.Argument(..., help="CSV（UTF-8/GB18030）、XLSX 或 JSONL 文件；专家名单请先于其他文件导入"),
        kind: Optional[str] = typer.Option(None, "--kind",
                                           help="experts|affiliations|relations|integrity|history|evaluations|projects（默认按表头判断）"),
        source: Optional[str] = typer.Option(None, "--source", help="文件所用专家编号所属的名单：四川 或 重庆（专家名单默认按所在地区；两份名单有相同编号时用它指明）"),
        dry_run: bool = typer.Option(False, "--dry-run", help="只检查，不写入"),
        rejects_dir: Optional[Path] = typer.Option(None, "--rejects-dir", help="拒绝清单写入的目录（默认与输入文件同目录）"),
        create: bool = CREATE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """批量导入专家名单及工作经历、关联关系、诚信记录、评审记录、申报项目（每个文件要么全部写入，要么不写入）。

        Example: expertpool import data/samples/sichuan_experts.csv data/samples/chongqing_experts.xlsx
        """
        from expertpool.services.importing import import_files

        # A dry run writes nothing, so it never creates a store either.
        store, actor = state(ctx).authorise("import", "导入数据", may_create=not dry_run, create=create)
        report = import_files(store, files, actor, kind=kind, source=source, dry_run=dry_run,
                              progress=progress_for(ctx, json_output), rejects_dir=rejects_dir)
        if json_output:
            print_json(report.to_json())
        else:
            render_import(report)
        if report.storage_failed:
            raise typer.Exit(5)  # the store committed, the reject list is missing: said above
        if any(f.error for f in report.files):
            raise typer.Exit(2)  # a file could not be read at all: bad input (the others were imported)
        if report.failed:
            raise typer.Exit(1)


def render_import(report) -> None:
    from rich.table import Table

    out = console()
    table = Table(title="导入结果" + ("（试运行，未写入）" if any(f.dry_run for f in report.files) else ""))
    for header in ("文件", "类型", "编码", "读取", "新增", "更新", "未变", "合并", "拒绝"):
        table.add_column(header, justify="right" if header not in ("文件", "类型", "编码") else "left")
    for f in report.files:
        if f.error:
            table.add_row(Path(f.file).name, f.kind, "-", "-", "-", "-", "-", "-", Text.from_markup("[red]整个文件[/]"))
            continue
        table.add_row(Path(f.file).name, f.kind, f.encoding or "xlsx", str(f.rows_read), str(f.imported),
                      str(f.updated), str(f.unchanged), str(f.merged),
                      Text.from_markup(f"[red]{f.rejected}[/]") if f.rejected else "0")
    out.print(table)
    if report.legacy_id_hashes_deleted:
        done = "将删除" if any(f.dry_run for f in report.files) else "已删除"
        out.print(f"{done} {report.legacy_id_hashes_deleted} 位专家的旧版证件号码哈希（旧版把盐存在库内，号码可被还原）；"
                  "请重新导入两省名单，按库外密钥重建哈希。在此之前，这些专家只能按姓名、出生年份和单位列为疑似同一人。")
    for f in report.files:
        name = Path(f.file).name
        if f.error:
            err_console().print(f"[bold red]错误：[/]{escape(f.error)}（该文件未导入任何数据）", highlight=False, markup=True)
        elif f.rows_read and not f.changed and not f.rejected and not f.dry_run:
            out.print(f"{name}：与库中数据一致，未作任何更改。")
        if f.ignored_columns:
            out.print(f"{name}：忽略了无法识别的列：{'、'.join(f.ignored_columns)}")
    rejects = [r for f in report.files for r in f.rejects]
    if rejects:
        rt = Table(title=f"被拒绝的行（{len(rejects)}）")
        for header in ("文件", "行号", "专家编号", "列", "原因"):
            rt.add_column(header, overflow="fold", no_wrap=header in ("行号", "专家编号"),
                          ratio=3 if header == "原因" else None)
        for r in rejects[:50]:
            rt.add_row(Path(r.file).name, str(r.row), r.expert_id or "", r.column, r.reason)
        out.print(rt)
        if len(rejects) > 50:
            out.print(f"……另有 {len(rejects) - 50} 行，见拒绝清单。")
        for f in report.files:
            if f.reject_file:
                out.print(f"拒绝清单：{f.reject_file}")
            if f.reject_file_error:
                err_console().print(f"[bold red]错误：[/]{escape(Path(f.file).name)}：{escape(f.reject_file_error)}", highlight=False, markup=True)
    warnings = [w for f in report.files for w in f.warnings]
    if warnings:
        rows = sum(w.count for w in warnings)
        wt = Table(title=f"提示：{rows} 行含未收录的{warnings[0].column}（已按原文保存，不影响导入）")
        for header in ("文件", "列", "值", "行数", "例如第几行"):
            wt.add_column(header, overflow="fold")
        for w in warnings[:20]:
            wt.add_row(Path(w.file).name, w.column, w.value, str(w.count), "、".join(map(str, w.rows)))
        out.print(wt)
        if len(warnings) > 20:
            out.print(f"……另有 {len(warnings) - 20} 个未收录的值（见 --json 的 warnings）。")
        from expertpool.io.datafiles import default_honours_path

        out.print(f"可在 {default_honours_path()} 的 [mappings] 中把它们归并为已知称号，或认定为 高层次人才。",
                  highlight=False)
    dups = [d for f in report.files for d in f.possible_duplicates]
    if dups:
        dt = Table(title="疑似同一人（无证件号码可证实，未合并，请人工判断）")
        for header in ("文件", "行号", "新专家编号", "已有专家编号", "姓名"):
            dt.add_column(header)
        for d in dups:
            dt.add_row(Path(d.file).name, str(d.row), d.expert_id, d.existing_id, d.name)
        out.print(dt)
