"""A review session's spec (README "Review sessions"): the session's own keys, panel rules as
defaults for every group, and the groups — `groups = N` with `group_by = "field"` (the projects
split automatically) or `[[group]]` tables, each naming its projects and overriding any rule.

Every group becomes a `PanelSpec` (`group_spec`), so a group's rules are checked exactly as a
panel's are; errors name the file, the group and the key.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields as dc_fields
from pathlib import Path
from typing import Any

from expertpool.domain.text import parse_date
from expertpool.errors import InputError
from expertpool.io.files import read_input_text
from expertpool.services.panel_spec import SAME_DAY, PanelSpec, quote_cjk_keys, load_spec, strategy_names

#: keys only the session has (the rest are panel rules, defaults for every group)
SESSION_KEYS = ("name", "review_date", "projects", "groups", "group", "group_by", "mode", "seed", "time_limit_s",
                "max_probability", "same_day", "policy")
#: panel rules a session or a group may set (a group's panel names its session and group itself)
RULE_KEYS = tuple(f.name for f in dc_fields(PanelSpec)
                  if f.name not in ("name", "session", "group", "review_date", "projects", "mode", "seed",
                                    "time_limit_s", "max_probability", "same_day", "policy")) + ("quota",)
GROUP_BY = ("field",)


@dataclass(frozen=True)
class GroupSpec:
    """A `[[group]]` table: its name, its projects (ids, or a projects file), its own rules."""
    name: str
    projects: tuple[str, ...]
    rules: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionSpec:
    name: str = "评审会"
    review_date: dt.date = field(default_factory=dt.date.today)
    projects: tuple[str, ...] = ()          # projects files and/or ids of stored projects
    groups: int | tuple[GroupSpec, ...] = 1
    group_by: str = "field"
    mode: str = "lottery"
    seed: int = 0
    time_limit_s: float = 60.0
    max_probability: float | None = None
    same_day: str = "refuse"
    policy: str | None = None
    rules: Mapping[str, Any] = field(default_factory=dict)   # panel rules: defaults for every group

    @property
    def automatic(self) -> bool:
        return isinstance(self.groups, int)

    def group_spec(self, name: str, project_ids: tuple[str, ...], own: Mapping[str, Any] = {}) -> PanelSpec:
        """A group's rules as a panel spec: the session's defaults, the group's own rules, and
        the session's date, mode, seed and conflict policy."""
        data = {"fields": "projects", **self.rules, **own, "name": name, "session": self.name, "group": name,
                "review_date": self.review_date,
                "projects": project_ids, "mode": self.mode, "seed": self.seed, "time_limit_s": self.time_limit_s,
                "same_day": self.same_day, "policy": self.policy}
        return load_spec(None, data)

    def to_json(self) -> dict:
        groups: Any = self.groups if isinstance(self.groups, int) else [
            {"name": g.name, "projects": list(g.projects), **_plain(g.rules)} for g in self.groups]
        return {"name": self.name, "review_date": self.review_date.isoformat(), "projects": list(self.projects),
                "groups": groups, "group_by": self.group_by, "mode": self.mode, "seed": self.seed,
                "time_limit_s": self.time_limit_s, "max_probability": self.max_probability,
                "same_day": self.same_day, "policy": self.policy, **_plain(self.rules)}


def _plain(rules: Mapping[str, Any]) -> dict:
    out = {}
    for key, value in rules.items():
        if key == "quotas":
            value = [q.to_json() if hasattr(q, "to_json") else q for q in value]
        elif isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
        out[key] = value
    return out


def load_session_spec(path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> SessionSpec:
    """Read a session spec (TOML file and/or a saved spec's JSON), apply command-line overrides,
    and check every group's rules as a panel spec."""
    data: dict[str, Any] = {}
    where = "命令行参数"
    base = Path.cwd()
    if path is not None:
        where, base = str(path), Path(path).parent
        try:
            data = tomllib.loads(quote_cjk_keys(read_input_text(path, "评审会规则文件")))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: 不是有效的 TOML（{exc}）") from None
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    unknown = sorted(set(data) - set(SESSION_KEYS) - set(RULE_KEYS))
    if unknown:
        raise InputError(f"{where}: 未知的规则项 {', '.join(unknown)}；评审会可用：{', '.join(SESSION_KEYS)}；"
                         f"各组规则：{', '.join(sorted(RULE_KEYS))}")
    rules = {k: data.pop(k) for k in list(data) if k in RULE_KEYS}
    if "quota" in rules:
        rules["quotas"] = [*rules.get("quotas", ()), *rules.pop("quota")]
    if "group" in data:   # [[group]] tables
        if "groups" in data:
            raise InputError(f"{where}: groups（组数）与 [[group]] 分组表只能给出一种")
        data["groups"] = data.pop("group")
    try:
        session = SessionSpec(
            name=str(data.get("name", "评审会")),
            review_date=parse_date(data["review_date"]) if "review_date" in data else dt.date.today(),
            projects=_project_refs(data.get("projects", ()), base, where),
            groups=_groups(data.get("groups", 1), base, where),
            group_by=str(data.get("group_by", "field")),
            mode=str(data.get("mode", "lottery")),
            seed=_int(data.get("seed", 0), "seed", where),
            time_limit_s=float(data.get("time_limit_s", 60.0)),
            max_probability=None if data.get("max_probability") is None else float(data["max_probability"]),
            same_day=str(data.get("same_day", "refuse")),
            policy=data.get("policy"),
            rules=rules,
        )
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    if session.group_by not in GROUP_BY:
        raise InputError(f"{where}: group_by 只支持 {'、'.join(GROUP_BY)}（现为「{session.group_by}」）")
    if session.mode not in strategy_names():
        raise InputError(f"{where}: 未知的抽取方式「{session.mode}」；可选：{'、'.join(strategy_names())}（--mode）")
    if session.same_day not in SAME_DAY:
        raise InputError(f"{where}: same_day 应为 {' 或 '.join(SAME_DAY)}（现为「{session.same_day}」）")
    if not session.projects and not (not session.automatic and all(g.projects for g in session.groups)):
        raise InputError(f"{where}: 缺少申报项目（projects）")
    # every group's rules are checked now, naming the group, before anything is read
    groups = [GroupSpec("各组默认规则", ())] if session.automatic else session.groups
    for number, group in enumerate(groups, start=1):
        try:
            session.group_spec(group.name, group.projects, group.rules).to_rules()
        except InputError as exc:
            label = "默认规则" if session.automatic else f"group[{number}]（{group.name}）"
            raise InputError(f"{where}: {label}: {str(exc).removeprefix('命令行参数: ')}") from None
    return session


def _int(value: Any, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: {key} 应为整数（现为 {value!r}）")
    return value


def _project_refs(value: Any, base: Path, where: str) -> tuple[str, ...]:
    """Projects files (relative to the spec file) and/or stored project ids, as written."""
    refs = [value] if isinstance(value, str) else list(value)
    out = []
    for ref in refs:
        ref = str(ref)
        candidate = Path(ref) if Path(ref).is_absolute() else base / ref
        out.append(str(candidate.resolve()) if candidate.exists() else ref)
    return tuple(out)


def _groups(value: Any, base: Path, where: str) -> int | tuple[GroupSpec, ...]:
    if isinstance(value, bool):
        raise InputError(f"{where}: groups 应为组数或 [[group]] 分组表")
    if isinstance(value, int):
        if value < 1:
            raise InputError(f"{where}: groups 必须是正整数（现为 {value}）")
        return value
    if not isinstance(value, (list, tuple)) or not value:
        raise InputError(f"{where}: groups 应为组数或 [[group]] 分组表")
    out = []
    for number, table in enumerate(value, start=1):
        if not isinstance(table, Mapping):
            raise InputError(f"{where}: group[{number}] 应为表（name、projects 与该组的规则）")
        unknown = sorted(set(table) - {"name", "projects"} - set(RULE_KEYS))
        if unknown:
            raise InputError(f"{where}: group[{number}]: 未知的规则项 {', '.join(unknown)}；"
                             f"可用：name, projects, {', '.join(sorted(RULE_KEYS))}")
        name = str(table.get("name") or f"第{number}组")
        projects = table.get("projects", ())
        rules = {k: v for k, v in table.items() if k not in ("name", "projects")}
        if "quota" in rules:
            rules["quotas"] = [*rules.get("quotas", ()), *rules.pop("quota")]
        out.append(GroupSpec(name, _project_refs(projects, base, where), rules))
    names = [g.name for g in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{where}: 分组名称重复：{'、'.join(dupes)}")
    return tuple(out)
