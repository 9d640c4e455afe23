"""Search, show and stats: Chinese free text plus filters, ranked by the store.

Defaults a program officer expects: only experts 在库 unless `--status` says otherwise (全部: any
status); an institution filter names a legal unit and finds it under every name the alias table
(`indexes/institutions.toml`) knows, as conflict checks do. Every query word is accounted for in
`SearchResult.words`: matched, matched through a synonym, matched only through its character
bigrams, not found, or ignored as a stop word — nothing is dropped silently.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from expertpool import segment
from expertpool.domain import taxonomy
from expertpool.domain.models import Expert
from expertpool.domain.text import mask_email, mask_phone
from expertpool.domain.institutions import unit_key
from expertpool.errors import InputError
from expertpool.io.datafiles import load_honours, load_institutions
from expertpool.services import expert_ids as expert_id_service
from expertpool.services.eligibility import barred_on
from expertpool.stores.base import ExpertStore, SearchFilters, SearchHit
from expertpool.stores.textindex import query_for

#: the status filter when the request names none
DEFAULT_STATUSES: tuple[str, ...] = ("在库",)
#: a `--status` value meaning: any status
ANY_STATUS = "全部"

#: how a query word was matched (WordReport.status) → how the CLI says it
WORD_STATUSES: dict[str, str] = {
    "matched": "命中",
    "synonym": "按同义词命中",
    "bigrams": "库中无此词，按字词命中",
    "not_found": "未找到",
    "ignored": "停用词，未参与检索",
}


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


@dataclass(frozen=True)
class WordReport:
    """What became of one query word."""
    word: str
    status: str                  # a key of WORD_STATUSES
    via: tuple[str, ...] = ()    # the synonyms or bigrams it matched through
    experts: int = 0             # experts in the store holding the word (or what it matched through)

    def to_json(self) -> dict:
        return {"word": self.word, "status": self.status, "label": WORD_STATUSES[self.status],
                "via": list(self.via), "experts": self.experts}


@dataclass
class SearchResult:
    hits: list[SearchHit]
    terms: list[segment.QueryTerm]
    filters: SearchFilters
    excluded: dict[str, list[str]] = field(default_factory=dict)  # expert id → reasons (e.g. integrity)
    words: list[WordReport] = field(default_factory=list)

    @property
    def unmatched(self) -> list[str]:
        """Query words no expert in the store holds, whole or through a synonym or bigram."""
        return [w.word for w in self.words if w.status == "not_found"]


def _normalise_all(kind: str, values, fn) -> tuple[str, ...]:
    out = []
    for value in values:
        try:
            out.append(fn(value))
        except taxonomy.UnknownValue as exc:
            raise InputError(f"--{kind}: {exc}") from None
    return tuple(dict.fromkeys(out))


def build_filters(request: SearchRequest, exclude_ids: frozenset[str] = frozenset(),
                  institutions: tuple[str, ...] | None = None) -> SearchFilters:
    """Normalise filter values through the vocabularies; an unknown value is an error, not a guess.
    No status given means 在库; `全部` means any. `institutions`: the stored names the request's
    institutions resolve to (see `resolve_institutions`); by default the names as given."""
    statuses = tuple(s for s in request.statuses if s.strip() != ANY_STATUS)
    if not request.statuses:
        statuses = DEFAULT_STATUSES
    return SearchFilters(
        fields=_normalise_all("field", request.fields, taxonomy.normalise_field),
        regions=_normalise_all("region", request.regions, taxonomy.normalise_region),
        titles=_normalise_all("title", request.titles, taxonomy.normalise_title),
        honours=tuple(dict.fromkeys(load_honours().normalise(h)[0] for h in request.honours)),
        institutions=tuple(request.institutions) if institutions is None else institutions,
        statuses=_normalise_all("status", statuses, taxonomy.normalise_status),
        exclude_ids=exclude_ids,
    )


def resolve_institutions(store: ExpertStore, names: tuple[str, ...]) -> tuple[str, ...]:
    """Every institution name stored on an expert that is the same legal unit as one of `names`
    (川大 and 四川大学华西医院 for 四川大学), plus the names as given."""
    if not names:
        return ()
    table = load_institutions()
    wanted = {unit_key(unit) for unit in (table.normalise(n) for n in names) if unit}
    stored = [n for n in store.institution_names() if (unit := table.normalise(n)) and unit_key(unit) in wanted]
    return tuple(dict.fromkeys([*names, *stored]))


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
    filters = build_filters(request, frozenset(exclude), resolve_institutions(store, tuple(request.institutions)))
    query = query_for(request.text, filters, request.limit, request.offset)
    ignored = segment.ignored_words(request.text)
    if request.text.strip() and not query.terms:
        raise InputError(f"查询「{request.text}」分词后没有可检索的词（只含停用词或标点）")
    hits = store.search(query)
    words = word_report(store, list(query.terms), ignored) if request.text.strip() else []
    return SearchResult(hits, list(query.terms), filters, exclude, words)


def word_report(store: ExpertStore, terms: list[segment.QueryTerm], ignored: list[str]) -> list[WordReport]:
    """What became of each query word, from how many experts hold it (or its synonyms, or its
    bigrams) in the whole store."""
    alternatives = list(dict.fromkeys(a for t in terms for a in t.alternatives))
    grams = list(dict.fromkeys(g for t in terms for g in segment.char_bigrams(t.word)))
    counts = store.term_counts(alternatives, grams)
    out: list[WordReport] = []
    for term in terms:
        if not term.alternatives:  # nothing FTS5 would keep of it (a number, a stray symbol)
            out.append(WordReport(term.word, "ignored"))
            continue
        if counts.words.get(term.word, 0):
            out.append(WordReport(term.word, "matched", (), counts.words[term.word]))
            continue
        synonyms = tuple(a for a in term.alternatives if a != term.word and counts.words.get(a, 0))
        if synonyms:
            out.append(WordReport(term.word, "synonym", synonyms, max(counts.words[a] for a in synonyms)))
            continue
        pairs = tuple(g for g in dict.fromkeys(segment.char_bigrams(term.word)) if counts.grams.get(g, 0))
        if pairs:
            out.append(WordReport(term.word, "bigrams", pairs, max(counts.grams[g] for g in pairs)))
        else:
            out.append(WordReport(term.word, "not_found"))
    out += [WordReport(word, "ignored") for word in ignored]
    return out


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


def hit_view(hit: SearchHit, terms: list[segment.QueryTerm] | None = None) -> dict:
    """One hit as shown: the expert's public attributes, the score, and which query words it
    matched whole (`matched`), only through some of their bigrams (`partial`), or not at all
    (`unmatched`)."""
    e = hit.expert
    partial = dict(hit.partial)
    return {"id": e.id, "name": e.name, "region": e.region, "sub_region": e.sub_region,
            "institution": e.institution, "title": e.title, "fields": e.fields, "honours": e.honours,
            "keywords": e.keywords, "status": e.status, "score": round(hit.score, 4), "matched": list(hit.matched),
            "partial": {w: list(g) for w, g in partial.items()}, "name_matched": hit.name_matched,
            "unmatched": [t.word for t in terms or () if t.word not in hit.matched and t.word not in partial]}


def result_view(result: SearchResult) -> dict:
    """The `--json` document: what became of each query word, and the hits."""
    return {"words": [w.to_json() for w in result.words],
            "unmatched": result.unmatched,
            "hits": [hit_view(h, result.terms) for h in result.hits]}


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
