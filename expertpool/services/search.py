"""Search, show and stats: Chinese free text plus filters, ranked by the store."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from expertpool import segment
from expertpool.domain import taxonomy
from expertpool.domain.models import Expert
from expertpool.domain.text import mask_email, mask_phone
from expertpool.errors import InputError, NotFound
from expertpool.io.datafiles import load_honours
from expertpool.services import expert_ids as expert_id_service
from expertpool.services.eligibility import barred_on
from expertpool.stores.base import ExpertStore, SearchFilters, SearchHit, SearchQuery


#: More results than any pool holds; a larger --limit is a typing error (and would overflow SQLite).
MAX_SEARCH_LIMIT = 100_000


@dataclass(frozen=True)
class SearchRequest:
    text: str = ""
    fields: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    honours: tuple[str, ...] = ()
    institutions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    limit: int = 20
    offset: int = 0
    #: only experts who may review on this date (`--eligible-on`; the rules of `SEARCH_RULES`)
    eligible_on: str | dt.date | None = None


@dataclass
class SearchResult:
    hits: list[SearchHit]
    terms: list[segment.QueryTerm]
    filters: SearchFilters
    excluded: dict[str, list[str]] = field(default_factory=dict)  # expert id → reasons (e.g. integrity)


def _normalise_all(kind: str, values, fn) -> tuple[str, ...]:
    out = []
    for value in values:
        try:
            out.append(fn(value))
        except taxonomy.UnknownValue as exc:
            raise InputError(f"--{kind}: {exc}") from None
    return tuple(dict.fromkeys(out))


def build_filters(request: SearchRequest, exclude_ids: frozenset[str] = frozenset()) -> SearchFilters:
    """Normalise filter values through the vocabularies; an unknown value is an error, not a guess."""
    return SearchFilters(
        fields=_normalise_all("field", request.fields, taxonomy.normalise_field),
        regions=_normalise_all("region", request.regions, taxonomy.normalise_region),
        titles=_normalise_all("title", request.titles, taxonomy.normalise_title),
        honours=tuple(dict.fromkeys(load_honours().normalise(h)[0] for h in request.honours)),
        institutions=tuple(request.institutions),
        statuses=_normalise_all("status", request.statuses, taxonomy.normalise_status),
        exclude_ids=exclude_ids,
    )


def search_experts(store: ExpertStore, request: SearchRequest,
                   exclude: dict[str, list[str]] | None = None) -> SearchResult:
    """Rank experts for the request. `exclude` maps expert ids to the reasons they are left out;
    with `request.eligible_on` and no `exclude`, those are the experts barred on that date."""
    if not 1 <= request.limit <= MAX_SEARCH_LIMIT:
        raise InputError(f"--limit 应为 1 到 {MAX_SEARCH_LIMIT} 之间的整数（现为 {request.limit}）")
    if not 0 <= request.offset <= MAX_SEARCH_LIMIT:
        raise InputError(f"offset 应为 0 到 {MAX_SEARCH_LIMIT} 之间的整数（现为 {request.offset}）")
    if exclude is None and request.eligible_on is not None:
        exclude = barred_on(store, request.eligible_on)
    exclude = exclude or {}
    terms = segment.query_terms(request.text)
    if request.text.strip() and not terms:
        raise InputError(f"查询「{request.text}」分词后没有可检索的词（只含停用词或标点）")
    filters = build_filters(request, frozenset(exclude))
    hits = store.search(SearchQuery(tuple(terms), filters, request.limit, request.offset))
    return SearchResult(hits, terms, filters, exclude)


def get_expert(store: ExpertStore, expert_id: str) -> Expert:
    """The expert a user names: its id, either list's number, or `四川:SC000225` (see expert_ids)."""
    return expert_id_service.get_expert(store, expert_id)


def expert_view(expert: Expert, *, personal_data: bool, identity: bool = False) -> dict:
    """The expert as shown to a user: phone and e-mail masked unless `personal_data`
    (`actor.may("personal_data")`), the identity number's last 4 unless `identity`
    (`actor.may("identity")`). The identity hash is never shown."""
    data = expert.model_dump(mode="json", exclude={"id_hash"})
    data["high_level"] = load_honours().is_high_level(expert.honours)
    if not personal_data:
        data["phone"] = mask_phone(expert.phone)
        data["email"] = mask_email(expert.email)
    if not identity:
        data["id_last4"] = "****" if expert.id_last4 else None
    return data


def hit_view(hit: SearchHit) -> dict:
    e = hit.expert
    return {"id": e.id, "name": e.name, "region": e.region, "sub_region": e.sub_region,
            "institution": e.institution, "title": e.title, "fields": e.fields, "honours": e.honours,
            "keywords": e.keywords, "status": e.status, "score": round(hit.score, 4), "matched": list(hit.matched)}


@dataclass
class PoolStats:
    total: int
    region_field: dict[str, dict[str, int]]   # region → field → experts listing it
    primary_field: dict[str, dict[str, int]]  # region → primary field → experts
    titles: dict[str, dict[str, int]]         # region → title → experts
    honours: dict[str, int]
    high_level: int
    statuses: dict[str, int]
    merged: int                               # experts present in both provinces' lists

    def to_json(self) -> dict:
        return self.__dict__.copy()


def pool_stats(store: ExpertStore) -> PoolStats:
    region_field = {r: Counter() for r in taxonomy.REGIONS}
    primary = {r: Counter() for r in taxonomy.REGIONS}
    titles = {r: Counter() for r in taxonomy.REGIONS}
    honours: Counter = Counter()
    statuses: Counter = Counter()
    total = high = merged = 0
    vocabulary = load_honours()
    for e in store.iter_experts():
        total += 1
        for f in e.fields:
            region_field[e.region][f] += 1
        primary[e.region][e.primary_field] += 1
        titles[e.region][e.title] += 1
        honours.update(e.honours)
        statuses[e.status] += 1
        high += vocabulary.is_high_level(e.honours)
        merged += len(e.source_ids) > 1

    def ordered(counter: Counter, keys) -> dict[str, int]:
        return {k: counter.get(k, 0) for k in keys}

    return PoolStats(
        total=total,
        region_field={r: ordered(c, taxonomy.FIELDS) for r, c in region_field.items()},
        primary_field={r: ordered(c, taxonomy.FIELDS) for r, c in primary.items()},
        titles={r: ordered(c, taxonomy.TITLES) for r, c in titles.items()},
        # known honours in the vocabulary's order, then those kept as written, most held first
        honours={**ordered(honours, vocabulary.names),
                 **{k: n for k, n in honours.most_common() if k not in vocabulary.names}},
        high_level=high,
        statuses=ordered(statuses, taxonomy.STATUSES),
        merged=merged,
    )
