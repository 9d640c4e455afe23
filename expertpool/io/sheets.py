"""Every spreadsheet cell ExpertPool writes (panel exports, reject lists …) goes through here, so
none can become a live formula in Excel, WPS or LibreOffice; and every spreadsheet file is
written through `io.files.atomic_output`, the one temporary-file writer.

A cell is written as text; text that a spreadsheet would read as a formula or command — starting
with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP, "CSV Injection") — gets a leading
single quote. A plain signed decimal number (`-3`, `+0.25`) is left as it is: a spreadsheet reads
it as a number, which cannot run anything, and a quote would only get in the way of the reader.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from expertpool.io.files import atomic_output

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def inert_cell(value: object) -> str:
    """`value` as inert spreadsheet text (None is the empty cell)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def inert_row(values: Iterable[object]) -> list[str]:
    return [inert_cell(v) for v in values]


def write_csv(path: Path, rows: Iterable[Sequence[object]]) -> Path:
    """A CSV file (UTF-8 with BOM, so Excel opens it as such) of inert cells — every line, heading
    and header included — written whole or not at all (`files.atomic_output`: a temporary file,
    flushed to disk, then renamed; on a failure such as a full disk it is removed and the old file
    stays). The caller prepares the path (`io.files.output_file`)."""
    with atomic_output(path) as tmp, tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        for row in rows:
            writer.writerow(inert_row(row))
    return path


def put_cell(sheet, row: int, column: int, value: object):
    """Write `value` into an openpyxl worksheet as an inert text cell and return the cell (for
    styling): what every XLSX writer of ours uses, whatever its layout."""
    cell = sheet.cell(row=row, column=column, value=inert_cell(value))
    cell.data_type = "s"  # openpyxl would take text starting with "=" for a formula
    return cell


def save_workbook(workbook, path: Path) -> Path:
    """Save an openpyxl workbook whole or not at all (`files.atomic_output`)."""
    with atomic_output(path) as tmp:
        workbook.save(tmp)
    return path


def write_xlsx(path: Path, title: str, rows: Iterable[Sequence[object]]) -> Path:
    """An XLSX workbook of one sheet whose every cell is a text cell (never a formula), written
    whole or not at all like `write_csv`."""
    return write_workbook(path, [(title, rows)])


def write_workbook(path: Path, named_sheets: Iterable[tuple[str, Iterable[Sequence[object]]]]) -> Path:
    """An XLSX workbook of several sheets, in order (each title made one Excel accepts and unique
    in the book, `sheet_title`), every cell a text cell, written whole or not at all."""
    from openpyxl import Workbook

    workbook = Workbook()
    used: set[str] = set()
    for k, (title, rows) in enumerate(named_sheets):
        sheet = workbook.active if k == 0 else workbook.create_sheet()
        sheet.title = sheet_title(title, used)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                put_cell(sheet, r, c, value)
    return save_workbook(workbook, path)


_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def sheet_title(name: str, used: set[str]) -> str:
    """A worksheet title Excel accepts (≤ 31 characters, none of []:*?/\\, not starting or ending
    with a quote), unique in the book: `used` holds the titles taken and gets this one."""
    base = name.translate(_SHEET_FORBIDDEN).strip("'")[:28] or "表"
    title, k = base, 2
    while title in used:
        title, k = f"{base}({k})", k + 1
    used.add(title)
    return title
