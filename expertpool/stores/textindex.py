"""What text of an expert is indexed, and how it is scored. Shared by both stores.

An expert's score for a query is the sum of three parts, the same in both stores:

- **words**: BM25 of the query's dictionary words (jieba precise mode, each with its synonyms)
  against the expert's topic text cut in jieba's search mode: keywords, research interests,
  fields and discipline in one field, keywords written `WORD_REPEATS` times (term frequency and
  length both count them so: BM25F with integer weights, which Elasticsearch and FTS5 compute
  alike on one field). Stop words (`indexes/stopwords.txt`) are in neither.
- **grams**: BM25 of the query's character bigrams against the bigrams of the same topic text,
  weighted `GRAM_WEIGHT`: the recall path for words the dictionary lacks (动力电池 still finds
  锂离子电池 through 电池), low enough that a dictionary word matched whole outweighs its bigrams.
- **name**: `NAME_SCORE` when the query (or one of its whitespace-separated parts) is the
  expert's whole name. Names are never cut into words: a topic word such as 黄龙 (from
  柑橘黄龙病) never scores on a person named 黄龙飞. The institution is not topic text either;
  filter on it instead (`--institution`).

Text arrives pre-segmented in both stores: space-separated tokens.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from expertpool import segment
from expertpool.domain.models import Expert
from expertpool.stores.base import SearchFilters, SearchQuery

#: Version of what `index_text` produces and how it is scored; a store whose text index was built
#: by another version rebuilds it (SQLite) or asks for `index rebuild` (Elasticsearch).
TEXT_INDEX_VERSION = "2"

#: topic column → how many times its tokens are written into the words and grams fields.
#: Keywords are the expert's own short statement of expertise and count twice.
WORD_REPEATS: dict[str, int] = {"keywords": 2, "research": 1, "fields": 1, "discipline": 1}
#: weight of the bigram part against the word part. 0.5 is exact in binary floating point, so
#: `words + 0.5 * grams` comes out bit for bit the same in SQL and in `fts_rank`.
GRAM_WEIGHT = 0.5
#: added when the query names the expert: a whole-name match ranks above any topic match
NAME_SCORE = 1000.0


@dataclass(frozen=True)
class IndexedText:
    name: str    # the whole name, normalised (one token)
    words: str   # space-separated jieba search-mode tokens of the topic text
    grams: str   # space-separated character bigrams of the topic text


def topic_texts(expert: Expert) -> dict[str, str]:
    return {
        "keywords": "；".join(expert.keywords),
        "research": expert.research,
        "fields": " ".join(expert.fields),
        "discipline": expert.discipline or "",
    }


def index_text(expert: Expert) -> IndexedText:
    words: list[str] = []
    grams: list[str] = []
    for column, text in topic_texts(expert).items():
        if not text:
            continue
        tokens = segment.index_tokens(text)
        pairs = segment.char_bigrams(text)
        for _ in range(WORD_REPEATS[column]):
            words.extend(tokens)
            grams.extend(pairs)
    return IndexedText(name_token(expert.name), " ".join(words), " ".join(grams))


def name_token(name: str) -> str:
    """A name as one token: normalised, inner whitespace removed."""
    return "".join(segment.normalise_token(name).split())


def name_candidates(text: str) -> tuple[str, ...]:
    """What a query could be naming: the whole text and each whitespace-separated part."""
    parts = [segment.normalise_token(p) for p in text.split()]
    return tuple(dict.fromkeys(p for p in [name_token(text), *parts] if p))


@dataclass(frozen=True)
class Matches:
    """What of the query one expert matched."""
    words: tuple[str, ...]                     # query words (QueryTerm.word) matched whole or by a synonym
    partial: tuple[tuple[str, tuple[str, ...]], ...]  # query words matched only through some of their bigrams
    name: bool = False


def matches(terms: Sequence[segment.QueryTerm], words: str, grams: str, name_matched: bool = False) -> Matches:
    """Which query words an expert's indexed text holds: whole (any alternative), or only some
    of their bigrams."""
    tokens = set(words.split())
    pairs = set(grams.split())
    whole: list[str] = []
    partial: list[tuple[str, tuple[str, ...]]] = []
    for term in terms:
        if any(a in tokens for a in term.alternatives):
            whole.append(term.word)
            continue
        found = tuple(g for g in _word_grams(term.word) if g in pairs)
        if found:
            partial.append((term.word, found))
    return Matches(tuple(whole), tuple(partial), name_matched)


@lru_cache(maxsize=4096)
def _word_grams(word: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(segment.char_bigrams(word)))


def word_alternatives(terms: Iterable[segment.QueryTerm]) -> list[str]:
    """Every alternative of every term, once, in order (blank ones dropped): the words searched."""
    return list(dict.fromkeys(a for t in terms for a in t.alternatives if a.strip()))


def query_for(text: str, filters: SearchFilters | None = None, limit: int = 20, offset: int = 0, *,
              grams: bool = True) -> SearchQuery:
    """The `SearchQuery` for free text: its words (with synonyms, stop words dropped), its
    bigrams, and the whole names it may be. `grams=False` leaves the bigram part out."""
    terms = tuple(segment.QueryTerm(t.word, _plain_alternatives(t.alternatives)) for t in segment.query_terms(text))
    return SearchQuery(terms, filters or SearchFilters(), limit, offset,
                       grams=tuple(segment.query_grams(text)) if grams else (),
                       names=name_candidates(text) if text.strip() else ())


_PLAIN_PIECES = re.compile(r"[0-9a-z\u4e00-\u9fa5]+")


def _plain_alternatives(alternatives: Sequence[str]) -> tuple[str, ...]:
    """Alternatives as the tokens FTS5 keeps whole (lower-case ASCII letters and digits, CJK): a word
    such as β-乳球蛋白 or 0.5 becomes its pieces (乳球蛋白), bare numbers dropped. FTS5 would cut it so
    anyway, and with plain words only both stores (and the SQLite rank index) score every query."""
    out: list[str] = []
    for alt in alternatives:
        if " " in alt.strip() or _PLAIN_PIECES.fullmatch(alt):
            out.append(alt)  # a phrase of several tokens stays a phrase
            continue
        out += [p for p in _PLAIN_PIECES.findall(alt) if not p.isdigit()]
    return tuple(dict.fromkeys(out))
