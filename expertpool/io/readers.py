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
    "evaluations": {"专家编号": "expert_id", "评审活动": "activity", "评审日期": "date", "出席情况": "attendance",
                    "出席": "attendance", "评分": "score", "备注": "note"},
    "projects": {},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "experts": ("source_id", "name", "region", "institution", "title", "fields"),
    "affiliations": ("expert_id", "institution"),
    "relations": ("expert_id", "kind"),
    "integrity": ("id", "expert_id", "category", "severity", "start"),
    "history": ("expert_id", "activity", "date"),
    "evaluations": ("expert_id", "activity", "date", "attendance"),
    "projects": ("id", "title", "applicant"),
}
KINDS: tuple[str, ...] = tuple(HEADERS)

#: Longest cell accepted, in characters: Excel's own limit, so no spreadsheet a person made exceeds it.
MAX_CELL_CHARS = 32_767
#: Longest CSV field read at all (a longer one stops the file, naming the line): beyond any row.
MAX_CSV_FIELD = 8 * 1024 * 1024
#: An XLSX is a zip: its parts are checked before parsing (a few KB can inflate to gigabytes).
MAX_XLSX_UNCOMPRESSED = 1024 * 1024 * 1024
#: Bytes of text between two XML tags in an XLSX part past which the file is refused unparsed. The
#: parser (calamine) cuts a longer cell at MAX_CELL_CHARS, so cells up to this size are read, cut,
#: and their rows rejected as reaching the limit; beyond it the parser's memory is at stake.
MAX_XLSX_TEXT_RUN = 1024 * 1024
#: Deepest nesting of arrays and objects in a JSONL line (a project's team is 2 deep).
MAX_JSON_DEPTH = 8
#: Keys whose JSONL value may be an array of texts; every other key takes one text or number.
JSON_LISTS: dict[str, frozenset[str]] = {
    "experts": frozenset({"honours", "fields", "keywords"}),
    "integrity": frozenset({"sanctions"}),
    "affiliations": frozenset(), "relations": frozenset(), "history": frozenset(), "evaluations": frozenset(),
}


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
    if {"出席情况", "出席", "评分", "attendance", "score"} & keys:
        return "evaluations"
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


def _oversized(row: dict[str, object], limit: int) -> None:
    """Mark a row holding a cell longer than `limit` (the row is rejected, naming the column)."""
    for key, value in row.items():
        if isinstance(value, str) and len(value) > limit:
            row.clear()
            row["__invalid__"] = (f"单元格过长（{len(value):,} 个字符，上限 {MAX_CELL_CHARS:,}"
                                  + ("；已达 Excel 单元格上限，读取时被截断" if len(value) == MAX_CELL_CHARS else "")
                                  + "）")
            row["__column__"] = key
            return


def _rows_from_grid(path: Path, kind: str | None, grid: Iterator[list[object]], first_row: int = 1,
                    encoding: str | None = None, label: str = "", cell_limit: int = MAX_CELL_CHARS) -> Table:
    """Rows under the header row; `cell_limit`: longest cell kept (a longer one rejects its row)."""
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
        too_long = False
        for key, value in zip(keys, values):
            if key is not None:
                row[key] = value
                if value.__class__ is str and len(value) > cell_limit:
                    too_long = True
        if len(values) > len(keys) and any(clean(v) for v in values[len(keys):]):
            row["__extra__"] = [v for v in values[len(keys):] if clean(v)]
        if too_long:  # (a long cell of an ignored column is not read into the store: no matter)
            _oversized(row, cell_limit)
        rows.append((f"{label}!{offset}" if label else offset, row))
    return Table(path, kind, rows, encoding, ignored)


def read_csv(path: Path, kind: str | None) -> Table:
    data = read_input_bytes(path)
    text, encoding = decode_csv_bytes(path, data)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    previous = csv.field_size_limit(MAX_CSV_FIELD)
    try:
        grid = list(reader)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise InputError(f"{path}: 第 {reader.line_num} 行附近有一个超过 {MAX_CSV_FIELD // 1024 // 1024} MB 的单元格"
                             f"（单元格上限 {MAX_CELL_CHARS:,} 个字符）；整个文件未导入") from None
        raise InputError(f"{path}: CSV 格式错误（第 {reader.line_num} 行：{exc}）") from None
    finally:
        csv.field_size_limit(previous)
    return _rows_from_grid(path, kind, iter(grid), encoding=encoding)


def check_xlsx_size(path: Path) -> None:
    """Refuse a workbook whose parts inflate past MAX_XLSX_UNCOMPRESSED, or that holds one text
    longer than any cell can be, before any parser sees it (a 311 KB file once held a 300 MB cell
    and took 6 GB to parse). Streams each part; never holds one whole in memory."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            total = sum(info.file_size for info in infos)
            if total > MAX_XLSX_UNCOMPRESSED:
                raise InputError(f"{path}: XLSX 解压后达 {total / 2**20:,.0f} MB，超过上限 "
                                 f"{MAX_XLSX_UNCOMPRESSED // 2**20} MB；请拆分为多个文件")
            for info in infos:
                if info.filename.endswith(".xml") and info.file_size > MAX_XLSX_TEXT_RUN:
                    _check_text_runs(path, archive, info)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"{path}: 不是有效的 XLSX 文件（可能已损坏或不完整：{exc}）") from None


def _check_text_runs(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse a part holding a run of text longer than MAX_XLSX_TEXT_RUN without a tag: such a run
    covers at least one whole chunk of half that size, and a chunk without `<` is found by memchr."""
    read = 0
    with archive.open(info) as part:
        while chunk := part.read(MAX_XLSX_TEXT_RUN // 2):
            read += len(chunk)
            if read > info.file_size:  # the header lied about the size
                raise InputError(f"{path}: XLSX 的 {info.filename} 大于其声明的大小；文件可能被篡改")
            if len(chunk) == MAX_XLSX_TEXT_RUN // 2 and b"<" not in chunk:
                where = "共享字符串表" if "sharedStrings" in info.filename else info.filename
                raise InputError(f"{path}: XLSX 中（{where}）有一段数百 KB 以上的文本，远超 Excel 单元格的上限"
                                 f"（{MAX_CELL_CHARS:,} 个字符）；文件不是正常的电子表格，整个文件未导入")


def read_xlsx(path: Path, kind: str | None) -> Table:
    """Every worksheet with the kind's headers, rows numbered `sheet!row` when there are several.
    A non-empty sheet without them refuses the file, naming it: no sheet is dropped silently.
    Read with calamine (Rust): ~10× faster than openpyxl on a 15,000-row province list, which is
    most of an XLSX import's time. openpyxl still writes our exports."""
    from python_calamine import CalamineError, CalamineWorkbook

    check_xlsx_size(path)
    sheets: list[tuple[str, list[list[object]]]] = []
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        if not workbook.sheet_names:
            raise InputError(f"{path}: XLSX 文件中没有工作表")
        for index, name in enumerate(workbook.sheet_names):
            grid = workbook.get_sheet_by_index(index).to_python(skip_empty_area=False)
            if any(any(v not in (None, "") for v in row) for row in grid):
                sheets.append((name, grid))
    except (CalamineError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: 不是有效的 XLSX 文件（可能已损坏或不完整：{exc}）") from None
    if not sheets:
        raise InputError(f"{path}: 文件为空（没有表头行）")
    tables: list[Table] = []
    refused: list[str] = []
    for name, grid in sheets:
        # Excel stores every number as a float; 1971.0 is the year 1971 and 13800000001.0 a phone number.
        cells = iter([[int(v) if isinstance(v, float) and v.is_integer() else v for v in row] for row in grid])
        try:
            # calamine cuts a cell at MAX_CELL_CHARS: one that long may have been longer
            tables.append(_rows_from_grid(path, kind or (tables[0].kind if tables else None), cells,
                                          label=name if len(sheets) > 1 else "", cell_limit=MAX_CELL_CHARS - 1))
        except InputError as exc:
            refused.append(f"「{name}」（{str(exc).removeprefix(f'{path}: ')}）")
    if refused:
        imported = "、".join(f"「{n}」" for n, _ in sheets if all(f"「{n}」" not in r for r in refused))
        raise InputError(f"{path}: 工作表{'、'.join(refused)}没有可导入的表头"
                         + (f"，而{imported}有" if imported else "")
                         + "；为免遗漏数据，整个文件未导入。请删除或移出这些工作表，或补全表头")
    first = tables[0]
    ignored = list(dict.fromkeys(c for t in tables for c in t.ignored_columns))
    return Table(path, first.kind, [r for t in tables for r in t.rows], None, ignored)


_TYPE_NAMES = {dict: "对象", list: "数组", bool: "真假值", str: "文本", int: "数字", float: "数字", type(None): "空值"}


def _type_name(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _too_deep(line: str) -> bool:
    """Whether a JSON line nests arrays/objects deeper than MAX_JSON_DEPTH (checked before parsing,
    so no parser recursion on a hostile line; strings are skipped)."""
    if line.count("[") + line.count("{") <= MAX_JSON_DEPTH:
        return False
    depth, in_string, escaped = 0, False, False
    for char in line:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def json_type_problem(kind: str, key: str, value: object) -> str | None:
    """What is wrong with the type of `value` under `key` of a JSONL row of `kind`, or None.
    A text field takes a text or a number; a multi-value field also an array of them."""
    if value is None or type(value) in (str, int, float):
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            return f"过长（{len(value):,} 个字符，上限 {MAX_CELL_CHARS:,}）"
        return None
    if isinstance(value, list) and key in JSON_LISTS.get(kind, ()):
        for i, item in enumerate(value):
            if type(item) not in (str, int, float):
                return f"应为文本数组，第 {i + 1} 项却是{_type_name(item)}"
            if isinstance(item, str) and len(item) > MAX_CELL_CHARS:
                return f"第 {i + 1} 项过长（上限 {MAX_CELL_CHARS:,} 个字符）"
        return None
    expected = "文本或数字" + ("，或它们的数组" if key in JSON_LISTS.get(kind, ()) else "")
    return f"应为{expected}，实为{_type_name(value)}"


def read_jsonl(path: Path, kind: str | None) -> Table:
    data = read_input_bytes(path)
    text, encoding = decode_csv_bytes(path, data)
    rows: list[tuple[int, dict[str, object]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        problem = None
        obj = None
        if _too_deep(line):
            problem = f"JSON 嵌套过深（超过 {MAX_JSON_DEPTH} 层）"
        else:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                problem = f"不是有效的 JSON（{exc.msg}，第 {exc.colno} 列）"
            except RecursionError:
                problem = f"JSON 嵌套过深（超过 {MAX_JSON_DEPTH} 层）"
            if problem is None and not isinstance(obj, dict):
                problem = "每行应为一个 JSON 对象"
        rows.append((number, obj if problem is None else {"__invalid__": problem}))
    if not rows:
        raise InputError(f"{path}: 文件为空（没有任何记录）")
    first = next((r for _, r in rows if "__invalid__" not in r), {})
    if first.get("expertpool") == "ground-truth" or {"kind", "topics"} <= set(first):
        raise InputError(f"{path}: 这是 expertpool generate 写出的评测真值（ground truth），不是导入文件；"
                         "导入 generate 打印的命令中列出的文件即可")
    if kind is None:
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
                    problem = json_type_problem(kind, mapped, value)
                    if problem is not None:  # never stringified: the row is rejected, naming the key
                        out = {"__invalid__": f"「{key}」{problem}", "__column__": mapped}
                        break
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
