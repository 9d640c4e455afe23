"""FTS5's bm25 ranking computed from a copy of the index, for many rankings on the same data.

A panel draw ranks 20 long project texts; each matches nearly every expert, and FTS5 scores
every matching row (≈ 100 ms a query on 32,000 experts). `RankIndex` reads what bm25 reads out
of the FTS5 index once — per term the rows holding it with their column-weighted frequency, per
row its length, the row count and average length — and keeps each (term, row)'s share of the
score, so a query is a few numpy additions. The arithmetic is FTS5's own (fts5_aux.c,
fts5Bm25Function), operation by operation in the same order, so scores are bit-identical to
`bm25()`; `build` checks that on a probe query against SQLite and gives up (None: rank in SQL)
if they differ.

Only what is certain to be the same is answered here: queries whose every alternative is a plain
lowercase ASCII/CJK word (one FTS5 token, as written) and whose only filter is on status. Other
queries return None and the store runs them in SQL.

The index is a snapshot: `key` names the store state it was copied from (this module's format,
the data generation, FTS5's structure and averages records), and the store uses it only while
its own key is the same.
"""
from __future__ import annotations

import math
import re
import sqlite3
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

from expertpool.gcpause import gc_paused
from expertpool.segment import QueryTerm
from expertpool.stores.base import SearchQuery
from expertpool.stores.fts_query import match_expression

#: part of every key: bump when RankIndex changes shape, so older copies are rebuilt, never used
FORMAT = 1
#: fts5_aux.c bm25 constants
K1 = 1.2
B = 0.75

#: a word FTS5's unicode61 tokenizer (remove_diacritics 0) keeps whole and unchanged: lowercase
#: ASCII letters, digits and CJK ideographs of Unicode 1.1 (assigned in every table FTS5 ships)
_PLAIN_WORD = re.compile(r"[0-9a-z\u4e00-\u9fa5]+")
_PLAIN_TEXT = re.compile(r"[0-9a-z\u4e00-\u9fa5 ]*")
_NOT_JOINED = 255  # status code of an FTS row with no experts row (the SQL join drops it)


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


def store_key(db: sqlite3.Connection, table: str, generation_keys: Sequence[str]) -> str:
    """The state a rank index depends on (and this module's format), read in one statement, so
    as of one moment."""
    metas = ", ".join("(SELECT value FROM meta WHERE key = ?)" for _ in generation_keys)
    row = db.execute(f"SELECT {metas}, (SELECT block FROM {table}_data WHERE id = 10), "
                     f"(SELECT block FROM {table}_data WHERE id = 1)", list(generation_keys)).fetchone()
    *generations, structure, averages = row
    return "|".join([f"format {FORMAT}", *(str(g) for g in generations), bytes(structure or b"").hex(),
                     bytes(averages or b"").hex()])


@dataclass
class RankIndex:
    key: str
    ids: list[str | None]       # expert id per position (id order; None: no experts row)
    statuses: tuple[str, ...]   # status names; status_codes index them
    status_codes: bytes         # per position
    terms: dict[str, int]       # token → term number
    starts: array               # term number → its first posting; starts[-1] = number of postings
    docs: array                 # postings: positions, ascending within a term
    #: postings: what the term adds to the row's bm25, idf * (f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl))
    #: with f the column-weighted count in the row and D its length; one product, as fts5 forms it
    gains: array

    def rank(self, query) -> list[tuple[str, float]] | None:
        """(id, score) pairs as `search` orders them, or None when this query must go to SQL."""
        import numpy as np

        filters = query.filters
        if (not query.terms or query.limit < 0 or query.offset < 0 or filters.fields or filters.regions or filters.titles or filters.honours
                or filters.institutions or filters.exclude_ids):
            return None
        # the phrases of fts_query.match_expression, in its order (bm25 sums them in that order)
        phrases = list(dict.fromkeys(a for term in query.terms for a in term.alternatives if a.strip()))
        if not phrases or not all(_PLAIN_WORD.fullmatch(p) for p in phrases):
            return None
        docs = np.frombuffer(self.docs, dtype=np.int32)
        gains = np.frombuffer(self.gains, dtype=np.float64)
        score = np.zeros(len(self.ids), dtype=np.float64)
        for phrase in phrases:
            term = self.terms.get(phrase)
            if term is not None:  # else no row holds it: it adds 0.0 to every score
                lo, hi = self.starts[term], self.starts[term + 1]
                score[docs[lo:hi]] += gains[lo:hi]
        codes = np.frombuffer(self.status_codes, dtype=np.uint8)
        if filters.statuses:
            keep = np.isin(codes, [i for i, s in enumerate(self.statuses) if s in filters.statuses])
        else:
            keep = codes != _NOT_JOINED
        matched = np.flatnonzero((score > 0.0) & keep)  # every match scores > 0
        wanted = query.offset + query.limit
        if 0 < wanted < len(matched):  # only the rows scoring at least the wanted-th best need sorting
            top = score[matched]
            matched = matched[top >= np.partition(top, len(top) - wanted)[len(top) - wanted]]
        # ORDER BY rank (= -score), id: positions are in id order and the sort is stable
        order = matched[np.argsort(-score[matched], kind="stable")]
        ids = self.ids
        return [(ids[p], float(score[p])) for p in order[query.offset:wanted].tolist()]


def build(db: sqlite3.Connection, table: str, columns: Sequence[str], weights: Sequence[float],
          generation_keys: Sequence[str]) -> RankIndex | None:
    """Copy what bm25 reads out of FTS5 table `table` (over `experts`, joined on n = rowid).
    Call inside a read transaction, so every statement sees the same state. None when the
    index cannot vouch for equal scores (see `_agrees`)."""
    with gc_paused():  # hundreds of thousands of short-lived objects, none of them cyclic
        return _build(db, table, columns, weights, generation_keys)


def _build(db, table, columns, weights, generation_keys) -> RankIndex | None:
    import numpy as np

    key = store_key(db, table, generation_keys)
    averages = db.execute(f"SELECT block FROM {table}_data WHERE id = 1").fetchone()
    if averages is None:
        return None
    totals = _varints(bytes(averages[0] or b""))
    if not totals or totals[0] == 0:
        return None  # an empty index: nothing to copy
    n_rows, n_tokens = totals[0], sum(totals[1:1 + len(columns)])
    avgdl = float(n_tokens) / float(n_rows)

    # positions: experts in id order, then FTS rows without an experts row (they count for idf)
    experts = db.execute("SELECT n, id, status FROM experts ORDER BY id").fetchall()
    position: dict[int, int] = {n: i for i, (n, _, _) in enumerate(experts)}
    ids: list[str | None] = [expert_id for _, expert_id, _ in experts]
    statuses = tuple(sorted({status for _, _, status in experts}))
    if len(statuses) >= _NOT_JOINED:
        return None
    code_of = {s: i for i, s in enumerate(statuses)}
    codes = bytearray(code_of[status] for _, _, status in experts)
    lengths: dict[int, int] = {}
    for rowid, size in db.execute(f"SELECT id, sz FROM {table}_docsize"):
        size = bytes(size)
        lengths[rowid] = sum(size) if max(size, default=0) < 0x80 else sum(_varints(size))
    for rowid in sorted(lengths.keys() - position.keys()):
        position[rowid] = len(ids)
        ids.append(None)
        codes.append(_NOT_JOINED)
    n_docs = len(ids)
    d = np.zeros(n_docs, dtype=np.float64)
    for rowid, n in lengths.items():
        d[position[rowid]] = n
    k = K1 * ((1 - B) + B * d / avgdl)  # fts5: k1 * (1 - b + b * D / avgdl)

    # postings from the stored text, plain words only: each is one FTS5 token as written
    terms: dict[str, int] = _Numbering()
    chunks: list[np.ndarray] = []   # term numbers of the tokens, column by column, row by row
    seg_len: list[np.ndarray] = []  # tokens per (column, row)
    rows = db.execute(f"SELECT rowid, {', '.join(columns)} FROM {table}").fetchall()
    if any(row[0] not in lengths for row in rows):
        return None
    for col in range(len(columns)):
        texts = [row[col + 1] or "" for row in rows]
        distinct = {text: i for i, text in enumerate(dict.fromkeys(texts))}
        if len(distinct) * 2 < len(texts):  # institution, fields, discipline: number each text once
            words = [_plain_words(text) for text in distinct]
            numbered = np.fromiter(map(terms.__getitem__, chain.from_iterable(words)), dtype=np.int32)
            size = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
            start = np.cumsum(size) - size
            which = np.fromiter(map(distinct.__getitem__, texts), dtype=np.int64, count=len(texts))
            n = size[which]
            # the tokens of text `which[r]` for each row r, in row order
            chunks.append(numbered[np.repeat(start[which] - np.cumsum(n) + n, n) + np.arange(n.sum())])
            seg_len.append(n)
        else:
            words = [_plain_words(text) for text in texts]
            chunks.append(np.fromiter(map(terms.__getitem__, chain.from_iterable(words)), dtype=np.int32))
            seg_len.append(np.fromiter(map(len, words), dtype=np.int64, count=len(words)))
    row_positions = np.array([position[row[0]] for row in rows], dtype=np.int64)
    per_segment = np.concatenate(seg_len)
    term_of = np.concatenate(chunks).astype(np.int64)
    pair = term_of * n_docs + np.repeat(np.tile(row_positions, len(columns)), per_segment)
    weight_of = np.repeat(np.repeat(np.asarray(weights, dtype=np.float64), len(rows)), per_segment)
    order = np.argsort(pair)  # a (term, row) pair repeats only within its row: weights add up exactly
    pair = pair[order]
    first = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if len(pair) else np.zeros(0, dtype=np.intp)
    post_freq = np.add.reduceat(weight_of[order], first) if len(pair) else np.zeros(0)
    post_term = pair[first] // n_docs
    post_doc = (pair[first] % n_docs).astype(np.int32)
    n_terms = len(terms)
    doc_count = np.bincount(post_term, minlength=n_terms)
    inst_count = np.bincount(term_of, minlength=n_terms)

    # FTS5's own counts per term. Where they differ, the text held words FTS5 splits or folds
    # (not plain): those terms' postings are read from FTS5 itself.
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.rank_vocab_row USING fts5vocab(main, {table}, row)")
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.rank_vocab_instance "
               f"USING fts5vocab(main, {table}, instance)")
    fts_terms = db.execute("SELECT term, doc, cnt FROM temp.rank_vocab_row").fetchall()
    keep = np.zeros(n_terms, dtype=bool)  # a word FTS5 does not hold is left out (it scores 0)
    refetch = []
    for term, docs, count in fts_terms:
        i = terms.get(term)
        if i is not None and doc_count[i] == docs and inst_count[i] == count:
            keep[i] = True
        else:
            refetch.append(term)
    column_weight = dict(zip(columns, weights))
    extra_docs, extra_freqs = [], []
    for term in refetch:
        f: dict[int, float] = {}
        for rowid, column in db.execute("SELECT doc, col FROM temp.rank_vocab_instance WHERE term = ?", (term,)):
            p = position[rowid]
            f[p] = f.get(p, 0.0) + column_weight[column]
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
    idf = np.array([_idf(n_rows, hits) for hits in sizes], dtype=np.float64)
    gains = np.repeat(idf, sizes) * ((f * (K1 + 1.0)) / (f + k[docs]))
    index = RankIndex(key=key, ids=ids, statuses=statuses, status_codes=bytes(codes), terms=numbering,
                      starts=starts, docs=array("i", docs.tobytes()), gains=array("d", gains.tobytes()))
    return index if _agrees(db, table, weights, index, position) else None


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


def _agrees(db: sqlite3.Connection, table: str, weights: Sequence[float], index: RankIndex,
            position: dict[int, int]) -> bool:
    """FTS5's bm25 and the index give the very same scores on a probe query: a few terms from
    the most to the least common, on the first rows FTS5 returns."""
    by_size = sorted(index.terms, key=lambda t: index.starts[index.terms[t] + 1] - index.starts[index.terms[t]],
                     reverse=True)
    if not by_size:
        return True
    picks = list(dict.fromkeys(by_size[int(i * (len(by_size) - 1) / 7)] for i in range(8)))
    picks = [t for t in picks if _PLAIN_WORD.fullmatch(t)]
    if not picks:
        return True
    terms = tuple(QueryTerm(t, (t,)) for t in picks)
    bm25 = f"bm25({table}, {', '.join(str(w) for w in weights)})"
    probe = db.execute(f"SELECT rowid, -{bm25} FROM {table} WHERE {table} MATCH ? LIMIT 200",
                       (match_expression(terms),)).fetchall()
    scores = dict(index.rank(SearchQuery(terms, limit=len(index.ids))) or [])
    return all(index.ids[position[rowid]] is None or scores.get(index.ids[position[rowid]]) == score
               for rowid, score in probe)
