"""Panel building: eligibility on the review date, relevance to the projects, the exact draw,
backups, replacement, export — each panel saved with its audit entry so `panel show` can
reproduce it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from expertpool.cache.snapshot import ExpertBrief, PoolSnapshot, cached_snapshot, fresh_snapshot
from expertpool.domain.attributes import DERIVED, quota_attributes
from expertpool.domain.eligibility import REASONS, EligibilityFacts, barred_experts, sort_out
from expertpool.domain.ledger import Ledger, review_counts
from expertpool.domain.panel import Candidate, PanelRules, check_panel, get_strategy, mode_label
from expertpool.domain.panel.spec import Quota, quota_counts
from expertpool.domain.panel.record import (
    AuditAnchor,
    DiagnosisView,
    MemberView,
    PanelRecord,
    PanelSummary,
    PoolFigures,
    QuotaCount,
    Replacement,
    StoredDocument,
)
from expertpool.domain.models import AuditEntry, Project
from expertpool.domain.session.record import GroupRecord
from expertpool.domain.text import clean
from expertpool.errors import ExpertPoolError, InputError, NotFound
from expertpool.gcpause import gc_paused
from expertpool.io import readers, rows, sheets
from expertpool.io.datafiles import load_institutions
from expertpool.io.files import output_file
from expertpool.progress import NullProgress, Progress
from expertpool.services.access import Actor, audit, check
from expertpool.services.conflicts import panel_exclusions, read_projects
from expertpool.services.expert_ids import resolve_expert_id
from expertpool.services.ledger import read_ledger
from expertpool.services.panel_spec import PanelSpec, load_spec, strategy_names
from expertpool.services.relevance import ProjectQueries, best_relevance, rank_projects, relevance_by_project
from expertpool.stores.base import ExpertStore

__all__ = [
    "DrawInputs", "PanelOutcome", "PanelSpec", "REASONS", "build_panel", "export_heading", "export_panel",
    "export_rows", "get_panel", "list_panels", "load_spec", "mode_label", "prepare_draw", "replace_member",
    "reproduce_panel", "saved_spec", "strategy_names",
]


@dataclass
class Eligibility:
    candidates: list[ExpertBrief]
    excluded: dict[str, list[str]]         # reason key → expert ids
    conflict_evidence: dict[str, list[str]]  # expert id → evidence lines
    forbidden_pairs: set[tuple[str, str]]
    institutions: dict[str, str]           # expert id → legal unit
    by_id: dict[str, ExpertBrief] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_id = {e.id: e for e in self.candidates}


def reviews_in_year(snapshot: PoolSnapshot, ledger: Ledger, day: dt.date) -> Counter:
    """Reviews each expert did in the 12 months before `day` (the workload cap's window):
    imported history and seats on saved panels and sessions (`domain.ledger.review_counts`)."""
    return review_counts(snapshot.review_days, ledger, day - dt.timedelta(days=365), day)


def eligibility_facts(store: ExpertStore, spec: PanelSpec, snapshot: PoolSnapshot, ledger: Ledger
                      ) -> EligibilityFacts:
    """What the eligibility rules read on the review date, but the conflicts (which depend on
    the projects): integrity bars, the workload count, who is already seated that day."""
    day = spec.review_date
    return EligibilityFacts(
        day,
        # integrity is read fresh: reviewers change it between draws, and it is small
        barred=barred_experts(store.iter_integrity(), day),
        reviews=reviews_in_year(snapshot, ledger, day) if spec.max_reviews_per_year is not None else Counter(),
        booked=frozenset(ledger.booked_on(day)))


def same_day_warnings(ledger: Ledger, day: dt.date, members: Sequence[str], names: dict[str, str]) -> list[str]:
    """One line per member already seated elsewhere on `day` (a spec with same_day = "warn")."""
    booked = ledger.booked_on(day)
    return [f"{m} {names.get(m, '')} 同日已入选：{'；'.join(seat.describe() for seat in booked[m])}"
            for m in members if m in booked]


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
    # the conflicts of the whole pool; pairs only among the candidates, once they are known
    exclusions = panel_exclusions(graph, list(projects), day, spec.policy, candidates=())
    facts = replace(eligibility_facts(store, spec, snapshot, ledger), conflicted=exclusions.excluded)
    candidates, excluded = sort_out(snapshot.experts, spec.eligibility_rules(), facts)
    evidence = {expert_id: [c.evidence for c in exclusions.excluded[expert_id]] for expert_id in excluded["conflict"]}
    pairs = {(p.a, p.b) for p in graph.panel_pairs(exclusions.policy, day, [e.id for e in candidates])}
    table = load_institutions()
    units = {e.id: table.normalise(e.institution) or e.institution for e in candidates}
    return Eligibility(candidates, excluded, evidence, pairs, units)


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
    learned from."""
    return rank_projects(store, projects, [*store.iter_records("project"), *also], version)


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

    def view(self, expert_id: str, probability: float | None) -> MemberView:
        """A drawn expert as the panel record shows them."""
        e = self.eligibility.by_id[expert_id]
        return MemberView(id=e.id, name=e.name, region=e.region, sub_region=e.sub_region,
                          institution=e.institution, legal_unit=self.eligibility.institutions[e.id], title=e.title,
                          fields=list(e.fields), high_level=e.high_level,
                          relevance=round(self.relevance.get(e.id, 0.0), 4),
                          probability=None if probability is None else round(probability, 6))


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
        queries, rankings = ranking.result()
    if snapshot is None:
        # the first draw on this data version reads the whole pool (≈ 10 s on 32,000 experts)
        progress.start("读取专家库并建立利益冲突图（本数据版本的首次抽取）", None)
        snapshot = fresh_snapshot(store, version)
        progress.finish()
    projects = _load_projects(store, spec, snapshot.graph)
    if not projects and not spec.no_projects:  # the references named no project at all
        _require_projects(PanelSpec(**{**asdict(spec), "projects": ()}))
    ledger = ledger if ledger is not None else read_ledger(store)
    timings["load"] = time.perf_counter() - t0
    t = time.perf_counter()
    elig = eligible_candidates(store, spec, projects, snapshot, ledger)
    timings["eligibility"] = time.perf_counter() - t
    t = time.perf_counter()
    if projects != early:
        # the early read saw other projects than the validated ones (cannot happen on valid input)
        queries, rankings = rank_review(store, projects, version)
    relevance = review_relevance(spec, projects, queries, rankings, elig.candidates)
    timings["relevance"] = time.perf_counter() - t
    candidates = solver_candidates(elig.candidates, elig.institutions, relevance, spec.review_date,
                                   quotas=spec.quotas)
    return DrawInputs(snapshot.experts, elig, relevance, candidates, spec.to_rules(projects),
                      projects, timings, ledger)


def build_panel(store: ExpertStore, actor: Actor, spec: PanelSpec, *, progress: Progress | None = None,
                save: bool = True, now: dt.datetime | None = None, ledger: Ledger | None = None) -> PanelOutcome:
    """Draw a panel by `spec` and (when a panel was found and `save`) store it with an audit entry.

    Returns the panel record: status, members, backups, exclusions by reason, seed, diagnosis,
    solver figures. An infeasible spec is not an exception: the record carries the diagnosis.
    Saved panels and sessions count toward the workload cap, and their members are not drawn
    again on the same day (`spec.same_day` "warn": drawn, with a warning); `ledger` replaces the
    current one (a reproduction uses the ledger as it stood when the panel was drawn).
    """
    check(actor, "panel", "抽取评审专家组")
    # Tens of thousands of long-lived objects (experts, the graph) and ~100,000 conflicts, nearly
    # all gone by the time the draw returns: the cyclic collector would walk them again and again
    # for nothing (also while the record is built, were it switched back on before).
    with gc_paused():
        return _draw(store, actor, spec, save, now, progress or NullProgress(), ledger)


def _draw(store: ExpertStore, actor: Actor, spec: PanelSpec, save: bool, now: dt.datetime | None,
          progress: Progress, ledger: Ledger | None) -> PanelOutcome:
    inputs = prepare_draw(store, spec, progress, ledger)
    elig, timings = inputs.eligibility, inputs.timings
    t = time.perf_counter()
    progress.start(f"抽取评审专家组（{mode_label(spec.mode)}，时限 {spec.time_limit_s:g} 秒）", None)
    result = get_strategy(spec.mode)(inputs.candidates, inputs.rules, elig.forbidden_pairs, seed=spec.seed,
                                     time_limit_s=spec.time_limit_s)
    progress.finish()
    timings["solve"] = time.perf_counter() - t
    probs = result.probabilities or {}
    lottery = result.probabilities is not None

    def views(ids) -> list[MemberView]:
        return [inputs.view(i, probs.get(i, 0.0) if lottery else None) for i in ids]

    has_panel = result.status.has_panel
    panel_id = _panel_id(spec, result.members) if has_panel and save else None
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
        exclusions={REASONS[k]: len(v) for k, v in elig.excluded.items()},
        excluded_ids={REASONS[k]: sorted(v) for k, v in elig.excluded.items()},
        conflict_evidence={k: v[:3] for k, v in sorted(elig.conflict_evidence.items())},
        pool=PoolFigures(experts=len(inputs.experts), eligible=len(inputs.candidates),
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
    with store.batch():
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


def get_panel(store: ExpertStore, actor: Actor, panel_id: str) -> PanelRecord:
    check(actor, "panel", "查看评审专家组")
    return stored_record(PanelRecord, panel_id, store.get_panel(panel_id), "评审专家组")


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
    check(actor, "panel", "查看评审专家组")
    return [PanelSummary.of(stored_record(PanelRecord, d.get("id"), d, "评审专家组")) for d in store.iter_panels()]


def saved_spec(record: PanelRecord) -> PanelSpec:
    """The spec a saved panel was drawn by. A panel saved before `no_projects` existed and drawn
    without projects counts as drawn with it."""
    spec = record.spec
    return load_spec(None, {**spec, "no_projects": spec.get("no_projects", not spec.get("projects"))},
                     overrides_from=f"专家组 {record.id} 保存的规则")


def reproduce_panel(store: ExpertStore, actor: Actor, panel_id: str) -> tuple[PanelRecord, PanelRecord, bool]:
    """Re-run the saved spec and seed on the current store: (saved, redrawn, same members?).
    The same data and seed give the same panel; a difference means the pool changed since."""
    saved = get_panel(store, actor, panel_id)
    spec = saved_spec(saved)
    # the seats as they stood when the panel was drawn: not its own, nor those saved after it
    ledger = read_ledger(store, exclude={panel_id}, as_of=saved.created_at)
    redrawn = build_panel(store, actor, spec, save=False, ledger=ledger).record
    return saved, redrawn, redrawn.member_ids() == saved.drawn_member_ids()


def replace_member(store: ExpertStore, actor: Actor, panel_id: str, expert_id: str, reason: str,
                   now: dt.datetime | None = None, progress: Progress | None = None) -> PanelRecord:
    """Swap `expert_id` out and record why. Eligibility, conflicts and forbidden pairs are checked
    again on the current store (a backup may have been sanctioned, or related to a member seated
    by an earlier replacement). The saved backups are tried first in their ranked order; if none
    keeps every rule, the seat is re-solved with the other members fixed: the most relevant
    qualified expert with whom the panel meets every rule (checked by the independent checker).
    Only qualified experts (relevance ≥ the spec's threshold) ever take a seat this way.
    Returns the record as saved."""
    check(actor, "panel", "替换评审专家")
    reason = clean(reason)
    if not reason:
        raise InputError("替换专家必须说明理由（--reason）")
    record = get_panel(store, actor, panel_id)
    members = record.member_ids()
    if expert_id not in members:  # a number the user knows rather than the id shown
        expert_id = resolve_expert_id(store, expert_id)
    if expert_id not in members:
        raise InputError(f"专家「{expert_id}」不是评审专家组 {panel_id} 的成员")
    with gc_paused():
        # this panel's own seats are not "elsewhere on the same day"
        inputs = prepare_draw(store, saved_spec(record), progress, read_ledger(store, exclude={panel_id}))
    saved_order = [*record.replacements.get(expert_id, []), *(b.id for b in record.backups)]
    chosen, method = find_replacement(members, expert_id, inputs.candidates, inputs.rules,
                                      inputs.eligibility.forbidden_pairs, saved_order,
                                      taken=set(members) | {r.out for r in record.replaced},
                                      where="", again="expertpool panel build …")
    drawn = record.views()
    view = inputs.view(chosen, drawn[chosen].probability if chosen in drawn else None)
    replacement = Replacement(out=expert_id, in_=chosen, reason=reason, by=actor.user, at=now_text(now),
                              method=method)
    with store.batch():
        entry = audit(store, actor, "panel.replace", target=panel_id, reason=reason, now=now,
                      before={"members": members},
                      after={"members": record.with_replacement(expert_id, view, replacement).member_ids(),
                             "out": expert_id, "in": chosen, "method": method})
        replacement = replacement.model_copy(update={"audit_anchor": anchor_of(entry)})
        updated = record.with_replacement(expert_id, view, replacement)
        store.save_panel(panel_id, updated.to_document())
    return updated


def find_replacement(members: Sequence[str], leaving: str, candidates: Sequence[Candidate], rules: PanelRules,
                     pairs: Iterable[tuple[str, str]], saved_order: Sequence[str], *, taken: set[str],
                     where: str, again: str) -> tuple[str, str]:
    """Who takes `leaving`'s seat, and how they were found: the first of `saved_order` (the draw's
    replacements and backups), else of every candidate by relevance, who is qualified (relevance
    ≥ the rules' threshold, on the current data: a saved backup may no longer be), not `taken`,
    and with whom the panel meets every rule (the independent checker), the other members
    unchanged. ExpertPoolError when a remaining member is no longer eligible, or nobody fits.
    `where` names the group in messages, `again` the command that draws anew."""
    by_id = {c.id: c for c in candidates}
    remaining = [m for m in members if m != leaving]
    no_longer = [m for m in remaining if m not in by_id]
    if no_longer:
        raise ExpertPoolError(f"{where}成员 {'、'.join(no_longer)} 在评审日期已不符合条件（诚信、状态、冲突或工作量），"
                              f"请重新抽取（{again}）")
    fixed = [by_id[m] for m in remaining]
    pairs = list(pairs)
    # only the qualified may take a seat, as in the draw itself
    qualified = {i for i, c in by_id.items() if c.relevance >= rules.relevance_threshold}
    by_relevance = sorted(qualified, key=lambda i: (-by_id[i].relevance, i))
    for order, method in ((list(dict.fromkeys(saved_order)), "backup"), (by_relevance, "re-solve")):
        for candidate_id in order:
            if candidate_id in taken or candidate_id not in qualified:
                continue
            if not check_panel(remaining + [candidate_id], fixed + [by_id[candidate_id]], rules, pairs):
                return candidate_id, method
    raise ExpertPoolError(f"没有能替换 {leaving} 且满足{where}全部规则的专家（其他成员保持不变）；"
                          f"请放宽规则后重新抽取（{again}）")


EXPORT_HEADERS = ("角色", "序号", "专家编号", "姓名", "所在地区", "市州/区县", "工作单位", "职称", "专业领域", "相关度",
                  "入选概率", "替补对象")


def export_rows(record: PanelRecord | GroupRecord) -> list[list[object]]:
    """Members, universal backups (can replace anyone), then each member's own replacements in
    the order `panel replace` tries them (替补对象 names the member): a panel's, or a session
    group's. No personal data (phone, e-mail, identity number) is on a record sheet, whoever
    exports it: it is printed and passed around."""
    def row(role: str, i: int, m: MemberView, replaces: str) -> list[object]:
        return [role, i, m.id, m.name, m.region, m.sub_region or "", m.institution, m.title,
                "、".join(m.fields), m.relevance, "" if m.probability is None else m.probability, replaces]

    rows = [row("成员", i, m, "") for i, m in enumerate(record.members, 1)]
    rows += [row("备选", i, m, "任一成员") for i, m in enumerate(record.backups, 1)]
    views = {v.id: v for v in (*record.alternates, *record.backups)}
    for member in record.members:
        for i, rid in enumerate(record.replacements.get(member.id, []), 1):
            if rid in views:
                rows.append(row("替补", i, views[rid], f"{member.id} {member.name}"))
    return rows


def export_heading(record: PanelRecord, anchor: AuditAnchor | None = None) -> list[str]:
    """The lines above the table of a record sheet: what was drawn, whether it was checked for
    conflicts of interest, and the audit chain head the sheet was made at (`anchor`)."""
    lines = [f"{record.name}（{record.id}）评审日期 {record.review_date}，"
             f"抽取方式 {mode_label(record.strategy)}，随机种子 {record.seed}"]
    if record.checked_for_conflicts:
        lines.append(f"利益冲突审查：已按申报项目 {'、'.join(record.projects)} 排除有利益冲突的专家")
    else:
        lines.append("未做利益冲突审查：抽取时没有申报项目（--no-projects），用于评审前须另行审查")
    if anchor is not None:
        lines.append(f"审计锚点：{anchor.seq}:{anchor.hash}（本表导出时审计日志的最新条目；"
                     "用 expertpool audit verify --anchors 本文件 可核对审计日志此后未被删改）")
    return lines


def export_panel(store: ExpertStore, actor: Actor, panel_id: str, out: Path) -> Path:
    """Write members, backups and replacements (see `export_rows`) to XLSX or CSV (by suffix),
    atomically, with an audit entry (who exported which panel to which file) whose seq:hash the
    sheet carries as its anchor. Writing the file fails → the entry is rolled back too."""
    record = get_panel(store, actor, panel_id)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InputError(f"{out}: 只支持导出为 .xlsx 或 .csv")
    output_file(out, "导出文件（--out）")
    table = export_rows(record)
    with store.batch():  # the entry is kept only if the sheet that carries its anchor is written
        entry = audit(store, actor, "panel.export", target=panel_id, after={"file": out.name, "rows": len(table)})
        # heading lines, header and table all go through the inert writers (whole or not at all,
        # also on a full disk), like every sheet we write
        lines = [*([line] for line in export_heading(record, anchor_of(entry))), list(EXPORT_HEADERS), *table]
        if suffix == ".csv":
            sheets.write_csv(out, lines)
        else:
            sheets.write_xlsx(out, "评审专家组", lines)
    return out
