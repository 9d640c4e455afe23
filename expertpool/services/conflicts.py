"""Conflict-of-interest checks against the store: load the alias table, the policy and the graph;
check projects; give the panel builder its exclusions and forbidden pairs.

Typical use (the panel builder)::

    ex = panel_exclusions(store, ["P-2025-001", "P-2025-002"], "2025-06-01")
    ex.excluded        # expert id → hard conflicts (excluded from the panel)
    ex.soft            # expert id → soft flags (shown, not excluding)
    ex.forbidden_pairs # {(a, b), …} experts who may not sit on one panel, a < b
    ex.counts()        # rule → number of experts excluded by it

Building the graph reads the whole store; a caller checking many times on the same data builds it
once with `load_conflict_graph` and passes the graph instead of the store.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expertpool.domain.conflicts import (
    RULE_LABELS,
    RULES,
    Conflict,
    ConflictGraph,
    ConflictPolicy,
    PanelPair,
    PolicyError,
    UnknownReference,
    gc_paused,
)
from expertpool.domain.institutions import InstitutionTable, InstitutionTableError
from expertpool.domain.models import Expert, Project
from expertpool.errors import InputError, NotFound
from expertpool.services import readers, rows
from expertpool.services.eligibility import parse_review_date
from expertpool.stores.base import ExpertStore


def _indexes_dir() -> Path:
    from expertpool.segment import INDEXES_DIR

    return INDEXES_DIR


def default_institutions_path() -> Path:
    return _indexes_dir() / "institutions.toml"


def default_policy_path() -> Path:
    return _indexes_dir() / "coi_policy.toml"


# ---- data files ------------------------------------------------------------------------------

def _read_toml(path: Path, what: str) -> dict:
    if not path.exists():
        raise InputError(f"{path}: {what}文件不存在")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: TOML 格式错误（{exc}）") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: 应为 UTF-8 编码的 TOML 文件") from None


_TABLE_CACHE: dict[tuple[str, float], InstitutionTable] = {}


def load_institutions(path: str | Path | None = None) -> InstitutionTable:
    """The alias table of legal units (default indexes/institutions.toml), cached per file version."""
    path = Path(path) if path else default_institutions_path()
    stamp = (str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0)
    if stamp not in _TABLE_CACHE:
        data = _read_toml(path, "单位别名表")
        try:
            _TABLE_CACHE[stamp] = InstitutionTable.from_mapping(data)
        except InstitutionTableError as exc:
            raise InputError(f"{path}: {exc.key}: {exc.reason}") from None
    return _TABLE_CACHE[stamp]


def load_policy(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> ConflictPolicy:
    """The shipped defaults (indexes/coi_policy.toml), then the review's own policy file `path`
    (same shape; keys not given keep their defaults), then `overrides` — nested like the TOML or
    with dotted keys ({"coauthor.years": 3}). Unknown keys and out-of-range values raise
    InputError naming the file and key."""
    defaults = default_policy_path()
    policy = ConflictPolicy()
    layers: list[tuple[str, Mapping]] = []
    if defaults.exists():
        layers.append((str(defaults), _read_toml(defaults, "回避规则")))
    if path is not None:
        layers.append((str(path), _read_toml(Path(path), "回避规则")))
    if overrides:
        layers.append(("回避规则覆盖项", overrides))
    for source, data in layers:
        try:
            policy = policy.apply(data)
        except PolicyError as exc:
            raise InputError(f"{source}: {exc.key}: {exc.reason}") from None
    return policy


def _policy(policy: ConflictPolicy | Mapping | str | Path | None) -> ConflictPolicy:
    if isinstance(policy, ConflictPolicy):
        return policy
    if isinstance(policy, (str, Path)):
        return load_policy(policy)
    return load_policy(overrides=policy)


# ---- the graph -------------------------------------------------------------------------------

def load_conflict_graph(store: ExpertStore, institutions: InstitutionTable | None = None,
                        experts: Iterable[Expert] | None = None) -> ConflictGraph:
    """The conflict graph of everything in the store: experts, affiliations, relations, projects.
    `experts`: the store's experts when the caller has already read them (saves reading twice)."""
    table = institutions if institutions is not None else load_institutions()
    try:
        return ConflictGraph.build(
            experts if experts is not None else store.iter_experts(),
            relations=store.iter_records("relation"),
            affiliations=store.iter_records("affiliation"),
            projects=store.iter_records("project"),
            institutions=table,
        )
    except UnknownReference as exc:
        raise InputError(f"库中记录 {exc.record}: {exc.where} 的专家编号「{exc.value}」不在专家库中；"
                         "请重新导入该专家或删除这条记录") from None


def _expert_references(numbered_rows) -> list[str]:
    """The expert numbers project rows name (applicant, team, avoid), for one prefetch."""
    out: list[str] = []
    for _, row in numbered_rows:
        people = [row.get("applicant"), *(row.get("team") if isinstance(row.get("team"), list) else [])]
        out += [str(p["expert_id"]) for p in people if isinstance(p, dict) and p.get("expert_id")]
        if isinstance(row.get("avoid"), list):
            out += [str(a) for a in row["avoid"] if isinstance(a, (str, int))]
    return out


def read_projects(path: str | Path, store: ExpertStore) -> list[Project]:
    """Projects from a JSONL file (the import kind `projects`), each row validated as the importer
    does, expert numbers resolved as everywhere (`expert_ids`). Any bad row → InputError naming the
    file, row and field (every bad row, not just one)."""
    from expertpool.domain import expert_ids
    from expertpool.services.expert_ids import is_legacy, prefetched

    path = Path(path)
    table = readers.read_table(path, "projects")
    directory, legacy = prefetched(store, _expert_references(table.rows)), is_legacy(store)

    def resolve(column: str, value: str) -> str:
        try:
            return expert_ids.resolve(directory, value, legacy=legacy)
        except expert_ids.UnknownExpert as exc:
            raise rows.RowError(column, str(exc)) from None
        except expert_ids.AmbiguousExpert as exc:
            raise rows.RowError(column, exc.hint(for_file=False)) from None

    projects: list[Project] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, row in table.rows:
        try:
            project = rows.project_from_row(row, resolve)
            if project.id in seen:
                raise rows.RowError("id", f"项目编号 {project.id} 与第 {seen[project.id]} 行重复")
        except rows.RowError as error:
            problems.append(f"第 {number} 行 {readers.column_label('projects', error.column)}：{error.reason}")
            continue
        seen[project.id] = number
        projects.append(project)
    if problems:
        shown = "；".join(problems[:10]) + (f"；另有 {len(problems) - 10} 行" if len(problems) > 10 else "")
        raise InputError(f"{path}: {len(problems)} 行有误：{shown}")
    return projects


def _resolve_projects(graph: ConflictGraph, projects: Iterable[Project | str]) -> list[Project]:
    out = []
    for item in projects:
        if isinstance(item, Project):
            out.append(item)
            continue
        found = graph.project(str(item))
        if found is None:
            raise NotFound(f"库中没有编号为「{item}」的项目；请先导入项目（expertpool import 项目.jsonl）")
        out.append(found)
    return out


def _day(value: str | dt.date | None, option: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return parse_review_date(value, option)


def check_projects(graph: ConflictGraph, projects: Iterable[Project | str], review_date: str | dt.date,
                   policy: ConflictPolicy | Mapping | str | Path | None = None,
                   experts: Iterable[str] | None = None) -> list[Conflict]:
    """Every conflict (hard and soft) between the pool and `projects` (records, or ids of stored
    projects) on `review_date`; with `experts`, only for those experts (any of their ids)."""
    day = _day(review_date, "review_date")
    chosen = _policy(policy)
    only = None
    if experts is not None:
        only = set()
        for any_id in experts:
            found = graph.resolve_expert(any_id)
            if found is None:
                raise InputError(f"专家编号「{any_id}」不在专家库中")
            only.add(found)
    try:
        return graph.check_many(_resolve_projects(graph, projects), day, chosen, only)
    except UnknownReference as exc:
        raise InputError(f"项目 {exc.record}: {exc.where} 的专家编号「{exc.value}」不在专家库中") from None


# ---- for the panel builder -------------------------------------------------------------------

@dataclass
class PanelExclusions:
    """What the panel builder needs from the conflict check of the projects under review."""
    review_date: dt.date
    projects: list[str]
    policy: ConflictPolicy
    #: expert id → hard conflicts: the expert may not sit on the panel
    excluded: dict[str, list[Conflict]] = field(default_factory=dict)
    #: expert id → soft flags: shown, not excluding
    soft: dict[str, list[Conflict]] = field(default_factory=dict)
    #: experts who may not sit on one panel together, each pair as (smaller id, larger id)
    forbidden_pairs: set[tuple[str, str]] = field(default_factory=set)
    #: the relation behind each forbidden pair
    pair_evidence: dict[tuple[str, str], list[PanelPair]] = field(default_factory=dict)

    def is_excluded(self, expert_id: str) -> bool:
        return expert_id in self.excluded

    def reasons(self, expert_id: str) -> list[str]:
        """One line per hard conflict: "同一法人单位：SC-1 —任职 至今— 四川大学 —…"."""
        return [f"{c.label}：{c.evidence}" for c in self.excluded.get(expert_id, [])]

    def counts(self) -> Counter:
        """rule → number of experts excluded by it (an expert with two rules counts under both)."""
        return Counter(rule for conflicts in self.excluded.values() for rule in {c.rule for c in conflicts})

    def soft_counts(self) -> Counter:
        return Counter(rule for conflicts in self.soft.values() for rule in {c.rule for c in conflicts})

    def pairs_for(self, expert_id: str) -> set[str]:
        """Experts who may not sit on a panel with `expert_id`."""
        return {b if a == expert_id else a for a, b in self.forbidden_pairs if expert_id in (a, b)}

    def to_json(self) -> dict[str, Any]:
        return {
            "review_date": self.review_date.isoformat(),
            "projects": self.projects,
            "excluded": {k: [c.to_json() for c in v] for k, v in self.excluded.items()},
            "soft": {k: [c.to_json() for c in v] for k, v in self.soft.items()},
            "forbidden_pairs": [{"a": a, "b": b, "rules": [p.rule for p in self.pair_evidence.get((a, b), [])],
                                 "evidence": [p.evidence for p in self.pair_evidence.get((a, b), [])]}
                                for a, b in sorted(self.forbidden_pairs)],
            "counts": dict(self.counts()),
            "soft_counts": dict(self.soft_counts()),
        }


def panel_exclusions(store_or_graph: ExpertStore | ConflictGraph, projects: Sequence[Project | str],
                     review_date: str | dt.date, policy: ConflictPolicy | Mapping | str | Path | None = None,
                     candidates: Iterable[str] | None = None) -> PanelExclusions:
    """Hard exclusions, soft flags and forbidden pairs for a panel reviewing `projects` (records, or
    ids of stored projects) on `review_date`. `policy`: a ConflictPolicy, a mapping of overrides, a
    policy TOML path, or None for the defaults. `candidates` limits the forbidden pairs to those
    experts (default: the whole pool); exclusions always cover the whole pool."""
    graph = store_or_graph if isinstance(store_or_graph, ConflictGraph) else load_conflict_graph(store_or_graph)
    day = _day(review_date, "review_date")
    chosen = _policy(policy)
    resolved = _resolve_projects(graph, projects)
    result = PanelExclusions(day, [p.id for p in resolved], chosen)
    with gc_paused():
        for conflict in check_projects(graph, resolved, day, chosen):
            target = result.excluded if conflict.hard else result.soft
            target.setdefault(conflict.expert_id, []).append(conflict)
        for pair in graph.panel_pairs(chosen, day, candidates):
            key = (pair.a, pair.b)
            result.forbidden_pairs.add(key)
            result.pair_evidence.setdefault(key, []).append(pair)
    return result


# ---- for `expertpool coi check` --------------------------------------------------------------

@dataclass
class CheckReport:
    review_date: dt.date
    projects: list[Project]
    conflicts: list[Conflict]
    names: dict[str, str]
    expert: str | None = None

    @property
    def hard(self) -> list[Conflict]:
        return [c for c in self.conflicts if c.hard]

    @property
    def soft(self) -> list[Conflict]:
        return [c for c in self.conflicts if not c.hard]

    def counts(self, hard: bool = True) -> Counter:
        """rule → number of (project, expert) pairs it applies to."""
        return Counter(rule for _, _, rule in {(c.project_id, c.expert_id, c.rule)
                                               for c in self.conflicts if c.hard == hard})

    def to_json(self) -> list[dict[str, Any]]:
        return [{**c.to_json(), "expert_name": self.names.get(c.expert_id)} for c in self.conflicts]


def check_command(store: ExpertStore, project: str, *, expert: str | None = None,
                  review_date: str | dt.date | None = None, policy_path: str | Path | None = None) -> CheckReport:
    """`coi check`: `project` is a projects JSONL file or the id of a stored project."""
    chosen = load_policy(policy_path)
    day = _day(review_date, "--review-date")
    from expertpool.services.snapshot import pool_snapshot

    graph = pool_snapshot(store).graph   # cached per data version: repeated checks skip the build
    path = Path(project)
    if path.exists():
        projects = read_projects(path, store)
    else:
        found = graph.project(project)
        if found is None:
            raise InputError(f"{project}: 文件不存在，库中也没有编号为「{project}」的项目（--project）")
        projects = [found]
    only = None
    if expert is not None:
        from expertpool.services.expert_ids import resolve_expert_id

        try:
            only = [resolve_expert_id(store, expert, "--expert")]
        except NotFound as exc:  # a wrong option value: bad input, as this command always said
            raise InputError(str(exc)) from None
    conflicts = check_projects(graph, projects, day, chosen, only)
    names = {c.expert_id: graph.expert_name(c.expert_id) or "" for c in conflicts}
    return CheckReport(day, projects, conflicts, names, only[0] if only else None)


__all__ = [
    "RULES", "RULE_LABELS", "CheckReport", "Conflict", "ConflictGraph", "ConflictPolicy", "PanelExclusions",
    "check_command", "check_projects", "load_conflict_graph", "load_institutions", "load_policy",
    "panel_exclusions", "read_projects",
]
