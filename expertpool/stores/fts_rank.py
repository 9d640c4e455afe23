"""FTS5's bm25 ranking computed from a copy of the index, for many rankings on the same data.

A panel draw ranks 20 long project texts; each matches nearly every expert, and FTS5 scores
every matching row (≈ 100 ms a query on 32,000 experts). `RankIndex` reads what bm25 reads out
of the store's two FTS5 tables once (the words and the bigrams, see `textindex`) — per term the
rows holding it with their frequency, per row its length, the row count and average length — and
keeps each (term, row)'s share of the score, so a query is a few numpy additions. The arithmetic
is FTS5's own (fts5_aux.c, fts5Bm25Function), operation by operation in the same order, and the
parts are combined as the store's SQL combines them
(`((words + GRAM_WEIGHT * grams) + weight * feedback of each weight) + name`), so
scores are bit-identical to the SQL path; `build` checks that on probe queries against SQLite
and gives up (None: rank in SQL) if they differ.

Only what is certain to be the same is answered here: queries whose every alternative and bigram
is a plain lowercase ASCII/CJK word (one FTS5 token, as written) and whose only filter is on
status. Other queries return None and the store runs them in SQL.

The index is a snapshot: `key` names the store state it was copied from (this module's format,
the store's text generation, each FTS5 table's structure and averages records), and the store
uses it only while its own key is the same.
"""
from __future__ import annotations

import math
import re
import sqlite3
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain

from expertpool.gcpause import gc_paused
from expertpool.segment import QueryTerm
from expertpool.stores.base import SearchQuery
from expertpool.stores.textindex import GRAM_WEIGHT, NAME_SCORE, word_alternatives

#: part of every key: bump when RankIndex changes shape or meaning, so older copies (cached on
#: disk per store, `cache.snapshot.rank_index`) are rebuilt, never used. 3: pickled without its
#: speed tables (`__getstate__`), grams postings scored in one pass with single characters
FORMAT = 3
#: rows of an FTS table read (and their words numbered) at a time when building
READ_BATCH = 2000
#: fts5_aux.c bm25 constants
K1 = 1.2
B = 0.75

#: a word FTS5's unicode61 tokenizer (remove_diacritics 0) keeps whole and unchanged: lowercase
#: ASCII letters, digits and CJK ideographs of Unicode 1.1 (assigned in every table FTS5 ships)
_PLAIN_WORD = re.compile(r"[0-9a-z\u4e00-\u9fa5]+")
_PLAIN_TEXT = re.compile(r"[0-9a-z\u4e00-\u9fa5 ]*")
_NOT_JOINED = 255  # status code of an FTS row with no experts row (the SQL join drops it)


def is_plain(token: str) -> bool:
    """Whether FTS5 keeps `token` as one token exactly as written."""
    return _PLAIN_WORD.fullmatch(token) is not None


def _varints(blob: bytes) -> list[int]:
    """SQLite varints (FTS5's averages and docsize records)."""
    out, i, n = [], 0, len(blob)
    while i < n:
        value = 0
        for k in range(9):
            byte = blob[i]
            i += 1
            if k == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        out.append(value)
    return out


def store_key(db: sqlite3.Connection, tables: Sequence[str], generation_keys: Sequence[str]) -> str:
    """The state a rank index depends on (and this module's format), read in one statement, so
    as of one moment."""
    metas = ", ".join("(SELECT value FROM meta WHERE key = ?)" for _ in generation_keys)
    blocks = ", ".join(f"(SELECT block FROM {t}_data WHERE id = 10), (SELECT block FROM {t}_data WHERE id = 1)"
                       for t in tables)
    row = db.execute(f"SELECT {metas}, {blocks}", list(generation_keys)).fetchone()
    generations, blobs = row[:len(generation_keys)], row[len(generation_keys):]
    return "|".join([f"format {FORMAT}", *(str(g) for g in generations), *(bytes(b or b"").hex() for b in blobs)])


@dataclass
class Postings:
    """One FTS5 table's share of the score: each (term, row)'s bm25 contribution."""
    terms: dict[str, int]       # token → term number
    starts: array               # term number → its first posting; starts[-1] = number of postings
    docs: array                 # postings: positions, ascending within a term
    #: postings: what the term adds to the row's bm25, idf * (f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl))
    #: with f the count in the row and D its length; one product, as fts5 forms it
    gains: array

    def rows_holding(self, term: str) -> int:
        number = self.terms.get(term)
        return 0 if number is None else self.starts[number + 1] - self.starts[number]

    def mark(self, rows, phrases: Sequence[str]) -> None:
        """Set `rows` (a boolean array) at every row holding one of the phrases."""
        import numpy as np

        docs = np.frombuffer(self.docs, dtype=np.int32)
        for phrase in phrases:
            term = self.terms.get(phrase)
            if term is not None:
                rows[docs[self.starts[term]:self.starts[term + 1]]] = True

    def scores(self, phrases: Sequence[str], n: int):
        """The phrases' bm25 per row (n rows), summed phrase by phrase in order as fts5 sums them:
        one bincount over the phrases' postings laid end to end adds each row's shares in that
        order, starting from 0.0, as `score[docs] += gains` phrase after phrase would (and much
        faster for the long postings of single characters)."""
        import numpy as np

        docs = np.frombuffer(self.docs, dtype=np.int32)
        gains = np.frombuffer(self.gains, dtype=np.float64)
        spans = [(self.starts[t], self.starts[t + 1]) for t in (self.terms.get(p) for p in phrases) if t is not None]
        if not spans:  # no row holds any of them: each adds 0.0 to every score
            return np.zeros(n, dtype=np.float64)
        rows = np.concatenate([docs[lo:hi] for lo, hi in spans])
        shares = np.concatenate([gains[lo:hi] for lo, hi in spans])
        return np.bincount(rows, weights=shares, minlength=n)


@dataclass
class RankIndex:
    key: str
    ids: list[str | None]       # expert id per position (id order; None: no experts row)
    names: list[str]            # expert name_key per position ("" without an experts row)
    statuses: tuple[str, ...]   # status names; status_codes index them
    status_codes: bytes         # per position
    words: Postings
    grams: Postings

    def __getstate__(self) -> dict:
        """Pickled without the tables and results it keeps for speed (`_…`): they are rebuilt."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def _by_name(self) -> dict[str, list[int]]:
        table = self.__dict__.get("_names_table")
        if table is None:
            table = {}
            for position, name in enumerate(self.names):
                if name:
                    table.setdefault(name, []).append(position)
            self.__dict__["_names_table"] = table
        return table

    def _query_part(self, words: list[str], grams: list[str], matching: list[str]):
        """(score, matched) of the query's own words and grams. The last one is kept: a search
        with feedback ranks the same query twice, the second time with feedback words added."""
        key = (tuple(words), tuple(grams), tuple(matching))
        last = self.__dict__.get("_last_part")
        if last is not None and last[0] == key:
            return last[1], last[2]
        n = len(self.ids)
        score = self.words.scores(words, n)
        matched = score > 0.0  # every match scores > 0
        if grams:
            part = self.grams.scores(grams, n)
            self.grams.mark(matched, matching)
            score = score + GRAM_WEIGHT * part  # (words + 0.5 * grams), as the SQL adds them
        self.__dict__["_last_part"] = (key, score, matched)  # one assignment: safe between threads
        return score, matched

    def rank(self, query) -> list[tuple[str, float]] | None:
        """(id, score) pairs as `search` orders them, or None when this query must go to SQL."""
        import numpy as np

        filters = query.filters
        if (not query.ranked or query.limit < 0 or query.offset < 0 or filters.fields or filters.regions
                or filters.titles or filters.honours or filters.institutions or filters.exclude_ids):
            return None
        # the phrases of the SQL's MATCH expressions, in their order (bm25 sums them in that order)
        words = word_alternatives(query.terms)
        grams = list(dict.fromkeys(g for g in query.grams if g.strip()))
        expansion = query.expansion_groups()
        if not all(_PLAIN_WORD.fullmatch(p) for p in (*words, *grams, *(w for _, g in expansion for w in g))):
            return None
        n = len(self.ids)
        score, matched = self._query_part(words, grams, query.matching_grams)
        matched = matched.copy()
        for weight, group in expansion:
            part = self.words.scores(group, n)
            matched |= part > 0.0
            score = score + weight * part
        if query.names:
            named = np.zeros(n, dtype=bool)
            by_name = self._by_name()
            for name in query.names:
                named[by_name.get(name, [])] = True
            matched |= named
            score = score + np.where(named, NAME_SCORE, 0.0)
        codes = np.frombuffer(self.status_codes, dtype=np.uint8)
        if filters.statuses:
            keep = np.isin(codes, [i for i, s in enumerate(self.statuses) if s in filters.statuses])
        else:
            keep = codes != _NOT_JOINED
        matched = np.flatnonzero(matched & keep)
        wanted = query.offset + query.limit
        if 0 < wanted < len(matched):  # only the rows scoring at least the wanted-th best need sorting
            top = score[matched]
            matched = matched[top >= np.partition(top, len(top) - wanted)[len(top) - wanted]]
        # ORDER BY score DESC, id: positions are in id order and the sort is stable
        order = matched[np.argsort(-score[matched], kind="stable")]
        ids = self.ids
        return [(ids[p], float(score[p])) for p in order[query.offset:wanted].tolist()]


def build(db: sqlite3.Connection, tables: Sequence[str], generation_keys: Sequence[str],
          probe: Callable[[object], list[tuple[str, float]]]) -> RankIndex | None:
    """Copy what bm25 reads out of the FTS5 tables `tables` (words, grams; over `experts`, joined
    on n = rowid). Call inside a read transaction, so every statement sees the same state.
    `probe(query)` ranks a query in SQL on the same connection; None when the index and SQL do
    not agree on the probes (see `_agrees`)."""
    with gc_paused():  # hundreds of thousands of short-lived objects, none of them cyclic
        return _build(db, tables, generation_keys, probe)


def _build(db, tables, generation_keys, probe) -> RankIndex | None:
    key = store_key(db, tables, generation_keys)
    # positions: experts in id order, then FTS rows without an experts row (they count for idf)
    experts = db.execute("SELECT n, id, status, name_key FROM experts ORDER BY id").fetchall()
    position: dict[int, int] = {n: i for i, (n, _, _, _) in enumerate(experts)}
    ids: list[str | None] = [expert_id for _, expert_id, _, _ in experts]
    names: list[str] = [name for _, _, _, name in experts]
    statuses = tuple(sorted({status for _, _, status, _ in experts}))
    if len(statuses) >= _NOT_JOINED:
        return None
    code_of = {s: i for i, s in enumerate(statuses)}
    codes = bytearray(code_of[status] for _, _, status, _ in experts)
    lengths: list[dict[int, int]] = []
    for table in tables:
        sizes: dict[int, int] = {}
        for rowid, size in db.execute(f"SELECT id, sz FROM {table}_docsize"):
            size = bytes(size)
            sizes[rowid] = sum(size) if max(size, default=0) < 0x80 else sum(_varints(size))
        lengths.append(sizes)
    for rowid in sorted(set().union(*lengths) - position.keys()):
        position[rowid] = len(ids)
        ids.append(None)
        names.append("")
        codes.append(_NOT_JOINED)
    parts = []
    for table, sizes in zip(tables, lengths):
        postings = _postings(db, table, sizes, position, len(ids))
        if postings is None:
            return None
        parts.append(postings)
    index = RankIndex(key=key, ids=ids, names=names, statuses=statuses, status_codes=bytes(codes),
                      words=parts[0], grams=parts[1])
    return index if _agrees(index, probe) else None


def _postings(db, table: str, lengths: dict[int, int], position: dict[int, int], n_docs: int) -> Postings | None:
    """One single-column FTS5 table's bm25 contributions per (term, row)."""
    import numpy as np

    averages = db.execute(f"SELECT block FROM {table}_data WHERE id = 1").fetchone()
    totals = _varints(bytes(averages[0] or b"")) if averages else []
    if not totals or totals[0] == 0:
        return None  # an empty index: nothing to copy
    n_rows, n_tokens = totals[0], sum(totals[1:2])
    avgdl = float(n_tokens) / float(n_rows)
    d = np.zeros(n_docs, dtype=np.float64)
    for rowid, n in lengths.items():
        d[position[rowid]] = n
    k = K1 * ((1 - B) + B * d / avgdl)  # fts5: k1 * (1 - b + b * D / avgdl)

    # postings from the stored text, plain words only: each is one FTS5 token as written. Read in
    # batches, each batch's words numbered at once: only numbers stay (the words of 100,000
    # experts' grams as Python strings took ≈ 2 GB)
    terms: dict[str, int] = _Numbering()
    term_parts, pair_parts = [], []
    cursor = db.execute(f"SELECT rowid, * FROM {table}")
    while batch := cursor.fetchmany(READ_BATCH):
        if any(row[0] not in lengths for row in batch):
            return None
        words = [_plain_words(row[1] or "") for row in batch]
        term_of = np.fromiter(map(terms.__getitem__, chain.from_iterable(words)), dtype=np.int64)
        per_row = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        row_positions = np.array([position[row[0]] for row in batch], dtype=np.int64)
        term_parts.append(term_of.astype(np.int32))
        pair_parts.append(term_of * n_docs + np.repeat(row_positions, per_row))
    term_of = np.concatenate(term_parts) if term_parts else np.zeros(0, dtype=np.int32)
    pair = np.concatenate(pair_parts) if pair_parts else np.zeros(0, dtype=np.int64)
    del term_parts, pair_parts
    pair.sort()  # a (term, row) pair repeats only within its row
    first = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if len(pair) else np.zeros(0, dtype=np.intp)
    post_freq = (np.diff(np.r_[first, len(pair)]).astype(np.float64) if len(pair) else np.zeros(0))
    post_term = pair[first] // n_docs
    post_doc = (pair[first] % n_docs).astype(np.int32)
    n_terms = len(terms)
    doc_count = np.bincount(post_term, minlength=n_terms)
    inst_count = np.bincount(term_of, minlength=n_terms)

    # FTS5's own counts per term. Where they differ, the text held words FTS5 splits or folds
    # (not plain): those terms' postings are read from FTS5 itself.
    vocab = f"rank_vocab_{table}"
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{vocab}_row USING fts5vocab(main, {table}, row)")
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{vocab}_instance USING fts5vocab(main, {table}, instance)")
    keep = np.zeros(n_terms, dtype=bool)  # a word FTS5 does not hold is left out (it scores 0)
    vocabulary = db.execute(f"SELECT term, doc, cnt FROM temp.{vocab}_row").fetchall()
    # compared as arrays: a grams table holds hundreds of thousands of terms
    n_vocab = len(vocabulary)
    number = np.fromiter((terms.get(term, -1) for term, _, _ in vocabulary), dtype=np.int64, count=n_vocab)
    fts_docs = np.fromiter((docs for _, docs, _ in vocabulary), dtype=np.int64, count=n_vocab)
    fts_count = np.fromiter((count for _, _, count in vocabulary), dtype=np.int64, count=n_vocab)
    known = number >= 0
    at = np.where(known, number, 0)
    same = (known & (doc_count[at] == fts_docs) & (inst_count[at] == fts_count)) if n_terms else known
    keep[number[same]] = True
    refetch = [vocabulary[j][0] for j in np.flatnonzero(~same).tolist()]
    extra_docs, extra_freqs = [], []
    for term in refetch:
        f: dict[int, float] = {}
        for (rowid,) in db.execute(f"SELECT doc FROM temp.{vocab}_instance WHERE term = ?", (term,)):
            p = position[rowid]
            f[p] = f.get(p, 0.0) + 1.0
        held = sorted(f)
        extra_docs.append(np.array(held, dtype=np.int32))
        extra_freqs.append(np.array([f[p] for p in held], dtype=np.float64))

    # layout: the kept terms in term order, then the re-read ones
    kept = np.flatnonzero(keep)
    in_kept = keep[post_term]
    names = list(terms)
    numbering = {names[i]: j for j, i in enumerate(kept.tolist())}
    for term in refetch:
        numbering[term] = len(numbering)
    sizes = [*doc_count[kept].tolist(), *(len(x) for x in extra_docs)]
    starts = array("q", [0])
    starts.extend(np.cumsum(sizes, dtype=np.int64).tolist())
    docs = np.concatenate([post_doc[in_kept], *extra_docs]).astype(np.int32)
    f = np.concatenate([post_freq[in_kept], *extra_freqs])
    # fts5's idf per distinct number of rows holding a term (few distinct counts, many terms)
    distinct, which = np.unique(np.array(sizes, dtype=np.int64), return_inverse=True)
    idf = np.array([_idf(n_rows, hits) for hits in distinct.tolist()], dtype=np.float64)[which]
    gains = np.repeat(idf, sizes) * ((f * (K1 + 1.0)) / (f + k[docs]))
    return Postings(terms=numbering, starts=starts, docs=array("i", docs.tobytes()), gains=array("d", gains.tobytes()))


def _idf(n_rows: int, hits: int) -> float:
    """fts5's idf of a phrase held by `hits` of `n_rows` rows (math.log is the C library's log)."""
    idf = math.log((n_rows - hits + 0.5) / (hits + 0.5))
    return 1e-6 if idf <= 0.0 else idf


def _plain_words(text: str) -> list[str]:
    words = text.split()
    if _PLAIN_TEXT.fullmatch(text):
        return words
    return [w for w in words if _PLAIN_WORD.fullmatch(w)]  # the others are checked against FTS5


class _Numbering(dict):
    """word → term number, numbering new words as they come."""

    def __missing__(self, word: str) -> int:
        number = self[word] = len(self)
        return number


def _agrees(index: RankIndex, probe) -> bool:
    """SQL and the index give the very same scores on probe queries: words from the most to the
    least common (alone, with bigrams, and with a name), on the first rows SQL returns."""
    def spread(postings: Postings) -> list[str]:
        by_size = sorted(postings.terms, key=lambda t: postings.starts[postings.terms[t] + 1]
                         - postings.starts[postings.terms[t]], reverse=True)
        picks = list(dict.fromkeys(by_size[int(i * (len(by_size) - 1) / 7)] for i in range(8))) if by_size else []
        return [t for t in picks if _PLAIN_WORD.fullmatch(t)]

    words, grams = spread(index.words), spread(index.grams)
    name = next((n for n in index.names if n and _PLAIN_WORD.fullmatch(n)), None)
    terms = tuple(QueryTerm(t, (t,)) for t in words)
    probes = [SearchQuery(terms, limit=200), SearchQuery(terms, limit=200, grams=tuple(grams),
                                                         names=(name,) if name else ())]
    for query in probes:
        if not query.ranked:
            continue
        if index.rank(query) != probe(query):
            return False
    return True
