"""Chinese word segmentation, the one module used at index time and at query time.

Index text is cut in jieba's search mode (a long word and its dictionary sub-words, so
钒钛新材料 also indexes 钒钛 and 新材料); queries are cut in precise mode and each term is
expanded with its synonyms. The domain dictionary and the synonym groups are data under
`indexes/` (`userdict.txt`, `synonyms.txt`).

The engine is rjieba (the jieba-rs binding, ~15× faster) fed the same user dictionary;
`jieba` is the reference implementation, and `tests/test_segment.py` checks that both give
identical tokens on the sample corpus. `EXPERTPOOL_SEGMENTER=jieba` forces the reference.
Besides the curated `userdict.txt`, word lists from outside sources live under
`indexes/dictionaries/` (e.g. CC-CEDICT's technical vocabulary jieba lacks), each with its
provenance and licence in its header.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Protocol

from expertpool.chars import to_halfwidth

INDEXES_DIR = Path(os.environ.get("EXPERTPOOL_INDEXES", Path(__file__).resolve().parent.parent / "indexes"))


def load_stopwords(path: Path | None = None) -> frozenset[str]:
    """Words that carry no topic (`indexes/stopwords.txt`: whitespace-separated, '#' comments)."""
    path = path or INDEXES_DIR / "stopwords.txt"
    words: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        words.update(normalise_token(w) for w in line.split("#", 1)[0].split())
    return frozenset(words)


_WORD_CHAR = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)


class Segmenter(Protocol):
    def cut(self, text: str) -> list[str]: ...
    def cut_for_search(self, text: str) -> list[str]: ...


@dataclass(frozen=True)
class UserWord:
    word: str
    freq: int
    tag: str | None


def load_user_dictionary(path: Path | None = None) -> list[UserWord]:
    """Read `word freq [tag]` lines (jieba's user-dictionary format); '#' starts a comment."""
    path = path or INDEXES_DIR / "userdict.txt"
    words: list[UserWord] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 else 1000
        words.append(UserWord(parts[0], freq, parts[2] if len(parts) > 2 else None))
    return words


def load_synonyms(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Read comma-separated synonym groups; map each folded member to the whole group."""
    path = path or INDEXES_DIR / "synonyms.txt"
    groups: dict[str, tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        members = tuple(dict.fromkeys(normalise_token(m) for m in re.split(r"[,，]", line) if m.strip()))
        for member in members:
            groups[member] = tuple(dict.fromkeys(groups.get(member, ()) + members))
    return groups


def load_dictionaries() -> list[UserWord]:
    """Every dictionary the segmenter uses: the word lists under `indexes/dictionaries/` (real
    vocabulary from outside sources, each file naming its provenance), then the curated domain
    dictionary `indexes/userdict.txt`, whose frequencies win where a word is in both."""
    words: list[UserWord] = []
    folder = INDEXES_DIR / "dictionaries"
    if folder.is_dir():
        for path in sorted(folder.glob("*.txt")):
            words += load_user_dictionary(path)
    return words + load_user_dictionary()


class _JiebaSegmenter:
    """The reference: jieba with its own tokenizer instance (no global state shared)."""

    def __init__(self, words: list[UserWord]):
        import jieba
        import logging

        jieba.setLogLevel(logging.WARNING)
        self._tk = jieba.Tokenizer()
        for w in words:
            self._tk.add_word(w.word, w.freq, w.tag)

    def cut(self, text: str) -> list[str]:
        return list(self._tk.cut(text, HMM=True))

    def cut_for_search(self, text: str) -> list[str]:
        return list(self._tk.cut_for_search(text, HMM=True))


class _RJiebaSegmenter:
    def __init__(self, words: list[UserWord]):
        import rjieba

        self._jb = rjieba.Jieba()
        for w in words:
            self._jb.add_word(w.word, w.freq, w.tag)

    def cut(self, text: str) -> list[str]:
        return self._jb.cut(text, True)

    def cut_for_search(self, text: str) -> list[str]:
        return self._jb.cut_for_search(text, True)


ENGINES: dict[str, Callable[[list[UserWord]], Segmenter]] = {
    "rjieba": _RJiebaSegmenter,
    "jieba": _JiebaSegmenter,
}


@lru_cache(maxsize=4)
def get_segmenter(engine: str | None = None) -> Segmenter:
    engine = engine or os.environ.get("EXPERTPOOL_SEGMENTER", "rjieba")
    if engine not in ENGINES:
        raise ValueError(f"unknown segmenter {engine!r}; choose one of {sorted(ENGINES)}")
    return ENGINES[engine](load_dictionaries())


@lru_cache(maxsize=1)
def synonyms() -> dict[str, tuple[str, ...]]:
    return load_synonyms()


@lru_cache(maxsize=1)
def _long_user_words() -> frozenset[str]:
    return frozenset(normalise_token(w.word) for w in load_dictionaries() if len(w.word) >= 4)


def _long_parts(token: str, words: frozenset[str]) -> list[str]:
    """Domain-dictionary words of 4+ characters inside a longer token. jieba's search mode adds only
    2- and 3-character parts, so 锂离子电池正极材料 would otherwise never index 锂离子电池 or 正极材料."""
    n = len(token)
    return [token[i:j] for i in range(n) for j in range(i + 4, min(n, i + 12) + 1)
            if (j - i) < n and token[i:j] in words]


def normalise_token(token: str) -> str:
    return to_halfwidth(token).strip().lower()


#: Tokens that carry no topical meaning (punctuation and whitespace are dropped separately); kept
#: as data, so the word index and the query side always drop the same words.
STOPWORDS = load_stopwords()


def _keep(token: str) -> bool:
    return bool(token) and token not in STOPWORDS and bool(_WORD_CHAR.search(token))


_TOKEN_CACHE: dict[str, str | None] = {}


def _index_form(raw: str) -> str | None:
    """The normalised token, or None when it is not worth indexing. Cached: tokens repeat a lot."""
    try:
        return _TOKEN_CACHE[raw]
    except KeyError:
        token = normalise_token(raw)
        kept = token if _keep(token) else None
        if len(_TOKEN_CACHE) < 500_000:
            _TOKEN_CACHE[raw] = kept
        return kept


def index_tokens(text: str, engine: str | None = None) -> list[str]:
    """Tokens to index for `text` (search mode: long words plus their dictionary sub-words)."""
    if not text:
        return []
    return _index_tokens(text, engine)


# Both engines cut each run of word characters (CJK, ASCII letters and digits, +#&._%-) on its
# own and emit whatever lies between runs one character at a time, and `_keep` drops those
# characters. So a text cut at these separators gives the same tokens piece by piece, and the
# pieces (institutions, fields, keywords, clauses of a research text) repeat across experts far
# more than whole texts do.
_PIECE_SEPARATORS = re.compile(r"[\s,;:!?()\[\]{}<>\"'/|、。；：，！？（）【】《》〈〉「」『』“”‘’·…—~]+")
#: engine → piece → (its tokens, or None when one has long parts; ((token, long parts), ...));
#: bounded like `_TOKEN_CACHE`
_PIECE_CACHE: dict[str | None, dict[str, tuple[tuple[str, ...] | None, tuple[tuple[str, tuple[str, ...]], ...]]]] = {}


def _cut_piece(piece: str, engine: str | None, cache: dict):
    long_words = _long_user_words()
    items = []
    for raw in get_segmenter(engine).cut_for_search(piece):
        token = _index_form(raw)
        if token is not None:
            items.append((token, tuple(_long_parts(token, long_words)) if len(token) >= 5 else ()))
    plain = None if any(parts for _, parts in items) else tuple(token for token, _ in items)
    result = (plain, tuple(items))
    if len(cache) < 500_000:
        cache[piece] = result
    return result


def _index_tokens(text: str, engine: str | None) -> list[str]:
    cache = _PIECE_CACHE.get(engine)
    if cache is None:
        cache = _PIECE_CACHE.setdefault(engine, {"": ((), ())})  # split() leaves "" at the ends
    out: list[str] = []
    seen: set[str] | None = None  # built only once a long part needs de-duplicating against `out`
    for piece in _PIECE_SEPARATORS.split(to_halfwidth(text)):
        entry = cache.get(piece)
        if entry is None:
            entry = _cut_piece(piece, engine, cache)
        plain, items = entry
        if plain is not None:
            out.extend(plain)
            if seen is not None:
                seen.update(plain)
            continue
        for token, parts in items:
            if parts:
                if seen is None:
                    seen = set(out)
                for part in parts:
                    if part not in seen:
                        out.append(part)
                        seen.add(part)
            out.append(token)
            if seen is not None:
                seen.add(token)
    return out


def query_tokens(text: str, engine: str | None = None) -> list[str]:
    """Tokens of a query (precise mode), de-duplicated in order."""
    if not text:
        return []
    seg = get_segmenter(engine)
    tokens = (normalise_token(t) for t in seg.cut(to_halfwidth(text)))
    return list(dict.fromkeys(t for t in tokens if _keep(t)))


def ignored_words(text: str, engine: str | None = None) -> list[str]:
    """The stop words a query contains (precise mode): not searched for, but reported."""
    if not text:
        return []
    seg = get_segmenter(engine)
    tokens = (normalise_token(t) for t in seg.cut(to_halfwidth(text)))
    return list(dict.fromkeys(t for t in tokens if t in STOPWORDS))


@dataclass(frozen=True)
class QueryTerm:
    """One query word and the alternatives any of which satisfies it (the word first)."""
    word: str
    alternatives: tuple[str, ...]


def query_terms(text: str, engine: str | None = None) -> list[QueryTerm]:
    """Precise-mode query tokens, each expanded with its synonym group."""
    table = synonyms()
    terms = []
    for token in query_tokens(text, engine):
        alts = (token,) + tuple(a for a in table.get(token, ()) if a != token)
        terms.append(QueryTerm(token, alts))
    return terms


# CJK ideographs of Unicode 1.1 (what FTS5's tokenizer keeps as written everywhere); rarer ones
# are left out of the bigrams at index and query time alike
_CJK_RUN = re.compile(r"[\u4e00-\u9fa5]+")


def char_bigrams(text: str) -> list[str]:
    """Overlapping CJK character bigrams (a lone character as itself), what Elasticsearch's `cjk`
    analyser makes of Chinese: the recall path for words the dictionary lacks."""
    out: list[str] = []
    for run in _CJK_RUN.findall(to_halfwidth(text)):
        if len(run) == 1:
            out.append(run)
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return out


def query_grams(text: str) -> list[str]:
    """The distinct character bigrams of a query, in order."""
    return list(dict.fromkeys(char_bigrams(text)))
