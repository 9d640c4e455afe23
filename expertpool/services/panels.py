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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from pydantic import ValidationError

from expertpool.cache.snapshot import (
    ExpertBrief,
    PoolSnapshot,
    cached_snapshot,
    derived,
    fresh_snapshot,
)
from expertpool.domain.conflicts import ConflictPolicy, policy_key
from expertpool.domain.eligibility import REASONS, EligibilityFacts, barred_experts, sort_out
from expertpool.domain.panel import Candidate, PanelRules, check_panel, get_strategy
from expertpool.domain.panel.record import (
    AuditAnchor,
    ConflictGroup,
    DiagnosisView,
    MemberView,
    PanelRecord,
    PanelSummary,
    PoolFigures,
    Replacement,
    group_conflicts,
)
from expertpool.domain.models import AuditEntry, Project
from expertpool.domain.text import clean
from expertpool.errors import ExpertPoolError, InputError, NotFound
from expertpool.gcpause import gc_paused
from expertpool.io import readers, rows, sheets
from expertpool.io.datafiles import load_institutions, policy_from
from expertpool.io.files import output_file
from expertpool.progress import NullProgress, Progress
from expertpool.services.access import Actor, audit, check
from expertpool.services.conflicts import panel_exclusions, read_projects
from expertpool.services.expert_ids import resolve_expert_id
from expertpool.services.panel_spec import PanelSpec, load_spec, strategy_names
from expertpool.services.relevance import best_relevance, rank_projects, ranked_content, relevance_by_project
from expertpool.stores.base import ExpertStore

__all__ = [
    "DrawInputs", "PanelOutcome", "PanelSpec", "REASONS", "build_panel", "export_heading", "export_panel",
    "export_rows", "get_panel", "list_panels", "load_spec", "prepare_draw", "replace_member", "reproduce_panel",
    "saved_spec", "strategy_names",
]


@dataclass
class Eligibility:
    candidates: list[ExpertBrief]
    excluded: dict[str, list[str]]         # reason key → expert ids
    conflicts: list[ConflictGroup]         # the evidence of every hard conflict of those excluded by one
    forbidden_pairs: set[tuple[str, str]]
    institutions: dict[str, str]           # expert id → legal unit
    by_id: dict[str, ExpertBrief] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_id = {e.id: e for e in self.candidates}


def reviews_in_year(snapshot: PoolSnapshot, day: dt.date) -> Counter:
    """Reviews each expert did in the 12 months before `day` (the workload cap's window)."""
    return snapshot.reviews_between(day - dt.timedelta(days=365), day)


def _project_refs(spec: PanelSpec) -> list[tuple[str, Path | None]]:
    """The spec's project references: (ref, path) for a projects file, (ref, None) for a stored id."""
    refs = (spec.projects,) if isinstance(spec.projects, str) else spec.projects
    out: list[tuple[str, Path | None]] = []
    for ref in refs:
        path = Path(ref)
        out.append((ref, path if path.suffix in (".jsonl", ".json", ".ndjson") or path.exists() else None))
    return out


def _load_projects(store: ExpertStore, spec: PanelSpec, graph) -> list[Project]:
    projects: list[Project] = []
    for ref, path in _project_refs(spec):
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
                        snapshot: PoolSnapshot) -> Eligibility:
    """The panel's eligibility rules (`domain.eligibility`, all five) on the review date, and the
    forbidden pairs among those left."""
    day = spec.review_date
    graph = snapshot.graph
    policy = policy_from(spec.policy)
    # the conflicts of the whole pool; pairs only among the candidates, once they are known
    conflicts = pool_conflicts(snapshot, projects, day, policy)
    facts = EligibilityFacts(
        day,
        # integrity is read fresh: reviewers change it between draws, and it is small
        barred=barred_experts(store.iter_integrity(), day),
        reviews=reviews_in_year(snapshot, day) if spec.max_reviews_per_year is not None else Counter(),
        conflicted=conflicts.excluded)
    candidates, excluded = sort_out(snapshot.experts, spec.eligibility_rules(), facts)
    evidence = conflicts.groups_of(set(excluded["conflict"]))
    pairs = {(p.a, p.b) for p in graph.panel_pairs(policy, day, [e.id for e in candidates])}
    table = load_institutions()
    units = {e.id: table.normalise(e.institution) or e.institution for e in candidates}
    return Eligibility(candidates, excluded, evidence, pairs, units)


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

    key = json.dumps([[p.model_dump(mode="json") for p in projects], day.isoformat(), policy_key(policy)],
                     ensure_ascii=False, sort_keys=True)
    remembered = derived(snapshot.version, "conflicts", key, check) if snapshot.version else check()
    return remembered if isinstance(remembered, PoolConflicts) else check()


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


def _rank(store: ExpertStore, projects: Sequence[Project], version: str | None):
    """The projects' queries and rankings (services/relevance.py), the store's stored projects
    being the background the boilerplate words are learned from."""
    return rank_projects(store, projects, store.iter_records("project"), version)


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


def _now_text(now: dt.datetime | None) -> str:
    return (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat()


def _require_projects(spec: PanelSpec) -> None:
    """A panel is drawn for projects: without them no conflict of interest can be checked, so a
    draw without projects must be asked for (`--no-projects`), and then says so."""
    if not spec.projects and not spec.no_projects:
        raise InputError("没有给出申报项目（--projects，或规则文件中的 projects）：没有项目就无法审查利益冲突。"
                         "确需不针对项目抽取时请加 --no-projects，专家组将注明“未做利益冲突审查”")


def prepare_draw(store: ExpertStore, spec: PanelSpec, progress: Progress | None = None) -> DrawInputs:
    """Everything a draw needs: eligible candidates with relevance, the solver's rules, timings.
    Refused (InputError) without projects unless the spec says `no_projects`."""
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
        ranking = pool.submit(_rank, store, early, version)
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
    timings["load"] = time.perf_counter() - t0
    t = time.perf_counter()
    elig = eligible_candidates(store, spec, projects, snapshot)
    timings["eligibility"] = time.perf_counter() - t
    t = time.perf_counter()
    if [ranked_content(p) for p in projects] != [ranked_content(p) for p in early]:
        # the early read saw other projects than the validated ones (cannot happen on valid input;
        # validation may still resolve a team member's number, which ranking does not read)
        queries, rankings = _rank(store, projects, version)
    fields = {e.id: e.fields for e in elig.candidates}
    listed = {f for p in projects for f in p.fields}
    open_fields = set(spec.resolved_fields()) - listed if spec.min_per_field > 0 else set()
    relevance = (best_relevance(relevance_by_project(queries, rankings, fields, spec.require_common_field,
                                                     open_fields)) if projects else {})
    timings["relevance"] = time.perf_counter() - t
    candidates = [Candidate(id=e.id, name=e.name, region=e.region, fields=tuple(e.fields), title=e.title,
                            institution=elig.institutions[e.id], relevance=relevance.get(e.id, 0.0),
                            high_level=e.high_level) for e in elig.candidates]
    return DrawInputs(snapshot.experts, elig, relevance, candidates, spec.to_rules(with_projects=bool(projects)),
                      projects, timings)


def build_panel(store: ExpertStore, actor: Actor, spec: PanelSpec, *, progress: Progress | None = None,
                save: bool = True, now: dt.datetime | None = None) -> PanelOutcome:
    """Draw a panel by `spec` and (when a panel was found and `save`) store it with an audit entry.

    Returns the panel record: status, members, backups, exclusions by reason, seed, diagnosis,
    solver figures. An infeasible spec is not an exception: the record carries the diagnosis.
    """
    check(actor, "panel", "抽取评审专家组")
    # Tens of thousands of long-lived objects (experts, the graph) and ~100,000 conflicts, nearly
    # all gone by the time the draw returns: the cyclic collector would walk them again and again
    # for nothing (also while the record is built, were it switched back on before).
    with gc_paused():
        return _draw(store, actor, spec, save, now, progress or NullProgress())


def _draw(store: ExpertStore, actor: Actor, spec: PanelSpec, save: bool, now: dt.datetime | None,
          progress: Progress) -> PanelOutcome:
    inputs = prepare_draw(store, spec, progress)
    elig, timings = inputs.eligibility, inputs.timings
    t = time.perf_counter()
    progress.start(f"抽取评审专家组（{spec.mode}，时限 {spec.time_limit_s:g} 秒）", None)
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
        conflicts=elig.conflicts,
        pool=PoolFigures(experts=len(inputs.experts), eligible=len(inputs.candidates),
                         qualified=result.stats.qualified, forbidden_pairs=len(elig.forbidden_pairs),
                         types=result.stats.types, columns=result.stats.columns),
        projects=[p.id for p in inputs.projects],
        conflicts_checked=bool(inputs.projects),
        diagnosis=DiagnosisView.of(result.diagnosis),
        timings={**timings, **dict(result.stats.timings)},
        created_by=actor.user if panel_id else None,
        created_at=_now_text(now) if panel_id else None,
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


def anchor_of(entry: AuditEntry) -> AuditAnchor:
    """The chain head a saved panel, a replacement or a record sheet was made at: its own audit
    entry. `audit verify` checks every saved panel's anchors (services.audit.panel_anchors)."""
    return AuditAnchor(seq=entry.seq, hash=entry.hash)


def get_panel(store: ExpertStore, actor: Actor, panel_id: str) -> PanelRecord:
    check(actor, "panel", "查看评审专家组")
    document = store.get_panel(panel_id)
    if document is None:
        raise NotFound(f"评审专家组「{panel_id}」不存在")
    return _read_record(panel_id, document)


def _read_record(panel_id: str | None, document: dict) -> PanelRecord:
    try:
        return PanelRecord.from_document(document)
    except (ValidationError, ValueError) as exc:
        raise ExpertPoolError(f"评审专家组「{panel_id}」的记录无法读取：{_first_problem(exc)}") from None


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"{'.'.join(str(p) for p in error['loc'])}：{error['msg']}"
    return str(exc)


def list_panels(store: ExpertStore, actor: Actor) -> list[PanelSummary]:
    check(actor, "panel", "查看评审专家组")
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
    spec = saved_spec(saved)
    redrawn = build_panel(store, actor, spec, save=False, progress=progress).record
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
        inputs = prepare_draw(store, saved_spec(record), progress)
    by_id = {c.id: c for c in inputs.candidates}
    remaining = [m for m in members if m != expert_id]
    no_longer = [m for m in remaining if m not in by_id]
    if no_longer:
        raise ExpertPoolError(f"成员 {'、'.join(no_longer)} 在评审日期已不符合条件（诚信、状态、冲突或工作量），"
                              "请重新抽取（expertpool panel build …）")
    fixed = [by_id[m] for m in remaining]
    taken = set(members) | {r.out for r in record.replaced}
    preferred = record.replacements.get(expert_id, [])
    # only the qualified may take the seat (on the current data: a saved backup may no longer be)
    qualified = {c.id for c in inputs.candidates if c.relevance >= inputs.rules.relevance_threshold}
    saved_order = [i for i in dict.fromkeys([*preferred, *(b.id for b in record.backups)]) if i in qualified]
    by_relevance = sorted(qualified, key=lambda i: (-by_id[i].relevance, i))
    forbidden = inputs.eligibility.forbidden_pairs
    chosen, method = None, "backup"
    for order, label in ((saved_order, "backup"), (by_relevance, "re-solve")):
        for candidate_id in order:
            if candidate_id in taken or candidate_id not in by_id:
                continue
            if not check_panel(remaining + [candidate_id], fixed + [by_id[candidate_id]], inputs.rules, forbidden):
                chosen, method = candidate_id, label
                break
        if chosen:
            break
    if chosen is None:
        raise ExpertPoolError(f"没有能替换 {expert_id} 且满足全部规则的专家（其他成员保持不变）；"
                              "请放宽规则后重新抽取（expertpool panel build …）")
    drawn = record.views()
    view = inputs.view(chosen, drawn[chosen].probability if chosen in drawn else None)
    replacement = Replacement(out=expert_id, in_=chosen, reason=reason, by=actor.user, at=_now_text(now),
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


EXPORT_HEADERS = ("角色", "序号", "专家编号", "姓名", "所在地区", "市州/区县", "工作单位", "职称", "专业领域", "相关度",
                  "入选概率", "替补对象")


def export_rows(record: PanelRecord) -> list[list[object]]:
    """Members, universal backups (can replace anyone), then each member's own replacements in
    the order `panel replace` tries them (替补对象 names the member)."""
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
             f"抽取方式 {record.strategy}，随机种子 {record.seed}"]
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
