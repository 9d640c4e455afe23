"""Turn one raw import row into a record, or say which column is wrong and why.

Pure functions: no store, no files. `RowError` carries the column key; the importer turns it
into a reject line with file and row number.
"""
from __future__ import annotations

import datetime as dt
import re

from pydantic import ValidationError

from expertpool.domain import expert_ids, taxonomy
from expertpool.io.datafiles import load_honours
from expertpool.io.readers import MAX_CELL_CHARS, json_type_problem
from expertpool.domain.models import (
    INTEGRITY_CATEGORIES,
    RELATION_KINDS,
    Affiliation,
    Evaluation,
    Expert,
    IntegrityRecord,
    Person,
    Project,
    Relation,
    ReviewEvent,
)
from expertpool.domain.text import (
    clean,
    id_hash,
    normalise_email,
    normalise_id_number,
    normalise_phone,
    parse_date,
    parse_year,
    split_multi,
)


class RowError(ValueError):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _text(row: dict, key: str, required: bool = False) -> str | None:
    value = clean(row.get(key))
    if not value:
        if required:
            raise RowError(key, "必填项为空")
        return None
    return value


def _apply(key: str, fn, value):
    try:
        return fn(value)
    except taxonomy.UnknownValue as exc:
        raise RowError(key, str(exc)) from None
    except ValueError as exc:
        raise RowError(key, str(exc)) from None


def _multi(row: dict, key: str) -> list[str]:
    return _multi_values(row.get(key))


def _multi_values(value) -> list[str]:
    if isinstance(value, list):  # JSONL arrays
        items: list[str] = []
        for v in value:
            items.extend(split_multi(v))
        return list(dict.fromkeys(items))
    return split_multi(value)


# A province list repeats a few hundred values in its vocabulary columns (region, title, fields,
# honours …) over tens of thousands of rows, and the normalisers are pure: each distinct value is
# checked once. Bounded, so a long-running process cannot grow it without limit.
_MEMO_MAX = 100_000
_VOCAB_MEMO: dict[tuple, tuple[object, str | None]] = {}
_SPLIT_MEMO: dict[str, tuple[str, ...]] = {}


def _vocab(key: str, fn, value: str, *args):
    """`_apply(key, fn, value)` for a vocabulary normaliser, memoised (the reason too)."""
    memo_key = (fn, value, *args)
    try:
        result, reason = _VOCAB_MEMO[memo_key]
    except KeyError:
        try:
            result, reason = fn(value, *args), None
        except ValueError as exc:  # taxonomy.UnknownValue is one
            result, reason = None, str(exc)
        if len(_VOCAB_MEMO) < _MEMO_MAX:
            _VOCAB_MEMO[memo_key] = (result, reason)
    if reason is not None:
        raise RowError(key, reason)
    return result


def _vocab_multi(row: dict, key: str, fn) -> list:
    """`[_apply(key, fn, part) for part in _multi(row, key)]`, with the split memoised per cell."""
    return [_vocab(key, fn, part) for part in _split_cell(row.get(key))]


def _split_cell(value) -> tuple[str, ...] | list[str]:
    """`split_multi` of a cell, memoised for text cells (JSONL arrays are split item by item)."""
    if type(value) is str:
        parts = _SPLIT_MEMO.get(value)
        if parts is None:
            parts = tuple(split_multi(value))
            if len(_SPLIT_MEMO) < _MEMO_MAX:
                _SPLIT_MEMO[value] = parts
        return parts
    return _multi_values(value)


def _honour_name(value: str, vocabulary: taxonomy.HonourVocabulary) -> str:
    return vocabulary.normalise(value)[0]


def _year(row: dict, key: str) -> int | None:
    value = row.get(key)
    if value is None or clean(value) == "":
        return None
    return _apply(key, parse_year, value)


def _date(row: dict, key: str, required: bool = False) -> dt.date | None:
    value = row.get(key)
    if value is None or clean(value) == "":
        if required:
            raise RowError(key, "必填项为空")
        return None
    return _apply(key, parse_date, value)


def _validation_error(exc: ValidationError, default_column: str) -> RowError:
    err = exc.errors()[0]
    column = str(err["loc"][0]) if err.get("loc") else default_column
    message = err.get("msg", "无效").removeprefix("Value error, ")
    return RowError(column, message)


def source_from_id(source_id: str) -> str | None:
    """The province whose list numbers experts with this prefix (SC- → 四川, CQ- → 重庆), if any."""
    upper = source_id.upper()
    for region, code in taxonomy.REGION_CODES.items():
        if upper.startswith(code + "-"):
            return region
    return None


def check_readable(row: dict) -> None:
    """Raise the problem the reader found in this row (a bad JSON line, a wrong type, an oversized
    cell), naming its column when it has one."""
    if "__invalid__" in row:
        raise RowError(str(row.get("__column__") or "(整行)"), str(row["__invalid__"]))


def _region_of(text: str) -> tuple[str, str | None]:
    """(region, sub-region) of a 所在地区 cell: a region, or a city, district or functional zone
    written in its place (成都市, 两江新区, 重庆市渝北区), which names its region; the error
    names the region column and lists the regions."""
    try:
        return _vocab("region", taxonomy.normalise_region, text), None
    except RowError as not_a_region:
        try:
            return _vocab("region", taxonomy.normalise_subregion, text)
        except RowError:
            raise not_a_region from None


def expert_from_row(row: dict, *, source: str | None, id_key: bytes,
                    vocabulary: taxonomy.HonourVocabulary | None = None) -> Expert:
    """Validate and normalise an experts row. `source` is the list's province; when not given, the
    province of the number's prefix (SC-/CQ-), else the row's region. `vocabulary`: the honours'
    (default: indexes/honours.toml; an importer reads it once per file)."""
    check_readable(row)
    if "__extra__" in row:
        raise RowError("(整行)", f"单元格多于表头列数（多出：{row['__extra__']}）；可能有未加引号的逗号")
    # The first problem of a row is the one reported: the checks below keep their order.
    sub_region_text, gender_text = _text(row, "sub_region"), _text(row, "gender")
    phone_text, email_text = _text(row, "phone"), _text(row, "email")
    id_text, status_text = _text(row, "id_number"), _text(row, "status")
    source_id = _text(row, "source_id", required=True)
    name = _text(row, "name", required=True)
    region_text = _text(row, "region", required=True)
    region, sub_region = _region_of(region_text)
    if sub_region_text:
        _, written = _vocab("sub_region", taxonomy.normalise_subregion, sub_region_text, region)
        if sub_region is not None and written != sub_region:   # 所在地区 already named another place
            raise RowError("sub_region", f"「{sub_region_text}」与所在地区「{region_text}」（{sub_region}）不一致")
        sub_region = written
    gender = _vocab("gender", taxonomy.normalise_gender, gender_text) if gender_text else None
    birth_year = _year(row, "birth_year")
    if birth_year is not None and not 1920 <= birth_year <= 2010:
        raise RowError("birth_year", f"出生年份 {birth_year} 不合理")
    title = _vocab("title", taxonomy.normalise_title, _text(row, "title", required=True))
    # Open vocabulary: known honours normalised, others kept as written (the importer warns).
    vocabulary = vocabulary or load_honours()
    honours = list(dict.fromkeys(_vocab("honours", _honour_name, part, vocabulary)
                                 for part in _split_cell(row.get("honours"))))
    fields = list(dict.fromkeys(_vocab_multi(row, "fields", taxonomy.normalise_field)))
    if not fields:
        raise RowError("fields", "必填项为空")
    if len(fields) > 3:
        raise RowError("fields", f"最多 3 个专业领域，实有 {len(fields)} 个")
    phone = _apply("phone", normalise_phone, phone_text) if phone_text else None
    email = _apply("email", normalise_email, email_text) if email_text else None
    hashed = last4 = None
    if id_text:
        number = _apply("id_number", normalise_id_number, id_text)
        if birth_year is not None and int(number[6:10]) != birth_year:
            raise RowError("id_number", f"证件号码中的出生年份 {number[6:10]} 与出生年份 {birth_year} 不一致")
        hashed, last4 = id_hash(number, id_key), number[-4:]
    status = _vocab("status", taxonomy.normalise_status, status_text) if status_text else "在库"
    prefixed = source_from_id(source_id)
    if source and prefixed and prefixed != source:
        raise RowError("source_id", f"编号前缀表明来自{prefixed}名单，与 --source {source} 不符")
    list_source = source or prefixed or region
    # The list's own number as written (`_text` cleaned it: expert_ids.written_number); the importer
    # gives the expert its id.
    number = source_id
    try:
        return Expert(
            id=number, source_ids={list_source: number}, name=name.replace(" ", "") if _is_cjk(name) else name,
            gender=gender, birth_year=birth_year, region=region, sub_region=sub_region,
            institution=_text(row, "institution", required=True), department=_text(row, "department"),
            title=title, honours=honours, fields=fields, discipline=_text(row, "discipline"),
            research=_text(row, "research") or "", keywords=_multi(row, "keywords"),
            phone=phone, email=email, id_hash=hashed, id_last4=last4, status=status,
        )
    except ValidationError as exc:
        raise _validation_error(exc, "source_id") from None


_CJK = re.compile(r"[\u4e00-\u9fff]")


def _is_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def affiliation_from_row(row: dict, resolve) -> Affiliation:
    expert_id = resolve("expert_id", _text(row, "expert_id", required=True))
    try:
        return Affiliation(expert_id=expert_id, institution=_text(row, "institution", required=True),
                           start_year=_year(row, "start_year"), end_year=_year(row, "end_year"))
    except ValidationError as exc:
        raise _validation_error(exc, "end_year") from None


_RELATION_ALIASES = {"合作": "项目合作", "共同申报": "项目合作", "导师": "师生", "学生": "师生", "研究生": "师生",
                     "配偶": "亲属", "家属": "亲属", "同事": "同单位", "论文合著": "合著", "coauthor": "合著",
                     "co-author": "合著", "advisor": "师生", "family": "亲属", "co-investigator": "项目合作"}
_AUTHOR_COUNT = re.compile(r"作者数\s*[=:：]\s*(\d+)")


def relation_from_row(row: dict, resolve, names: dict[str, tuple[str, str]]) -> Relation:
    """`names` maps expert id → (name, institution) so an in-pool other person is fully named."""
    expert_id = resolve("expert_id", _text(row, "expert_id", required=True))
    raw_kind = _text(row, "kind", required=True)
    kind = _RELATION_ALIASES.get(raw_kind.lower(), raw_kind)
    if kind not in RELATION_KINDS:
        raise RowError("kind", f"未知的关系类型「{raw_kind}」；可选：{'、'.join(RELATION_KINDS)}")
    other_id = _text(row, "other_expert_id")
    if other_id:
        other_id = resolve("other_expert_id", other_id)
        if other_id == expert_id:
            raise RowError("other_expert_id", "关联专家不能是本人")
        name, institution = names[other_id]
        other = Person(name=_text(row, "other_name") or name,
                       institution=_text(row, "other_institution") or institution, expert_id=other_id)
    else:
        other_name = _text(row, "other_name")
        if not other_name:
            raise RowError("other_name", "关联专家编号与关联人姓名至少填一项")
        other = Person(name=other_name, institution=_text(row, "other_institution"))
    note = _text(row, "note")
    match = _AUTHOR_COUNT.search(note or "")
    try:
        return Relation(expert_id=expert_id, other=other, kind=kind, start_year=_year(row, "start_year"),
                        end_year=_year(row, "end_year"), note=note,
                        author_count=int(match.group(1)) if match else None)
    except ValidationError as exc:
        raise _validation_error(exc, "end_year") from None


def history_from_row(row: dict, resolve) -> ReviewEvent:
    expert_id = resolve("expert_id", _text(row, "expert_id", required=True))
    return ReviewEvent(expert_id=expert_id, activity=_text(row, "activity", required=True),
                       date=_date(row, "date", required=True))


_ATTENDANCE = {"出席": "出席", "参加": "出席", "到会": "出席", "attended": "出席", "是": "出席",
               "缺席": "缺席", "无故缺席": "缺席", "absent": "缺席", "否": "缺席",
               "请假": "请假", "因故请假": "请假", "excused": "请假"}


def evaluation_from_row(row: dict, resolve) -> Evaluation:
    expert_id = resolve("expert_id", _text(row, "expert_id", required=True))
    raw = _text(row, "attendance", required=True)
    attendance = _ATTENDANCE.get(raw.lower() if raw.isascii() else raw)
    if attendance is None:
        raise RowError("attendance", f"未知的出席情况「{raw}」；可选：出席、缺席、请假")
    score_text = _text(row, "score")
    score = None
    if score_text:
        try:
            score = int(float(score_text)) if float(score_text).is_integer() else None
        except ValueError:
            score = None
        if score is None or not 1 <= score <= 5:
            raise RowError("score", f"评分「{score_text}」应为 1 到 5 的整数")
    try:
        return Evaluation(expert_id=expert_id, activity=_text(row, "activity", required=True),
                          date=_date(row, "date", required=True), attendance=attendance, score=score,
                          note=_text(row, "note"))
    except ValidationError as exc:
        raise _validation_error(exc, "score") from None


_INTEGRITY_STATUS = {"active": "active", "有效": "active", "生效": "active", "执行中": "active",
                     "revoked": "revoked", "撤销": "revoked", "已撤销": "revoked",
                     "expired": "expired", "到期": "expired", "已到期": "expired", "已过期": "expired"}
_CATEGORY_ALIASES = {"抄袭": "抄袭剽窃", "剽窃": "抄袭剽窃", "伪造": "伪造篡改", "篡改": "伪造篡改",
                     "代写代投": "买卖代写代投及虚构同行评议", "虚构同行评议": "买卖代写代投及虚构同行评议",
                     "署名": "署名不当", "重复发表": "重复发表或强制引用"}


def integrity_from_row(row: dict, resolve, *, entered_by: str, entered_at: dt.datetime) -> IntegrityRecord:
    record_id = _text(row, "id", required=True)
    expert_id = resolve("expert_id", _text(row, "expert_id", required=True))
    raw_category = _text(row, "category", required=True)
    category = _CATEGORY_ALIASES.get(raw_category, raw_category)
    if category not in INTEGRITY_CATEGORIES:
        raise RowError("category", f"未知的失信行为类型「{raw_category}」")
    severity = _text(row, "severity", required=True)
    if severity not in ("一般", "较重", "严重"):
        raise RowError("severity", f"严重程度应为 一般/较重/严重，实为「{severity}」")
    raw_status = _text(row, "status") or "active"
    status = _INTEGRITY_STATUS.get(raw_status.lower())
    if status is None:
        raise RowError("status", f"状态应为 active/revoked/expired（或 有效/已撤销/已到期），实为「{raw_status}」")
    sanctions = _multi(row, "sanctions") or ["取消评审专家资格"]
    try:
        return IntegrityRecord(
            id=record_id, expert_id=expert_id, category=category, severity=severity,
            decision_date=_date(row, "decision_date"), start=_date(row, "start", required=True),
            end=_date(row, "end"), sanctions=sanctions, issuer=_text(row, "issuer"),
            document_no=_text(row, "document_no"), status=status, entered_by=entered_by, entered_at=entered_at)
    except ValidationError as exc:
        raise _validation_error(exc, "end") from None


_PROJECT_LISTS = frozenset({"keywords", "fields"})


def _check_project_types(row: dict) -> None:
    """A project line's values have the types of the contract (DESIGN.md), never stringified."""
    for key in ("id", "title", "abstract", "institution", "region", "keywords", "fields"):
        if key in row:
            problem = json_type_problem("projects", key, row[key]) if key not in _PROJECT_LISTS else (
                json_type_problem("experts", "keywords", row[key]))
            if problem:
                raise RowError(key, problem)
    people = [("applicant", row.get("applicant"))]
    team = row.get("team")
    if isinstance(team, list):
        people += [(f"team[{i}]", p) for i, p in enumerate(team)]
    for where, person in people:
        if isinstance(person, dict):
            for key in ("name", "institution", "expert_id"):
                if key in person and (type(person[key]) not in (str, int, type(None))
                                      or isinstance(person[key], str) and len(person[key]) > MAX_CELL_CHARS):
                    raise RowError(where, f"{key} 应为文本，实为{type(person[key]).__name__}")
    avoid = row.get("avoid")
    if isinstance(avoid, list):
        for i, item in enumerate(avoid):
            if type(item) not in (str, int):
                raise RowError("avoid", f"应为专家编号数组，第 {i + 1} 项却不是编号")


def _person(value, key: str, resolve) -> Person:
    if not isinstance(value, dict):
        raise RowError(key, "应为包含 name、institution 的对象")
    name = clean(value.get("name"))
    if not name:
        raise RowError(key, "缺少 name")
    expert_id = clean(value.get("expert_id")) or None
    if expert_id:
        expert_id = resolve(key, expert_id)
    return Person(name=name, institution=clean(value.get("institution")) or None, expert_id=expert_id)


def project_from_row(row: dict, resolve) -> Project:
    check_readable(row)
    _check_project_types(row)
    applicant = _person(row.get("applicant"), "applicant", resolve)
    team_raw = row.get("team") or []
    if not isinstance(team_raw, list):
        raise RowError("team", "应为数组")
    team = [_person(p, f"team[{i}]", resolve) for i, p in enumerate(team_raw)]
    fields = [_apply("fields", taxonomy.normalise_field, f) for f in _multi(row, "fields")]
    avoid_raw = row.get("avoid") or []
    if not isinstance(avoid_raw, list):
        raise RowError("avoid", "应为专家编号数组")
    avoid = [resolve("avoid", clean(a)) for a in avoid_raw if clean(a)]
    region = _apply("region", taxonomy.normalise_region, clean(row.get("region"))) if clean(row.get("region")) else None
    try:
        return Project(id=_text(row, "id", required=True), title=_text(row, "title", required=True),
                       abstract=clean(row.get("abstract")), keywords=_multi(row, "keywords"),
                       fields=list(dict.fromkeys(fields)), institution=_text(row, "institution"), region=region,
                       applicant=applicant, team=team, avoid=avoid)
    except ValidationError as exc:
        raise _validation_error(exc, "id") from None
