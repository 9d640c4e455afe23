"""The pool as a graph: experts, outside people, legal units and projects, and the relations
between them, as the conflict rules (`rules`) read it.

Pure: records and an institution table in, a graph out. It is kept as compact adjacency arrays
read like networkx's `Graph.adj` (a cached pool graph then loads fast); `PoolGraph.networkx()`
gives it as a networkx graph for analysis. The rules read it only through the read API at the
end of `PoolGraph` (`adj`, `unit_members`, `expert_units`, `units_under`, `locate_person` …).


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
"""
from __future__ import annotations

import itertools
import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from expertpool.domain.institutions import InstitutionTable, unit_key
from expertpool.domain.models import Affiliation, Expert, Person, Project, Relation
from expertpool.domain.text import clean, fold


class UnknownReference(ValueError):
    """A record names an expert id that is not in the pool. `record` is the project id or relation
    key, `where` the field (applicant, team[2], avoid, expert_id …), `value` the id."""

    def __init__(self, record: str, where: str, value: str):
        super().__init__(f"{record}: {where} 的专家编号「{value}」不在专家库中")
        self.record = record
        self.where = where
        self.value = value



WORK = "任职"


class PersonRef(NamedTuple):
    """A person as a relation names them: what the graph reads of a `Person`."""
    name: str
    institution: str | None = None
    expert_id: str | None = None


class RelationRow(NamedTuple):
    """What the graph reads of a `Relation`, for a builder holding the stored fields of a record
    the store validated when it was written (`PoolGraph.build` takes either)."""
    expert_id: str
    other: PersonRef
    kind: str
    start_year: int | None = None
    end_year: int | None = None
    note: str | None = None
    author_count: int | None = None
    key = Relation.key


class AffiliationRow(NamedTuple):
    """What the graph reads of an `Affiliation` (see `RelationRow`)."""
    expert_id: str
    institution: str
    start_year: int | None = None
    end_year: int | None = None
    key = Affiliation.key


class Fact(NamedTuple):
    """One relation (or affiliation) on an edge."""
    kind: str
    start: int | None = None
    end: int | None = None
    note: str | None = None
    author_count: int | None = None

    @property
    def last(self) -> int | None:
        return self.end if self.end is not None else self.start


CURRENT_JOB = Fact(WORK)


def years_text(start: int | None, end: int | None, open_ended: bool = False) -> str:
    if open_ended:
        return f"{start}–至今" if start else "至今"
    if start and end and start != end:
        return f"{start}–{end}"
    year = end or start
    return str(year) if year else "年份不详"


def fact_label(fact: Fact) -> str:
    if fact.kind == WORK:
        return f"{WORK} {years_text(fact.start, fact.end, fact.end is None)}"
    head = fact.kind
    if fact.kind in ("亲属", "师生", "其他") and fact.note:
        note = fact.note if len(fact.note) <= 16 else fact.note[:15] + "…"
        head = f"{fact.kind}·{note}"
    if fact.kind in ("亲属", "师生", "其他") and fact.start is None and fact.end is None:
        return head  # for life: no year to show
    text = f"{head} {years_text(fact.start, fact.end)}"
    if fact.kind == "合著" and fact.author_count:
        text += f"（作者 {fact.author_count} 人）"
    return text



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


class _PackedPairs:
    """Relations between two experts by kind, as `PoolGraph._pair_facts` holds them (kind → (a,
    b, fact)), packed into arrays of indices when pickled: ~50,000 tuples took ≈ 0.08 s to
    unpickle on every draw; `get` gives a kind's tuples back when a draw reads them."""

    __slots__ = ("ids", "facts", "kinds")

    def __init__(self, pairs: dict[str, list[tuple[str, str, Fact]]]):
        position: dict[str, int] = {}
        fact_position: dict[Fact, int] = {}
        self.ids: list[str] = []
        self.facts: list[Fact] = []
        self.kinds: dict[str, tuple[array, array, array]] = {}
        for kind, rows in pairs.items():
            packed = (array("i"), array("i"), array("i"))
            for a, b, fact in rows:
                for column, value in zip(packed, (a, b)):
                    at = position.get(value)
                    if at is None:
                        at = position[value] = len(self.ids)
                        self.ids.append(value)
                    column.append(at)
                at = fact_position.get(fact)
                if at is None:
                    at = fact_position[fact] = len(self.facts)
                    self.facts.append(fact)
                packed[2].append(at)
            self.kinds[kind] = packed

    def __getstate__(self):
        return self.ids, self.facts, self.kinds

    def __setstate__(self, state) -> None:
        self.ids, self.facts, self.kinds = state

    def get(self, kind: str, default: Sequence = ()) -> Sequence[tuple[str, str, Fact]]:
        packed = self.kinds.get(kind)
        if packed is None:
            return default
        ids, facts = self.ids, self.facts
        a, b, f = packed
        return list(zip(map(ids.__getitem__, a), map(ids.__getitem__, b), map(facts.__getitem__, f)))


class PoolGraph:
    """The graph of a pool's people, units and projects. Build once (`build`); reading it (the
    conflict rules, `networkx()`) never changes it. `rules.ConflictGraph` adds the checks."""

    def __init__(self, institutions: InstitutionTable | None = None):
        self.institutions = institutions if institutions is not None else InstitutionTable()
        #: node → {neighbour: edge data}, as networkx's Graph.adj (made in `_finish`)
        self._adj = _Adjacency([], array("i", [0]), array("i"), array("i"), [])
        #: outside person node → their name as written
        self._person_names: dict[tuple, str] = {}
        self._alias: dict[str, str] = {}
        self._names: dict[str, str] = {}
        #: expert id → their current units' keys (while building; a loaded graph keeps them flat)
        self._current_units: dict[str, set[str]] | None = defaultdict(set)
        self._by_name_unit: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._unit_labels: dict[str, str] = {}
        self._unit_keys: dict[str, str] = {}
        self._parent_units: dict[str, set[str]] = defaultdict(set)
        #: unit key → (expert id, start, end, edge label) for every 任职 fact, for the unit rules
        self._members: dict[str, list[tuple[str, int | None, int | None, str]]] = {}
        #: relation kind → (expert a, expert b, fact) for relations between two experts, a < b
        self._pair_facts: dict[str, list[tuple[str, str, Fact]]] = defaultdict(list)
        self._projects: dict[str, Project] = {}
        self._anon = 0  # numbers people without a unit apart (a plain int pickles on every Python)
        # while building: edges as plain dicts, handed to networkx in one call at the end
        self._edges: dict[tuple[tuple, tuple], list[Fact]] = {}
        self._roles: dict[tuple[tuple, tuple], str] = {}
        self._people_nodes: dict[tuple, str] = {}
        self._name_keys: dict[str, str] = {}
        self._work: list[tuple[str, str, Fact]] = []
        # equal facts are one object: the pickled snapshot then holds ~2,000 facts, not ~200,000
        self._facts: dict[Fact, Fact] = {}

    def __getstate__(self) -> dict:
        # A draw loads the pool's graph every time: the name index is left out (derived again by
        # the first conflict check that needs it, from the current units, kept flat) and the
        # expert pairs are packed, ≈ 0.2 s of the load on 32,000 experts.
        state = dict(self.__dict__)
        state["_by_name_unit"] = None
        if self._current_units is not None:
            flat = [(expert_id, ukey) for expert_id, units in self._current_units.items() for ukey in units]
            state["_current_units"] = None
            state["_current_flat"] = ([e for e, _ in flat], [u for _, u in flat])
        if isinstance(self._pair_facts, dict):
            state["_pair_facts"] = _PackedPairs(self._pair_facts)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def _name_index(self) -> dict[tuple[str, str], list[str]]:
        """(folded name, unit key) → the experts of that name whose current units include it."""
        index = self._by_name_unit
        if index is None:
            if self._current_units is not None:
                flat = ((e, u) for e, units in self._current_units.items() for u in units)
            else:
                flat = zip(*self.__dict__["_current_flat"])
            index = defaultdict(list)
            names: dict[str, str] = {}
            for expert_id, ukey in flat:
                name = names.get(expert_id)
                if name is None:
                    name = names[expert_id] = _name_key(self._names[expert_id])
                index[(name, ukey)].append(expert_id)
            self._by_name_unit = index
        return index

    # ---- building ----
    @classmethod
    def build(cls, experts: Iterable[Expert], relations: Iterable[Relation | RelationRow] = (),
              affiliations: Iterable[Affiliation | AffiliationRow] = (), projects: Iterable[Project] = (),
              institutions: InstitutionTable | None = None) -> "PoolGraph":
        """The graph of these records. Relations, affiliations and projects must name experts of
        `experts` (any of their source ids); otherwise `UnknownReference`. Building allocates
        hundreds of thousands of objects that all stay alive: callers building a whole pool pause
        the cyclic collector around it (`expertpool.gcpause.gc_paused`)."""
        graph = cls(institutions)
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
            i = index.get(u)
            if i is None:
                i = index[u] = len(nodes)
                nodes.append(u)
                neighbours.append([])
            j = index.get(v)
            if j is None:
                j = index[v] = len(nodes)
                nodes.append(v)
                neighbours.append([])
            neighbours[i] += (j, ref)
            neighbours[j] += (i, ref)
        offsets, targets, refs = array("i", [0]), array("i"), array("i")
        for pairs in neighbours:
            targets.extend(pairs[0::2])
            refs.extend(pairs[1::2])
            offsets.append(len(targets))
        self._adj = _Adjacency(nodes, offsets, targets, refs, table)
        self._person_names = self._people_nodes
        labels: dict[Fact, str] = {}
        members: dict[str, list] = defaultdict(list)
        for expert_id, ukey, fact in self._work:
            label = labels.get(fact)
            if label is None:
                label = labels[fact] = fact_label(fact)
            members[ukey].append((expert_id, fact.start, fact.end, label))
        self._members = dict(members)
        self._edges, self._roles, self._people_nodes, self._work, self._name_keys = {}, {}, {}, [], {}
        self._facts = {}

    def _edge(self, u: tuple, v: tuple, fact: Fact) -> bool:
        """Add a fact to the edge u–v (u < v when both are experts); False if it was there."""
        facts = self._edges.get((u, v))
        if facts is None:
            self._edges[(u, v)] = [fact]
        elif fact in facts:
            return False
        else:
            facts.append(fact)
        return True

    def _fact(self, fact: Fact) -> Fact:
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
            if self._edge(("E", expert.id), ("I", ukey), CURRENT_JOB):
                self._work.append((expert.id, ukey, CURRENT_JOB))

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
        fact = self._fact(Fact(WORK, a.start_year, a.end_year))
        if self._edge(("E", expert_id), ("I", ukey), fact):
            self._work.append((expert_id, ukey, fact))
        if a.end_year is None and ukey not in current:
            current.add(ukey)
            self._name_index()[(_name_key(self._names[expert_id]), ukey)].append(expert_id)

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
        matches = self._name_index().get((name, ukey), ())
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
        fact = self._fact(Fact(r.kind, r.start_year, r.end_year, r.note, r.author_count))
        if other_id is not None and other < source:
            source, other = other, source
        if self._edge(source, other, fact) and other_id is not None:
            self._pair_facts[fact.kind].append((source[1], other[1], fact))

    def _add_project(self, project: Project) -> None:
        self._projects[project.id] = project
        node = ("J", project.id)
        for role, person, where in project_people(project):
            pnode = self._person_node(person, project.id, where, self.applicant_unit(project, role))[0]
            self._roles.setdefault((pnode, node), role)

    def applicant_unit(self, project: Project, role: str) -> str | None:
        """The legal unit a participant in `role` is taken to work at when their own record names
        none: the applying institution for the applicant, else nothing."""
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

    # ---- the read API of the conflict rules ----
    @property
    def adj(self) -> _Adjacency:
        """node → {neighbour: edge data}, as networkx's `Graph.adj`. Read-only."""
        return self._adj

    def unit_key(self, name: str) -> str:
        """The key of a legal unit's node, from its normalised name."""
        return self._ukey(name)

    def unit_label(self, ukey: str) -> str:
        """The legal unit's name as shown in evidence."""
        return self._unit_labels.get(ukey, ukey)

    def unit_members(self, ukey: str) -> Sequence[tuple[str, int | None, int | None, str]]:
        """Everyone who works or worked at a unit: (expert id, start, end, edge label) per 任职 fact;
        end None = current."""
        return self._members.get(ukey, ())

    def units_under(self, parent: str) -> Iterable[str]:
        """Keys of the units whose `parent` in the institution table is `parent`."""
        return self._parent_units.get(parent, ())

    def expert_units(self, expert_id: str) -> list[tuple[str, int | None, int | None]]:
        """The units an expert works or worked at: (unit key, start, end); end None = current."""
        units = []
        for nbr, data in self._adj[("E", expert_id)].items():
            if nbr[0] == "I":
                for fact in data["facts"]:
                    units.append((nbr[1], fact.start, fact.end))
        return units

    def person_name(self, node: tuple) -> str:
        """An outside person's name as written (their folded name when none was kept)."""
        return self._person_names.get(node, node[1])

    def require_expert(self, record: object, where: str, any_id: str) -> str:
        """The canonical id of an expert a record names; `UnknownReference` if not in the pool."""
        return self._expert(record, where, any_id)

    def locate_person(self, person: Person, record: object, where: str, default_unit: str | None = None
                      ) -> tuple[tuple, str | None, str | None, str | None, str | None]:
        """Where a person named by a record stands in the graph, without adding them: (node, expert
        id or None, how identified ("同名同单位" or None), unit key, unit name)."""
        return self._person_node(person, record, where, default_unit, create=False)

    def expert_pairs(self, kind: str) -> Sequence[tuple[str, str, Fact]]:
        """Relations of `kind` between two experts of the pool: (a, b, fact) with a < b."""
        return self._pair_facts.get(kind, ())


def project_people(project: Project) -> list[tuple[str, Person, str]]:
    """A project's participants: (role, person, field), the applicant first."""
    people = [("申报人", project.applicant, "applicant")]
    people += [("项目成员", p, f"team[{i}]") for i, p in enumerate(project.team)]
    return people
