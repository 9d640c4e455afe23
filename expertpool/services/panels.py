"""Panel building: eligibility on the review date, relevance to the projects, the exact draw,
backups, replacement, export — each panel saved with its audit entry so `panel show` can
reproduce it.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields as dc_fields
from pathlib import Path
from typing import Any

from expertpool import segment
from expertpool.domain import taxonomy
from expertpool.domain.eligibility import barred_experts
from expertpool.domain.models import Project
from expertpool.domain.text import parse_date
from expertpool.errors import ExpertPoolError, InputError, NotFound
from expertpool.services.access import Actor, audit, check
from expertpool.services.snapshot import ExpertBrief, PoolSnapshot, cached_snapshot, fresh_snapshot, rank_index
from expertpool.stores.base import ExpertStore, Progress, SearchFilters, SearchQuery

#: exclusion reasons, in the order they are tested (each expert is counted under the first that applies)
REASONS: dict[str, str] = {
    "status": "状态非在库",
    "age": "超过年龄上限",
    "integrity": "科研诚信处理期内",
    "workload": "评审次数已达年度上限",
    "conflict": "与申报项目有利益冲突",
}


@dataclass(frozen=True)
class PanelSpec:
    """The rules of one panel, from a TOML spec file and/or CLI flags (see README)."""
    name: str = "评审专家组"
    review_date: dt.date = field(default_factory=dt.date.today)
    size: int = 15
    fields: tuple[str, ...] | str = "all"
    min_per_field: int = 1
    coverage: str = "any"
    regions: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: {"四川": (0.4, 0.6), "重庆": (0.4, 0.6)})
    min_full_senior_share: float = 0.6
    max_per_institution: int | None = 1
    max_age: int = 65
    max_age_high_level: int = 70
    max_reviews_per_year: int | None = 10
    projects: tuple[str, ...] | str = ()  # a projects JSONL path, or ids of stored projects
    backups: int = 5
    mode: str = "lottery"
    max_probability: float | None = None
    relevance_threshold: float = 0.3
    seed: int = 0
    time_limit_s: float = 30.0
    policy: str | None = None  # conflict-policy TOML overriding indexes/coi_policy.toml

    def resolved_fields(self) -> tuple[str, ...]:
        if self.fields == "all":
            return taxonomy.FIELDS
        return tuple(self.fields)

    def to_json(self) -> dict:
        data = asdict(self)
        data["review_date"] = self.review_date.isoformat()
        data["regions"] = {k: list(v) for k, v in self.regions.items()}
        return data


_SPEC_KEYS = {f.name for f in dc_fields(PanelSpec)}
# TOML bare keys are ASCII-only, but officers write `regions = { 四川 = [0.4, 0.6] }` as in the spec
# template; such keys are quoted before parsing (only outside strings: after `{`, `,` or a line start).
_BARE_CJK_KEY = re.compile(r'(^|[{,])(\s*)([^\s"\'=\[\]{},#]*[^\x00-\x7f][^\s"\'=\[\]{},#]*)(\s*=)', re.M)


def _quote_cjk_keys(text: str) -> str:
    return _BARE_CJK_KEY.sub(lambda m: f'{m.group(1)}{m.group(2)}"{m.group(3)}"{m.group(4)}', text)


def load_spec(path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> PanelSpec:
    """Read a TOML spec (unknown keys are errors naming the file and key), apply CLI overrides,
    normalise field and region names through the vocabularies."""
    data: dict[str, Any] = {}
    where = "命令行参数"
    if path is not None:
        where = str(path)
        try:
            data = tomllib.loads(_quote_cjk_keys(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise InputError(f"{path}: 规则文件不存在") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: 不是有效的 TOML（{exc}）") from None
        unknown = sorted(set(data) - _SPEC_KEYS)
        if unknown:
            raise InputError(f"{path}: 未知的规则项 {', '.join(unknown)}；可用：{', '.join(sorted(_SPEC_KEYS))}")
        if "projects" in data and isinstance(data["projects"], str) and not data["projects"].startswith("/"):
            # A relative projects path in a spec file is relative to the spec file.
            candidate = Path(path).parent / data["projects"]
            if candidate.exists():
                data["projects"] = str(candidate.resolve())
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    try:
        if "review_date" in data:
            data["review_date"] = parse_date(data["review_date"])
        if isinstance(data.get("fields"), list):
            data["fields"] = tuple(dict.fromkeys(taxonomy.normalise_field(f) for f in data["fields"]))
        elif "fields" in data and data["fields"] != "all":
            raise InputError(f"{where}: fields 应为 \"all\" 或领域列表")
        if "regions" in data:
            regions = {}
            for name, bounds in dict(data["regions"]).items():
                if not (isinstance(bounds, (list, tuple)) and len(bounds) == 2):
                    raise InputError(f"{where}: regions.{name} 应为 [下限, 上限]，如 [0.4, 0.6]")
                regions[taxonomy.normalise_region(name)] = (float(bounds[0]), float(bounds[1]))
            data["regions"] = regions
        if isinstance(data.get("projects"), (list, tuple)):
            data["projects"] = tuple(str(p) for p in data["projects"])
        # Saved with the panel: an absolute path lets `panel show --reproduce` run from anywhere.
        if isinstance(data.get("projects"), str):
            data["projects"] = (data["projects"],)
        if data.get("projects"):
            data["projects"] = tuple(str(Path(p).resolve()) if Path(p).exists() else p for p in data["projects"])
        spec = PanelSpec(**data)
    except taxonomy.UnknownValue as exc:
        raise InputError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise InputError(f"{where}: 规则项类型错误（{exc}）") from None
    if spec.mode not in _strategies():
        raise InputError(f"{where}: 未知的抽取方式「{spec.mode}」；可选：{'、'.join(_strategies())}（--mode）")
    return spec


def _strategies():
    from expertpool.domain.panel import STRATEGIES

    return STRATEGIES


def strategy_names() -> tuple[str, ...]:
    return tuple(_strategies())


@dataclass
class Eligibility:
    candidates: list[ExpertBrief]
    excluded: dict[str, list[str]]         # reason key → expert ids
    conflict_evidence: dict[str, list[str]]  # expert id → evidence lines
    forbidden_pairs: set[tuple[str, str]]
    institutions: dict[str, str]           # expert id → legal unit


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
    from expertpool.services.conflicts import read_projects

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
    """Apply status, age, integrity, workload and conflict rules on the review date."""
    from expertpool.services.conflicts import load_institutions, panel_exclusions

    day = spec.review_date
    graph = snapshot.graph
    experts = snapshot.experts
    # integrity is read fresh: reviewers change it between draws, and it is small
    barred = barred_experts(store.iter_integrity(), day)
    workload = reviews_in_year(snapshot, day) if spec.max_reviews_per_year is not None else Counter()
    excluded: dict[str, list[str]] = {k: [] for k in REASONS}
    remaining: list[ExpertBrief] = []
    for e in experts:
        age = e.age_on(day)
        limit = spec.max_age_high_level if e.high_level else spec.max_age
        if e.status != "在库":
            excluded["status"].append(e.id)
        elif age is not None and age > limit:
            excluded["age"].append(e.id)
        elif e.id in barred:
            excluded["integrity"].append(e.id)
        elif spec.max_reviews_per_year is not None and workload.get(e.id, 0) >= spec.max_reviews_per_year:
            excluded["workload"].append(e.id)
        else:
            remaining.append(e)
    exclusions = panel_exclusions(graph, list(projects), day, spec.policy, candidates=[e.id for e in remaining])
    evidence: dict[str, list[str]] = {}
    candidates = []
    for e in remaining:
        if exclusions.is_excluded(e.id):
            excluded["conflict"].append(e.id)
            evidence[e.id] = [c.evidence for c in exclusions.excluded[e.id]]
        else:
            candidates.append(e)
    ids = {e.id for e in candidates}
    pairs = {(a, b) for a, b in exclusions.forbidden_pairs if a in ids and b in ids}
    table = load_institutions()
    units = {e.id: table.normalise(e.institution) or e.institution for e in candidates}
    return Eligibility(candidates, excluded, evidence, pairs, units)


def project_query_text(project: Project) -> str:
    return " ".join([project.title, " ".join(project.keywords), project.abstract])


#: experts beyond this rank for every project score 0
RELEVANCE_DEPTH = 300


def _rank_projects(store: ExpertStore, texts: Sequence[str], version: str | None = None) -> list[list[tuple[str, float]]]:
    """The store's ranking (ids and scores) for each project text, all in one call; with the
    data `version`, from the store's rank index of that version (cached like the snapshot)."""
    queries = [SearchQuery(tuple(terms), SearchFilters(statuses=("在库",)), limit=RELEVANCE_DEPTH) if terms else None
               for terms in (segment.query_terms(text) for text in texts)]
    asked = [q for q in queries if q is not None]
    if not asked:
        return [[] for _ in queries]
    index = rank_index(store, version) if version is not None else None
    answers = iter(store.rank_many(asked, index=index))
    return [next(answers) if q is not None else [] for q in queries]


def _relevance_from(rankings: Sequence[Sequence[tuple[str, float]]], candidate_ids: set[str]) -> dict[str, float]:
    """Each candidate's relevance in 0..1: for every project, the search store ranks experts by the
    project's title, keywords and abstract; an expert's score is relative to that project's best,
    and their relevance is the best over the projects (an expert qualifies by fitting at least one
    project under review). Experts beyond the top RELEVANCE_DEPTH of every project score 0."""
    scores: dict[str, float] = {}
    for ranked in rankings:
        top = max((score for _, score in ranked), default=0.0)
        if top <= 0:
            continue
        for expert_id, score in ranked:
            if expert_id in candidate_ids:
                scores[expert_id] = max(scores.get(expert_id, 0.0), score / top)
    return scores


def _project_texts(store: ExpertStore, spec: PanelSpec) -> list[str]:
    """The projects' query texts, read without the conflict graph so ranking can start early.
    Rows are not validated here: `_load_projects` does that (and reports errors) afterwards;
    an unreadable reference just contributes no text."""
    from expertpool.services import readers, rows

    stored: dict[str, Project] | None = None
    texts: list[str] = []
    for ref, path in _project_refs(spec):
        if path is not None:
            try:
                table = readers.read_table(path, "projects")
            except ExpertPoolError:
                continue
            for _, row in table.rows:
                try:
                    texts.append(project_query_text(rows.project_from_row(row, lambda _column, value: value)))
                except rows.RowError:
                    continue
        else:
            if stored is None:
                stored = {p.id: p for p in store.iter_records("project")}
            if ref in stored:
                texts.append(project_query_text(stored[ref]))
    return texts


@dataclass
class PanelOutcome:
    panel_id: str | None
    document: dict
    has_panel: bool


def _member_view(e: ExpertBrief, unit: str, relevance: float, probability: float | None) -> dict:
    view = {"id": e.id, "name": e.name, "region": e.region, "sub_region": e.sub_region,
            "institution": e.institution, "legal_unit": unit, "title": e.title, "fields": list(e.fields),
            "high_level": e.high_level, "relevance": round(relevance, 4)}
    if probability is not None:
        view["probability"] = round(probability, 6)
    return view


def _panel_id(spec: PanelSpec, members: Sequence[str]) -> str:
    digest = hashlib.sha256(json.dumps([spec.to_json(), list(members)], ensure_ascii=False,
                                       sort_keys=True).encode()).hexdigest()[:8]
    return f"PNL-{spec.review_date:%Y%m%d}-{spec.seed}-{digest}"


def _prepare(store: ExpertStore, spec: PanelSpec):
    """Everything a draw needs: eligible candidates with relevance, the solver's rules, timings."""
    from expertpool.domain.panel import Candidate, PanelRules

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    # Read the data version first (see ExpertStore.data_version), then start ranking the project
    # texts (from the store's rank index of this version, or on the store's own threads) while
    # this one loads the cached snapshot, which touches no store: the two halves of the wait overlap.
    version = store.data_version()
    texts = _project_texts(store, spec)
    with ThreadPoolExecutor(max_workers=1) as pool:
        ranking = pool.submit(_rank_projects, store, texts, version)
        snapshot = cached_snapshot(version)
        rankings = ranking.result()
    if snapshot is None:
        snapshot = fresh_snapshot(store, version)
    experts = snapshot.experts
    projects = _load_projects(store, spec, snapshot.graph)
    timings["load"] = time.perf_counter() - t0
    t = time.perf_counter()
    elig = eligible_candidates(store, spec, projects, snapshot)
    timings["eligibility"] = time.perf_counter() - t
    t = time.perf_counter()
    ids = {e.id for e in elig.candidates}
    validated = [project_query_text(p) for p in projects]
    if validated != texts:
        # the early read saw other text than the validated projects (cannot happen on valid input)
        rankings = _rank_projects(store, validated, version)
    relevance = _relevance_from(rankings, ids) if projects else {}
    timings["relevance"] = time.perf_counter() - t
    candidates = [Candidate(id=e.id, name=e.name, region=e.region, fields=tuple(e.fields), title=e.title,
                            institution=elig.institutions[e.id], relevance=relevance.get(e.id, 0.0),
                            high_level=e.high_level) for e in elig.candidates]
    rules = PanelRules(size=spec.size, fields=spec.resolved_fields(), min_per_field=spec.min_per_field,
                       coverage=spec.coverage, region_bounds=dict(spec.regions),
                       min_full_senior_share=spec.min_full_senior_share,
                       max_per_institution=spec.max_per_institution, mode=spec.mode,
                       max_probability=spec.max_probability, backups=spec.backups, seed=spec.seed,
                       time_limit_s=spec.time_limit_s,
                       relevance_threshold=spec.relevance_threshold if projects else 0.0)
    return experts, elig, relevance, candidates, rules, projects, timings


def build_panel(store: ExpertStore, actor: Actor, spec: PanelSpec, *, progress: Progress | None = None,
                save: bool = True, now: dt.datetime | None = None) -> PanelOutcome:
    """Draw a panel by `spec` and (when a panel was found and `save`) store it with an audit entry.

    Returns the panel document: status, members, backups, exclusions by reason, seed, diagnosis,
    solver figures. An infeasible spec is not an exception: the document carries the diagnosis.
    """
    from expertpool.domain.conflicts import gc_paused

    check(actor, "panel", "抽取评审专家组")
    # Tens of thousands of long-lived objects (experts, the graph) and ~100,000 conflicts, nearly
    # all gone by the time the draw returns: the cyclic collector would walk them again and again
    # for nothing (also while the document is built, were it switched back on before).
    with gc_paused():
        return _draw(store, actor, spec, save, now)


def _draw(store: ExpertStore, actor: Actor, spec: PanelSpec, save: bool, now: dt.datetime | None) -> PanelOutcome:
    from expertpool.domain.panel import get_strategy

    experts, elig, relevance, candidates, rules, projects, timings = _prepare(store, spec)
    t = time.perf_counter()
    result = get_strategy(spec.mode)(candidates, rules, elig.forbidden_pairs, seed=spec.seed,
                                     time_limit_s=spec.time_limit_s)
    timings["solve"] = time.perf_counter() - t
    by_id = {e.id: e for e in elig.candidates}
    probs = result.probabilities or {}
    lottery = result.probabilities is not None
    document = {
        "name": spec.name,
        "spec": spec.to_json(),
        "status": str(result.status),
        "strategy": result.strategy,
        "seed": result.seed,
        "members": [_member_view(by_id[m], elig.institutions[m], relevance.get(m, 0.0),
                                 probs.get(m, 0.0) if lottery else None) for m in result.members],
        "backups": [_member_view(by_id[b], elig.institutions[b], relevance.get(b, 0.0),
                                 probs.get(b, 0.0) if lottery else None) for b in result.backups],
        "replacements": {m: list(r) for m, r in result.replacements.items()},
        # Everyone named as a possible replacement, so `panel replace` can check them without a re-draw.
        "alternates": [_member_view(by_id[a], elig.institutions[a], relevance.get(a, 0.0),
                                    probs.get(a, 0.0) if lottery else None)
                       for a in sorted({x for r in result.replacements.values() for x in r}
                                       - set(result.members) - set(result.backups))],
        "probability_min": result.probability_min,
        "probability_max": result.probability_max,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "exclusions": {REASONS[k]: len(v) for k, v in elig.excluded.items()},
        "excluded_ids": {REASONS[k]: sorted(v) for k, v in elig.excluded.items()},
        "conflict_evidence": {k: v[:3] for k, v in sorted(elig.conflict_evidence.items())},
        "pool": {"experts": len(experts), "eligible": len(candidates),
                 "qualified": result.stats.qualified, "forbidden_pairs": len(elig.forbidden_pairs),
                 "types": result.stats.types, "columns": result.stats.columns},
        "projects": [p.id for p in projects],
        "diagnosis": _diagnosis_json(result.diagnosis),
        "timings": {**timings, **dict(result.stats.timings)},
        "replaced": [],
    }
    has_panel = result.status.has_panel
    panel_id = None
    if has_panel and save:
        panel_id = _panel_id(spec, result.members)
        document["id"] = panel_id
        document["created_by"] = actor.user
        document["created_at"] = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat()
        with store.batch():
            store.save_panel(panel_id, document)
            audit(store, actor, "panel.build", target=panel_id, now=now,
                  reason=spec.name, after={"members": list(result.members), "backups": list(result.backups),
                                           "seed": spec.seed, "mode": spec.mode, "status": str(result.status)})
    return PanelOutcome(panel_id, document, has_panel)


def _diagnosis_json(diagnosis) -> dict | None:
    if diagnosis is None:
        return None
    return {"messages": list(diagnosis.messages),
            "clashes": [_plain(c) for c in diagnosis.clashes],
            "relaxations": [_plain({k: v for k, v in r.items() if k != "rules"}) for r in diagnosis.relaxations]}


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def get_panel(store: ExpertStore, actor: Actor, panel_id: str) -> dict:
    check(actor, "panel", "查看评审专家组")
    document = store.get_panel(panel_id)
    if document is None:
        raise NotFound(f"评审专家组「{panel_id}」不存在")
    return document


def list_panels(store: ExpertStore, actor: Actor) -> list[dict]:
    check(actor, "panel", "查看评审专家组")
    return [{"id": d.get("id"), "name": d.get("name"), "review_date": d["spec"]["review_date"],
             "mode": d.get("strategy"), "seed": d.get("seed"), "members": len(d.get("members", [])),
             "created_by": d.get("created_by"), "created_at": d.get("created_at")}
            for d in store.iter_panels()]


def reproduce_panel(store: ExpertStore, actor: Actor, panel_id: str) -> tuple[dict, dict, bool]:
    """Re-run the saved spec and seed on the current store: (saved, redrawn, same members?).
    The same data and seed give the same panel; a difference means the pool changed since."""
    saved = get_panel(store, actor, panel_id)
    spec = load_spec(None, {**saved["spec"], "regions": saved["spec"]["regions"]})
    redrawn = build_panel(store, actor, spec, save=False).document
    same = [m["id"] for m in redrawn["members"]] == [m["id"] for m in saved.get("drawn_members", saved["members"])]
    return saved, redrawn, same


def replace_member(store: ExpertStore, actor: Actor, panel_id: str, expert_id: str, reason: str,
                   now: dt.datetime | None = None) -> dict:
    """Swap `expert_id` out and record why. Eligibility, conflicts and forbidden pairs are checked
    again on the current store (a backup may have been sanctioned, or related to a member seated
    by an earlier replacement). The saved backups are tried first in their ranked order; if none
    keeps every rule, the seat is re-solved with the other members fixed: the most relevant
    eligible expert with whom the panel meets every rule (checked by the independent checker)."""
    from expertpool.domain.conflicts import gc_paused
    from expertpool.domain.panel import check_panel

    check(actor, "panel", "替换评审专家")
    if not reason or not reason.strip():
        raise InputError("替换专家必须说明理由（--reason）")
    document = get_panel(store, actor, panel_id)
    members = {m["id"]: m for m in document["members"]}
    if expert_id not in members:  # a number the user knows rather than the id shown
        from expertpool.services.expert_ids import resolve_expert_id

        expert_id = resolve_expert_id(store, expert_id)
    if expert_id not in members:
        raise InputError(f"专家「{expert_id}」不是评审专家组 {panel_id} 的成员")
    with gc_paused():
        _, elig, relevance, candidates, rules, _, _ = _prepare(store, load_spec(None, document["spec"]))
    by_id = {c.id: c for c in candidates}
    remaining = [m for m in members if m != expert_id]
    no_longer = [m for m in remaining if m not in by_id]
    if no_longer:
        raise ExpertPoolError(f"成员 {'、'.join(no_longer)} 在评审日期已不符合条件（诚信、状态、冲突或工作量），"
                              "请重新抽取（expertpool panel build …）")
    fixed = [by_id[m] for m in remaining]
    taken = set(members) | {r["out"] for r in document.get("replaced", [])}
    preferred = document.get("replacements", {}).get(expert_id, [])
    saved_order = list(dict.fromkeys([*preferred, *(b["id"] for b in document["backups"])]))
    by_relevance = sorted((c.id for c in candidates), key=lambda i: (-by_id[i].relevance, i))
    chosen, method = None, "backup"
    for order, label in ((saved_order, "backup"), (by_relevance, "re-solve")):
        for candidate_id in order:
            if candidate_id in taken or candidate_id not in by_id:
                continue
            if not check_panel(remaining + [candidate_id], fixed + [by_id[candidate_id]], rules, elig.forbidden_pairs):
                chosen, method = candidate_id, label
                break
        if chosen:
            break
    if chosen is None:
        raise ExpertPoolError(f"没有能替换 {expert_id} 且满足全部规则的专家（其他成员保持不变）；"
                              "请放宽规则后重新抽取（expertpool panel build …）")
    expert = next(e for e in elig.candidates if e.id == chosen)
    view = _member_view(expert, elig.institutions[chosen], relevance.get(chosen, 0.0),
                        next((v.get("probability") for v in [*document["backups"], *document.get("alternates", [])]
                              if v["id"] == chosen), None))
    before = [m["id"] for m in document["members"]]
    document.setdefault("drawn_members", document["members"])
    document["members"] = [view if m["id"] == expert_id else m for m in document["members"]]
    document["backups"] = [b for b in document["backups"] if b["id"] != chosen]
    at = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    document["replaced"].append({"out": expert_id, "in": chosen, "reason": reason.strip(), "by": actor.user,
                                 "at": at.isoformat(), "method": method})
    with store.batch():
        store.save_panel(panel_id, document)
        audit(store, actor, "panel.replace", target=panel_id, reason=reason.strip(), now=now,
              before={"members": before}, after={"members": [m["id"] for m in document["members"]],
                                                  "out": expert_id, "in": chosen, "method": method})
    return document


EXPORT_HEADERS = ("角色", "序号", "专家编号", "姓名", "所在地区", "市州/区县", "工作单位", "职称", "专业领域", "相关度",
                  "入选概率", "替补对象")


def export_rows(document: dict) -> list[list[object]]:
    """Members, universal backups (can replace anyone), then each member's own replacements in
    the order `panel replace` tries them (替补对象 names the member)."""
    def row(role: str, i: int, m: dict, replaces: str) -> list[object]:
        return [role, i, m["id"], m["name"], m["region"], m.get("sub_region") or "", m["institution"], m["title"],
                "、".join(m["fields"]), m.get("relevance", ""), m.get("probability", ""), replaces]

    rows = [row("成员", i, m, "") for i, m in enumerate(document["members"], 1)]
    rows += [row("备选", i, m, "任一成员") for i, m in enumerate(document["backups"], 1)]
    views = {v["id"]: v for v in (*document.get("alternates", []), *document["backups"])}
    for member in document["members"]:
        for i, rid in enumerate(document.get("replacements", {}).get(member["id"], []), 1):
            if rid in views:
                rows.append(row("替补", i, views[rid], f"{member['id']} {member['name']}"))
    return rows


def export_panel(store: ExpertStore, actor: Actor, panel_id: str, out: Path) -> Path:
    """Write members, backups and replacements (see `export_rows`) to XLSX or CSV (by suffix), atomically."""
    document = get_panel(store, actor, panel_id)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InputError(f"{out}: 只支持导出为 .xlsx 或 .csv")
    from expertpool.services.files import atomic_output

    rows = export_rows(document)
    with atomic_output(out) as tmp:  # whole or not at all, also on a full disk
        if suffix == ".csv":
            with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(EXPORT_HEADERS)
                writer.writerows(rows)
        else:
            from openpyxl import Workbook

            wb = Workbook()
            ws = wb.active
            ws.title = "评审专家组"
            ws.append([f"{document['name']}（{document['id']}）评审日期 {document['spec']['review_date']}，"
                       f"抽取方式 {document['strategy']}，随机种子 {document['seed']}"])
            ws.append(list(EXPORT_HEADERS))
            for row in rows:
                ws.append(row)
            wb.save(tmp)
    return out
