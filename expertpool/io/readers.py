"""Read import files (CSV in UTF-8 / UTF-8-BOM / GB18030, XLSX, JSONL) into numbered rows.

Row numbers are what a person sees: in CSV and XLSX the header is row 1 and the first data
row is row 2; in JSONL the line number. Headers may be Chinese or the English keys.
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from expertpool.domain.text import clean
from expertpool.errors import InputError
from expertpool.io.files import check_input_file, read_input_bytes

#: kind → {header as written (Chinese or English) → key}. The first Chinese header of each key
#: is the one reported in messages.
HEADERS: dict[str, dict[str, str]] = {
    "experts": {
        "专家编号": "source_id", "姓名": "name", "性别": "gender", "出生年份": "birth_year",
        "所在地区": "region", "市州/区县": "sub_region", "市州": "sub_region", "区县": "sub_region",
        "工作单位": "institution", "部门": "department", "职称": "title", "人才称号": "honours",
        "专业领域": "fields", "学科": "discipline", "研究方向": "research", "关键词": "keywords",
        "手机": "phone", "邮箱": "email", "证件号码": "id_number", "身份证号": "id_number", "状态": "status",
        "id": "source_id", "source_id": "source_id", "expert_id": "source_id",
    },
    "affiliations": {"专家编号": "expert_id", "工作单位": "institution", "起始年份": "start_year",
                     "结束年份": "end_year"},
    "relations": {"专家编号": "expert_id", "关联专家编号": "other_expert_id", "关联人姓名": "other_name",
                  "关联人单位": "other_institution", "关系类型": "kind", "起始年份": "start_year",
                  "结束年份": "end_year", "备注": "note"},
    "integrity": {"记录编号": "id", "专家编号": "expert_id", "失信行为类型": "category", "严重程度": "severity",
                  "决定日期": "decision_date", "处理开始日期": "start", "处理结束日期": "end",
                  "处理措施": "sanctions", "处理机构": "issuer", "文号": "document_no", "状态": "status"},
    "history": {"专家编号": "expert_id", "评审活动": "activity", "评审日期": "date"},
    "projects": {},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "experts": ("source_id", "name", "region", "institution", "title", "fields"),
    "affiliations": ("expert_id", "institution"),
    "relations": ("expert_id", "kind"),
    "integrity": ("id", "expert_id", "category", "severity", "start"),
    "history": ("expert_id", "activity", "date"),
    "projects": ("id", "title", "applicant"),
}
KINDS: tuple[str, ...] = tuple(HEADERS)


def column_label(kind: str, key: str) -> str:
    """The Chinese header for a key, for messages ('证件号码'), or the key itself."""
    for header, mapped in HEADERS.get(kind, {}).items():
        if mapped == key and not header.isascii():
            return header
    return key


@dataclass
class Table:
    path: Path
    kind: str
    rows: list[tuple[int, dict[str, object]]]
    encoding: str | None = None
    ignored_columns: list[str] = field(default_factory=list)


def decode_csv_bytes(path: Path, data: bytes) -> tuple[str, str]:
    """Text and the encoding found: UTF-8 with BOM, UTF-8, or GB18030 (strict; no guessing past that)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: 带 BOM 的 UTF-8 文件中有无效字节（位置 {exc.start}）") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: 文件是 UTF-16 编码；请另存为 UTF-8 或 GB18030 的 CSV")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: 无法识别的文本编码（既不是 UTF-8 也不是 GB18030，第 {exc.start} 字节附近）") from None


def detect_kind(headers: list[str]) -> str | None:
    """Guess the kind from the header row; None when it is not clear."""
    keys = set(headers)
    if {"关系类型"} & keys or "kind" in keys:
        return "relations"
    if {"记录编号", "失信行为类型"} & keys:
        return "integrity"
    if "评审活动" in keys or "activity" in keys:
        return "history"
    if {"姓名", "name"} & keys:
        return "experts"
    if {"起始年份", "start_year"} & keys:
        return "affiliations"
    if {"title", "applicant"} <= keys:
        return "projects"
    return None


def _map_headers(path: Path, kind: str, headers: list[str]) -> tuple[list[str | None], list[str]]:
    mapping = HEADERS[kind]
    english = set(mapping.values())
    keys: list[str | None] = []
    ignored: list[str] = []
    seen: dict[str, str] = {}
    for header in headers:
        h = clean(header)
        key = mapping.get(h) or (h if h in english else None)
        if key is None:
            if h:
                ignored.append(h)
            keys.append(None)
            continue
        if key in seen:
            raise InputError(f"{path}: 第 1 行表头中「{seen[key]}」与「{h}」重复（同一列出现两次）")
        seen[key] = h
        keys.append(key)
    missing = [column_label(kind, k) for k in REQUIRED[kind] if k not in seen]
    if missing:
        raise InputError(f"{path}: 缺少必需的列：{'、'.join(missing)}（按 {kind} 文件读取；用 --kind 指定类型）")
    return keys, ignored


def _rows_from_grid(path: Path, kind: str | None, grid: Iterator[list[object]], first_row: int = 1,
                    encoding: str | None = None) -> Table:
    try:
        header = next(grid)
    except StopIteration:
        raise InputError(f"{path}: 文件为空（没有表头行）") from None
    headers = [clean(h) for h in header]
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        raise InputError(f"{path}: 第 {first_row} 行应为表头，但为空")
    kind = kind or detect_kind(headers)
    if kind is None:
        raise InputError(f"{path}: 无法从表头判断文件类型；请用 --kind 指定（{'/'.join(KINDS)}）")
    keys, ignored = _map_headers(path, kind, headers)
    rows: list[tuple[int, dict[str, object]]] = []
    for offset, values in enumerate(grid, start=first_row + 1):
        values = list(values)
        if not any(v.strip() if isinstance(v, str) else v is not None for v in values):
            continue  # blank line: not a row
        row: dict[str, object] = {}
        for key, value in zip(keys, values):
            if key is not None:
                row[key] = value
        if len(values) > len(keys) and any(clean(v) for v in values[len(keys):]):
            row["__extra__"] = [v for v in values[len(keys):] if clean(v)]
        rows.append((offset, row))
    return Table(path, kind, rows, encoding, ignored)


def read_csv(path: Path, kind: str | None) -> Table:
    data = read_input_bytes(path)
    text, encoding = decode_csv_bytes(path, data)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        grid = list(reader)
    except csv.Error as exc:
        raise InputError(f"{path}: CSV 格式错误（{exc}）") from None
    return _rows_from_grid(path, kind, iter(grid), encoding=encoding)


def read_xlsx(path: Path, kind: str | None) -> Table:
    """The first worksheet. Read with calamine (Rust): ~10× faster than openpyxl on a 15,000-row
    province list, which is most of an XLSX import's time. openpyxl still writes our exports."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        if not workbook.sheet_names:
            raise InputError(f"{path}: XLSX 文件中没有工作表")
        grid = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: 不是有效的 XLSX 文件（可能已损坏或不完整：{exc}）") from None
    # Excel stores every number as a float; 1971.0 is the year 1971 and 13800000001.0 a phone number.
    return _rows_from_grid(path, kind, iter([[int(v) if isinstance(v, float) and v.is_integer() else v for v in row]
                                             for row in grid]))


def read_jsonl(path: Path, kind: str | None) -> Table:
    data = read_input_bytes(path)
    text, encoding = decode_csv_bytes(path, data)
    rows: list[tuple[int, dict[str, object]]] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            obj = None
            bad.append((number, f"不是有效的 JSON（{exc.msg}，第 {exc.colno} 列）"))
        if obj is not None and not isinstance(obj, dict):
            bad.append((number, "每行应为一个 JSON 对象"))
            obj = None
        rows.append((number, obj if obj is not None else {"__invalid__": bad[-1][1]}))
    if not rows:
        raise InputError(f"{path}: 文件为空（没有任何记录）")
    if kind is None:
        first = next((r for _, r in rows if "__invalid__" not in r), {})
        kind = detect_kind(list(first)) or ("experts" if "name" in first else None)
        if kind is None:
            raise InputError(f"{path}: 无法从字段判断文件类型；请用 --kind 指定（{'/'.join(KINDS)}）")
    ignored: dict[str, None] = {}
    if kind != "projects":
        mapping = HEADERS[kind]
        english = set(mapping.values())
        mapped_rows = []
        for number, row in rows:
            if "__invalid__" in row:
                mapped_rows.append((number, row))
                continue
            out: dict[str, object] = {}
            for key, value in row.items():
                mapped = mapping.get(key) or (key if key in english else None)
                if mapped:
                    out[mapped] = value
                else:
                    ignored.setdefault(key, None)  # reported like an unknown CSV column, never silently
            mapped_rows.append((number, out))
        rows = mapped_rows
    return Table(path, kind, rows, encoding, list(ignored))


def read_table(path: Path, kind: str | None = None) -> Table:
    """Read one import file. Raises InputError (naming the file) when it cannot be read at all."""
    if kind is not None and kind not in KINDS:
        raise InputError(f"未知的文件类型「{kind}」；可选：{'/'.join(KINDS)}（--kind）")
    check_input_file(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return read_csv(path, kind)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, kind)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_jsonl(path, kind)
    if suffix == ".xls":
        raise InputError(f"{path}: 不支持旧版 .xls；请在 Excel 中另存为 .xlsx")
    raise InputError(f"{path}: 不支持的文件类型「{suffix}」（支持 .csv、.xlsx、.jsonl）")
