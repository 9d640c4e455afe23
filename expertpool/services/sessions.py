"""Review sessions (评审会): many groups on one day, each with its own panel, drawn jointly —
plan, show (and reproduce), list, replace a member of any group, export. Each session is saved
as a typed `SessionRecord` with its audit entry.

What a group's panel may draw on: the pool's experts eligible on the review date (status, age,
integrity, the workload cap counting saved panels and sessions, not seated elsewhere that day)
and free of conflicts with THAT group's projects; relevance is to the group's projects. The
domain (`domain.session`) then seats no expert in two groups.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path


from expertpool.cache.snapshot import ExpertBrief, PoolSnapshot, cached_snapshot, fresh_snapshot
from expertpool.domain.eligibility import REASONS, EligibilityRules, sort_out
from expertpool.domain.ledger import Ledger
from expertpool.domain.models import Project
from expertpool.domain.panel import Candidate
from expertpool.domain.panel.labels import mode_label, status_label
from expertpool.domain.panel.record import AuditAnchor, DiagnosisView, MemberView, PoolFigures
from expertpool.domain.session import SessionGroup, SessionResult, SessionRules, draw_session, split_by_field
from expertpool.domain.session.record import GroupRecord, GroupReplacement, SessionRecord, SessionSummary
from expertpool.domain.text import clean
from expertpool.errors import InputError
from expertpool.gcpause import gc_paused
from expertpool.io import sheets
from expertpool.io.datafiles import load_institutions, policy_from
from expertpool.io.files import output_file
from expertpool.progress import NullProgress, Progress
from expertpool.services.access import Actor, audit, check
from expertpool.services.expert_ids import resolve_expert_id
from expertpool.services.ledger import read_ledger
from expertpool.services.panel_spec import PanelSpec
from expertpool.services.panels import (
    anchor_of,
    counted_quotas,
    eligibility_facts,
    find_replacement,
    hard_conflicts_by_project,
    load_projects,
    now_text,
    project_refs,
    rank_review,
    review_relevance,
    named_exclusions,
    same_day_warnings,
    sealed_blind,
    solver_candidates,
    stored_record,
)
from expertpool.services.record_sheet import SUBSTITUTE_HEADERS, expert_row, substitute_rows
from expertpool.services.session_spec import SessionSpec, load_session_spec
from expertpool.stores.base import ExpertStore

__all__ = ["SessionOutcome", "SessionSpec", "export_session", "get_session", "list_sessions", "load_session_spec",
           "plan_session", "replace_session_member", "reproduce_session"]

CONFLICT = "conflict"


@dataclass
class GroupInputs:
    """One group, read and derived from the store: its projects, rules, eligible experts."""
    name: str
    spec: PanelSpec
    projects: list[Project]
    eligible: list[ExpertBrief]
    excluded: dict[str, int]                 # reason key → experts kept off the group by it
    relevance: dict[str, float]
    candidates: list[Candidate]
    pairs: list[tuple[str, str]]
    #: who was eligible, as the record counts them (`panels.sealed_blind`); None: `eligible`
    shown_ids: frozenset[str] | None = None
    #: those kept off only by a seat on a still-sealed panel, with their briefs, and as the solver
    #: sees them (`panels.find_replacement`'s `also_fixed`)
    sealed_only: tuple[ExpertBrief, ...] = ()
    also_fixed: dict[str, Candidate] = field(default_factory=dict)

    @property
    def shown(self) -> frozenset[str]:
        return self.shown_ids if self.shown_ids is not None else frozenset(e.id for e in self.eligible)

    def solver_group(self) -> SessionGroup:
        return SessionGroup(self.name, self.spec.to_rules(self.projects), tuple(self.candidates), tuple(self.pairs))


@dataclass
class SessionInputs:
    """Everything a session draw needs."""
    spec: SessionSpec
    snapshot: PoolSnapshot
    groups: list[GroupInputs]
    excluded_ids: dict[str, list[str]]      # the session's reasons other than a conflict → ids
    units: dict[str, str]                    # expert id → legal unit
    ledger: Ledger
    timings: dict[str, float]
    data_version: str
    #: `excluded_ids` as the record names them (`panels.sealed_blind`); None: the same
    named_ids: dict[str, list[str]] | None = None

    def view(self, group: GroupInputs, expert_id: str, probability: float | None) -> MemberView:
        e = self.snapshot_by_id[expert_id]
        return MemberView(id=e.id, name=e.name, region=e.region, sub_region=e.sub_region, institution=e.institution,
                          legal_unit=self.units[e.id], title=e.title, fields=list(e.fields), high_level=e.high_level,
                          relevance=round(group.relevance.get(e.id, 0.0), 4),
                          probability=None if probability is None else round(probability, 6))

    @cached_property
    def snapshot_by_id(self) -> dict[str, ExpertBrief]:
        return {e.id: e for e in self.snapshot.experts}


@dataclass
class SessionOutcome:
    session_id: str | None
    record: SessionRecord
    has_panel: bool

    @cached_property
    def document(self) -> dict:
        return self.record.to_document()


# ---- the inputs ------------------------------------------------------------------------------

def _snapshot(store: ExpertStore, version: str, progress: Progress) -> PoolSnapshot:
    snapshot = cached_snapshot(version)
    if snapshot is None:
        progress.start("读取专家库并建立利益冲突图（本数据版本的首次抽取）", None)
        snapshot = fresh_snapshot(store, version)
        progress.finish()
    return snapshot


def _group_projects(store: ExpertStore, spec: SessionSpec, graph) -> list[tuple[str, list[Project], dict]]:
    """(name, projects, own rules) of every group: split by field, or as the [[group]] tables say
    (a group's projects are ids among the session's projects or stored ones, or a file)."""
    session_projects = load_projects(store, project_refs(spec.projects), graph) if spec.projects else []
    if spec.automatic:
        return [(name, ps, {}) for name, ps in split_by_field(session_projects, spec.groups)]
    by_id = {p.id: p for p in session_projects}
    out, used = [], Counter()
    for group in spec.groups:  # type: ignore[union-attr]
        refs = project_refs(group.projects)
        projects: list[Project] = []
        for ref, path in refs:
            if path is None and ref in by_id:
                projects.append(by_id[ref])
            else:
                projects.extend(load_projects(store, [(ref, path)], graph))
        if not projects:
            raise InputError(f"分组「{group.name}」没有申报项目（projects）")
        used.update(p.id for p in projects)
        out.append((group.name, projects, dict(group.rules)))
    twice = sorted(p for p, k in used.items() if k > 1)
    if twice:
        raise InputError(f"申报项目 {'、'.join(twice[:5])} 被分在多个组中：每个项目只能由一个组评审")
    return out


def prepare_session(store: ExpertStore, spec: SessionSpec, progress: Progress | None = None,
                    ledger: Ledger | None = None, only: str | None = None) -> SessionInputs:
    """Every group's eligible experts, relevance and forbidden pairs (`only`: just that group)."""
    progress = progress or NullProgress()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    version = store.data_version()
    snapshot = _snapshot(store, version, progress)
    graph = snapshot.graph
    planned = _group_projects(store, spec, graph)
    # the boilerplate words are learned from the whole session's projects, also for one group
    session_projects = [p for _, ps, _ in planned for p in ps]
    if only is not None:
        planned = [g for g in planned if g[0] == only]
    specs = [spec.group_spec(name, tuple(p.id for p in ps), own) for name, ps, own in planned]
    ledger = ledger if ledger is not None else read_ledger(store, on=spec.review_date)
    every_project = [p for _, ps, _ in planned for p in ps]
    with ThreadPoolExecutor(max_workers=1) as pool:
        ranking = pool.submit(rank_review, store, every_project, version, session_projects)
        timings["load"] = time.perf_counter() - t0
        t = time.perf_counter()
        day = spec.review_date
        progress.start(f"检查 {len(every_project)} 个申报项目的利益冲突与各组资格", None)
        fact_spec = replace(specs[0], max_reviews_per_year=10)
        facts = eligibility_facts(store, fact_spec, snapshot, ledger)
        # the whole session's projects, also for one group: the same check (and the same
        # remembered answer) for the plan, its reproduction and a replacement in any group
        hard = hard_conflicts_by_project(snapshot, session_projects, day, policy_from(spec.policy))
        queries, rankings = ranking.result()
        ranked = {p.id: (q, r) for p, q, r in zip(every_project, queries, rankings)}
        progress.finish()
    blind = sealed_blind(facts, fact_spec, snapshot, ledger)
    sorted_out: dict[EligibilityRules, tuple[list, dict[str, list[str]]]] = {}
    shown_out: dict[EligibilityRules, tuple[list, dict[str, list[str]]]] = {}   # as if nothing were sealed
    groups: list[GroupInputs] = []
    for (name, projects, _), group_spec in zip(planned, specs):
        rules = group_spec.eligibility_rules()
        common = EligibilityRules(tuple(r for r in rules.apply if r != CONFLICT), max_age=rules.max_age,
                                  max_age_high_level=rules.max_age_high_level,
                                  max_reviews_per_year=rules.max_reviews_per_year)
        if common not in sorted_out:
            sorted_out[common] = sort_out(snapshot.experts, common, facts)
            shown_out[common] = sorted_out[common] if blind is None else sort_out(snapshot.experts, common, blind)
        eligible_all = sorted_out[common][0]
        conflicted = set().union(*(hard.get(p.id, set()) for p in projects))
        eligible = [e for e in eligible_all if e.id not in conflicted]
        # the counts the record shows, from the sealed-blind sort (the same without seals)
        shown_all, shown_excluded = shown_out[common]
        counts = {k: len(v) for k, v in shown_excluded.items()}
        shown = frozenset(e.id for e in shown_all if e.id not in conflicted)
        counts[CONFLICT] = len(shown_all) - len(shown)
        relevance = review_relevance(group_spec, projects, [ranked[p.id][0] for p in projects],
                                     [ranked[p.id][1] for p in projects], eligible)
        eligible_ids = {e.id for e in eligible}
        sealed_only = tuple(e for e in shown_all if e.id in shown and e.id not in eligible_ids)
        groups.append(GroupInputs(name, group_spec, projects, eligible, counts, relevance, [], [],
                                  None if blind is None else shown, sealed_only))
    timings["eligibility"] = time.perf_counter() - t
    t = time.perf_counter()
    everyone = sorted({e.id for g in groups for e in (*g.eligible, *g.sealed_only)})
    table = load_institutions()
    by_id = {e.id: e for g in groups for e in (*g.eligible, *g.sealed_only)}
    units = {i: table.normalise(by_id[i].institution) or by_id[i].institution for i in everyone}
    policy_pairs = graph.panel_pairs(policy_from(spec.policy), day, everyone)
    # one candidate per expert, with the attributes any group's quotas read, then each group's
    # relevance on a copy
    quotas = [q for g in groups for q in g.spec.quotas]
    base = {c.id: c for c in solver_candidates([by_id[i] for i in everyone], units, {}, day, quotas=quotas)}
    for group in groups:
        # pairs among everyone the record counts (the sealed-only too: see `sealed_only`)
        ids = {e.id for e in (*group.eligible, *group.sealed_only)}
        group.pairs = sorted({(p.a, p.b) for p in policy_pairs if p.a in ids and p.b in ids})
        group.candidates = [base[e.id].with_relevance(group.relevance.get(e.id, 0.0)) for e in group.eligible]
        group.also_fixed = {e.id: base[e.id] for e in group.sealed_only}
    timings["candidates"] = time.perf_counter() - t
    first_rules, (_, first_common) = next(iter(sorted_out.items())) if sorted_out else (None, (None, {}))
    named = None if blind is None or first_rules is None else shown_out[first_rules][1]
    return SessionInputs(spec, snapshot, groups, {k: sorted(v) for k, v in first_common.items()}, units, ledger,
                         timings, version, named)


# ---- plan ------------------------------------------------------------------------------------

def plan_session(store: ExpertStore, actor: Actor, spec: SessionSpec, *, progress: Progress | None = None,
                 save: bool = True, now: dt.datetime | None = None, ledger: Ledger | None = None) -> SessionOutcome:
    """Draw every group of the session at once and (when it has panels and `save`) store it with
    an audit entry. An infeasible session is not an exception: the record carries the diagnosis
    naming the group and the clash."""
    check(actor, "panel", "安排评审会")
    with gc_paused():
        progress = progress or NullProgress()
        inputs = prepare_session(store, spec, progress, ledger)
        t = time.perf_counter()
        groups = [g.solver_group() for g in inputs.groups]
        progress.start(f"抽取评审会各组专家（{len(groups)} 组，{spec.mode}，时限 {spec.time_limit_s:g} 秒）", None)
        result = draw_session(groups, SessionRules(mode=spec.mode, seed=spec.seed, time_limit_s=spec.time_limit_s,
                                                   max_probability=spec.max_probability))
        progress.finish()
        inputs.timings["solve"] = time.perf_counter() - t
        return _save(store, actor, inputs, result, save, now)


def _session_id(spec: SessionSpec, result: SessionResult) -> str:
    digest = hashlib.sha256(json.dumps([spec.to_json(), {g.name: list(g.members) for g in result.groups}],
                                       ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:8]
    return f"SES-{spec.review_date:%Y%m%d}-{spec.seed}-{digest}"


def _save(store: ExpertStore, actor: Actor, inputs: SessionInputs, result: SessionResult, save: bool,
          now: dt.datetime | None) -> SessionOutcome:
    spec = inputs.spec
    probs = result.probabilities or {}
    lottery = result.probabilities is not None
    has_panel = result.status.has_panel
    session_id = _session_id(spec, result) if has_panel and save else None
    group_records = []
    for g, draw in zip(inputs.groups, result.groups):
        def views(ids) -> list[MemberView]:
            return [inputs.view(g, i, probs.get(i, 0.0) if lottery else None) for i in ids]

        alternates = sorted({x for r in draw.replacements.values() for x in r} - set(draw.members) - set(draw.backups))
        rules = g.spec.to_rules(g.projects)
        group_records.append(GroupRecord(
            name=g.name, projects=[p.id for p in g.projects], spec=g.spec.to_json(), fields=list(rules.fields),
            status=result.status, members=views(draw.members), backups=views(draw.backups),
            replacements={m: list(r) for m, r in draw.replacements.items()}, alternates=views(alternates),
            exclusions={REASONS[k]: v for k, v in g.excluded.items()},
            pool=PoolFigures(experts=len(inputs.snapshot.experts), eligible=len(g.shown),
                             qualified=sum(1 for c in g.candidates if c.relevance >= rules.relevance_threshold),
                             forbidden_pairs=len(g.pairs)),
            relevance_sum=round(draw.relevance_sum, 4),
            quota_counts=counted_quotas(g.candidates, draw.members, rules)))
    names = {e.id: e.name for g in inputs.groups for e in g.eligible}
    warnings = [f"{draw.name}：{w}" for draw in result.groups
                for w in same_day_warnings(inputs.ledger, spec.review_date, draw.members, names)]
    record = SessionRecord(
        id=session_id, name=spec.name, review_date=spec.review_date.isoformat(), spec=spec.to_json(),
        status=result.status, strategy=result.strategy, seed=result.seed, groups=group_records,
        probability_min=result.probability_min, probability_max=result.probability_max,
        objective=result.objective, bound=result.bound, gap=result.gap,
        exclusions={REASONS[k]: len(v) for k, v in (inputs.named_ids if inputs.named_ids is not None
                                                     else inputs.excluded_ids).items()},
        excluded_ids=named_exclusions(inputs.named_ids if inputs.named_ids is not None else inputs.excluded_ids),
        conflict_evidence=(f"各组因利益冲突排除的专家（见各组的「{REASONS[CONFLICT]}」人数）按引用保存：对该组的申报项目运行 "
                           f"expertpool coi check --project 项目编号 --review-date {spec.review_date.isoformat()}，"
                           "在同一数据版本上可得每一位被排除专家的规则与证据路径。"),
        data_version=inputs.data_version,
        pool=PoolFigures(experts=len(inputs.snapshot.experts),
                         eligible=len(frozenset().union(*(g.shown for g in inputs.groups))),
                         qualified=result.stats.qualified, forbidden_pairs=result.stats.forbidden_pairs,
                         types=result.stats.types, columns=result.stats.columns),
        diagnosis=DiagnosisView.of(result.diagnosis),
        timings={**inputs.timings, **dict(result.stats.timings)},
        warnings=warnings,
        created_by=actor.user if session_id else None,
        created_at=now_text(now) if session_id else None,
    )
    if session_id is None:
        return SessionOutcome(session_id, record, has_panel)
    with store.batch():
        entry = audit(store, actor, "session.plan", target=session_id, now=now, reason=spec.name,
                      after={"groups": record.members_by_group(), "seed": spec.seed, "mode": spec.mode,
                             "status": str(result.status)})
        outcome = SessionOutcome(session_id, record.model_copy(update={"audit_anchor": anchor_of(entry)}), has_panel)
        store.save_session(session_id, outcome.document)
    return outcome


# ---- show, list, reproduce -------------------------------------------------------------------

def get_session(store: ExpertStore, actor: Actor, session_id: str) -> SessionRecord:
    check(actor, "panel", "查看评审会")
    return stored_record(SessionRecord, session_id, store.get_session(session_id), "评审会")


def list_sessions(store: ExpertStore, actor: Actor) -> list[SessionSummary]:
    check(actor, "panel", "查看评审会")
    return [SessionSummary.of(stored_record(SessionRecord, d.get("id"), d, "评审会")) for d in store.iter_sessions()]


def reproduce_session(store: ExpertStore, actor: Actor, session_id: str, progress: Progress | None = None
                      ) -> tuple[SessionRecord, SessionRecord, bool]:
    """Re-run the saved spec and seed on the current store, with the ledger as it stood when the
    session was drawn: (saved, redrawn, same members in every group?)."""
    saved = get_session(store, actor, session_id)
    spec = load_session_spec(None, saved.spec)
    ledger = read_ledger(store, exclude={session_id}, as_of=saved.created_at, on=spec.review_date)
    redrawn = plan_session(store, actor, spec, save=False, ledger=ledger, progress=progress).record
    same = [g.member_ids() for g in redrawn.groups] == [g.drawn_member_ids() for g in saved.groups]
    return saved, redrawn, same


# ---- replace ---------------------------------------------------------------------------------

def replace_session_member(store: ExpertStore, actor: Actor, session_id: str, expert_id: str, reason: str, *,
                           group: str | None = None, now: dt.datetime | None = None,
                           progress: Progress | None = None) -> SessionRecord:
    """Swap `expert_id` out of their group and record why, keeping the session's rules: the
    group's rules on the current data (eligibility, conflicts with the group's projects,
    forbidden pairs), nobody seated in another group of the session or elsewhere that day. The
    group's saved replacements and backups are tried first, then every eligible expert by
    relevance; the first qualified one (relevance ≥ the group's threshold, as in
    `panels.find_replacement`) with whom the group meets every rule (independent checker) comes in."""
    check(actor, "panel", "替换评审会专家")
    reason = clean(reason)
    if not reason:
        raise InputError("替换专家必须说明理由（--reason）")
    record = get_session(store, actor, session_id)
    if expert_id not in record.seated():   # a number the user knows rather than the id shown
        expert_id = resolve_expert_id(store, expert_id)
    target = record.group(group) if group else record.group_of(expert_id)
    if target is None or expert_id not in target.member_ids():
        where = f"分组「{group}」" if group else "任何一组"
        raise InputError(f"专家「{expert_id}」不是评审会 {session_id} 中{where}的成员")
    spec = load_session_spec(None, record.spec)
    with gc_paused():
        inputs = prepare_session(store, spec, progress, read_ledger(store, exclude={session_id}, on=spec.review_date),
                                 only=target.name)
    g = inputs.groups[0]
    members = target.member_ids()
    chosen, method = find_replacement(
        members, expert_id, g.candidates, g.spec.to_rules(g.projects), g.pairs,
        [*target.replacements.get(expert_id, []), *(b.id for b in target.backups)],
        taken=record.seated() | {r.out for r in record.replaced}, where=f"{target.name}的",
        again="expertpool session plan …", also_fixed=g.also_fixed)
    drawn = target.views()
    view = inputs.view(g, chosen, drawn[chosen].probability if chosen in drawn else None)
    replacement = GroupReplacement(group=target.name, out=expert_id, in_=chosen, reason=reason,
                                   by=actor.user, at=now_text(now), method=method)
    with store.batch():
        entry = audit(store, actor, "session.replace", target=session_id, reason=reason, now=now,
                      before={"group": target.name, "members": members},
                      after={"groups": record.with_replacement(target.name, expert_id, view, replacement)
                             .members_by_group(), "group": target.name, "out": expert_id, "in": chosen,
                             "method": method})
        replacement = replacement.model_copy(update={"audit_anchor": anchor_of(entry)})
        updated = record.with_replacement(target.name, expert_id, view, replacement)
        store.save_session(session_id, updated.to_document())
    return updated


# ---- export ----------------------------------------------------------------------------------

OVERVIEW_HEADERS = ("分组", "申报项目数", "申报项目", "专家人数", "成员", "备选人数", "求解状态")


def overview_rows(record: SessionRecord) -> list[list[object]]:
    return [[g.name, len(g.projects), "、".join(g.projects), len(g.members),
             "、".join(f"{m.id} {m.name}" for m in g.members), len(g.backups), status_label(g.status)]
            for g in record.groups]


def export_session(store: ExpertStore, actor: Actor, session_id: str, out: Path) -> Path:
    """The whole session to XLSX (an overview sheet, then one sheet per group) or CSV (one table
    with the group in the first column), every label in Chinese, written atomically, with an
    audit entry whose seq:hash the file carries as its anchor (as a panel's record sheet)."""
    record = get_session(store, actor, session_id)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InputError(f"{out}: 只支持导出为 .xlsx 或 .csv")
    output_file(out, "导出文件（--out）")
    with store.batch():
        entry = audit(store, actor, "session.export", target=session_id,
                      after={"file": out.name, "members": sum(len(g.members) for g in record.groups)})
        _write_session(record, anchor_of(entry), out)
    return out


def group_rows(group: GroupRecord) -> list[list[str]]:
    """A group's table on the session's sheets: its members, then its backups and each member's
    own substitutes — the panel record sheet's substitute table (`record_sheet.substitute_rows`),
    with no contact details (the sheets are printed and passed around)."""
    return [*(expert_row("成员", i, m, "") for i, m in enumerate(group.members, 1)), *substitute_rows(group)]


def _write_session(record: SessionRecord, anchor: AuditAnchor, out: Path) -> None:
    """The sheets through `io.sheets` (inert cells, whole or not at all); the groups' tables are
    those of a panel's record sheet (`group_rows`), so neither carries personal data."""
    title = (f"{record.name}（{record.id}）评审日期 {record.review_date}，抽取方式 {mode_label(record.strategy)}，"
             f"随机种子 {record.seed}，求解状态 {status_label(record.status)}；各组只排除与本组申报项目有利益冲突的专家")
    anchor_line = (f"审计锚点：{anchor.seq}:{anchor.hash}（本表导出时审计日志的最新条目；"
                   "用 expertpool audit verify --anchors 本文件 可核对审计日志此后未被删改）")
    if out.suffix.lower() == ".csv":
        sheets.write_csv(out, [[title], [anchor_line], ["分组", *SUBSTITUTE_HEADERS],
                               *([g.name, *row] for g in record.groups for row in group_rows(g))])
        return
    sheets.write_workbook(out, [
        ("总览", [[title], [anchor_line], list(OVERVIEW_HEADERS), *overview_rows(record)]),
        *((g.name, [[f"{g.name}：申报项目 {'、'.join(g.projects)}"], SUBSTITUTE_HEADERS, *group_rows(g)])
          for g in record.groups)])
