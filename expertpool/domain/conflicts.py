"""Conflicts of interest: who may not review whom, with the evidence.

Pure: records, an institution table, a policy and a review date in; `Conflict`s out. The graph
is kept as compact adjacency arrays read like networkx's `Graph.adj` (a cached pool graph then
loads fast); `ConflictGraph.networkx()` gives it as a networkx graph for analysis.

The graph
    nodes  experts (by canonical expert id; every source id of a merged expert maps to it),
           outside people (name + legal unit; two people are one only when both match),
           legal units (法人单位, via `InstitutionTable`), projects.
    edges  expert —任职— unit (current: the expert record's institution and open affiliation
           records; former: affiliation records with an end year), relation records (合著, 项目合作,
           师生, 亲属, 同单位, 申报人, 其他) between an expert and an expert or outside person, and
           申报人 / 项目成员 between a person and a stored project.
An outside person whose name and legal unit match exactly one expert's name and current unit is
that expert ("同名同单位"); with two or more such experts the person stays an outside person.

Dates (the review date is passed in; there is no clock here)
    A relation or affiliation dated by years is in force through 31 December of its last year (the
    end year, else the start year). A rule with a window of N years applies when
        31 December of the last year  ≥  the review date minus N years,
    which is the same as  review_date.year − last_year ≤ N. So with N = 4 a paper of 2021 counts
    for every review date in 2025 and none in 2026; with N = 3 a unit left in 2021 counts through
    2024-12-31 and not on 2025-01-01 (three years and one day after 2021-12-31). A record whose
    start year is after the review date's year does not count yet. A windowed record with no year
    at all counts (it cannot be shown to be old), and its evidence says 年份不详.

The rules (keys of `RULES`; settings in `ConflictPolicy`, defaults in indexes/coi_policy.toml)
    same_person     the expert is the applicant or a team member (by expert id, any source id of a
                    merged expert, or 同名同单位). Always hard; cannot be switched off.
    family          亲属 relation (spouse, lineal, collateral within three generations, close
                    in-laws). For life.
    advisor         师生 relation (doctoral, master's, postdoctoral). For life.
    same_unit       the expert's current legal unit is a participant's current legal unit or the
                    applying institution; also a 同单位 relation with no end year.
    former_unit     the expert and a participant (or the applying institution) share a legal unit
                    at least one of them has left, last together within `years` (default 3); also
                    a 同单位 relation with an end year.
    coauthor        合著 within `years` (default 4, allowed 2–5); a paper with more than
                    `max_authors` (default 50) authors does not count.
    coinvestigator  项目合作 or 申报人 relation within `years` (default 4, allowed 2–5); also
                    being on the team of another stored project with a participant (year unknown).
    avoid_list      the expert is on the project's declared avoid list.
    declared        the expert declared a conflict with a participant: a relation of kind 其他
                    whose note contains one of `markers` (default 回避).
    coauthor_2hop   soft by default: a co-author of a co-author (both papers within `years`).
    same_parent     soft by default: the expert's current unit and a participant's current unit
                    are different units with the same `parent` in the institution table
                    (supervising bodies in `ignore_parents`, e.g. 教育部, do not count).
Panel pairs: two experts joined by a relation whose rule is in `panel.pair_rules` (default family
and advisor) may not sit on the same panel.
"""
from __future__ import annotations

import datetime as dt
import gc
import itertools
import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any, NamedTuple

from expertpool.domain.institutions import InstitutionTable, unit_key
from expertpool.domain.models import Affiliation, Expert, Person, Project, Relation
from expertpool.domain.text import clean, fold

# ---------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    label: str                               # shown to users
    hard: bool                               # default: excludes (True) or only flags (False)
    years: int | None = None                 # default window; None = no window (for life / always)
    years_range: tuple[int, int] | None = None
    extra: tuple[str, ...] = ()              # further keys this rule's table accepts
    fixed: bool = False                      # cannot be switched off or made soft


RULES: dict[str, RuleSpec] = {
    "same_person": RuleSpec("本人", True, fixed=True),
    "family": RuleSpec("亲属", True),
    "advisor": RuleSpec("师生", True),
    "same_unit": RuleSpec("同一法人单位", True),
    "former_unit": RuleSpec("原单位", True, 3, (1, 10)),
    "coauthor": RuleSpec("合著", True, 4, (2, 5), ("max_authors",)),
    "coinvestigator": RuleSpec("项目合作", True, 4, (2, 5)),
    "avoid_list": RuleSpec("申请人要求回避", True),
    "declared": RuleSpec("专家声明回避", True, extra=("markers",)),
    "coauthor_2hop": RuleSpec("合著者的合著者", False, 4, (2, 5)),
    "same_parent": RuleSpec("同一上级单位", False, extra=("ignore_parents",)),
}
RULE_LABELS: dict[str, str] = {k: v.label for k, v in RULES.items()}
#: Rules whose relation can bar two experts from sitting on one panel.
PAIR_RULE_CHOICES = ("family", "advisor", "declared", "coauthor", "coinvestigator")
DEFAULT_PAIR_RULES = ("family", "advisor")
DEFAULT_MAX_AUTHORS = 50
DEFAULT_MARKERS = ("回避",)
DEFAULT_IGNORE_PARENTS = (
    "教育部", "四川省人民政府", "重庆市人民政府", "成都市人民政府", "宜宾市人民政府",
    "四川省卫生健康委员会", "重庆市卫生健康委员会", "重庆市生态环境局", "中国人民解放军陆军",
)


class PolicyError(ValueError):
    """A policy setting is unknown or out of range; `key` is its dotted name (coauthor.years)."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class RuleSetting:
    enabled: bool = True
    hard: bool = True
    years: int | None = None


@dataclass(frozen=True)
class ConflictPolicy:
    """Which rules apply, which exclude (hard) and which only flag (soft), and their windows.

    `ConflictPolicy()` is the built-in default; `policy.apply(mapping)` returns a copy with the
    settings of a mapping shaped like indexes/coi_policy.toml (or with dotted keys,
    {"coauthor.years": 3}), validated: unknown keys and out-of-range values raise `PolicyError`.
    """
    rules: Mapping[str, RuleSetting] = field(default_factory=lambda: {
        k: RuleSetting(True, spec.hard, spec.years) for k, spec in RULES.items()})
    max_authors: int = DEFAULT_MAX_AUTHORS
    declared_markers: tuple[str, ...] = DEFAULT_MARKERS
    ignore_parents: frozenset[str] = frozenset(DEFAULT_IGNORE_PARENTS)
    pair_rules: tuple[str, ...] = DEFAULT_PAIR_RULES

    def rule(self, name: str) -> RuleSetting:
        return self.rules[name]

    def active(self, name: str) -> bool:
        return self.rules[name].enabled

    def years(self, name: str) -> int | None:
        return self.rules[name].years

    def hard(self, name: str) -> bool:
        return self.rules[name].hard

    def apply(self, mapping: Mapping[str, Any] | None) -> "ConflictPolicy":
        if not mapping:
            return self
        nested = _nest(mapping)
        rules = dict(self.rules)
        values: dict[str, Any] = {}
        for section, body in nested.items():
            if section == "panel":
                _check_table(section, body, ("pair_rules",))
                if "pair_rules" in body:
                    values["pair_rules"] = _names(section + ".pair_rules", body["pair_rules"], PAIR_RULE_CHOICES)
                continue
            spec = RULES.get(section)
            if spec is None:
                raise PolicyError(section, f"未知的规则；可选：{'、'.join([*RULES, 'panel'])}")
            allowed = ("enabled", "hard", *(("years",) if spec.years_range else ()), *spec.extra)
            _check_table(section, body, allowed)
            current = rules[section]
            enabled = _bool(f"{section}.enabled", body.get("enabled", current.enabled))
            hard = _bool(f"{section}.hard", body.get("hard", current.hard))
            if spec.fixed and (not enabled or not hard):
                raise PolicyError(f"{section}.{'enabled' if not enabled else 'hard'}",
                                  f"「{spec.label}」始终回避，不能关闭或设为提示")
            years = current.years
            if "years" in body:
                years = _int_in(f"{section}.years", body["years"], *spec.years_range)
            rules[section] = RuleSetting(enabled, hard, years)
            if "max_authors" in body:
                values["max_authors"] = _int_in(f"{section}.max_authors", body["max_authors"], 2, 100000)
            if "markers" in body:
                values["declared_markers"] = tuple(_strings(f"{section}.markers", body["markers"], nonempty=True))
            if "ignore_parents" in body:
                values["ignore_parents"] = frozenset(_strings(f"{section}.ignore_parents", body["ignore_parents"]))
        return replace(self, rules=rules, **values)

    def to_mapping(self) -> dict[str, dict[str, Any]]:
        """The policy as a mapping `apply` accepts (and TOML can hold)."""
        out: dict[str, dict[str, Any]] = {}
        for name, spec in RULES.items():
            setting = self.rules[name]
            body: dict[str, Any] = {"enabled": setting.enabled, "hard": setting.hard}
            if spec.years_range:
                body["years"] = setting.years
            out[name] = body
        out["coauthor"]["max_authors"] = self.max_authors
        out["declared"]["markers"] = list(self.declared_markers)
        out["same_parent"]["ignore_parents"] = sorted(self.ignore_parents)
        out["panel"] = {"pair_rules": list(self.pair_rules)}
        return out


def _nest(mapping: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise PolicyError(str(key), "键应为字符串")
        if "." in key:
            section, _, sub = key.partition(".")
            out.setdefault(section, {})[sub] = value
        elif isinstance(value, Mapping):
            out.setdefault(key, {}).update(value)
        else:
            raise PolicyError(key, "应为一个表（如 [coauthor]）或写成带点的键（如 coauthor.years）")
    return out


def _check_table(section: str, body: Mapping[str, Any], allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for key in body:
        if key not in allowed:
            raise PolicyError(f"{section}.{key}", f"未知的键；[{section}] 可用：{'、'.join(allowed)}")


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(key, f"应为 true 或 false，实为 {value!r}")
    return value


def _int_in(key: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(key, f"应为整数，实为 {value!r}")
    if not lo <= value <= hi:
        raise PolicyError(key, f"{value} 超出允许范围 {lo}–{hi}")
    return value


def _strings(key: str, value: Any, nonempty: bool = False) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PolicyError(key, "应为字符串数组")
    if nonempty and not value:
        raise PolicyError(key, "不能为空")
    return [clean(v) for v in value]


def _names(key: str, value: Any, choices: tuple[str, ...]) -> tuple[str, ...]:
    names = _strings(key, value)
    for name in names:
        if name not in choices:
            raise PolicyError(key, f"未知的规则「{name}」；可选：{'、'.join(choices)}")
    return tuple(dict.fromkeys(names))


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def in_window(last_year: int | None, review_date: dt.date, years: int | None) -> bool:
    """Whether a record whose last year is `last_year` (in force through 31 December of it) falls
    within `years` of `review_date`. No window (None): always. No year: counts (module docstring)."""
    if years is None or last_year is None:
        return True
    return dt.date(last_year, 12, 31) >= years_before(review_date, years)


def _started(start_year: int | None, review_date: dt.date) -> bool:
    return start_year is None or start_year <= review_date.year


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Conflict:
    """One reason why `expert_id` may not (hard) or should be checked before (soft) reviewing
    `project_id`. `path` alternates nodes and edges, `evidence` is it as one line:
    ``CQ-000123 —合著 2024— 张三 (申报人, 四川大学)``. Treat as read-only."""
    project_id: str
    expert_id: str
    rule: str
    evidence: str
    hard: bool
    path: list[str] = field(default_factory=list, compare=False)

    @property
    def label(self) -> str:
        return RULE_LABELS.get(self.rule, self.rule)

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project_id, "expert_id": self.expert_id, "rule": self.rule,
                "rule_label": self.label, "evidence": self.evidence, "hard": self.hard, "path": list(self.path)}


def evidence_text(path: Sequence[str]) -> str:
    """["E1", "合著 2024", "张三 (申报人)"] → "E1 —合著 2024— 张三 (申报人)"."""
    text = path[0]
    for i in range(1, len(path) - 1, 2):
        text += f" —{path[i]}— {path[i + 1]}"
    return text


@dataclass(frozen=True)
class PanelPair:
    """Two experts who may not sit on one panel, and why."""
    a: str
    b: str
    rule: str
    evidence: str


class UnknownReference(ValueError):
    """A record names an expert id that is not in the pool. `record` is the project id or relation
    key, `where` the field (applicant, team[2], avoid, expert_id …), `value` the id."""

    def __init__(self, record: str, where: str, value: str):
        super().__init__(f"{record}: {where} 的专家编号「{value}」不在专家库中")
        self.record = record
        self.where = where
        self.value = value


# ---------------------------------------------------------------------------------------------
# The graph
# ---------------------------------------------------------------------------------------------

_WORK = "任职"
_KIND_RULE = {"合著": "coauthor", "项目合作": "coinvestigator", "申报人": "coinvestigator", "师生": "advisor",
              "亲属": "family"}
_RULE_ORDER = {name: i for i, name in enumerate(RULES)}


class _Fact(NamedTuple):
    """One relation (or affiliation) on an edge."""
    kind: str
    start: int | None = None
    end: int | None = None
    note: str | None = None
    author_count: int | None = None

    @property
    def last(self) -> int | None:
        return self.end if self.end is not None else self.start


_CURRENT_JOB = _Fact(_WORK)


def _years_text(start: int | None, end: int | None, open_ended: bool = False) -> str:
    if open_ended:
        return f"{start}–至今" if start else "至今"
    if start and end and start != end:
        return f"{start}–{end}"
    year = end or start
    return str(year) if year else "年份不详"


def _fact_label(fact: _Fact) -> str:
    if fact.kind == _WORK:
        return f"{_WORK} {_years_text(fact.start, fact.end, fact.end is None)}"
    head = fact.kind
    if fact.kind in ("亲属", "师生", "其他") and fact.note:
        note = fact.note if len(fact.note) <= 16 else fact.note[:15] + "…"
        head = f"{fact.kind}·{note}"
    if fact.kind in ("亲属", "师生", "其他") and fact.start is None and fact.end is None:
        return head  # for life: no year to show
    text = f"{head} {_years_text(fact.start, fact.end)}"
    if fact.kind == "合著" and fact.author_count:
        text += f"（作者 {fact.author_count} 人）"
    return text


@dataclass
class _Participant:
    node: tuple
    label: str
    role: str
    expert_id: str | None
    how: str | None                    # "同名同单位" when identified by name and unit
    units: list[tuple[str, int | None, int | None]]  # (unit key, start, end); end None = current


_WIDE = re.compile(r"[\u3000\uff01-\uff5e\u200b\ufeff]")
_WS = re.compile(r"\s+")


def _name_key(name: str) -> str:
    """fold(clean(name)), with a fast path for the usual name without full-width characters."""
    if _WIDE.search(name):
        return fold(clean(name))
    return _WS.sub("", name).lower()


def _record_key(record: object) -> str:
    return record if isinstance(record, str) else record.key()  # type: ignore[union-attr]


class _Adjacency:
    """The graph's neighbours, read like networkx's `Graph.adj` (`adj[node]` → {neighbour: edge
    data}, `node in adj`), kept as arrays and made into dicts node by node on first use: a pickled
    pool graph loads in milliseconds, and a check only looks at the few nodes around a project's
    people. Edge data dicts are shared between edges with equal data: read-only."""

    __slots__ = ("nodes", "_offsets", "_targets", "_refs", "_table", "_index", "_made")

    def __init__(self, nodes: list[tuple], offsets: array, targets: array, refs: array, table: list[dict]):
        self.nodes = nodes
        self._offsets, self._targets, self._refs, self._table = offsets, targets, refs, table
        self._index: dict[tuple, int] | None = None
        self._made: dict[tuple, dict[tuple, dict]] = {}

    def __getstate__(self):
        return self.nodes, self._offsets, self._targets, self._refs, self._table

    def __setstate__(self, state) -> None:
        self.__init__(*state)

    def _position(self) -> dict[tuple, int]:
        if self._index is None:
            self._index = {node: i for i, node in enumerate(self.nodes)}
        return self._index

    def __contains__(self, node: object) -> bool:
        return node in self._position()

    def __getitem__(self, node: tuple) -> dict[tuple, dict]:
        made = self._made.get(node)
        if made is None:
            i = self._position()[node]
            lo, hi = self._offsets[i], self._offsets[i + 1]
            nodes, table = self.nodes, self._table
            made = self._made[node] = {nodes[t]: table[r] for t, r in zip(self._targets[lo:hi], self._refs[lo:hi])}
        return made

    def edges(self) -> Iterator[tuple[tuple, tuple, dict]]:
        """Each edge once (u before v in node order), with its data."""
        nodes, offsets, targets, refs, table = self.nodes, self._offsets, self._targets, self._refs, self._table
        for i, u in enumerate(nodes):
            for k in range(offsets[i], offsets[i + 1]):
                if targets[k] > i:
                    yield u, nodes[targets[k]], table[refs[k]]

    def edge_count(self) -> int:
        return len(self._targets) // 2


class ConflictGraph:
    """The conflict graph of a pool. Build once (`ConflictGraph.build`), then check any number of
    projects against any review date and policy; checking does not change the graph."""

    def __init__(self, institutions: InstitutionTable | None = None):
        self.institutions = institutions if institutions is not None else InstitutionTable()
        #: node → {neighbour: edge data}, as networkx's Graph.adj (made in `_finish`)
        self._adj = _Adjacency([], array("i", [0]), array("i"), array("i"), [])
        #: outside person node → their name as written
        self._person_names: dict[tuple, str] = {}
        self._alias: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._current_units: dict[str, set[str]] = defaultdict(set)
        self._by_name_unit: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._unit_labels: dict[str, str] = {}
        self._unit_keys: dict[str, str] = {}
        self._parent_units: dict[str, set[str]] = defaultdict(set)
        #: unit key → (expert id, start, end, edge label) for every 任职 fact, for the unit rules
        self._members: dict[str, list[tuple[str, int | None, int | None, str]]] = {}
        #: relation kind → (expert a, expert b, fact) for relations between two experts, a < b
        self._pair_facts: dict[str, list[tuple[str, str, _Fact]]] = defaultdict(list)
        self._projects: dict[str, Project] = {}
        self._anon = 0  # numbers people without a unit apart (a plain int pickles on every Python)
        # while building: edges as plain dicts, handed to networkx in one call at the end
        self._edges: dict[tuple[tuple, tuple], list[_Fact]] = {}
        self._roles: dict[tuple[tuple, tuple], str] = {}
        self._people_nodes: dict[tuple, str] = {}
        self._name_keys: dict[str, str] = {}
        self._work: list[tuple[str, str, _Fact]] = []
        # equal facts are one object: the pickled snapshot then holds ~2,000 facts, not ~200,000
        self._facts: dict[_Fact, _Fact] = {}

    # ---- building ----
    @classmethod
    def build(cls, experts: Iterable[Expert], relations: Iterable[Relation] = (),
              affiliations: Iterable[Affiliation] = (), projects: Iterable[Project] = (),
              institutions: InstitutionTable | None = None) -> "ConflictGraph":
        """The graph of these records. Relations, affiliations and projects must name experts of
        `experts` (any of their source ids); otherwise `UnknownReference`."""
        graph = cls(institutions)
        with gc_paused():
            graph._build(experts, relations, affiliations, projects)
        return graph

    def _build(self, experts, relations, affiliations, projects) -> None:
        graph = self
        experts = list(experts)
        for expert in experts:
            graph._add_expert(expert)
        for expert in experts:  # name index once every current unit is known
            for ukey in graph._current_units[expert.id]:
                graph._by_name_unit[(_name_key(expert.name), ukey)].append(expert.id)
        for affiliation in affiliations:
            graph._add_affiliation(affiliation)
        for relation in relations:
            graph._add_relation(relation)
        for project in projects:
            graph._add_project(project)
        graph._finish()

    def _finish(self) -> None:
        # Nodes in networkx's order (added kind by kind, then edge ends not yet seen: anonymous
        # outside people), neighbours in the order their edges were added, as Graph.adj gives them.
        nodes = [("E", e) for e in self._names]
        nodes += [("I", u) for u in self._unit_labels]
        nodes += self._people_nodes
        nodes += [("J", p) for p in self._projects]
        index = {node: i for i, node in enumerate(nodes)}
        neighbours: list[list[int]] = [[] for _ in nodes]
        table: list[dict] = []
        shared: dict[object, int] = {}  # equal edge data is one (read-only) dict
        edges = itertools.chain((((u, v), ("facts", tuple(facts))) for (u, v), facts in self._edges.items()),
                                (((u, v), ("role", role)) for (u, v), role in self._roles.items()))
        for (u, v), (key, value) in edges:
            ref = shared.get((key, value))
            if ref is None:
                ref = shared[(key, value)] = len(table)
                table.append({key: value})
            for a, b in ((u, v), (v, u)):
                i = index.get(a)
                if i is None:
                    i = index[a] = len(nodes)
                    nodes.append(a)
                    neighbours.append([])
                j = index.get(b)
                if j is None:
                    j = index[b] = len(nodes)
                    nodes.append(b)
                    neighbours.append([])
                neighbours[i] += (j, ref)
        offsets, targets, refs = array("i", [0]), array("i"), array("i")
        for pairs in neighbours:
            targets.extend(pairs[0::2])
            refs.extend(pairs[1::2])
            offsets.append(len(targets))
        self._adj = _Adjacency(nodes, offsets, targets, refs, table)
        self._person_names = self._people_nodes
        labels: dict[_Fact, str] = {}
        members: dict[str, list] = defaultdict(list)
        for expert_id, ukey, fact in self._work:
            label = labels.get(fact)
            if label is None:
                label = labels[fact] = _fact_label(fact)
            members[ukey].append((expert_id, fact.start, fact.end, label))
        self._members = dict(members)
        self._edges, self._roles, self._people_nodes, self._work, self._name_keys = {}, {}, {}, [], {}
        self._facts = {}

    def _edge(self, u: tuple, v: tuple, fact: _Fact) -> bool:
        """Add a fact to the edge u–v (u < v when both are experts); False if it was there."""
        facts = self._edges.get((u, v))
        if facts is None:
            self._edges[(u, v)] = [fact]
        elif fact in facts:
            return False
        else:
            facts.append(fact)
        return True

    def _fact(self, fact: _Fact) -> _Fact:
        return self._facts.setdefault(fact, fact)

    def _ukey(self, name: str) -> str:
        key = self._unit_keys.get(name)
        if key is None:
            key = self._unit_keys[name] = unit_key(name)
        return key

    def _unit_node(self, name: str) -> str:
        key = self._ukey(name)
        if key not in self._unit_labels:
            self._unit_labels[key] = name
            parent = self.institutions.parent(name)
            if parent:
                self._parent_units[parent].add(key)
        return key

    def _add_expert(self, expert: Expert) -> None:
        self._names[expert.id] = expert.name
        # An id is always its own expert's; a list's number may also be another expert's id (the
        # other province numbering someone else the same way), and records hold ids: ids win.
        self._alias[expert.id] = expert.id
        for alias in (expert.id, *expert.source_ids.values()):
            self._alias.setdefault(alias, expert.id)
            self._alias.setdefault(alias.upper(), expert.id)
        unit = self.institutions.normalise(expert.institution)
        if unit is not None:
            ukey = self._unit_node(unit)
            self._current_units[expert.id].add(ukey)
            if self._edge(("E", expert.id), ("I", ukey), _CURRENT_JOB):
                self._work.append((expert.id, ukey, _CURRENT_JOB))

    def _expert(self, record: object, where: str, any_id: str) -> str:
        found = self._alias.get(any_id)
        if found is None:
            found = self._alias.get(any_id.upper())
            if found is None:
                raise UnknownReference(_record_key(record), where, any_id)
        return found

    def _add_affiliation(self, a: Affiliation) -> None:
        expert_id = self._expert(a, "expert_id", a.expert_id)
        unit = self.institutions.normalise(a.institution)
        if unit is None:
            return
        ukey = self._unit_node(unit)
        current = self._current_units[expert_id]
        if a.end_year is None and a.start_year is None and ukey in current:
            return  # the expert record's own institution again
        fact = self._fact(_Fact(_WORK, a.start_year, a.end_year))
        if self._edge(("E", expert_id), ("I", ukey), fact):
            self._work.append((expert_id, ukey, fact))
        if a.end_year is None and ukey not in current:
            current.add(ukey)
            self._by_name_unit[(_name_key(self._names[expert_id]), ukey)].append(expert_id)

    def _person_node(self, person: Person, record: object, where: str, default_unit: str | None = None,
                     create: bool = True) -> tuple[tuple, str | None, str | None, str | None, str | None]:
        """(node, expert id or None, how identified, unit key, unit name). With `create` False the
        graph is left unchanged (a person met only in the project under check)."""
        if person.expert_id:
            expert_id = self._expert(record, where, person.expert_id)
            return ("E", expert_id), expert_id, None, None, None
        unit = self.institutions.normalise(person.institution) or default_unit
        name = self._name_keys.get(person.name)
        if name is None:
            name = self._name_keys[person.name] = _name_key(person.name)
        if unit is None:
            self._anon += 1
            return ("P", name, None, self._anon), None, None, None, None
        ukey = self._ukey(unit)
        unit = self._unit_labels.get(ukey, unit)
        matches = self._by_name_unit.get((name, ukey), ())
        if len(matches) == 1:
            return ("E", matches[0]), matches[0], "同名同单位", ukey, unit
        node = ("P", name, ukey)
        if create and node not in self._people_nodes:
            self._unit_labels.setdefault(ukey, unit)
            self._people_nodes[node] = clean(person.name)
        return node, None, None, ukey, unit

    def _add_relation(self, r: Relation) -> None:
        expert_id = self._expert(r, "expert_id", r.expert_id)
        other, other_id, *_ = self._person_node(r.other, r, "other.expert_id")
        source = ("E", expert_id)
        if other == source:
            return
        fact = self._fact(_Fact(r.kind, r.start_year, r.end_year, r.note, r.author_count))
        if other_id is not None and other < source:
            source, other = other, source
        if self._edge(source, other, fact) and other_id is not None:
            self._pair_facts[fact.kind].append((source[1], other[1], fact))

    def _add_project(self, project: Project) -> None:
        self._projects[project.id] = project
        node = ("J", project.id)
        for role, person, where in self._people(project):
            pnode = self._person_node(person, project.id, where, self._applicant_default(project, role))[0]
            self._roles.setdefault((pnode, node), role)

    @staticmethod
    def _people(project: Project) -> list[tuple[str, Person, str]]:
        people = [("申报人", project.applicant, "applicant")]
        people += [("项目成员", p, f"team[{i}]") for i, p in enumerate(project.team)]
        return people

    def _applicant_default(self, project: Project, role: str) -> str | None:
        if role == "申报人" and project.institution:
            return self.institutions.normalise(project.institution)
        return None

    # ---- look-ups ----
    def resolve_expert(self, any_id: str) -> str | None:
        """The canonical id for an expert id or source id, or None."""
        return self._alias.get(any_id) or self._alias.get(any_id.upper())

    def expert_name(self, expert_id: str) -> str | None:
        return self._names.get(expert_id)

    def expert_ids(self) -> list[str]:
        return sorted(self._names)

    def project(self, project_id: str) -> Project | None:
        return self._projects.get(project_id)

    def project_ids(self) -> list[str]:
        return sorted(self._projects)

    def stats(self) -> dict[str, int]:
        counts = {"experts": 0, "people": 0, "units": 0, "projects": 0}
        names = {"E": "experts", "P": "people", "I": "units", "J": "projects"}
        for node in self._adj.nodes:
            counts[names[node[0]]] += 1
        counts["edges"] = self._adj.edge_count()
        counts["facts"] = sum(len(d["facts"]) for _, _, d in self._adj.edges() if "facts" in d)
        return counts

    def networkx(self):
        """The graph as a networkx `Graph` (nodes, edges and their data as the checks see them), for
        analysis and inspection; built on each call, the checks do not need it."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from((node, {"name": self._person_names[node]} if node in self._person_names else {})
                         for node in self._adj.nodes)
        g.add_edges_from((u, v, dict(d)) for u, v, d in self._adj.edges())
        return g

    # ---- checking ----
    def check(self, project: Project, review_date: dt.date, policy: ConflictPolicy | None = None,
              experts: Iterable[str] | None = None) -> list[Conflict]:
        """Every conflict between the pool and `project` on `review_date`, sorted by expert id, hard
        ones first. With `experts`, only those experts (canonical ids). Soft flags are left out for
        an expert who already has a hard conflict with the project. Raises `UnknownReference` when
        the project names an expert id not in the pool."""
        policy = policy or ConflictPolicy()
        with gc_paused():
            return _Check(self, project, review_date, policy, None if experts is None else set(experts)).run()

    def check_many(self, projects: Iterable[Project], review_date: dt.date,
                   policy: ConflictPolicy | None = None, experts: Iterable[str] | None = None) -> list[Conflict]:
        out: list[Conflict] = []
        only = None if experts is None else set(experts)
        with gc_paused():
            for project in projects:
                out.extend(self.check(project, review_date, policy, only))
        return out

    def panel_pairs(self, policy: ConflictPolicy | None = None, review_date: dt.date | None = None,
                    candidates: Iterable[str] | None = None) -> list[PanelPair]:
        """Pairs of experts who may not sit on one panel (rules in `policy.pair_rules`), among
        `candidates` when given (else the whole pool). Linear in the number of expert–expert
        relations."""
        policy = policy or ConflictPolicy()
        only = None if candidates is None else {self.resolve_expert(c) or c for c in candidates}
        wanted = {r for r in policy.pair_rules if policy.active(r)}
        kinds = [k for k, rule in _KIND_RULE.items() if rule in wanted] + (["其他"] if "declared" in wanted else [])
        pairs: list[PanelPair] = []
        for kind in kinds:
            for a, b, fact in self._pair_facts.get(kind, ()):
                if only is not None and (a not in only or b not in only):
                    continue
                rule = _rule_for_fact(fact, policy)
                if rule not in wanted:
                    continue
                if review_date is not None and not _fact_applies(fact, rule, review_date, policy):
                    continue
                pairs.append(PanelPair(a, b, rule, evidence_text([a, _fact_label(fact), b])))
        return pairs


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block, restoring its state after.

    Building the graph and checking projects allocate hundreds of thousands of small objects that
    all stay alive (graph edges, results); the collector would walk the whole growing heap again
    and again for nothing — half the build time on 32,000 experts, and more on large checks.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _rule_for_fact(fact: _Fact, policy: ConflictPolicy) -> str | None:
    if fact.kind == "其他":
        note = fact.note or ""
        return "declared" if any(m in note for m in policy.declared_markers) else None
    if fact.kind == "同单位":
        return "same_unit" if fact.end is None else "former_unit"
    return _KIND_RULE.get(fact.kind)


def _fact_applies(fact: _Fact, rule: str, review_date: dt.date, policy: ConflictPolicy) -> bool:
    if not policy.active(rule) or not _started(fact.start, review_date):
        return False
    if rule == "coauthor" and fact.author_count is not None and fact.author_count > policy.max_authors:
        return False
    return in_window(fact.last, review_date, policy.years(rule))


class _Check:
    """One project against the pool (see `ConflictGraph.check`)."""

    def __init__(self, graph: ConflictGraph, project: Project, day: dt.date, policy: ConflictPolicy,
                 only: set[str] | None):
        self.g = graph
        self.adj = graph._adj
        self.project = project
        self.day = day
        self.policy = policy
        self.only = only
        self.conflicts: list[Conflict] = []
        self.seen: set[tuple[str, str, object]] = set()

    def add(self, expert_id: str, rule: str, key: object, path: list[str]) -> None:
        """Record a conflict once per (expert, rule, key); key separates independent evidence."""
        if not self.policy.active(rule) or (self.only is not None and expert_id not in self.only):
            return
        mark = (expert_id, rule, key)
        if mark in self.seen:
            return
        self.seen.add(mark)
        self.conflicts.append(Conflict(self.project.id, expert_id, rule, evidence_text(path),
                                       self.policy.hard(rule), path))

    # -- participants --
    def participants(self) -> list[_Participant]:
        g, project = self.g, self.project
        out = []
        for role, person, where in g._people(project):
            default = g._applicant_default(project, role)
            node, expert_id, how, ukey, unit = g._person_node(person, project.id, where, default, create=False)
            if expert_id is not None:
                units = self.expert_units(expert_id)
                unit_text = "、".join(dict.fromkeys(self.unit_label(u) for u, _, end in units if end is None)) or "单位不详"
                label = f"{g._names[expert_id]} ({role}, {unit_text}, {expert_id})"
            else:
                units = [(ukey, None, None)] if ukey else []
                label = f"{clean(person.name)} ({role}, {unit or '单位不详'})"
            out.append(_Participant(node, label, role, expert_id, how, units))
        if project.institution:
            unit = g.institutions.normalise(project.institution)
            if unit is not None:
                ukey = g._ukey(unit)
                out.append(_Participant(("I", ukey), f"{unit} (申报单位)", "申报单位", None, None,
                                        [(ukey, None, None)]))
        return out

    def unit_label(self, ukey: str) -> str:
        return self.g._unit_labels.get(ukey, ukey)

    def expert_units(self, expert_id: str) -> list[tuple[str, int | None, int | None]]:
        units = []
        for nbr, data in self.adj[("E", expert_id)].items():
            if nbr[0] == "I":
                for fact in data["facts"]:
                    units.append((nbr[1], fact.start, fact.end))
        return units

    # -- rules --
    def run(self) -> list[Conflict]:
        people = self.participants()
        for p in people:
            if p.expert_id is not None:
                self.add(p.expert_id, "same_person", p.label, [p.expert_id, p.how or "本人", p.label])
        self.unit_rules(people)
        for p in people:
            if p.role != "申报单位":
                self.relation_rules(p)
                self.coauthor_2hop(p)
                self.same_parent(p)
        applicant = people[0].label
        for any_id in self.project.avoid:
            expert_id = self.g._expert(self.project.id, "avoid", any_id)
            self.add(expert_id, "avoid_list", None, [expert_id, "申请人要求回避", applicant])
        return self.results()

    def unit_rules(self, people: list[_Participant]) -> None:
        """same_unit and former_unit: each unit that a participant is or was at is walked once."""
        policy, day, only, year = self.policy, self.day, self.only, self.day.year
        same_on, former_on = policy.active("same_unit"), policy.active("former_unit")
        if not (same_on or former_on):
            return
        window = policy.years("former_unit")
        groups: dict[str, list[tuple[_Participant, int | None, int | None]]] = defaultdict(list)
        for p in people:
            for ukey, start, end in p.units:
                if start is None or start <= year:
                    groups[ukey].append((p, start, end))
        same_hard, former_hard = policy.hard("same_unit"), policy.hard("former_unit")
        pid = self.project.id
        for ukey, members_here in groups.items():
            members = self.g._members.get(ukey)
            if not members:
                continue
            unit = self.unit_label(ukey)
            current = [p for p, _, end in members_here if end is None]
            participant_ids = {p.expert_id for p, _, _ in members_here if p.expert_id}
            cur_text = "、".join(dict.fromkeys(p.label for p in current))
            same_tail = f"{unit} —所在单位— {cur_text}"
            tails: dict[tuple, tuple[str, str, str]] = {}
            # evidence repeats per fact label, and a former member's matches depend only on their
            # end year: both are worked out once per unit (thousands of members, a few dozen of each)
            same_texts: dict[str, str] = {}
            former_by_end: dict[int | None, tuple[str, str, str] | None] = {}
            done: dict[str, str] = {}  # expert → rule already recorded at this unit
            conflicts = self.conflicts
            for expert_id, start, end, label in members:
                if only is not None and expert_id not in only:
                    continue
                if start is not None and start > year:
                    continue
                if expert_id in participant_ids:
                    continue  # the participant's own unit; same_person covers them
                previous = done.get(expert_id)
                if previous == "same_unit":
                    continue
                if end is None and current:
                    if not same_on:
                        continue
                    if previous is not None:  # former_unit recorded from another fact: upgrade
                        conflicts[:] = [c for c in conflicts
                                        if not (c.expert_id == expert_id and c.rule == "former_unit"
                                                and c.path[2] == unit)]
                    done[expert_id] = "same_unit"
                    text = same_texts.get(label)
                    if text is None:
                        text = same_texts[label] = f" —{label}— {same_tail}"
                    conflicts.append(Conflict(pid, expert_id, "same_unit", expert_id + text,
                                              same_hard, [expert_id, label, unit, "所在单位", cur_text]))
                    continue
                if previous is not None or not former_on:
                    continue
                if end in former_by_end:
                    tail = former_by_end[end]
                else:
                    # at least one side has left: last together = the earlier of the two ends
                    hits = [(p, "所在单位" if p_end is None else f"{_WORK} {_years_text(p_start, p_end)}")
                            for p, p_start, p_end in members_here
                            if (end is not None or p_end is not None)
                            and in_window(min(e for e in (end, p_end) if e is not None), day, window)]
                    tail = None
                    if hits:
                        key = tuple(id(p) for p, _ in hits)
                        tail = tails.get(key)
                        if tail is None:
                            edges = {edge for _, edge in hits}
                            p_edge = edges.pop() if len(edges) == 1 else "所在单位/原单位"
                            text = "、".join(dict.fromkeys(p.label for p, _ in hits))
                            tail = tails[key] = (p_edge, text, f"{unit} —{p_edge}— {text}")
                    former_by_end[end] = tail
                if tail is None:
                    continue
                done[expert_id] = "former_unit"
                conflicts.append(Conflict(pid, expert_id, "former_unit", f"{expert_id} —{label}— {tail[2]}",
                                          former_hard, [expert_id, label, unit, tail[0], tail[1]]))

    def relation_rules(self, p: _Participant) -> None:
        if p.node not in self.adj:
            return
        for nbr, data in self.adj[p.node].items():
            kind = nbr[0]
            if kind == "E":
                expert_id = nbr[1]
                if expert_id == p.expert_id:
                    continue
                by_rule: dict[str, list[_Fact]] = defaultdict(list)
                for fact in data["facts"]:
                    rule = _rule_for_fact(fact, self.policy)
                    if rule is not None and _fact_applies(fact, rule, self.day, self.policy):
                        by_rule[rule].append(fact)
                for rule, facts in by_rule.items():
                    edge = "；".join(_fact_label(f) for f in facts)
                    self.add(expert_id, rule, p.label, [expert_id, edge, p.label])
            elif kind == "J" and nbr[1] != self.project.id and self.policy.active("coinvestigator"):
                other = self.g._projects[nbr[1]]
                p_role = data["role"]
                for member, mdata in self.adj[nbr].items():
                    if member[0] != "E" or member == p.node:
                        continue
                    expert_id = member[1]
                    self.add(expert_id, "coinvestigator", p.label,
                             [expert_id, mdata["role"], f"项目 {other.id}「{other.title}」", p_role, p.label])

    def coauthor_2hop(self, p: _Participant) -> None:
        if not self.policy.active("coauthor_2hop") or p.node not in self.adj:
            return
        years, max_authors, day = self.policy.years("coauthor_2hop"), self.policy.max_authors, self.day

        def papers(data) -> list[_Fact]:
            return [f for f in data.get("facts", ()) if f.kind == "合著" and _started(f.start, day)
                    and (f.author_count is None or f.author_count <= max_authors)
                    and in_window(f.last, day, years)]

        for mid, data in self.adj[p.node].items():
            if mid[0] not in ("E", "P"):
                continue
            first = papers(data)
            if not first:
                continue
            mid_label = self.node_label(mid)
            for far, data2 in self.adj[mid].items():
                if far[0] != "E" or far == p.node:
                    continue
                second = papers(data2)
                if not second:
                    continue
                expert_id = far[1]
                if expert_id == p.expert_id:
                    continue
                self.add(expert_id, "coauthor_2hop", (p.label, mid),
                         [expert_id, _fact_label(second[0]), mid_label, _fact_label(first[0]), p.label])

    def same_parent(self, p: _Participant) -> None:
        if not self.policy.active("same_parent"):
            return
        g = self.g
        for ukey, _, end in p.units:
            if end is not None:
                continue
            parent = g.institutions.parent(self.unit_label(ukey))
            if not parent or parent in self.policy.ignore_parents:
                continue
            for other in g._parent_units.get(parent, ()):
                if other == ukey:
                    continue
                for expert_id, _, other_end, _ in g._members.get(other, ()):
                    if other_end is None:
                        self.add(expert_id, "same_parent", (other, ukey),
                                 [expert_id, f"{_WORK} 至今", self.unit_label(other), f"同属 {parent}",
                                  self.unit_label(ukey), "所在单位", p.label])

    def node_label(self, node: tuple) -> str:
        if node[0] == "E":
            return f"{self.g._names[node[1]]} ({node[1]})"
        unit = self.unit_label(node[2]) if node[2] else None
        return f"{self.g._person_names.get(node, node[1])} ({unit or '单位不详'})"

    def results(self) -> list[Conflict]:
        hard_experts = {c.expert_id for c in self.conflicts if c.hard}
        out = [c for c in self.conflicts if c.hard or c.expert_id not in hard_experts]
        # three stable sorts on single keys (no key tuples): by expert, hard first, rule order
        out.sort(key=lambda c: _RULE_ORDER[c.rule])
        out.sort(key=lambda c: not c.hard)
        out.sort(key=attrgetter("expert_id"))
        return out
