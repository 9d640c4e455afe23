"""How relevant each expert is to the projects under review: the panel draw's relevance.

For each project the store ranks experts twice, and the two scores are added:

- the **focus** — title and keywords — by words and character bigrams (as a search would),
- the **abstract** by words only, weighted `ABSTRACT_WEIGHT`: it is long and says the same
  things about every application, so it may refine the ranking but not lead it.

Words that carry no topic in applications do not count, in either part: the curated list
`indexes/project_stopwords.txt` (成渝地区, 关键技术, 产业, 高质量发展 …) plus the words found in at
least `LEARNED_SHARE` of the projects known to the store (its stored projects and the ones under
review, when there are at least `LEARN_MIN` of them) *and* spread over at least half of their
fields — whatever the application template repeats, never a topic popular in one call.
Bigrams are taken from the focus text with those words cut out.

An expert's relevance to a project is their combined score over the project's best (0..1), and
counts only when they share at least one field with the project (a project listing no field
restricts nobody; a field the panel must cover that no project lists is open to its experts on
relevance alone); their relevance to the review is the best over the projects. Experts beyond
the top `RELEVANCE_DEPTH` of every project score 0.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from expertpool import segment
from expertpool.cache.snapshot import query_terms, rank_index
from expertpool.domain.models import Project
from expertpool.domain.panel import Candidate
from expertpool.stores.base import ExpertStore, SearchFilters, SearchQuery

#: weight of the abstract's words against the title and keywords
ABSTRACT_WEIGHT = 0.5
#: experts beyond this rank of a project score 0 for it
RELEVANCE_DEPTH = 300
#: a word in at least this share of the known projects is application boilerplate …
LEARNED_SHARE = 0.25
#: … learned only from at least this many projects
LEARN_MIN = 10


@dataclass(frozen=True)
class ProjectQueries:
    project_id: str
    fields: frozenset[str]
    focus: SearchQuery | None
    abstract: SearchQuery | None


def curated_stopwords() -> frozenset[str]:
    return segment.STOPWORDS | segment.load_stopwords(segment.INDEXES_DIR / "project_stopwords.txt")


#: text → its query terms (`segment.query_terms`), as `segmented` gives them
Segmented = Mapping[str, Sequence[segment.QueryTerm]]


def segmented(texts: Iterable[str]) -> dict[str, list[segment.QueryTerm]]:
    """The query terms of each text, from the on-disk memo (`cache.snapshot.query_terms`): a new
    process that draws for the same projects again does not load the segmenter (≈ 0.3 s of CPU)."""
    distinct = [t for t in dict.fromkeys(texts) if t]
    return dict(zip(distinct, query_terms(distinct)))


def remember_project_terms(projects: Iterable[Project]) -> None:
    """Segment the texts a draw for `projects` reads (each whole text, its title and keywords, its
    abstract) into the memo now: an import calls it for the stored projects, so the first draw
    after the import, which learns its stop words from all of them, loads no segmenter."""
    projects = list(projects)
    segmented([*(project_text(p) for p in projects), *(focus_text(p) for p in projects),
               *(p.abstract for p in projects)])


def _terms(text: str, known: Segmented | None) -> Sequence[segment.QueryTerm]:
    if not text:
        return []
    found = known.get(text) if known is not None else None
    return found if found is not None else segment.query_terms(text)


def learned_stopwords(projects: Iterable[Project], known: Segmented | None = None) -> frozenset[str]:
    """The template's words: in at least `LEARNED_SHARE` of the (distinct) projects and spread
    over at least half of their fields (at least 3) — a topic word, however common in one call,
    stays within a field or two. None from fewer than `LEARN_MIN` projects. `known`: texts
    already segmented (`segmented`)."""
    distinct = {p.id: p for p in projects}
    df: Counter = Counter()
    spread: dict[str, set[str]] = {}
    for p in distinct.values():
        # a query's tokens are its terms' words (segment.query_terms)
        for word in {t.word for t in _terms(project_text(p), known)}:
            df[word] += 1
            spread.setdefault(word, set()).update(p.fields)
    n = len(distinct)
    if n < LEARN_MIN:
        return frozenset()
    all_fields = {f for p in distinct.values() for f in p.fields}
    wide = max(3, len(all_fields) / 2)
    return frozenset(w for w, k in df.items() if k >= LEARNED_SHARE * n and len(spread[w]) >= wide)


def project_text(project: Project) -> str:
    return " ".join([project.title, " ".join(project.keywords), project.abstract])


def _without(text: str, words: frozenset[str]) -> str:
    """`text` with every occurrence of the (CJK) words of two characters or more cut out, longest
    first (a single character would cut the topic words it is part of)."""
    cjk = [w for w in words if len(w) >= 2 and re.search(r"[\u4e00-\u9fa5]", w)]
    for word in sorted(cjk, key=len, reverse=True):
        if word in text:
            text = text.replace(word, " ")
    return text


def focus_text(project: Project) -> str:
    return " ".join([project.title, *project.keywords])


def ranked_content(project: Project) -> tuple:
    """What a project's queries and ranking depend on (`project_queries`, `learned_stopwords`):
    two projects equal here rank the same, whatever else differs (a team member's resolved id)."""
    return project.id, tuple(project.fields), project.title, tuple(project.keywords), project.abstract


def project_queries(project: Project, stop: frozenset[str], statuses: tuple[str, ...] = ("在库",),
                    known: Segmented | None = None) -> ProjectQueries:
    filters = SearchFilters(statuses=statuses)
    head = focus_text(project)

    def words(text: str) -> tuple[segment.QueryTerm, ...]:
        return tuple(t for t in _terms(text, known) if t.word not in stop)

    focus_terms = words(head)
    grams = tuple(segment.query_grams(_without(head, stop)))
    abstract_terms = words(project.abstract) if project.abstract else ()
    focus = SearchQuery(focus_terms, filters, RELEVANCE_DEPTH, grams=grams) if focus_terms or grams else None
    abstract = SearchQuery(abstract_terms, filters, RELEVANCE_DEPTH) if abstract_terms else None
    return ProjectQueries(project.id, frozenset(project.fields), focus, abstract)


def rank_projects(store: ExpertStore, projects: Sequence[Project], background: Iterable[Project] = (),
                  version: str | None = None, statuses: tuple[str, ...] = ("在库",)
                  ) -> tuple[list[ProjectQueries], list[list[tuple[str, float]]]]:
    """Each project's queries and its ranking ((id, combined score), best first), all in one
    store call; with the data `version`, from the store's rank index of that version."""
    known_projects = [*background, *projects]
    known = segmented([*(project_text(p) for p in known_projects), *(focus_text(p) for p in projects),
                       *(p.abstract for p in projects)])
    stop = curated_stopwords() | learned_stopwords(known_projects, known)
    queries = [project_queries(p, stop, statuses, known) for p in projects]
    asked = [q for pq in queries for q in (pq.focus, pq.abstract) if q is not None]
    if not asked:
        return queries, [[] for _ in projects]
    index = rank_index(store, version) if version is not None else None
    answers = iter(store.rank_many(asked, index=index))
    rankings = []
    for pq in queries:
        combined: dict[str, float] = {}
        if pq.focus is not None:
            combined.update(next(answers))
        if pq.abstract is not None:
            for expert_id, score in next(answers):
                combined[expert_id] = combined.get(expert_id, 0.0) + ABSTRACT_WEIGHT * score
        rankings.append(sorted(combined.items(), key=lambda item: (-item[1], item[0]))[:RELEVANCE_DEPTH])
    return queries, rankings


def relevance_by_project(queries: Sequence[ProjectQueries], rankings: Sequence[Sequence[tuple[str, float]]],
                         expert_fields: Mapping[str, Sequence[str]], require_common_field: bool = True,
                         open_fields: Iterable[str] = ()) -> list[dict[str, float]]:
    """Per project: expert id → relevance in 0..1 (score over the project's best), for the experts
    of `expert_fields` (the candidates), only those sharing a field with it when asked.
    `open_fields`: fields the panel must cover that no project under review lists; an expert of
    one of them cannot share it with any project, and is judged on relevance alone."""
    open_fields = frozenset(open_fields)
    out = []
    for pq, ranked in zip(queries, rankings):
        top = max((score for _, score in ranked), default=0.0)
        scores: dict[str, float] = {}
        if top > 0:
            for expert_id, score in ranked:
                fields = expert_fields.get(expert_id)
                if fields is None:
                    continue
                if (require_common_field and pq.fields and not pq.fields.intersection(fields)
                        and not open_fields.intersection(fields)):
                    continue
                scores[expert_id] = score / top
        out.append(scores)
    return out


def best_relevance(per_project: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each expert's relevance to the review: the best over the projects (an expert qualifies by
    fitting one project under review)."""
    best: dict[str, float] = {}
    for scores in per_project:
        for expert_id, value in scores.items():
            if value > best.get(expert_id, 0.0):
                best[expert_id] = value
    return best


def qualified_ids(candidates: Iterable[Candidate], threshold: float) -> set[str]:
    """The candidates who are *qualified* (relevance ≥ the spec's `relevance_threshold`): the only
    ones the lottery draws, and the only ones who may take a seat afterwards (`panel replace`, the
    automatic 补抽 after a decline), the same rule for every way onto a panel."""
    return {c.id for c in candidates if c.relevance >= threshold}
