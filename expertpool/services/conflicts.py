"""Conflict-of-interest use cases: check projects against the pool (`coi check`); give the panel
builder its exclusions and forbidden pairs.

Typical use (the panel builder)::

    ex = panel_exclusions(store, ["P-2025-001", "P-2025-002"], "2025-06-01")
    ex.excluded        # expert id → hard conflicts (excluded from the panel)
    ex.soft            # expert id → soft flags (shown, not excluding)
    ex.forbidden_pairs # {(a, b), …} experts who may not sit on one panel, a < b
    ex.counts()        # rule → number of experts excluded by it

Building the graph reads the whole store; a caller checking many times on the same data builds it
once (`expertpool.cache.snapshot.load_conflict_graph`, or the cached `pool_snapshot(store).graph`)
and passes the graph instead of the store.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expertpool.cache.snapshot import load_conflict_graph, pool_snapshot
from expertpool.domain.conflicts import (
    RULE_LABELS,
    RULES,
    Conflict,
    ConflictGraph,
    ConflictPolicy,
    PanelPair,
    UnknownReference,
)
from expertpool.domain import expert_ids
from expertpool.domain.models import Project
from expertpool.errors import InputError, NotFound
from expertpool.gcpause import gc_paused
from expertpool.io import readers, rows
from expertpool.io.datafiles import load_policy, policy_from
from expertpool.progress import Progress
from expertpool.services.eligibility import parse_review_date
from expertpool.services.expert_ids import is_legacy, prefetched, resolve_expert_id
from expertpool.stores.base import ExpertStore


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
    chosen = policy_from(policy)
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


def excluded_by_conflicts(graph: ConflictGraph, projects: Sequence[Project], review_date: str | dt.date,
                          policy: ConflictPolicy | Mapping | str | Path | None = None) -> dict[str, set[str]]:
    """project id → experts a hard conflict keeps off its review (no evidence built: a review
    session's groups need only who; `check_projects` gives the evidence)."""
    try:
        return graph.hard_excluded(projects, _day(review_date, "review_date"), policy_from(policy))
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
    chosen = policy_from(policy)
    resolved = _resolve_projects(graph, projects)
    result = PanelExclusions(day, [p.id for p in resolved], chosen)
    for conflict in check_projects(graph, resolved, day, chosen):
        target = result.excluded if conflict.hard else result.soft
        target.setdefault(conflict.expert_id, []).append(conflict)
    for pair in graph.panel_pairs(chosen, day, candidates):
        key = (pair.a, pair.b)
        result.forbidden_pairs.add(key)
        result.pair_evidence.setdefault(key, []).append(pair)
    return result


# ---- for `expertpool coi check` --------------------------------------------------------------

#: rules whose conflicts the summary lists by name: a relation between two people (or the
#: applicant's word), few per project. The others — the unit rules and the co-author's
#: co-author — can hold for thousands of experts and are counted (by unit, for the unit rules).
LISTED_RULES = ("same_person", "family", "advisor", "coauthor", "coinvestigator", "avoid_list", "declared")
#: rules whose evidence runs through a legal unit (the unit is the path's third element)
UNIT_RULES = ("same_unit", "former_unit", "same_parent")


@dataclass
class RuleCount:
    """One rule's conflicts with one project: how many experts, and (unit rules) through which units."""
    rule: str
    hard: bool
    experts: int
    units: list[tuple[str, int]] = field(default_factory=list)  # (legal unit, experts), most first

    @property
    def label(self) -> str:
        return RULE_LABELS.get(self.rule, self.rule)


@dataclass
class ProjectSummary:
    project: Project
    hard_experts: int
    soft_experts: int
    rules: list[RuleCount]          # in the policy's rule order, hard before soft
    listed: list[Conflict]          # the conflicts shown one by one (see `CheckReport.listed`)


@dataclass
class CheckReport:
    review_date: dt.date
    projects: list[Project]
    conflicts: list[Conflict]
    names: dict[str, str]
    experts: list[str] = field(default_factory=list)   # the experts asked about (canonical ids); [] = all
    rules: list[str] = field(default_factory=list)     # the rules asked about; [] = all
    detail: bool = False

    @property
    def expert(self) -> str | None:
        return self.experts[0] if len(self.experts) == 1 else None

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

    def listed(self, conflict: Conflict) -> bool:
        """Shown one by one: every conflict with --detail, --rule or --expert (they narrow the list
        to what was asked), else those of `LISTED_RULES`."""
        return self.detail or bool(self.rules) or bool(self.experts) or conflict.rule in LISTED_RULES

    def summary(self) -> list[ProjectSummary]:
        """Per project: experts excluded and flagged, per rule how many (and through which units),
        and the conflicts to list by name."""
        out = []
        order = {rule: i for i, rule in enumerate(RULES)}
        for project in self.projects:
            mine = [c for c in self.conflicts if c.project_id == project.id]
            experts: dict[tuple[str, bool], set[str]] = {}
            units: dict[tuple[str, bool], dict[str, set[str]]] = {}
            for c in mine:
                experts.setdefault((c.rule, c.hard), set()).add(c.expert_id)
                if c.rule in UNIT_RULES and len(c.path) > 2:
                    units.setdefault((c.rule, c.hard), {}).setdefault(c.path[2], set()).add(c.expert_id)
            rules = [RuleCount(rule, hard, len(ids),
                               Counter({u: len(e) for u, e in units.get((rule, hard), {}).items()}).most_common())
                     for (rule, hard), ids in sorted(experts.items(), key=lambda kv: (not kv[0][1], order[kv[0][0]]))]
            out.append(ProjectSummary(project, len({c.expert_id for c in mine if c.hard}),
                                      len({c.expert_id for c in mine if not c.hard}), rules,
                                      [c for c in mine if self.listed(c)]))
        return out

    def to_json(self) -> list[dict[str, Any]]:
        return [{**c.to_json(), "expert_name": self.names.get(c.expert_id)} for c in self.conflicts]


def rule_names(values: Iterable[str]) -> list[str]:
    """Rule keys from keys or labels as a user gives them (`same_unit`, `同一法人单位`)."""
    by_label = {label: key for key, label in RULE_LABELS.items()}
    out = []
    for value in values:
        key = value.strip()
        key = key if key in RULES else by_label.get(key)
        if key is None:
            choices = "、".join(f"{k}（{label}）" for k, label in RULE_LABELS.items())
            raise InputError(f"--rule: 未知的回避规则「{value}」；可选：{choices}")
        if key not in out:
            out.append(key)
    return out


def check_command(store: ExpertStore, project: str, *, experts: Sequence[str] = (), rules: Sequence[str] = (),
                  detail: bool = False, review_date: str | dt.date | None = None,
                  policy_path: str | Path | None = None, expert: str | None = None,
                  progress: Progress | None = None) -> CheckReport:
    """`coi check`: `project` is a projects JSONL file or the id of a stored project. `experts`
    (any of their ids) and `rules` (keys or labels) narrow the conflicts to those; `detail` asks
    for every conflict to be listed (the report holds them all either way). `expert`: one expert,
    as `experts`."""
    # the graph and the conflicts are hundreds of thousands of objects that all stay alive
    with gc_paused():
        asked = [*experts, *([expert] if expert else [])]
        return _check_command(store, project, asked, rule_names(rules), detail, review_date, policy_path, progress)


def _check_command(store: ExpertStore, project: str, experts: Sequence[str], rules: list[str], detail: bool,
                   review_date: str | dt.date | None, policy_path: str | Path | None,
                   progress: Progress | None) -> CheckReport:
    chosen = load_policy(policy_path)
    day = _day(review_date, "--review-date")
    # cached per data version (an import prepares it): repeated checks skip the build
    graph = pool_snapshot(store, progress=progress).graph
    path = Path(project)
    if path.exists():
        projects = read_projects(path, store)
    else:
        found = graph.project(project)
        if found is None:
            raise InputError(f"{project}: 文件不存在，库中也没有编号为「{project}」的项目（--project）")
        projects = [found]
    only = None
    if experts:
        only = []
        for any_id in experts:
            try:
                resolved = resolve_expert_id(store, any_id, "--expert")
            except NotFound as exc:  # a wrong option value: bad input, as this command always said
                raise InputError(str(exc)) from None
            if resolved not in only:
                only.append(resolved)
    conflicts = check_projects(graph, projects, day, chosen, only)
    if rules:
        conflicts = [c for c in conflicts if c.rule in rules]
    names = {c.expert_id: graph.expert_name(c.expert_id) or "" for c in conflicts}
    return CheckReport(day, projects, conflicts, names, only or [], rules, detail)


__all__ = [
    "LISTED_RULES", "RULES", "RULE_LABELS", "CheckReport", "Conflict", "ConflictGraph", "ConflictPolicy",
    "PanelExclusions", "ProjectSummary", "RuleCount", "check_command", "check_projects", "excluded_by_conflicts",
    "panel_exclusions", "read_projects", "rule_names",
]
