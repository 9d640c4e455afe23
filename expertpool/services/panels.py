"""Panel building: eligibility on the review date, relevance to the projects, the exact draw,
backups, replacement, export — each panel saved with its audit entry so `panel show` can
reproduce it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from expertpool.cache.snapshot import (
    DiskMemo,
    ExpertBrief,
    PoolSnapshot,
    cached_snapshot,
    derived,
    fresh_snapshot,
    segmenter_fingerprint,
)
from expertpool import services as services_package, stores as stores_package
from expertpool.domain import panel as panel_package
from expertpool.domain.conflicts import ConflictPolicy, policy_key
from expertpool.domain.attributes import DERIVED, quota_attributes
from expertpool.domain.eligibility import REASONS, EligibilityFacts, barred_experts, sort_out
from expertpool.domain.evaluation import pauses_on
from expertpool.domain.ledger import Ledger, review_counts
from expertpool.domain.models import AuditEntry, Project
from expertpool.domain.panel import Candidate, PanelRules, check_panel, get_strategy, invitations, mode_label
from expertpool.domain.panel.spec import Quota, quota_counts
from expertpool.domain.panel.record import (
    AuditAnchor,
    ConflictGroup,
    DiagnosisView,
    InvitationEvent,
    MemberView,
    PanelRecord,
    PanelSummary,
    PoolFigures,
    QuotaCount,
    Replacement,
    Seal,
    StoredDocument,
    group_conflicts,
)
from expertpool.domain.text import clean
from expertpool.errors import ConcurrentEdit, ExpertPoolError, InputError, NotFound, PermissionDenied
from expertpool.gcpause import gc_paused
from expertpool.io import readers, rows
from expertpool.io.datafiles import (load_evaluation_policy, load_institutions, load_invitation_settings,
                                     policy_from)
from expertpool.progress import NullProgress, Progress
from expertpool.services import sealing
from expertpool.services.access import Actor, audit, check
from expertpool.services.conflicts import excluded_by_conflicts, panel_exclusions, read_projects
from expertpool.services.expert_ids import resolve_expert_id
from expertpool.services.ledger import read_ledger
from expertpool.services.panel_spec import PanelSpec, load_spec, strategy_names
from expertpool.services.relevance import (ProjectQueries, best_relevance, qualified_ids, rank_projects,
                                           ranked_content,
                                           relevance_by_project)
from expertpool.stores.base import ExpertStore

__all__ = [
    "DrawInputs", "MembersNoLongerEligible", "NoSubstitute", "PanelOutcome", "PanelSpec", "REASONS", "Substitute",
    "anchor_of", "build_panel", "find_replacement", "find_substitute", "get_panel", "list_panels", "load_panel",
    "load_spec", "panel_state", "prepare_draw", "public_view", "release_seal", "replace_member", "reproduce_panel",
    "resolve_member", "save_record", "saved_spec", "sealed_error", "shown_to", "strategy_names", "with_substitute",
]


@dataclass
class Eligibility:
    candidates: list[ExpertBrief]
    excluded: dict[str, list[str]]         # reason key → expert ids
    #: the evidence of every hard conflict of those `named` as excluded by one
    conflicts: list[ConflictGroup]
    forbidden_pairs: set[tuple[str, str]]
    institutions: dict[str, str]           # expert id → legal unit
    #: the exclusions as a record names and counts them (`sealed_blind`): `excluded` when no
    #: panel is sealed
    named: dict[str, list[str]] | None = None
    #: how many were eligible, as a record shows it (`sealed_blind`): len(candidates) without seals
    shown_eligible: int | None = None
    #: those kept off only by a seat on a still-sealed panel (a member of an earlier panel who
    #: stays on it: `find_replacement`'s `also_fixed`), with their briefs
    sealed_only: tuple[ExpertBrief, ...] = ()
    by_id: dict[str, ExpertBrief] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_id = {e.id: e for e in self.candidates}
        if self.named is None:
            self.named = self.excluded
        if self.shown_eligible is None:
            self.shown_eligible = len(self.candidates)


def reviews_in_year(snapshot: PoolSnapshot, ledger: Ledger, day: dt.date) -> Counter:
    """Reviews each expert did in the 12 months before `day` (the workload cap's window):
    imported history and seats on saved panels and sessions (`domain.ledger.review_counts`)."""
    return review_counts(snapshot.review_days, ledger, day - dt.timedelta(days=365), day)


def eligibility_facts(store: ExpertStore, spec: PanelSpec, snapshot: PoolSnapshot, ledger: Ledger
                      ) -> EligibilityFacts:
    """What the eligibility rules read on the review date, but the conflicts (which depend on
    the projects): integrity bars, evaluation pauses, the workload count, who is already seated
    that day."""
    day = spec.review_date
    return EligibilityFacts(
        day,
        # integrity is read fresh: reviewers change it between draws, and it is small
        barred=barred_experts(store.iter_integrity(), day),
        # evaluations too: a handful per review, read fresh like integrity
        paused=pauses_on(store.iter_records("evaluation"), load_evaluation_policy(), day),
        **_seat_facts(spec, snapshot, ledger))


def _seat_facts(spec: PanelSpec, snapshot: PoolSnapshot, ledger: Ledger) -> dict:
    """The facts the ledger gives on the review date: the workload count and who is booked."""
    day = spec.review_date
    return dict(
        reviews=reviews_in_year(snapshot, ledger, day) if spec.max_reviews_per_year is not None else Counter(),
        # same_day "warn" seats an expert twice and says so, but never someone on a still-sealed
        # panel: the warning would name a member of it
        booked=frozenset(ledger.booked_on(day)) if spec.same_day == "refuse" else sealed_seats_on(ledger, day))


def sealed_seats_on(ledger: Ledger, day: dt.date) -> frozenset[str]:
    """The experts seated on `day` on a panel whose member list is still sealed: never drawn again
    that day."""
    return frozenset(m for m, seats in ledger.booked_on(day).items() if any(s.sealed for s in seats))


def sealed_blind(facts: EligibilityFacts, spec: PanelSpec, snapshot: PoolSnapshot, ledger: Ledger
                 ) -> EligibilityFacts | None:
    """The facts as if no panel were sealed, for what a draw's record names and counts (its
    exclusions by reason, their counts, the conflict evidence, how many were eligible), or None
    when no seat is sealed. A sealed seat still bars its expert (`facts`), but naming or
    counting by the real facts would let anyone read the sealed members off a second draw that
    day, off the workload exclusions of draws on two days, or off the counts of draws that avoid
    one expert at a time. Everyone these facts exclude, the real ones exclude too (fewer seats).
    What the solver reports of the real pool (qualified, types) and the draw itself still
    depend on who is free: README ("Panel rules", the ledger) says what that leaves."""
    if not ledger.has_sealed:
        return None
    return replace(facts, **_seat_facts(spec, snapshot, ledger.unsealed()))


def named_exclusions(named: dict[str, list[str]]) -> dict[str, list[str]]:
    """Exclusions by reason key → by their Chinese reason, as a record lists them."""
    return {REASONS[k]: sorted(v) for k, v in named.items()}


def same_day_warnings(ledger: Ledger, day: dt.date, members: Sequence[str], names: dict[str, str]) -> list[str]:
    """One line per member already seated elsewhere on `day` (a spec with same_day = "warn"); a
    seat on a still-sealed panel is never among them (those experts are not drawn)."""
    booked = ledger.booked_on(day)
    return [f"{m} {names.get(m, '')} 同日已入选：{'；'.join(seat.describe() for seat in booked[m])}"
            for m in members if m in booked and not any(seat.sealed for seat in booked[m])]


def _project_refs(spec: PanelSpec) -> list[tuple[str, Path | None]]:
    """The spec's project references: (ref, path) for a projects file, (ref, None) for a stored id."""
    return project_refs((spec.projects,) if isinstance(spec.projects, str) else spec.projects)


def project_refs(refs: Sequence[str]) -> list[tuple[str, Path | None]]:
    """Project references: (ref, path) for a projects file, (ref, None) for a stored id."""
    out: list[tuple[str, Path | None]] = []
    for ref in refs:
        path = Path(ref)
        out.append((ref, path if path.suffix in (".jsonl", ".json", ".ndjson") or path.exists() else None))
    return out


def _load_projects(store: ExpertStore, spec: PanelSpec, graph) -> list[Project]:
    return load_projects(store, _project_refs(spec), graph)


def load_projects(store: ExpertStore, refs: Sequence[tuple[str, Path | None]], graph) -> list[Project]:
    """The projects of `project_refs`: each file's, validated, and each stored id's."""
    projects: list[Project] = []
    for ref, path in refs:
        if path is not None:
            if not path.exists():
                raise InputError(f"{ref}: 申报项目文件不存在（projects）")
            projects.extend(read_projects(path, store))
        else:
            found = graph.project(ref)
            if found is None:
                raise InputError(f"projects: 库中没有编号为「{ref}」的申报项目")
            projects.append(found)
    return projects


def eligible_candidates(store: ExpertStore, spec: PanelSpec, projects: Sequence[Project],
                        snapshot: PoolSnapshot, ledger: Ledger) -> Eligibility:
    """The panel's eligibility rules (`domain.eligibility`) on the review date, and the forbidden
    pairs among those left."""
    day = spec.review_date
    graph = snapshot.graph
    policy = policy_from(spec.policy)
    # the conflicts of the whole pool; pairs only among the candidates, once they are known
    conflicts = pool_conflicts(snapshot, projects, day, policy)
    facts = replace(eligibility_facts(store, spec, snapshot, ledger), conflicted=conflicts.excluded)
    rules = spec.eligibility_rules()
    candidates, excluded = sort_out(snapshot.experts, rules, facts)
    blind = sealed_blind(facts, spec, snapshot, ledger)
    shown, named = (candidates, excluded) if blind is None else sort_out(snapshot.experts, rules, blind)
    evidence = conflicts.groups_of(set(named["conflict"]))
    ids = {e.id for e in candidates}
    sealed_only = tuple(e for e in shown if e.id not in ids)
    # pairs among everyone the record counts (the sealed-only too: a member of an earlier panel
    # who stays on it must not be paired with a substitute in conflict with them)
    pairs = {(p.a, p.b) for p in graph.panel_pairs(policy, day, [e.id for e in shown])}
    table = load_institutions()
    units = {e.id: table.normalise(e.institution) or e.institution for e in (*candidates, *sealed_only)}
    return Eligibility(candidates, excluded, evidence, pairs, units, named, len(shown), sealed_only)


def solver_candidates(experts: Sequence[ExpertBrief], units: dict[str, str], relevance: dict[str, float],
                      day: dt.date, *, quotas: Sequence[Quota] = ()) -> list[Candidate]:
    """Eligible experts as the solver sees them (`units`: id → legal unit), with the derived
    attributes the `quotas` read (sector of the legal unit, gender, age on `day`, sub-region,
    honours)."""
    wanted = {q.attribute for q in quotas} & set(DERIVED)
    table = load_institutions() if wanted else None
    return [Candidate(id=e.id, name=e.name, region=e.region, fields=tuple(e.fields), title=e.title,
                      institution=units[e.id], relevance=relevance.get(e.id, 0.0), high_level=e.high_level,
                      attributes=quota_attributes(e, table.sector(units[e.id]), day, wanted) if table else ())
            for e in experts]


@dataclass(frozen=True)
class PoolConflicts:
    """The hard conflicts between the pool and the projects under review, as a draw keeps them:
    who has one, and every one's evidence, grouped (`group_conflicts`)."""
    excluded: frozenset[str]
    groups: list[ConflictGroup]

    def groups_of(self, experts: set[str]) -> list[ConflictGroup]:
        """The groups narrowed to `experts` (those excluded for a conflict, not for an earlier reason)."""
        out = []
        for group in self.groups:
            kept = {edge: [e for e in ids if e in experts] for edge, ids in group.experts.items()}
            kept = {edge: ids for edge, ids in kept.items() if ids}
            if kept:
                out.append(group if kept == group.experts else group.model_copy(update={"experts": kept}))
        return out


def pool_conflicts(snapshot: PoolSnapshot, projects: Sequence[Project], day: dt.date,
                   policy: ConflictPolicy) -> PoolConflicts:
    """The pool's hard conflicts with `projects` on `day` under `policy`, remembered on disk with
    the snapshot's data version: checking 20 projects against 32,000 experts makes ~90,000
    conflicts (≈ 0.3 s, ≈ 1 s on 100,000), the same for every draw of the same projects (another
    seed, a replacement, a reproduction). The key holds everything the answer depends on: the
    data, the projects' content, the day, the policy's settings, the alias table and the code of
    the conflict rules."""
    def check() -> PoolConflicts:
        exclusions = panel_exclusions(snapshot.graph, list(projects), day, policy, candidates=())
        found = [c for conflicts in exclusions.excluded.values() for c in conflicts]
        return PoolConflicts(frozenset(exclusions.excluded), group_conflicts(found))

    remembered = (derived(snapshot.version, "conflicts", _conflicts_key(projects, day, policy), check)
                  if snapshot.version else check())
    return remembered if isinstance(remembered, PoolConflicts) else check()


def _conflicts_key(projects: Sequence[Project], day: dt.date, policy: ConflictPolicy) -> str:
    """What the pool's conflicts with `projects` depend on beside the data version and the code."""
    return json.dumps([[p.model_dump(mode="json") for p in projects], day.isoformat(), policy_key(policy)],
                      ensure_ascii=False, sort_keys=True)


def hard_conflicts_by_project(snapshot: PoolSnapshot, projects: Sequence[Project], day: dt.date,
                              policy: ConflictPolicy) -> dict[str, set[str]]:
    """project id → the experts a hard conflict keeps off its review (no evidence: a review
    session keeps its evidence by reference), remembered on disk like `pool_conflicts`: a
    session's plan, its reproduction and each replacement in any of its groups check the
    session's projects against the pool once per data version, not once each."""
    def check() -> dict[str, set[str]]:
        return excluded_by_conflicts(snapshot.graph, list(projects), day, policy)

    remembered = (derived(snapshot.version, "session-conflicts", _conflicts_key(projects, day, policy), check)
                  if snapshot.version else check())
    return remembered if isinstance(remembered, dict) else check()


def _early_projects(store: ExpertStore, spec: PanelSpec) -> list[Project]:
    """The projects under review, read without the conflict graph so ranking can start early.
    Rows are not validated here: `_load_projects` does that (and reports errors) afterwards;
    an unreadable reference just contributes nothing."""
    stored: dict[str, Project] | None = None
    found: list[Project] = []
    for ref, path in _project_refs(spec):
        if path is not None:
            try:
                table = readers.read_table(path, "projects")
            except ExpertPoolError:
                continue
            for _, row in table.rows:
                try:
                    found.append(rows.project_from_row(row, lambda _column, value: value))
                except rows.RowError:
                    continue
        else:
            if stored is None:
                stored = {p.id: p for p in store.iter_records("project")}
            if ref in stored:
                found.append(stored[ref])
    return found


def rank_review(store: ExpertStore, projects: Sequence[Project], version: str | None, also: Iterable[Project] = ()
                ) -> tuple[list[ProjectQueries], list[list[tuple[str, float]]]]:
    """The projects' queries and rankings (services/relevance.py), the store's stored projects
    (and `also`: the rest of a session's) being the background the boilerplate words are
    learned from. Remembered on disk with the data version (which covers the stored projects),
    the ranked content of `projects` and `also`, the segmenter and the ranking code: another
    draw for the same projects (another seed, a reproduction, a replacement) reads neither the
    store's rank index (≈ 40 MB on 32,000 experts) nor the stored projects."""
    also = list(also)

    def rank() -> tuple[list[ProjectQueries], list[list[tuple[str, float]]]]:
        return rank_projects(store, projects, [*store.iter_records("project"), *also], version)

    if not version:
        return rank()
    memo = DiskMemo(version, "rankings", (services_package, stores_package))
    key = json.dumps([segmenter_fingerprint(), [ranked_content(p) for p in projects],
                      [ranked_content(p) for p in also]], ensure_ascii=False)
    remembered = memo.recall(key)
    if isinstance(remembered, tuple) and len(remembered) == 2:
        return remembered
    ranked = rank()
    memo.keep(key, ranked)
    return ranked


def review_relevance(spec: PanelSpec, projects: Sequence[Project], queries: Sequence[ProjectQueries],
                     rankings: Sequence[Sequence[tuple[str, float]]], experts: Sequence[ExpertBrief]
                     ) -> dict[str, float]:
    """Each of `experts`' relevance to the `projects` under review (their `queries` and
    `rankings` from `rank_review`), by the spec's field rule (services/relevance.py): a field
    the panel must cover that no project lists is open to its experts on relevance alone."""
    if not projects:
        return {}
    fields = {e.id: e.fields for e in experts}
    listed = {f for p in projects for f in p.fields}
    open_fields = set(spec.resolved_fields(projects)) - listed if spec.min_per_field > 0 else set()
    return best_relevance(relevance_by_project(queries, rankings, fields, spec.require_common_field, open_fields))


@dataclass
class PanelOutcome:
    panel_id: str | None
    record: PanelRecord
    has_panel: bool

    @cached_property
    def document(self) -> dict:
        """The record as stored and printed by `--json` (made once: ≈ 15 MB on a 32,000-expert pool)."""
        return self.record.to_document()


@dataclass
class DrawInputs:
    """Everything a draw needs, read and derived from the store for one spec."""
    experts: list[ExpertBrief]        # the whole pool
    eligibility: Eligibility
    relevance: dict[str, float]       # expert id → relevance to the projects (0..1)
    candidates: list[Candidate]       # the eligible, as the solver sees them
    rules: PanelRules
    projects: list[Project]
    timings: dict[str, float]
    ledger: Ledger
    version: str = ""                 # the data version drawn from ("" when unknown)
    #: `eligibility.sealed_only` as the solver sees them (no relevance): `find_replacement`
    also_fixed: dict[str, Candidate] = field(default_factory=dict)

    def view(self, expert_id: str, probability: float | None) -> MemberView:
        """A drawn expert as the panel record shows them."""
        e = self.eligibility.by_id[expert_id]
        return MemberView(id=e.id, name=e.name, region=e.region, sub_region=e.sub_region,
                          institution=e.institution, legal_unit=self.eligibility.institutions[e.id], title=e.title,
                          fields=list(e.fields), high_level=e.high_level,
                          relevance=round(self.relevance.get(e.id, 0.0), 4),
                          probability=None if probability is None else round(probability, 6))


def solution_memo(version: str) -> DiskMemo | None:
    """Where a draw keeps its solved lottery distribution for the next draw of the same pool and
    rules (another seed, a reproduction): on disk with this data version and the solver's code.
    None without a data version (nothing to key it to)."""
    return DiskMemo(version, "lottery-distributions", (panel_package,)) if version else None


def _panel_id(spec: PanelSpec, members: Sequence[str]) -> str:
    digest = hashlib.sha256(json.dumps([spec.to_json(), list(members)], ensure_ascii=False,
                                       sort_keys=True).encode()).hexdigest()[:8]
    return f"PNL-{spec.review_date:%Y%m%d}-{spec.seed}-{digest}"


def now_text(now: dt.datetime | None) -> str:
    return (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat()


def _require_projects(spec: PanelSpec) -> None:
    """A panel is drawn for projects: without them no conflict of interest can be checked, so a
    draw without projects must be asked for (`--no-projects`), and then says so."""
    if not spec.projects and not spec.no_projects:
        raise InputError("没有给出申报项目（--projects，或规则文件中的 projects）：没有项目就无法审查利益冲突。"
                         "确需不针对项目抽取时请加 --no-projects，专家组将注明“未做利益冲突审查”")


def prepare_draw(store: ExpertStore, spec: PanelSpec, progress: Progress | None = None,
                 ledger: Ledger | None = None) -> DrawInputs:
    """Everything a draw needs: eligible candidates with relevance, the solver's rules, timings.
    Refused (InputError) without projects unless the spec says `no_projects`. `ledger`: the seats
    on saved panels and sessions to count (default: all of them, now)."""
    _require_projects(spec)
    progress = progress or NullProgress()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    # Read the data version first (see ExpertStore.data_version), then start ranking the project
    # texts (from the store's rank index of this version, or on the store's own threads) while
    # this one loads the cached snapshot, which touches no store: the two halves of the wait overlap.
    version = store.data_version()
    early = _early_projects(store, spec)
    with ThreadPoolExecutor(max_workers=1) as pool:
        ranking = pool.submit(rank_review, store, early, version)
        snapshot = cached_snapshot(version)
        if snapshot is None:
            # Nothing cached for this data version (an import normally prepares it: see
            # `prepare_pool`): the pool is read and the graph built while the other thread
            # copies the rank index (≈ 3–5 s on 32,000 experts), with something on the screen.
            progress.start("读取专家库并建立利益冲突图、检索统计（本数据版本的首次抽取）", None)
        try:
            if snapshot is None:
                snapshot = fresh_snapshot(store, version)
            queries, rankings = ranking.result()
        finally:
            progress.finish()
    projects = _load_projects(store, spec, snapshot.graph)
    if not projects and not spec.no_projects:  # the references named no project at all
        _require_projects(PanelSpec(**{**asdict(spec), "projects": ()}))
    ledger = ledger if ledger is not None else read_ledger(store, on=spec.review_date)
    timings["load"] = time.perf_counter() - t0
    t = time.perf_counter()
    elig = eligible_candidates(store, spec, projects, snapshot, ledger)
    timings["eligibility"] = time.perf_counter() - t
    t = time.perf_counter()
    if [ranked_content(p) for p in projects] != [ranked_content(p) for p in early]:
        # the early read saw other projects than the validated ones (cannot happen on valid input;
        # validation may still resolve a team member's number, which ranking does not read)
        queries, rankings = rank_review(store, projects, version)
    relevance = review_relevance(spec, projects, queries, rankings, elig.candidates)
    timings["relevance"] = time.perf_counter() - t
    candidates = solver_candidates(elig.candidates, elig.institutions, relevance, spec.review_date,
                                   quotas=spec.quotas)
    also_fixed = {c.id: c for c in solver_candidates(elig.sealed_only, elig.institutions, {}, spec.review_date,
                                                     quotas=spec.quotas)}
    return DrawInputs(snapshot.experts, elig, relevance, candidates, spec.to_rules(projects),
                      projects, timings, ledger, snapshot.version, also_fixed)


def build_panel(store: ExpertStore, actor: Actor, spec: PanelSpec, *, progress: Progress | None = None,
                save: bool = True, now: dt.datetime | None = None, ledger: Ledger | None = None,
                sealed_until: dt.datetime | None = None) -> PanelOutcome:
    """Draw a panel by `spec` and (when a panel was found and `save`) store it with an audit entry.

    Returns the panel record: status, members, backups, exclusions by reason, seed, diagnosis,
    solver figures. An infeasible spec is not an exception: the record carries the diagnosis.
    Saved panels and sessions count toward the workload cap, and their members are not drawn
    again on the same day (`spec.same_day` "warn": drawn, with a warning); `ledger` replaces the
    current one (a reproduction uses the ledger as it stood when the panel was drawn).

    `sealed_until`: the member list stays sealed until then (see `services.sealing`): the draw
    uses a secret seed instead of the spec's (anyone could otherwise re-draw the same panel), only
    a lottery may be sealed (a best-relevance draw is nearly the same whatever the seed), and the
    outcome's record is the public one (counts, no members).
    """
    check(actor, "panel", "抽取评审专家组")
    if sealed_until is not None:
        spec = _sealable_spec(spec, sealed_until, save, now)
    # Tens of thousands of long-lived objects (experts, the graph) and ~100,000 conflicts, nearly
    # all gone by the time the draw returns: the cyclic collector would walk them again and again
    # for nothing (also while the record is built, were it switched back on before).
    with gc_paused():
        return _draw(store, actor, spec, save, now, progress or NullProgress(), ledger, sealed_until)


def _draw(store: ExpertStore, actor: Actor, spec: PanelSpec, save: bool, now: dt.datetime | None,
          progress: Progress, ledger: Ledger | None, sealed_until: dt.datetime | None) -> PanelOutcome:
    inputs = prepare_draw(store, spec, progress, ledger)
    elig, timings = inputs.eligibility, inputs.timings
    t = time.perf_counter()
    progress.start(f"抽取评审专家组（{mode_label(spec.mode)}，时限 {spec.time_limit_s:g} 秒）", None)
    result = get_strategy(spec.mode)(inputs.candidates, inputs.rules, elig.forbidden_pairs, seed=spec.seed,
                                     time_limit_s=spec.time_limit_s, memo=solution_memo(inputs.version))
    progress.finish()
    timings["solve"] = time.perf_counter() - t
    probs = result.probabilities or {}
    lottery = result.probabilities is not None

    def views(ids) -> list[MemberView]:
        return [inputs.view(i, probs.get(i, 0.0) if lottery else None) for i in ids]

    has_panel = result.status.has_panel
    panel_id = None
    if has_panel and save:
        panel_id = (_panel_id(spec, result.members) if sealed_until is None
                    # the usual id names the seed: a sealed one is random
                    else f"PNL-{spec.review_date:%Y%m%d}-SEALED-{secrets.token_hex(4)}")
    record = PanelRecord(
        id=panel_id,
        name=spec.name,
        spec=spec.to_json(),
        status=result.status,
        strategy=result.strategy,
        seed=result.seed,
        members=views(result.members),
        backups=views(result.backups),
        replacements={m: list(r) for m, r in result.replacements.items()},
        # Everyone named as a possible replacement, so `panel replace` can check them without a re-draw.
        alternates=views(sorted({x for r in result.replacements.values() for x in r}
                                - set(result.members) - set(result.backups))),
        probability_min=result.probability_min,
        probability_max=result.probability_max,
        objective=result.objective,
        bound=result.bound,
        gap=result.gap,
        exclusions={REASONS[k]: len(v) for k, v in elig.named.items()},
        excluded_ids=named_exclusions(elig.named),
        conflicts=elig.conflicts,
        pool=PoolFigures(experts=len(inputs.experts), eligible=elig.shown_eligible,
                         qualified=result.stats.qualified, forbidden_pairs=len(elig.forbidden_pairs),
                         types=result.stats.types, columns=result.stats.columns),
        projects=[p.id for p in inputs.projects],
        conflicts_checked=bool(inputs.projects),
        diagnosis=DiagnosisView.of(result.diagnosis),
        timings={**timings, **dict(result.stats.timings)},
        required_fields=list(inputs.rules.fields) if spec.fields == "projects" else None,
        quota_counts=counted_quotas(inputs.candidates, result.members, inputs.rules),
        warnings=same_day_warnings(inputs.ledger, spec.review_date, result.members,
                                   {e.id: e.name for e in elig.candidates}),
        created_by=actor.user if panel_id else None,
        created_at=now_text(now) if panel_id else None,
    )
    if panel_id is None:
        return PanelOutcome(panel_id, record, has_panel)
    if sealed_until is not None:
        record = record.model_copy(update={"seal": Seal(
            until=_iso(sealed_until), sealed_by=actor.user, sealed_at=now_text(now),
            key_fingerprint=sealing.key_fingerprint(), members=len(record.members), backups=len(record.backups),
            state=invitations.PENDING)})
    with store.batch():
        if record.sealed:
            # nothing naming a member (nor the seed) goes into the audit trail while sealed
            entry = audit(store, actor, "panel.build", target=panel_id, now=now, reason=spec.name,
                          after={"members": [], "backups": [], "mode": spec.mode, "status": str(result.status),
                                 "conflicts_checked": record.checked_for_conflicts,
                                 "sealed_until": record.seal.until, "sealed_members": len(record.members)})
            full = record.model_copy(update={"audit_anchor": anchor_of(entry)})
            stored = sealing.seal_document(full.to_document(), panel_id)
            store.save_panel(panel_id, stored)
            return PanelOutcome(panel_id, _read_record(panel_id, {k: v for k, v in stored.items()
                                                                  if k != sealing.PAYLOAD_KEY}), has_panel)
        entry = audit(store, actor, "panel.build", target=panel_id, now=now,
                      reason=spec.name, after={"members": list(result.members), "backups": list(result.backups),
                                               "seed": spec.seed, "mode": spec.mode, "status": str(result.status),
                                               "conflicts_checked": record.checked_for_conflicts})
        outcome = PanelOutcome(panel_id, record.model_copy(update={"audit_anchor": anchor_of(entry)}), has_panel)
        store.save_panel(panel_id, outcome.document)
    return outcome


def counted_quotas(candidates: Sequence[Candidate], members: Sequence[str], rules: PanelRules) -> list[QuotaCount]:
    """The drawn members against each quota of `rules`."""
    chosen = set(members)
    return [QuotaCount(label=label, count=count, min=lo, max=hi)
            for label, count, lo, hi in quota_counts([c for c in candidates if c.id in chosen], rules)]


def anchor_of(entry: AuditEntry) -> AuditAnchor:
    """The chain head a saved panel, a replacement or a record sheet was made at: its own audit
    entry. `audit verify` checks every saved panel's anchors (services.audit.panel_anchors)."""
    return AuditAnchor(seq=entry.seq, hash=entry.hash)


def parse_moment(value: str, option: str) -> dt.datetime:
    """A date and time as written (`2026-12-01T08:00+08:00`, `2026-12-01 08:00`, `2026-12-01`),
    without a zone in this machine's local zone; an InputError naming `option` otherwise."""
    text = value.strip().replace("/", "-")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: 「{value}」不是有效的时间（如 2026-12-01T08:00+08:00 或 2026-12-01 08:00）") from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def _iso(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def _sealable_spec(spec: PanelSpec, sealed_until: dt.datetime, save: bool, now: dt.datetime | None) -> PanelSpec:
    """The spec a sealed draw runs: the same rules with a secret seed. Refuses what cannot be sealed."""
    if not save:
        raise InputError("--sealed-until 与 --dry-run 不能同时使用：试抽不保存，无可密封")
    if sealed_until.tzinfo is None:
        raise InputError("--sealed-until: 解封时间应带时区")
    if sealed_until <= (now or dt.datetime.now(dt.timezone.utc)):
        raise InputError(f"--sealed-until: 解封时间 {_iso(sealed_until)} 已过")
    if spec.mode != "lottery":
        raise InputError("密封抽取只能用随机抽取（--mode lottery）：择优抽取的结果换任何种子都几乎相同，"
                         "任何人都能重算出名单，密封没有意义")
    if spec.same_day != "refuse":
        raise InputError("密封抽取不能与 --allow-same-day（same_day = \"warn\"）同用：密封名单中的专家若同日已在"
                         "其他专家组，那些专家组的警告与替换都会暴露密封名单")
    return dataclasses.replace(spec, seed=secrets.randbelow(2**31 - 1) + 1)


def get_panel(store: ExpertStore, actor: Actor, panel_id: str, now: dt.datetime | None = None) -> PanelRecord:
    """The saved panel as the actor may see it: a sealed one without its members (its `seal` has
    the counts and the state) until the release time; the first read after that time releases it
    (saved in the clear, with its audit entry)."""
    check(actor, "panel.read", "查看评审专家组")
    return shown_to(actor, load_panel(store, actor, panel_id, now=now))


def load_panel(store: ExpertStore, actor: Actor, panel_id: str, *, now: dt.datetime | None = None,
               open_sealed: bool = False) -> PanelRecord:
    """The saved panel. A sealed one whose release time has passed is released first. Before that,
    `open_sealed` gives the full record (for the invitation process, which contacts members
    without showing them; its callers show only counts and reply codes), else the public one.
    Permissions are the caller's to check."""
    document = store.get_panel(panel_id)
    if document is None:
        raise NotFound(f"评审专家组「{panel_id}」不存在")
    if not sealing.is_sealed_document(document):
        return _read_record(panel_id, document)
    public = _read_record(panel_id, {k: v for k, v in document.items() if k != sealing.PAYLOAD_KEY})
    if public.seal is not None and _due(public.seal.until, now):
        record = _read_record(panel_id, sealing.open_document(document, panel_id))
        return release_seal(store, actor, record, reason="到达解封时间", now=now)
    if open_sealed:
        return _read_record(panel_id, sealing.open_document(document, panel_id))
    return public


def _due(until: str, now: dt.datetime | None) -> bool:
    return dt.datetime.fromisoformat(until) <= (now or dt.datetime.now(dt.timezone.utc))


def release_seal(store: ExpertStore, actor: Actor, record: PanelRecord, *, reason: str,
                 now: dt.datetime | None = None) -> PanelRecord:
    """Save the full record in the clear, the seal marked released (when, by whom, why), with a
    `panel.unseal` audit entry naming the members. `record` is the opened (full) record."""
    assert record.seal is not None and record.id is not None
    seal = record.seal.model_copy(update={"released_at": now_text(now), "released_by": actor.user,
                                          "release_reason": reason})
    with store.batch():
        saved = save_record(store, record.model_copy(update={"seal": seal}), record.revision)
        audit(store, actor, "panel.unseal", target=record.id, reason=reason, now=now,
              before={"sealed_until": record.seal.until},
              after={"members": saved.member_ids(), "backups": [b.id for b in saved.backups]})
    return saved


def save_record(store: ExpertStore, record: PanelRecord, read_revision: int) -> PanelRecord:
    """Store `record` (read at `read_revision`) as the next revision; sealed, it is stored sealed,
    its public summary (state and counts) brought up to date. Call inside `store.batch()`; a panel
    saved by someone else since it was read is refused (ConcurrentEdit, nothing written)."""
    assert record.id is not None
    if record.sealed and record.seal is not None and not record.members and record.seal.members:
        # the public view of a sealed panel: saving it would replace the sealed list by nothing
        raise ExpertPoolError(f"内部错误：评审专家组 {record.id} 的密封名单未打开，不能保存")
    current = store.get_panel(record.id)
    if current is not None and current.get("revision", 0) != read_revision:
        raise ConcurrentEdit(f"评审专家组 {record.id} 已被他人修改（读取后又有新的记录）；请重新执行命令")
    updated = record.model_copy(update={"revision": read_revision + 1})
    if updated.sealed:
        state = panel_state(updated)
        updated = updated.model_copy(update={"seal": updated.seal.model_copy(update={
            "state": state.label, "counts": state.counts, "members": len(updated.members),
            "backups": len(updated.backups), "diagnosis": list(state.diagnosis)})})
        store.save_panel(record.id, sealing.seal_document(updated.to_document(), record.id))
    else:
        store.save_panel(record.id, updated.to_document())
    return updated


def panel_state(record: PanelRecord, max_unanswered: int | None = None) -> invitations.PanelState:
    """The panel's invitation state (待邀请 / 邀请中 / 已确认 / 需补抽 / 无法补齐). A sealed record read
    without opening it carries the state saved in its seal."""
    if record.sealed and not record.members and record.seal is not None:
        return invitations.PanelState(record.seal.state or invitations.PENDING, dict(record.seal.counts),
                                      tuple(record.seal.diagnosis))
    if max_unanswered is None:
        max_unanswered = load_invitation_settings().max_unanswered
    return invitations.panel_state(record.member_ids(), record.invitations, record.unfilled, max_unanswered,
                                   record.refill_pending)


def _read_record(panel_id: str | None, document: dict) -> PanelRecord:
    return stored_record(PanelRecord, panel_id, document, "评审专家组")


R = TypeVar("R", bound=StoredDocument)


def stored_record(kind: type[R], record_id: str | None, document: dict | None, what: str) -> R:
    """A stored document as its typed record: NotFound when there is none, ExpertPoolError naming
    the record when it cannot be read."""
    if document is None:
        raise NotFound(f"{what}「{record_id}」不存在")
    try:
        return kind.from_document(document)
    except (ValidationError, ValueError) as exc:
        raise ExpertPoolError(f"{what}「{record_id}」的记录无法读取：{first_problem(exc)}") from None


def first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"{'.'.join(str(p) for p in error['loc'])}：{error['msg']}"
    return str(exc)


def list_panels(store: ExpertStore, actor: Actor) -> list[PanelSummary]:
    check(actor, "panel.read", "查看评审专家组")
    return [PanelSummary.of(_read_record(d.get("id"), d)) for d in store.iter_panels()]


def saved_spec(record: PanelRecord) -> PanelSpec:
    """The spec a saved panel was drawn by. A panel saved before `no_projects` existed and drawn
    without projects counts as drawn with it."""
    spec = record.spec
    return load_spec(None, {**spec, "no_projects": spec.get("no_projects", not spec.get("projects"))},
                     overrides_from=f"专家组 {record.id} 保存的规则")


def reproduce_panel(store: ExpertStore, actor: Actor, panel_id: str,
                    progress: Progress | None = None) -> tuple[PanelRecord, PanelRecord, bool]:
    """Re-run the saved spec and seed on the current store: (saved, redrawn, same members?).
    The same data and seed give the same panel; a difference means the pool changed since."""
    saved = get_panel(store, actor, panel_id)
    if saved.sealed:
        raise sealed_error(saved, "重新抽取核对")
    spec = saved_spec(saved)
    # the seats as they stood when the panel was drawn: not its own, nor those saved after it
    ledger = read_ledger(store, exclude={panel_id}, as_of=saved.created_at, on=spec.review_date)
    redrawn = build_panel(store, actor, spec, save=False, ledger=ledger, progress=progress).record
    return saved, redrawn, redrawn.member_ids() == saved.drawn_member_ids()


class NoSubstitute(ExpertPoolError):
    """No eligible expert can take the seat with every rule still met (the message says so)."""


class MembersNoLongerEligible(ExpertPoolError):
    """Other members no longer qualify on the current data (sanctioned, paused, related …): they
    must be replaced first, or the panel drawn again."""


@dataclass(frozen=True)
class Substitute:
    view: MemberView
    method: str   # "backup" (a saved backup or the member's own replacement) or "re-solve"


def _label(record: PanelRecord, expert_id: str) -> str:
    """How messages name a member: by id, or by reply code while the panel is sealed."""
    if record.sealed:
        return f"回执码 {record.reply_codes.get(expert_id, '（未邀请）')} 的成员"
    return expert_id


def find_substitute(store: ExpertStore, record: PanelRecord, expert_id: str,
                    progress: Progress | None = None) -> Substitute:
    """Who takes `expert_id`'s seat: the rules of `panel replace`, for a manual replacement and
    for the automatic 补抽 after a decline alike. Eligibility, conflicts and forbidden pairs are
    checked again on the current store (a backup may have been sanctioned, or related to a member
    seated by an earlier replacement). The saved backups are tried first in their ranked order; if
    none keeps every rule, the seat is re-solved with the other members fixed: the most relevant
    qualified expert with whom the panel meets every rule (checked by the independent checker).
    Only qualified experts (`relevance.qualified_ids`: relevance ≥ the spec's threshold, on the
    current data) ever take a seat, whether by hand or by the automatic 补抽, and nobody who has
    left this panel comes back. Raises NoSubstitute when nobody fits, and
    MembersNoLongerEligible when other members no longer qualify."""
    members = record.member_ids()
    with gc_paused():
        # this panel's own seats are not "elsewhere on the same day"
        spec = saved_spec(record)
        inputs = prepare_draw(store, spec, progress, read_ledger(store, exclude={record.id or ""}, on=spec.review_date))
    chosen, method = find_replacement(
        members, expert_id, inputs.candidates, inputs.rules, inputs.eligibility.forbidden_pairs,
        [*record.replacements.get(expert_id, []), *(b.id for b in record.backups)],
        taken=set(members) | {r.out for r in record.replaced}, again="expertpool panel build …",
        name=lambda m: _label(record, m), also_fixed=inputs.also_fixed)
    drawn = record.views()
    return Substitute(inputs.view(chosen, drawn[chosen].probability if chosen in drawn else None), method)


def find_replacement(members: Sequence[str], leaving: str, candidates: Sequence[Candidate], rules: PanelRules,
                     pairs: Iterable[tuple[str, str]], saved_order: Sequence[str], *, taken: set[str],
                     again: str, where: str = "", name: Callable[[str], str] = str,
                     also_fixed: Mapping[str, Candidate] | None = None) -> tuple[str, str]:
    """Who takes `leaving`'s seat, and how they were found ("backup" or "re-solve"): the one rule
    for every way onto a seat after the draw — `panel replace`, the automatic 补抽 after a decline
    (both through `find_substitute`) and `session replace`. The first of `saved_order` (the
    draw's replacements and backups), else of every candidate by relevance, who is qualified
    (`relevance.qualified_ids`, on the current data: a saved backup may no longer be), not
    `taken` (seated, or left this panel or session before), and with whom the panel meets every
    rule (the independent checker), the other members unchanged. `candidates` are those eligible
    on the current data: a remaining member who is not raises MembersNoLongerEligible; nobody
    fitting raises NoSubstitute. `where` names the group in messages, `name` a member (by reply
    code while sealed), `again` the command that draws anew. `also_fixed`: those kept off the
    candidates only by a seat on a still-sealed panel (`Eligibility.sealed_only`): a member among
    them stays (was seated first), and is never named as no longer eligible, which would tell
    who is on the sealed panel."""
    by_id = {c.id: c for c in candidates}
    seated = {**(also_fixed or {}), **by_id}
    remaining = [m for m in members if m != leaving]
    no_longer = [m for m in remaining if m not in seated]
    if no_longer:
        raise MembersNoLongerEligible(f"{where}成员 {'、'.join(name(m) for m in no_longer)} 在评审日期已不符合条件"
                                      f"（诚信、状态、评价、冲突或工作量），请重新抽取（{again}）")
    fixed = [seated[m] for m in remaining]
    pairs = list(pairs)
    # only the qualified may take a seat, as in the draw itself
    qualified = qualified_ids(candidates, rules.relevance_threshold)
    by_relevance = sorted(qualified, key=lambda i: (-by_id[i].relevance, i))
    for order, method in ((list(dict.fromkeys(saved_order)), "backup"), (by_relevance, "re-solve")):
        for candidate_id in order:
            if candidate_id in taken or candidate_id not in qualified:
                continue
            if not check_panel(remaining + [candidate_id], fixed + [by_id[candidate_id]], rules, pairs):
                return candidate_id, method
    raise NoSubstitute(f"没有能替换{name(leaving)}且满足{where}全部规则的合格专家（其他成员保持不变）；"
                       f"请放宽规则后重新抽取（{again}）")


def with_substitute(record: PanelRecord, leaving: str, substitute: Substitute, *, reason: str, actor: Actor,
                    now: dt.datetime | None, automatic: bool = False) -> PanelRecord:
    """`record` with `leaving` swapped for the substitute: the replacement recorded (method
    `automatic` for a 补抽 after a decline), the invitation log noting both, the seat no longer open."""
    at = now_text(now)
    entry = Replacement(out=leaving, in_=substitute.view.id, reason=reason, by=actor.user, at=at,
                        method=substitute.method, automatic=automatic)
    updated = record.with_replacement(leaving, substitute.view, entry)
    events = [InvitationEvent(expert_id=leaving, action=invitations.REPLACED, at=at, by=actor.user, reason=reason,
                              detail=substitute.view.id),
              InvitationEvent(expert_id=substitute.view.id, action=invitations.SUBSTITUTED, at=at, by=actor.user,
                              reason=reason, detail=leaving)]
    return updated.model_copy(update={"invitations": [*record.invitations, *events],
                                      "unfilled": {k: v for k, v in record.unfilled.items() if k != leaving},
                                      "refill_pending": {k: v for k, v in record.refill_pending.items() if k != leaving}})


def replacement_audit(record: PanelRecord, before: PanelRecord, leaving: str) -> tuple[dict, dict]:
    """(before, after) of a replacement's audit entry; while sealed, without any member's id."""
    last = record.replaced[-1]
    if record.sealed:
        return ({"members": []}, {"members": [], "out": record.reply_codes.get(leaving), "method": last.method,
                                  "automatic": last.automatic})
    return ({"members": before.member_ids()},
            {"members": record.member_ids(), "out": last.out, "in": last.in_, "method": last.method,
             "automatic": last.automatic})


def resolve_member(store: ExpertStore, record: PanelRecord, ref: str) -> str:
    """The member `ref` names: a reply code (回执码, always accepted), or — unless the panel is sealed,
    when a yes/no on a number would reveal the list — the expert as a user writes them: the id, either
    list's own 专家编号 or `四川:SC000225`, resolved like everywhere (`services.expert_ids`). Someone
    not on the panel is an InputError; a number that names nobody NotFound; an ambiguous number
    an InputError asking for the list."""
    code = normalise_code(ref)
    for member_id, member_code in record.reply_codes.items():
        if member_code == code:
            if member_id not in record.member_ids():
                raise InputError(f"回执码 {member_code} 的专家已不是评审专家组 {record.id} 的成员（已被替换）")
            return member_id
    if record.sealed:
        raise InputError(f"「{ref}」不是评审专家组 {record.id} 成员的回执码；名单密封期间只能用邀请中的回执码指明成员")
    members = record.member_ids()
    if ref.strip() in members:
        return ref.strip()
    expert_id = resolve_expert_id(store, ref, "EXPERT_ID")  # a number the user knows rather than the id shown
    if expert_id in members:
        return expert_id
    raise InputError(f"专家「{ref}」不是评审专家组 {record.id} 的成员")


def normalise_code(value: str) -> str:
    text = "".join(ch for ch in value.upper() if ch.isalnum())
    return f"{text[:4]}-{text[4:]}" if len(text) == 8 else value.strip().upper()


def public_view(record: PanelRecord) -> PanelRecord:
    """What may be shown of `record`: everything, or while sealed, nothing that names a member."""
    if not record.sealed:
        return record
    update = {k: v for k, v in sealing.SEALED_KEYS.items()}
    update["spec"] = {**record.spec, "seed": 0}
    return record.model_copy(update=update)


def shown_to(actor: Actor, record: PanelRecord) -> PanelRecord:
    """`record` as `actor` may read it: while sealed, the public view (no member); and the free
    text people typed into it — reasons, notes, a server's reply in the invitation log — through
    `Actor.readable` (no identity number; phone numbers only for roles that see personal data)."""
    record = public_view(record)
    text = actor.readable
    update: dict = {
        "replaced": [r.model_copy(update={"reason": text(r.reason)}) for r in record.replaced],
        "invitations": [e.model_copy(update={"reason": text(e.reason), "detail": text(e.detail)})
                        for e in record.invitations]}
    if record.witness is not None:
        update["witness"] = record.witness.model_copy(update={"note": text(record.witness.note)})
    if record.seal is not None:
        update["seal"] = record.seal.model_copy(update={"release_reason": text(record.seal.release_reason)})
    return record.model_copy(update=update)


def sealed_error(record: PanelRecord, what: str) -> PermissionDenied:
    until = record.seal.until if record.seal else "?"
    return PermissionDenied(f"评审专家组 {record.id} 的名单密封至 {until}，在此之前不能{what}；"
                            f"监督人可说明理由提前解封：expertpool panel unseal {record.id} --reason …")


def replace_member(store: ExpertStore, actor: Actor, panel_id: str, expert_id: str, reason: str,
                   now: dt.datetime | None = None, progress: Progress | None = None) -> PanelRecord:
    """Swap a member (by id or list number, or by reply code) out for the substitute `find_substitute` names, and
    record why. Returns the record as saved (the public view while sealed)."""
    check(actor, "panel", "替换评审专家")
    reason = clean(reason)
    if not reason:
        raise InputError("替换专家必须说明理由（--reason）")
    record = load_panel(store, actor, panel_id, now=now, open_sealed=True)
    leaving = resolve_member(store, record, expert_id)
    substitute = find_substitute(store, record, leaving, progress)
    updated = with_substitute(record, leaving, substitute, reason=reason, actor=actor, now=now)
    with store.batch():
        saved = save_record(store, anchored_replacement(store, actor, updated, record, leaving, now), record.revision)
    return shown_to(actor, saved)


def anchored_replacement(store: ExpertStore, actor: Actor, updated: PanelRecord, before: PanelRecord, leaving: str,
                         now: dt.datetime | None, **extra) -> PanelRecord:
    """The `panel.replace` audit entry of `updated`'s last replacement (inside the caller's batch),
    and `updated` with that entry's anchor on the replacement (`audit verify` checks it)."""
    old, new = replacement_audit(updated, before, leaving)
    last = updated.replaced[-1]
    entry = audit(store, actor, "panel.replace", target=updated.id, reason=last.reason, now=now, before=old,
                  after={**new, **extra})
    return updated.model_copy(update={"replaced": [*updated.replaced[:-1],
                                                   last.model_copy(update={"audit_anchor": anchor_of(entry)})]})
