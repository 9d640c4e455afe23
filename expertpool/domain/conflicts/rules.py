"""The conflict rules: who may not review whom, with the evidence.

Pure: a pool graph (`graph`), a policy (`policy`), projects and a review date in; `Conflict`s
out. `ConflictGraph` is the pool graph with the checks; the rules read the graph only through
its public read API.

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
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from expertpool.domain.conflicts.graph import WORK, Fact, PoolGraph, fact_label, project_people, years_text
from expertpool.domain.conflicts.policy import RULE_LABELS, RULES, ConflictPolicy, in_window, started
from expertpool.domain.models import Project
from expertpool.domain.text import clean

_KIND_RULE = {"合著": "coauthor", "项目合作": "coinvestigator", "申报人": "coinvestigator", "师生": "advisor",
              "亲属": "family"}
_RULE_ORDER = {name: i for i, name in enumerate(RULES)}


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


@dataclass
class _Participant:
    node: tuple
    label: str
    role: str
    expert_id: str | None
    how: str | None                    # "同名同单位" when identified by name and unit
    units: list[tuple[str, int | None, int | None]]  # (unit key, start, end); end None = current


class ConflictGraph(PoolGraph):
    """The pool graph with the conflict checks. Build once (`ConflictGraph.build`), then check any
    number of projects against any review date and policy; checking does not change the graph."""

    def check(self, project: Project, review_date: dt.date, policy: ConflictPolicy | None = None,
              experts: Iterable[str] | None = None) -> list[Conflict]:
        """Every conflict between the pool and `project` on `review_date`, sorted by expert id, hard
        ones first. With `experts`, only those experts (canonical ids). Soft flags are left out for
        an expert who already has a hard conflict with the project. Raises `UnknownReference` when
        the project names an expert id not in the pool."""
        policy = policy or ConflictPolicy()
        return _Check(self, project, review_date, policy, None if experts is None else set(experts)).run()

    def hard_excluded(self, projects: Iterable[Project], review_date: dt.date,
                      policy: ConflictPolicy | None = None) -> dict[str, set[str]]:
        """project id → the experts a hard conflict keeps off a panel reviewing it: what `check`
        finds hard, without building the conflicts and their evidence (a review session of 200
        projects has some 850,000 of them on a 32,000-expert pool; `check` gives the evidence of
        any one project when it is asked for)."""
        policy = policy or ConflictPolicy()
        out: dict[str, set[str]] = {}
        for project in projects:
            check = _Check(self, project, review_date, policy, None, ids_only=True)
            check.apply_rules()
            out[project.id] = check.hard_experts()
        return out

    def check_many(self, projects: Iterable[Project], review_date: dt.date,
                   policy: ConflictPolicy | None = None, experts: Iterable[str] | None = None) -> list[Conflict]:
        out: list[Conflict] = []
        only = None if experts is None else set(experts)
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
            for a, b, fact in self.expert_pairs(kind):
                if only is not None and (a not in only or b not in only):
                    continue
                rule = _rule_for_fact(fact, policy)
                if rule not in wanted:
                    continue
                if review_date is not None and not _fact_applies(fact, rule, review_date, policy):
                    continue
                pairs.append(PanelPair(a, b, rule, evidence_text([a, fact_label(fact), b])))
        return pairs



def _rule_for_fact(fact: Fact, policy: ConflictPolicy) -> str | None:
    if fact.kind == "其他":
        note = fact.note or ""
        return "declared" if any(m in note for m in policy.declared_markers) else None
    if fact.kind == "同单位":
        return "same_unit" if fact.end is None else "former_unit"
    return _KIND_RULE.get(fact.kind)


def _fact_applies(fact: Fact, rule: str, review_date: dt.date, policy: ConflictPolicy) -> bool:
    if not policy.active(rule) or not started(fact.start, review_date):
        return False
    if rule == "coauthor" and fact.author_count is not None and fact.author_count > policy.max_authors:
        return False
    return in_window(fact.last, review_date, policy.years(rule))


class _Check:
    """One project against the pool (see `ConflictGraph.check`)."""

    def __init__(self, graph: ConflictGraph, project: Project, day: dt.date, policy: ConflictPolicy,
                 only: set[str] | None, ids_only: bool = False):
        self.g = graph
        self.adj = graph.adj
        self.project = project
        self.day = day
        self.policy = policy
        self.only = only
        self.conflicts: list[Conflict] = []
        self.seen: set[tuple[str, str, object]] = set()
        #: with ids_only, only the experts with a hard conflict are kept (no Conflict is built)
        self.ids_only = ids_only
        self.hard_ids: set[str] = set()
        self._former_hard: dict[str, set[str]] = {}   # ids_only: expert → units of a hard former_unit

    def hard_experts(self) -> set[str]:
        """ids_only: the experts with a hard conflict (after `apply_rules`)."""
        return self.hard_ids | {e for e, units in self._former_hard.items() if units}

    def add(self, expert_id: str, rule: str, key: object, path: list[str]) -> None:
        """Record a conflict once per (expert, rule, key); key separates independent evidence."""
        if not self.policy.active(rule) or (self.only is not None and expert_id not in self.only):
            return
        if self.ids_only:
            if self.policy.hard(rule):
                self.hard_ids.add(expert_id)
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
        for role, person, where in project_people(project):
            default = g.applicant_unit(project, role)
            node, expert_id, how, ukey, unit = g.locate_person(person, project.id, where, default)
            if expert_id is not None:
                units = g.expert_units(expert_id)
                unit_text = "、".join(dict.fromkeys(self.unit_label(u) for u, _, end in units if end is None)) or "单位不详"
                label = f"{g.expert_name(expert_id)} ({role}, {unit_text}, {expert_id})"
            else:
                units = [(ukey, None, None)] if ukey else []
                label = f"{clean(person.name)} ({role}, {unit or '单位不详'})"
            out.append(_Participant(node, label, role, expert_id, how, units))
        if project.institution:
            unit = g.institutions.normalise(project.institution)
            if unit is not None:
                ukey = g.unit_key(unit)
                out.append(_Participant(("I", ukey), f"{unit} (申报单位)", "申报单位", None, None,
                                        [(ukey, None, None)]))
        return out

    def unit_label(self, ukey: str) -> str:
        return self.g.unit_label(ukey)

    # -- rules --
    def run(self) -> list[Conflict]:
        self.apply_rules()
        return self.results()

    def apply_rules(self) -> None:
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
            expert_id = self.g.require_expert(self.project.id, "avoid", any_id)
            self.add(expert_id, "avoid_list", None, [expert_id, "申请人要求回避", applicant])

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
        ids_only, hard_ids = self.ids_only, self.hard_ids
        for ukey, members_here in groups.items():
            members = self.g.unit_members(ukey)
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
                        if ids_only:
                            self._former_hard.get(expert_id, set()).discard(unit)
                        else:
                            conflicts[:] = [c for c in conflicts
                                            if not (c.expert_id == expert_id and c.rule == "former_unit"
                                                    and c.path[2] == unit)]
                    done[expert_id] = "same_unit"
                    if ids_only:
                        if same_hard:
                            hard_ids.add(expert_id)
                        continue
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
                    hits = [(p, "所在单位" if p_end is None else f"{WORK} {years_text(p_start, p_end)}")
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
                if ids_only:
                    if former_hard:
                        self._former_hard.setdefault(expert_id, set()).add(unit)
                    continue
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
                by_rule: dict[str, list[Fact]] = defaultdict(list)
                for fact in data["facts"]:
                    rule = _rule_for_fact(fact, self.policy)
                    if rule is not None and _fact_applies(fact, rule, self.day, self.policy):
                        by_rule[rule].append(fact)
                for rule, facts in by_rule.items():
                    edge = "；".join(fact_label(f) for f in facts)
                    self.add(expert_id, rule, p.label, [expert_id, edge, p.label])
            elif kind == "J" and nbr[1] != self.project.id and self.policy.active("coinvestigator"):
                other = self.g.project(nbr[1])
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

        def papers(data) -> list[Fact]:
            return [f for f in data.get("facts", ()) if f.kind == "合著" and started(f.start, day)
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
                         [expert_id, fact_label(second[0]), mid_label, fact_label(first[0]), p.label])

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
            for other in g.units_under(parent):
                if other == ukey:
                    continue
                for expert_id, _, other_end, _ in g.unit_members(other):
                    if other_end is None:
                        self.add(expert_id, "same_parent", (other, ukey),
                                 [expert_id, f"{WORK} 至今", self.unit_label(other), f"同属 {parent}",
                                  self.unit_label(ukey), "所在单位", p.label])

    def node_label(self, node: tuple) -> str:
        if node[0] == "E":
            return f"{self.g.expert_name(node[1])} ({node[1]})"
        unit = self.unit_label(node[2]) if node[2] else None
        return f"{self.g.person_name(node)} ({unit or '单位不详'})"

    def results(self) -> list[Conflict]:
        hard_experts = {c.expert_id for c in self.conflicts if c.hard}
        out = [c for c in self.conflicts if c.hard or c.expert_id not in hard_experts]
        # three stable sorts on single keys (no key tuples): by expert, hard first, rule order
        out.sort(key=lambda c: _RULE_ORDER[c.rule])
        out.sort(key=lambda c: not c.hard)
        out.sort(key=attrgetter("expert_id"))
        return out
