"""A panel's spec: the rules of one panel, from a TOML spec file (README "Panel rules") and/or
command-line flags, validated through the vocabularies; `to_rules()` gives the solver's rules and
`eligibility_rules()` who may sit on it. Quotas (`[[quota]]` tables) are read by `parse_quotas`,
which the session spec uses too."""
from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields as dc_fields
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from expertpool.domain import taxonomy
from expertpool.domain.eligibility import PANEL_RULES, EligibilityRules
from expertpool.domain.institutions import SECTORS
from expertpool.domain.models import Project
from expertpool.domain.panel import STRATEGIES, PanelRules
from expertpool.domain.panel.spec import ATTRIBUTES, NUMERIC_ATTRIBUTES, NO, YES, Quota
from expertpool.domain.text import clean, parse_date
from expertpool.errors import InputError
from expertpool.io.datafiles import load_institutions
from expertpool.io.files import read_input_text


@dataclass(frozen=True)
class PanelSpec:
    """The rules of one panel, from a TOML spec file and/or CLI flags (see README)."""
    name: str = "评审专家组"
    session: str | None = None   # 评审活动 (the review session the panel is for), for the record sheet
    group: str | None = None     # 组别 within the session
    place: str | None = None     # 评审地点, for invitations and the record sheet
    review_date: dt.date = field(default_factory=dt.date.today)
    size: int = 15
    fields: tuple[str, ...] | str = "all"       # or "projects": each project's first field
    min_per_field: int = 1
    coverage: str = "any"
    regions: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: {"四川": (0.4, 0.6), "重庆": (0.4, 0.6)})
    min_full_senior_share: float = 0.6
    max_per_institution: int | None = 1
    max_age: int = 65
    max_age_high_level: int = 70
    max_reviews_per_year: int | None = 10
    projects: tuple[str, ...] | str = ()  # a projects JSONL path, or ids of stored projects
    no_projects: bool = False  # draw without projects: no conflict of interest is checked (said on the panel)
    backups: int = 5
    mode: str = "lottery"
    max_probability: float | None = None
    relevance_threshold: float = 0.3
    #: an expert qualifies for a project only sharing one of its fields (services/relevance.py)
    require_common_field: bool = True
    seed: int = 0
    time_limit_s: float = 30.0
    policy: str | None = None  # conflict-policy TOML overriding indexes/coi_policy.toml
    quotas: tuple[Quota, ...] = ()  # [[quota]] tables: attribute quotas (README "Quotas")
    same_day: str = "refuse"  # an expert seated elsewhere that day: "refuse" (not drawn) or "warn"

    def resolved_fields(self, projects: Sequence[Project] = ()) -> tuple[str, ...]:
        """The required fields: all 11, the listed ones, or ("projects") the first field of each
        project under review."""
        if self.fields == "all":
            return taxonomy.FIELDS
        if self.fields == "projects":
            firsts = {p.fields[0] for p in projects if p.fields}
            return tuple(f for f in taxonomy.FIELDS if f in firsts)
        return tuple(self.fields)

    def to_rules(self, projects: Sequence[Project] = ()) -> PanelRules:
        """The solver's rules for these projects under review. Without projects nobody has a
        relevance, so the lottery's relevance threshold does not apply."""
        return PanelRules(size=self.size, fields=self.resolved_fields(projects), min_per_field=self.min_per_field,
                          coverage=self.coverage, region_bounds=dict(self.regions),
                          min_full_senior_share=self.min_full_senior_share,
                          max_per_institution=self.max_per_institution, mode=self.mode,
                          max_probability=self.max_probability, backups=self.backups, seed=self.seed,
                          time_limit_s=self.time_limit_s,
                          relevance_threshold=self.relevance_threshold if projects else 0.0,
                          quotas=self.quotas)

    def eligibility_rules(self) -> EligibilityRules:
        """Who may sit on this panel: every eligibility rule, with this spec's limits (with
        same_day = "warn", a second seat on one day is allowed and warned about: the facts then
        hold as booked only those on a still-sealed panel, `panels.eligibility_facts`)."""
        return EligibilityRules(PANEL_RULES, max_age=self.max_age, max_age_high_level=self.max_age_high_level,
                                max_reviews_per_year=self.max_reviews_per_year)

    def to_json(self) -> dict:
        data = asdict(self)
        data["review_date"] = self.review_date.isoformat()
        data["regions"] = {k: list(v) for k, v in self.regions.items()}
        data["quotas"] = [q.to_json() for q in self.quotas]
        return data


_SPEC_KEYS = {f.name for f in dc_fields(PanelSpec)} | {"quota"}
#: what to do with an expert already seated elsewhere on the review day
SAME_DAY = ("refuse", "warn")
# TOML bare keys are ASCII-only, but officers write `regions = { 四川 = [0.4, 0.6] }` as in the spec
# template; such keys are quoted before parsing (only outside strings: after `{`, `,` or a line start).
_BARE_CJK_KEY = re.compile(r'(^|[{,])(\s*)([^\s"\'=\[\]{},#]*[^\x00-\x7f][^\s"\'=\[\]{},#]*)(\s*=)', re.M)

#: Upper bounds that keep every number a person might type within what the solver, SQLite and
#: Elasticsearch can hold; anything larger is a typing error.
MAX_PANEL_SIZE = 1000
SEED_RANGE = (-(2**63), 2**63 - 1)

_Count = Annotated[int, Field(ge=0, le=MAX_PANEL_SIZE)]
_Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class _SpecEntries(BaseModel):
    """The type and range of each spec entry as written (TOML values, CLI flags, a saved spec),
    checked before anything is normalised. None = not given (PanelSpec's default applies)."""
    model_config = ConfigDict(strict=True, extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    session: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    group: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    place: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    review_date: dt.date | None = None
    size: Annotated[int, Field(ge=1, le=MAX_PANEL_SIZE)] | None = None
    fields: Literal["all", "projects"] | list[str] | None = None
    min_per_field: _Count | None = None
    coverage: Literal["any", "primary"] | None = None
    regions: dict[str, Annotated[list[_Share], Field(min_length=2, max_length=2)]] | None = None
    min_full_senior_share: _Share | None = None
    max_per_institution: Annotated[int, Field(ge=1, le=MAX_PANEL_SIZE)] | None = None
    max_age: Annotated[int, Field(ge=18, le=120)] | None = None
    max_age_high_level: Annotated[int, Field(ge=18, le=120)] | None = None
    max_reviews_per_year: Annotated[int, Field(ge=0, le=10_000)] | None = None
    projects: str | list[str] | None = None
    no_projects: bool | None = None
    backups: _Count | None = None
    mode: str | None = None
    max_probability: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] | None = None
    relevance_threshold: _Share | None = None
    require_common_field: bool | None = None
    seed: Annotated[int, Field(ge=SEED_RANGE[0], le=SEED_RANGE[1])] | None = None
    time_limit_s: Annotated[float, Field(gt=0.0, le=86_400.0, allow_inf_nan=False)] | None = None
    policy: str | None = None
    quota: list[dict[str, Any]] | None = None      # [[quota]] tables in a spec file
    quotas: list[dict[str, Any]] | None = None     # a saved spec's quotas
    same_day: Literal["refuse", "warn"] | None = None


#: What an entry should be, where pydantic's own complaint would say too little.
_SPEC_SHAPES = {
    "fields": '应为 "all"、"projects"（各申报项目的第一领域）或领域名称的列表，如 ["人工智能", "新材料"]',
    "quota": '应为 [[quota]] 表，如 attribute = "单位类型"、value = "企业"、min_share = "1/3"',
    "quotas": "应为配额表的列表",
    "same_day": '应为 "refuse"（不抽取同日已入选的专家）或 "warn"（抽取并警告）',
    "regions": "应为表，每个地区给出 [下限, 上限] 两个 0 到 1 之间的数，如 { 四川 = [0.4, 0.6], 重庆 = [0.4, 0.6] }",
    "projects": "应为申报项目文件名或库中项目编号（文字），或它们的列表",
    "coverage": '应为 "any" 或 "primary"',
}
_SPEC_PHRASES = {
    "int_type": "应为整数（不加引号）",
    "float_type": "应为数字（不加引号）",
    "string_type": "应为文字（用引号括起）",
    "bool_type": "应为 true 或 false",
    "date_type": "应为日期，如 2026-12-01",
    "finite_number": "应为有限的数",
    "greater_than_equal": "应不小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "应不大于 {le}",
    "less_than": "应小于 {lt}",
    "string_too_short": "不可为空",
    "string_too_long": "过长（最多 {max_length} 个字符）",
    "literal_error": "应为 {expected} 之一",
}
#: Spec entries that a `panel build` flag sets: errors in a flag's value name the flag.
SPEC_FLAGS = {"projects": "--projects", "review_date": "--review-date", "size": "--size", "mode": "--mode",
              "seed": "--seed", "backups": "--backups", "max_per_institution": "--max-per-institution",
              "max_probability": "--max-probability", "min_full_senior_share": "--min-full-senior-share",
              "time_limit_s": "--time-limit", "name": "--name", "no_projects": "--no-projects", "place": "--place",
              "same_day": "--allow-same-day"}


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _spec_problem(key: str, origin: str, value: Any, error: Mapping[str, Any] | None = None,
                  phrase: str | None = None) -> str:
    """One line naming where the entry came from (the file and key, or the flag) and what it should be."""
    label = origin if origin.startswith("--") else f"{origin}: {key}"
    if phrase is None:
        error = error or {}
        template = _SPEC_PHRASES.get(error.get("type", ""))
        if key in _SPEC_SHAPES or template is None:
            phrase = _SPEC_SHAPES.get(key) or f"无效（{error.get('msg', '')}）"
        else:
            phrase = template.format(**dict(error.get("ctx") or {}))
    return f"{label} {phrase}（现为 {_shown(value)}）"


def _as_written(value: Any) -> Any:
    """Tuples (from Python callers) as the lists a TOML file would give."""
    if isinstance(value, tuple):
        return [_as_written(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _as_written(v) for k, v in value.items()}
    return value


def _check_entries(data: dict[str, Any], origin: Mapping[str, str]) -> None:
    """Every entry of the right type and range, or InputError listing each wrong one. A review
    date given as text (flag) or a TOML date is parsed here, with the range every date has."""
    problems: list[str] = []
    skip: set[str] = set()
    value = data.get("review_date")
    if isinstance(value, (str, dt.date)):
        try:
            data["review_date"] = parse_date(value)
        except ValueError as exc:
            problems.append(_spec_problem("review_date", origin["review_date"], value, phrase=f"无效：{exc}"))
            skip.add("review_date")
    try:
        _SpecEntries(**{k: _as_written(v) for k, v in data.items() if k not in skip})
    except ValidationError as exc:
        reported: set[str] = set()
        for error in exc.errors():
            key = str(error["loc"][0]) if error.get("loc") else "?"
            if key in reported:  # a union reports each alternative; one line per entry is enough
                continue
            reported.add(key)
            where = origin.get(key, "命令行参数")
            if error["type"] == "extra_forbidden":
                problems.append(f"{where}: 未知的规则项 {key}；可用：{', '.join(sorted(_SPEC_KEYS))}")
            else:
                problems.append(_spec_problem(key, where, data.get(key), error))
    if problems:
        raise InputError("；".join(problems))


def quote_cjk_keys(text: str) -> str:
    return _BARE_CJK_KEY.sub(lambda m: f'{m.group(1)}{m.group(2)}"{m.group(3)}"{m.group(4)}', text)


def load_spec(path: Path | None = None, overrides: Mapping[str, Any] | None = None, *,
              overrides_from: str | None = None) -> PanelSpec:
    """Read a TOML spec, apply CLI overrides (None = not given), check every entry's type and range
    (InputError naming the file and key, or the flag, and what the entry should be), normalise
    field and region names through the vocabularies. `overrides_from` names where the overrides
    came from when they are not flags (a saved panel's spec)."""
    data: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if path is not None:
        try:
            data = tomllib.loads(quote_cjk_keys(read_input_text(path, "规则文件")))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: 不是有效的 TOML（{exc}）") from None
        origin = {key: str(path) for key in data}
        if isinstance(data.get("projects"), str) and not data["projects"].startswith("/"):
            # A relative projects path in a spec file is relative to the spec file.
            candidate = Path(path).parent / data["projects"]
            if candidate.exists():
                data["projects"] = str(candidate.resolve())
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
            origin[key] = overrides_from or SPEC_FLAGS.get(key, "命令行参数")
    _check_entries(data, origin)

    def where(key: str) -> str:
        return origin.get(key, "命令行参数")

    if isinstance(data.get("name"), str):
        written, data["name"] = data["name"], clean(data["name"])
        if not data["name"]:
            raise InputError(_spec_problem("name", where("name"), written, phrase="不可为空"))
    try:
        if isinstance(data.get("fields"), list):
            data["fields"] = tuple(dict.fromkeys(taxonomy.normalise_field(f) for f in data["fields"]))
    except taxonomy.UnknownValue as exc:
        raise InputError(f"{where('fields')}: fields {exc}") from None
    if "regions" in data:
        regions = {}
        for name, (lo, hi) in dict(data["regions"]).items():
            try:
                region = taxonomy.normalise_region(name)
            except taxonomy.UnknownValue as exc:
                raise InputError(f"{where('regions')}: regions {exc}") from None
            if lo > hi:
                raise InputError(_spec_problem(f"regions.{name}", where("regions"), [lo, hi],
                                               phrase="的下限大于上限"))
            regions[region] = (float(lo), float(hi))
        data["regions"] = regions
    for key in ("min_full_senior_share", "max_probability", "relevance_threshold", "time_limit_s"):
        if isinstance(data.get(key), int):
            data[key] = float(data[key])
    if "quota" in data:   # [[quota]] tables in a spec file; "quotas" in a saved spec
        data["quotas"] = [*data.get("quotas", ()), *data.pop("quota")]
        origin.setdefault("quotas", origin.get("quota", "命令行参数"))
    if "quotas" in data:
        data["quotas"] = parse_quotas(data["quotas"], where("quotas"))
    # Saved with the panel: an absolute path lets `panel show --reproduce` run from anywhere.
    if isinstance(data.get("projects"), str):
        data["projects"] = (data["projects"],)
    if data.get("projects"):
        data["projects"] = tuple(str(Path(p).resolve()) if Path(p).exists() else p for p in data["projects"])
    elif "projects" in data:
        data["projects"] = ()
    spec = PanelSpec(**data)
    if spec.no_projects and spec.projects:
        raise InputError(f"{where('no_projects')}: 已给出申报项目（projects），不能同时声明不审查利益冲突（--no-projects）")
    if spec.mode not in STRATEGIES:
        raise InputError(f"{where('mode')}: 未知的抽取方式「{spec.mode}」；可选：{'、'.join(STRATEGIES)}（--mode）")
    if spec.same_day not in SAME_DAY:
        raise InputError(f"{where('same_day')}: same_day 应为 {' 或 '.join(SAME_DAY)}（现为「{spec.same_day}」）")
    return spec


def strategy_names() -> tuple[str, ...]:
    return tuple(STRATEGIES)


#: a quota's attribute as officers write it: the English key or a Chinese name
ATTRIBUTE_NAMES: dict[str, str] = {
    **{k: k for k in ATTRIBUTES}, **{v: k for k, v in ATTRIBUTES.items()},
    "地区": "region", "领域": "field", "工作单位": "institution", "单位": "institution", "市州": "sub_region",
    "区县": "sub_region", "称号": "honour", "性别比例": "gender",
}
_QUOTA_KEYS = {"attribute", "value", "values", "at_least", "at_most", "min", "max", "min_share", "max_share", "label"}


def parse_quotas(tables: Any, where: str) -> tuple[Quota, ...]:
    """`[[quota]]` tables (or a saved spec's quota list) as `Quota`s, attribute names and values
    checked against the vocabularies. Shares may be written as fractions ("1/3")."""
    if isinstance(tables, Mapping):
        tables = [tables]
    if not isinstance(tables, (list, tuple)):
        raise InputError(f"{where}: quota 应为 [[quota]] 表（属性、取值与人数上下限）")
    out = []
    for number, table in enumerate(tables, start=1):
        at = f"{where}: quota[{number}]"
        if isinstance(table, Quota):
            out.append(table)
            continue
        if not isinstance(table, Mapping):
            raise InputError(f"{at} 应为表，如 {{ attribute = \"单位类型\", value = \"企业\", min_share = \"1/3\" }}")
        unknown = sorted(set(table) - _QUOTA_KEYS)
        if unknown:
            raise InputError(f"{at}: 未知的项 {', '.join(unknown)}；可用：{', '.join(sorted(_QUOTA_KEYS))}")
        name = str(table.get("attribute", "")).strip()
        attribute = ATTRIBUTE_NAMES.get(name)
        if attribute is None:
            raise InputError(f"{at}: 属性「{name}」未知；可用：" + "、".join(f"{v}（{k}）" for k, v in ATTRIBUTES.items()))
        raw = table.get("values", table.get("value", ()))
        raw = [raw] if isinstance(raw, (str, bool, int)) and not isinstance(raw, (list, tuple)) else list(raw)
        try:
            values = tuple(dict.fromkeys(_quota_value(attribute, v) for v in raw))
            quota = Quota(attribute, values,
                          at_least=_whole(table.get("at_least"), f"{at}.at_least"),
                          at_most=_whole(table.get("at_most"), f"{at}.at_most"),
                          min=_whole(table.get("min"), f"{at}.min"), max=_whole(table.get("max"), f"{at}.max"),
                          min_share=_share(table.get("min_share"), f"{at}.min_share"),
                          max_share=_share(table.get("max_share"), f"{at}.max_share"),
                          label=str(table.get("label") or ""))
        except taxonomy.UnknownValue as exc:
            raise InputError(f"{at}: {exc}") from None
        except InputError as exc:
            raise InputError(f"{at}: {exc}") from None
        if values and attribute in NUMERIC_ATTRIBUTES:
            raise InputError(f"{at}: {ATTRIBUTES[attribute]}请用 at_least / at_most 给出范围，如 at_most = 45")
        out.append(quota)
    return tuple(out)


def _quota_value(attribute: str, value: Any) -> str:
    """A quota value in the vocabulary of its attribute (UnknownValue when it is not in it)."""
    if attribute == "high_level":
        if isinstance(value, bool):
            return YES if value else NO
        text = str(value).strip().lower()
        if text in ("是", "true", "yes", "1"):
            return YES
        if text in ("否", "false", "no", "0"):
            return NO
        raise taxonomy.UnknownValue("高层次人才", str(value), (YES, NO))
    text = str(value).strip()
    if attribute == "region":
        return taxonomy.normalise_region(text)
    if attribute == "title":
        return taxonomy.normalise_title(text)
    if attribute in ("field", "primary_field"):
        return taxonomy.normalise_field(text)
    if attribute == "gender":
        return taxonomy.normalise_gender(text)
    if attribute == "sub_region":
        return taxonomy.normalise_subregion(text)[1]
    if attribute == "sector":
        if text not in SECTORS:
            raise taxonomy.UnknownValue("单位类型", text, SECTORS)
        return text
    if attribute == "honour":
        try:
            return taxonomy.normalise_honour(text)
        except taxonomy.UnknownValue:
            return text   # honours are an open vocabulary: kept as written
    if attribute == "institution":
        return load_institutions().normalise(text) or text
    return text


def _whole(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where} 应为整数（现为 {value!r}）")
    return value


def _share(value: Any, where: str) -> float | None:
    """A share as a number in 0..1 or a fraction written as text ("1/3")."""
    if value is None:
        return None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
        if not match or int(match.group(2)) == 0:
            raise InputError(f"{where} 应为 0..1 之间的数或分数（如 \"1/3\"），现为「{value}」")
        value = int(match.group(1)) / int(match.group(2))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InputError(f"{where} 应为 0..1 之间的数（现为 {value!r}）")
    return float(value)
