"""BM25 index over posts: exact rank-bm25 ``BM25Okapi`` scores, updatable in place.

Layout (why it is fast and still exact):

* A *main segment* holds an inverted index as CSR numpy arrays: for each term, the slots of the
  documents containing it (ascending) and their term frequencies, plus the same postings by
  document (the forward index), which edits and removals need to update the statistics.
* Documents added or edited since the last merge go to a small append-only *delta*; edited or
  removed documents stay in the main arrays as tombstones until the delta is merged.
* Document frequencies, the total document length and a histogram of document frequencies are
  kept up to date on every change, so N, avgdl, each idf and rank-bm25's epsilon floor (which
  depends on the mean idf over the whole vocabulary) are exact at all times.
* Queries run block-max MaxScore (a numba kernel) over the main segment: postings come in blocks
  of 64 with an upper bound of each block's term-frequency factor. The bounds are computed for a
  reference average length and scaled by ``max(1, avgdl / reference)``, which keeps them valid
  while the collection drifts. The few survivors are rescored with rank-bm25's own formula.
  Without numba, or with negative idfs, every candidate is scored with numpy instead.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import uuid
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval.text import _WORD, _analyse

numba: Any
try:
    import numba  # type: ignore[import-untyped,import-not-found,unused-ignore,no-redef]
except ImportError:  # pragma: no cover - numba is optional: exact numpy scoring still works
    numba = None

__all__ = ["BM25Index", "IndexLoadError", "IndexStats", "tokenize_many"]

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
TF = npt.NDArray[np.integer[Any]]

_FORMAT = "liveblog-bm25"
_VERSION = 1
_MANIFEST = "manifest.json"
_ABSENT = -2  # slot location: document removed
_MAIN = -1  # slot location: document's postings live in the main segment (>= 0: delta number)
_BLOCK = 64  # postings per block of the block-max bounds
_EMPTY_I32: I32 = np.zeros(0, dtype=np.int32)
_EMPTY_I64: I64 = np.zeros(0, dtype=np.int64)


def tokenize_many(texts: Iterable[str], cache_size: int = 1_000_000) -> Iterator[list[str]]:
    """`retrieval.text.tokenize` of each text, several times faster on large archives.

    The terms of a text depend only on its raw words, so each distinct raw word is analysed
    once and remembered (the memo is dropped when it holds ``cache_size`` words); the token
    lists are identical to ``tokenize``'s.
    """
    memo: dict[str, list[str]] = {}
    findall = _WORD.findall
    for text in texts:
        terms: list[str] = []
        for raw in findall(text):
            analysed = memo.get(raw)
            if analysed is None:
                if len(memo) >= cache_size:
                    memo.clear()
                analysed = memo[raw] = _analyse(raw)
            terms += analysed
        yield terms


class IndexLoadError(Exception):
    """A saved index is missing, unreadable or inconsistent; rebuild it from the store."""


@dataclass(frozen=True)
class IndexStats:
    """Sizes of the index, for the `stats` command and health checks."""

    documents: int
    terms: int
    postings: int
    memory_bytes: int
    built_at: datetime | None


# ------------------------------------------------------------------------------ segment


@dataclass
class _Blocks:
    """Block-max bounds of a segment's postings, valid for average lengths up to ``avgdl``.

    Block ``j`` of term ``t`` (``start[t] <= j < start[t+1]``) covers postings
    ``offsets[t] + (j - start[t]) * _BLOCK`` onwards; ``last[j]`` is its last slot and
    ``bound[j]`` bounds ``tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))`` over it.
    """

    start: I64
    last: I32
    bound: F32
    term_bound: F32
    avgdl: float


@dataclass
class _Segment:
    """Immutable inverted and forward index of the documents merged so far.

    ``docs[offsets[t]:offsets[t+1]]`` are the slots containing term ``t`` (ascending) and
    ``tfs`` their term frequencies; ``fwd_*`` hold the same postings slot by slot.
    """

    offsets: I64  # len = terms + 1
    docs: I32
    tfs: TF
    fwd_offsets: I64  # len = slots + 1
    fwd_terms: I32
    fwd_tfs: TF
    blocks: _Blocks | None = None

    @classmethod
    def empty(cls) -> _Segment:
        z64 = np.zeros(1, dtype=np.int64)
        return cls(z64, _EMPTY_I32, _EMPTY_I32, z64.copy(), _EMPTY_I32, _EMPTY_I32)

    @property
    def n_terms(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_slots(self) -> int:
        return len(self.fwd_offsets) - 1

    def postings(self, term: int) -> tuple[I32, TF]:
        if term >= self.n_terms:
            return _EMPTY_I32, _EMPTY_I32
        lo, hi = int(self.offsets[term]), int(self.offsets[term + 1])
        return self.docs[lo:hi], self.tfs[lo:hi]

    def forward(self, slot: int) -> tuple[I32, TF]:
        lo, hi = int(self.fwd_offsets[slot]), int(self.fwd_offsets[slot + 1])
        return self.fwd_terms[lo:hi], self.fwd_tfs[lo:hi]

    def arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {
            "offsets": self.offsets,
            "docs": self.docs,
            "tfs": self.tfs,
            "fwd_offsets": self.fwd_offsets,
            "fwd_terms": self.fwd_terms,
            "fwd_tfs": self.fwd_tfs,
        }
        if self.blocks is not None:
            arrays["blk_start"] = self.blocks.start
            arrays["blk_last"] = self.blocks.last
            arrays["blk_bound"] = self.blocks.bound
            arrays["blk_term_bound"] = self.blocks.term_bound
        return arrays


def _tf_dtype(max_tf: int) -> type[np.integer[Any]]:
    """uint16 term frequencies halve the postings unless a document repeats a word 65,536 times."""
    return np.uint16 if max_tf < 1 << 16 else np.int32


def _segment_from_forward(fwd_offsets: I64, fwd_terms: I32, fwd_tfs: TF, n_terms: int) -> _Segment:
    """Invert slot-major postings (each slot's terms distinct) into term-major CSR arrays."""
    offsets = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(fwd_terms, minlength=n_terms), out=offsets[1:])
    if _invert is not None:
        docs, tfs = _invert(fwd_offsets, fwd_terms, fwd_tfs, offsets)
    else:
        slots = np.repeat(np.arange(len(fwd_offsets) - 1, dtype=np.int32), np.diff(fwd_offsets))
        order = np.argsort(fwd_terms, kind="stable")  # stable: slots stay ascending per term
        docs = slots[order]
        del slots
        tfs = fwd_tfs[order]
    return _Segment(offsets, docs, tfs, fwd_offsets, fwd_terms, fwd_tfs)


# ------------------------------------------------------------------------------ kernels
#
# Plain Python functions compiled by numba when it is installed. They are written in the
# subset numba compiles: loops over arrays, no Python objects.


def _invert_py(fwd_offsets: I64, fwd_terms: I32, fwd_tfs: TF, offsets: I64) -> tuple[I32, TF]:
    """Counting sort of slot-major postings by term: one pass, slots ascending per term."""
    n_post = fwd_terms.shape[0]
    docs = np.empty(n_post, np.int32)
    tfs = np.empty(n_post, fwd_tfs.dtype)
    nxt = offsets[:-1].copy()
    for s in range(fwd_offsets.shape[0] - 1):
        for p in range(fwd_offsets[s], fwd_offsets[s + 1]):
            t = fwd_terms[p]
            q = nxt[t]
            docs[q] = s
            tfs[q] = fwd_tfs[p]
            nxt[t] = q + 1
    return docs, tfs


def _block_bounds_py(
    offsets: I64, docs: I32, tfs: TF, dl: I64, k1: float, b: float, avgdl: float, block: int
) -> tuple[I64, I32, F32, F32]:
    """Per-block last slot and upper bound of the tf factor at ``avgdl`` (rounded up)."""
    n_terms = offsets.shape[0] - 1
    start = np.zeros(n_terms + 1, np.int64)
    for t in range(n_terms):
        count = offsets[t + 1] - offsets[t]
        start[t + 1] = start[t] + (count + block - 1) // block
    n_blocks = start[n_terms]
    last = np.empty(n_blocks, np.int32)
    bound = np.empty(n_blocks, np.float32)
    term_bound = np.zeros(n_terms, np.float32)
    kp1 = k1 + 1.0
    for t in range(n_terms):
        tmax = 0.0
        for j in range(start[t], start[t + 1]):
            lo = offsets[t] + (j - start[t]) * block
            hi = min(lo + block, offsets[t + 1])
            best = 0.0
            for p in range(lo, hi):
                tf = float(tfs[p])
                g = tf * kp1 / (tf + k1 * (1.0 - b + b * dl[docs[p]] / avgdl))
                if g > best:
                    best = g
            last[j] = docs[hi - 1]
            # float32 rounds to 6e-8 relative: a 1e-6 margin keeps the bound above the truth.
            bound[j] = best * (1.0 + 1e-6) + 1e-12
            if bound[j] > tmax:
                tmax = bound[j]
        term_bound[t] = tmax
    return start, last, bound, term_bound


def _maxscore_py(
    docs: I32,
    tfs: TF,
    dl: I64,
    loc: I64,
    blk_last: I32,
    blk_bound: F32,
    lo: I64,
    hi: I64,
    b0: I64,
    b1: I64,
    w: F64,
    ub: F64,
    scale: float,
    k1: float,
    b: float,
    avgdl: float,
    k: int,
    theta0: float,
    block: int,
) -> tuple[I64, F64]:
    """Best ``k`` live slots for terms sorted by ascending upper bound ``ub`` (block-max MaxScore).

    Slots are visited in ascending order, so a later slot never displaces an equal score (ties
    go to the earlier-added document). A document is skipped only when an upper bound of its
    score is below ``theta`` - the k-th best score so far (or ``theta0``) less a small margin.
    """
    n = lo.shape[0]
    never = 1 << 62
    cur = lo.copy()
    blk = b0.copy()
    cum = np.empty(n, np.float64)
    contrib = np.zeros(n, np.float64)
    acc = 0.0
    for i in range(n):
        acc += ub[i]
        cum[i] = acc
    heap_s = np.empty(k, np.float64)
    heap_d = np.empty(k, np.int64)
    size = 0
    theta = theta0
    kp1 = k1 + 1.0
    ess = 0
    while ess < n and cum[ess] < theta:
        ess += 1
    while ess < n:
        d = never
        for i in range(ess, n):
            if cur[i] < hi[i] and docs[cur[i]] < d:
                d = docs[cur[i]]
        if d == never:
            break
        if theta > -np.inf:
            # Shallow step: each term's block that may hold d bounds every slot up to `lim`.
            bound = 0.0
            lim = never
            for i in range(n):
                j = blk[i]
                while j < b1[i] and blk_last[j] < d:
                    j += 1
                blk[i] = j
                if j < b1[i]:
                    bound += blk_bound[j] * w[i]
                    if blk_last[j] < lim:
                        lim = blk_last[j]
            if bound * scale < theta:
                for i in range(ess, n):
                    p = cur[i]
                    while p < hi[i] and docs[p] <= lim:
                        p += 1
                    cur[i] = p
                continue
        norm = k1 * (1.0 - b + b * dl[d] / avgdl)
        partial = 0.0
        for i in range(n):
            contrib[i] = 0.0
        for i in range(ess, n):
            p = cur[i]
            if p < hi[i] and docs[p] == d:
                tf = float(tfs[p])
                contrib[i] = w[i] * (tf * kp1 / (tf + norm))
                partial += contrib[i]
                cur[i] = p + 1
        complete = True
        rem = cum[ess - 1] if ess > 0 else 0.0
        for i in range(ess - 1, -1, -1):
            if partial + rem < theta:
                complete = False
                break
            j = blk[i]
            if j < b1[i]:
                start = lo[i] + (j - b0[i]) * block
                stop = min(start + block, hi[i])
                p = max(cur[i], start)
                while p < stop and docs[p] < d:
                    p += 1
                cur[i] = p
                if p < stop and docs[p] == d:
                    tf = float(tfs[p])
                    contrib[i] = w[i] * (tf * kp1 / (tf + norm))
                    partial += contrib[i]
            rem -= ub[i]
        if not complete or loc[d] != -1:
            continue
        # Summed in one fixed order, so that equal inputs give bit-equal scores whichever
        # terms were essential when the document was reached (ties must stay ties).
        score = 0.0
        for i in range(n):
            score += contrib[i]
        if size < k:
            # sift up in a min-heap ordered by (score, -slot): the root is the worst kept
            pos = size
            size += 1
            while pos > 0:
                parent = (pos - 1) // 2
                if heap_s[parent] > score or (heap_s[parent] == score and heap_d[parent] < d):
                    heap_s[pos] = heap_s[parent]
                    heap_d[pos] = heap_d[parent]
                    pos = parent
                else:
                    break
            heap_s[pos] = score
            heap_d[pos] = d
        elif score > heap_s[0] or (score == heap_s[0] and d < heap_d[0]):
            pos = 0
            while True:
                child = 2 * pos + 1
                if child >= size:
                    break
                if child + 1 < size and (
                    heap_s[child + 1] < heap_s[child]
                    or (heap_s[child + 1] == heap_s[child] and heap_d[child + 1] > heap_d[child])
                ):
                    child += 1
                if heap_s[child] < score or (heap_s[child] == score and heap_d[child] > d):
                    heap_s[pos] = heap_s[child]
                    heap_d[pos] = heap_d[child]
                    pos = child
                else:
                    break
            heap_s[pos] = score
            heap_d[pos] = d
        else:
            continue
        if size == k:
            floor = heap_s[0] - 1e-9 * (1.0 + abs(heap_s[0]))
            if floor > theta:
                theta = floor
                while ess < n and cum[ess] < theta:
                    ess += 1
    return heap_d[:size].copy(), heap_s[:size].copy()


_invert: Callable[..., tuple[I32, TF]] | None = None
_block_bounds: Callable[..., tuple[I64, I32, F32, F32]] | None = None
_maxscore: Callable[..., tuple[I64, F64]] | None = None
if numba is not None:
    _invert = numba.njit(cache=True, nogil=True)(_invert_py)
    _block_bounds = numba.njit(cache=True, nogil=True)(_block_bounds_py)
    _maxscore = numba.njit(cache=True, nogil=True)(_maxscore_py)


# -------------------------------------------------------------------------------- index


class BM25Index:
    """Exact rank-bm25 BM25Okapi scores over documents identified by string ids."""

    #: Merge the delta (and drop tombstones) once this many documents changed since the last
    #: merge: ``N / _MERGE_DIVISOR`` clamped to [_MERGE_MIN, _MERGE_MAX]. Bigger deltas make
    #: queries slower; smaller ones make merges (a pass over all postings) more frequent.
    _MERGE_MIN = 1024
    _MERGE_MAX = 8192
    _MERGE_DIVISOR = 128
    #: Use the compiled pruning kernel when available (tests turn it off to compare paths).
    _use_kernel = True

    def __init__(self, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> None:
        self.k1 = float(k1)
        self.b = float(b)
        self.epsilon = float(epsilon)
        # Vocabulary: term ids never change; a term whose df drops to 0 leaves the vocabulary
        # that rank-bm25 would see (``_vocab_size``) but keeps its id.
        self._term_ids: dict[str, int] = {}
        self._terms: list[str] = []
        self._df: I64 = np.zeros(16, dtype=np.int64)
        self._df_hist: Counter[int] = Counter()  # df value -> number of terms with that df
        self._vocab_size = 0
        self._idf_sum_cache: tuple[int, float] | None = None  # (N, sum of raw idf)
        # Documents live in slots, numbered in the order they were first added.
        self._ids: list[str | None] = []
        self._slot_of: dict[str, int] = {}
        self._dl: I64 = np.zeros(16, dtype=np.int64)
        self._loc: I64 = np.full(16, _ABSENT, dtype=np.int64)
        self._n_docs = 0
        self._total_len = 0
        self._main = _Segment.empty()
        # Delta: documents added or edited since the last merge, by delta number.
        self._delta_docs: list[tuple[I32, TF]] = []
        self._delta_slot: I64 = np.zeros(16, dtype=np.int64)
        self._delta_postings: dict[int, tuple[list[int], list[int]]] = {}  # term -> dnums, tfs
        self._delta_arrays: dict[int, tuple[I64, I64]] = {}  # per-term cache of the above
        self._changed = 0  # documents added, edited or removed since the last merge
        self.built_at: datetime | None = None

    # ----------------------------------------------------------------- building and updating

    @classmethod
    def build(
        cls,
        docs: Iterable[tuple[str, Sequence[str]]],
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
    ) -> BM25Index:
        """An index of ``docs`` built in one pass (a repeated id keeps its last tokens)."""
        index = cls(k1, b, epsilon)
        term_ids = index._term_ids
        slot_of = index._slot_of
        ids = index._ids
        # One run of (term, tf) pairs per input document, in compact typed buffers.
        run_slots = array("q")
        run_lengths = array("q")
        run_dls = array("q")
        buf_terms = array("i")
        buf_tfs = array("q")
        for doc_id, tokens in docs:
            slot = slot_of.get(doc_id)
            if slot is None:
                slot = slot_of[doc_id] = len(ids)
                ids.append(doc_id)
            counts = Counter(tokens)
            run_slots.append(slot)
            run_lengths.append(len(counts))
            run_dls.append(len(tokens))
            buf_terms.extend([term_ids.setdefault(t, len(term_ids)) for t in counts])
            buf_tfs.extend(counts.values())
        n_slots = len(ids)
        n_terms = len(term_ids)
        index._terms = list(term_ids)
        runs = np.frombuffer(run_slots, dtype=np.int64) if run_slots else _EMPTY_I64
        lengths = np.frombuffer(run_lengths, dtype=np.int64) if run_lengths else _EMPTY_I64
        dl_runs = np.frombuffer(run_dls, dtype=np.int64) if run_dls else _EMPTY_I64
        fwd_terms = np.array(buf_terms, dtype=np.int32) if buf_terms else _EMPTY_I32
        del buf_terms
        all_tfs = np.frombuffer(buf_tfs, dtype=np.int64) if buf_tfs else _EMPTY_I64
        fwd_tfs = all_tfs.astype(_tf_dtype(int(all_tfs.max(initial=0))))
        del all_tfs, buf_tfs
        if len(runs) != n_slots:  # some id came more than once: keep each slot's last run
            last_run = np.zeros(n_slots, dtype=np.int64)
            np.maximum.at(last_run, runs, np.arange(len(runs)))
            keep = last_run[runs] == np.arange(len(runs))
            tokens_keep = np.repeat(keep, lengths)
            fwd_terms, fwd_tfs = fwd_terms[tokens_keep], fwd_tfs[tokens_keep]
            runs, lengths, dl_runs = runs[keep], lengths[keep], dl_runs[keep]
        dls = np.zeros(n_slots, dtype=np.int64)
        dls[runs] = dl_runs
        if len(runs) and not bool(np.all(runs[1:] > runs[:-1])):  # runs out of slot order
            order = np.argsort(runs, kind="stable")
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            pick = np.concatenate(
                [np.arange(starts[r], starts[r] + lengths[r]) for r in order.tolist()]
            ).astype(np.int64)
            fwd_terms, fwd_tfs, lengths = fwd_terms[pick], fwd_tfs[pick], lengths[order]
        fwd_offsets = np.zeros(n_slots + 1, dtype=np.int64)
        np.cumsum(lengths, out=fwd_offsets[1:])
        index._main = _segment_from_forward(fwd_offsets, fwd_terms, fwd_tfs, n_terms)
        index._dl = dls
        index._loc = np.full(n_slots, _MAIN, dtype=np.int64)
        index._n_docs = n_slots
        index._total_len = int(dls.sum())
        index._reset_df()
        index.built_at = datetime.now(UTC)
        index._compute_blocks()
        return index

    def upsert(self, doc_id: str, tokens: Sequence[str]) -> None:
        """Add a document, or replace an existing document's tokens (it keeps its rank order)."""
        slot = self._slot_of.get(doc_id)
        if slot is not None:
            self._forget(slot)
        else:
            slot = len(self._ids)
            self._ids.append(doc_id)
            self._slot_of[doc_id] = slot
            self._ensure_slot_capacity(slot + 1)
        counts = Counter(tokens)
        term_id = self._term_id
        term_ids = np.fromiter((term_id(t) for t in counts), dtype=np.int32, count=len(counts))
        tfs = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        dnum = len(self._delta_docs)
        self._delta_docs.append((term_ids, tfs))
        if dnum >= len(self._delta_slot):
            self._delta_slot = np.concatenate([self._delta_slot, np.zeros(dnum, np.int64)])
        self._delta_slot[dnum] = slot
        postings = self._delta_postings
        cache = self._delta_arrays
        for t, tf in zip(term_ids.tolist(), tfs.tolist(), strict=True):
            entry = postings.get(t)
            if entry is None:
                postings[t] = ([dnum], [tf])
            else:
                entry[0].append(dnum)
                entry[1].append(tf)
                cache.pop(t, None)
        self._loc[slot] = dnum
        self._dl[slot] = len(tokens)
        self._n_docs += 1
        self._total_len += len(tokens)
        self._change_df(term_ids, +1)
        self._changed += 1
        self._maybe_merge()

    def remove(self, doc_id: str) -> None:
        """Remove a document; removing an absent id does nothing."""
        slot = self._slot_of.pop(doc_id, None)
        if slot is None:
            return
        self._forget(slot)
        self._ids[slot] = None
        self._changed += 1
        self._maybe_merge()

    def _forget(self, slot: int) -> None:
        """Take a slot's current postings out of the statistics (its slot stays reserved)."""
        loc = int(self._loc[slot])
        if loc == _MAIN:
            terms, _ = self._main.forward(slot)
        elif loc >= 0:
            terms = self._delta_docs[loc][0]
        else:
            return
        self._change_df(terms, -1)
        self._loc[slot] = _ABSENT
        self._n_docs -= 1
        self._total_len -= int(self._dl[slot])
        self._dl[slot] = 0

    def _term_id(self, term: str) -> int:
        tid = self._term_ids.get(term)
        if tid is None:
            tid = len(self._terms)
            self._term_ids[term] = tid
            self._terms.append(term)
            if tid >= len(self._df):
                grow = max(16, len(self._df))
                self._df = np.concatenate([self._df, np.zeros(grow, dtype=np.int64)])
        return tid

    def _ensure_slot_capacity(self, n: int) -> None:
        if n <= len(self._dl):
            return
        grow = max(n, 2 * len(self._dl)) - len(self._dl)
        self._dl = np.concatenate([self._dl, np.zeros(grow, dtype=np.int64)])
        self._loc = np.concatenate([self._loc, np.full(grow, _ABSENT, dtype=np.int64)])

    def _reset_df(self) -> None:
        """Document frequencies and their histogram from the main segment (no delta)."""
        self._df = np.diff(self._main.offsets)
        hist = np.bincount(self._df) if len(self._df) else _EMPTY_I64
        self._df_hist = Counter({int(d): int(hist[d]) for d in np.flatnonzero(hist) if d > 0})
        self._vocab_size = int(np.count_nonzero(self._df))
        self._idf_sum_cache = None

    def _change_df(self, terms: I32, delta: int) -> None:
        """Move ``terms`` (distinct) by ``delta`` documents, keeping the df histogram exact."""
        if not len(terms):
            return
        old = self._df[terms]
        new = old + delta
        self._df[terms] = new
        hist = self._df_hist
        for d in old.tolist():
            if d > 0:
                hist[d] -= 1
                if not hist[d]:
                    del hist[d]
        for d in new.tolist():
            if d > 0:
                hist[d] += 1
        self._vocab_size += int(np.count_nonzero(new > 0)) - int(np.count_nonzero(old > 0))
        self._idf_sum_cache = None

    def _maybe_merge(self) -> None:
        limit = min(self._MERGE_MAX, self._n_docs // self._MERGE_DIVISOR)
        if self._changed > max(self._MERGE_MIN, limit):
            self._merge()

    def _merge(self) -> None:
        """Fold the delta into a fresh main segment, dropping removed slots (order kept).

        Only array passes over the main postings; the delta is small by construction.
        """
        n_slots = len(self._ids)
        loc = self._loc[:n_slots]
        main = self._main
        old_main_slots = main.n_slots
        in_main = loc[:old_main_slots] == _MAIN
        main_lengths = np.diff(main.fwd_offsets)
        live = loc != _ABSENT
        new_lengths = np.zeros(n_slots, dtype=np.int64)
        new_lengths[:old_main_slots][in_main] = main_lengths[in_main]
        delta_slots = np.flatnonzero(loc >= 0)
        delta_nums = loc[delta_slots]
        delta_runs = [self._delta_docs[int(d)] for d in delta_nums.tolist()]
        new_lengths[delta_slots] = [len(terms) for terms, _ in delta_runs]
        new_lengths = new_lengths[live]
        fwd_offsets = np.zeros(len(new_lengths) + 1, dtype=np.int64)
        np.cumsum(new_lengths, out=fwd_offsets[1:])
        total = int(fwd_offsets[-1])
        from_delta = np.repeat((loc >= 0)[live], new_lengths)
        keep_main = np.repeat(in_main, main_lengths)
        d_terms = np.concatenate([t for t, _ in delta_runs]) if delta_runs else _EMPTY_I32
        d_tfs = np.concatenate([f for _, f in delta_runs]) if delta_runs else _EMPTY_I64
        max_tf = max(int(d_tfs.max(initial=0)), int(main.fwd_tfs.max(initial=0)))
        fwd_terms = np.empty(total, dtype=np.int32)
        fwd_tfs = np.empty(total, dtype=_tf_dtype(max_tf))
        fwd_terms[~from_delta] = main.fwd_terms[keep_main]
        fwd_tfs[~from_delta] = main.fwd_tfs[keep_main]
        fwd_terms[from_delta] = d_terms
        fwd_tfs[from_delta] = d_tfs
        del from_delta, keep_main
        self._main = _segment_from_forward(fwd_offsets, fwd_terms, fwd_tfs, len(self._terms))
        self._ids = [doc_id for doc_id in self._ids if doc_id is not None]
        self._slot_of = {doc_id: i for i, doc_id in enumerate(self._ids) if doc_id is not None}
        self._dl = self._dl[:n_slots][live].copy()
        self._loc = np.full(len(self._ids), _MAIN, dtype=np.int64)
        self._delta_docs = []
        self._delta_postings = {}
        self._delta_arrays = {}
        self._changed = 0
        self._reset_df()
        self.built_at = datetime.now(UTC)
        self._compute_blocks()

    def _compute_blocks(self) -> None:
        """Block-max bounds for the current main segment (only the kernel needs them)."""
        main = self._main
        if _block_bounds is None or not self._kernel_applies():
            main.blocks = None
            return
        avgdl = self._total_len / self._n_docs if self._n_docs else 1.0
        avgdl = max(avgdl, 1e-9)
        start, last, bound, term_bound = _block_bounds(
            main.offsets, main.docs, main.tfs, self._dl, self.k1, self.b, avgdl, _BLOCK
        )
        main.blocks = _Blocks(start, last, bound, term_bound, avgdl)

    def _kernel_applies(self) -> bool:
        """Block bounds rely on the tf factor growing with tf and shrinking with length."""
        return self.k1 >= 0 and 0 <= self.b <= 1

    # --------------------------------------------------------------------------- querying

    def __len__(self) -> int:
        return self._n_docs

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slot_of

    def document_frequency(self, term: str) -> int:
        """How many documents hold `term` (the answer core weighs query words by it)."""
        tid = self._term_ids.get(term)
        return 0 if tid is None or tid >= len(self._df) else int(self._df[tid])

    def _idf_sum(self) -> float:
        """Sum over the vocabulary of rank-bm25's raw idf, computed per distinct df value."""
        n = self._n_docs
        if self._idf_sum_cache is not None and self._idf_sum_cache[0] == n:
            return self._idf_sum_cache[1]
        dfs = np.fromiter(self._df_hist.keys(), dtype=np.float64, count=len(self._df_hist))
        mult = np.fromiter(self._df_hist.values(), dtype=np.float64, count=len(self._df_hist))
        total = float(np.sum(mult * (np.log(n - dfs + 0.5) - np.log(dfs + 0.5))))
        self._idf_sum_cache = (n, total)
        return total

    def _query_weights(self, query_tokens: Sequence[str]) -> list[tuple[int, float]]:
        """(term id, idf) for each query token that is in the vocabulary, in query order."""
        n = self._n_docs
        if n == 0 or self._vocab_size == 0:
            return []
        eps: float | None = None
        weights = []
        for token in query_tokens:
            tid = self._term_ids.get(token)
            if tid is None:
                continue
            df = int(self._df[tid])
            if df == 0:
                continue
            idf = math.log(n - df + 0.5) - math.log(df + 0.5)
            if idf < 0:
                if eps is None:
                    eps = self.epsilon * (self._idf_sum() / self._vocab_size)
                idf = eps
            weights.append((tid, idf))
        return weights

    def _main_postings(self, term: int) -> tuple[I32, TF]:
        """Live (slots, tfs) of a term in the main segment."""
        docs, tfs = self._main.postings(term)
        if len(docs):
            keep = self._loc[docs] == _MAIN
            if not keep.all():
                docs, tfs = docs[keep], tfs[keep]
        return docs, tfs

    def _delta_term_postings(self, term: int) -> tuple[I64, I64]:
        """Live (slots, tfs) of a term in the delta, in the order they were added."""
        entry = self._delta_postings.get(term)
        if entry is None:
            return _EMPTY_I64, _EMPTY_I64
        cached = self._delta_arrays.get(term)
        if cached is None:
            cached = (np.array(entry[0], dtype=np.int64), np.array(entry[1], dtype=np.int64))
            self._delta_arrays[term] = cached
        dnums, tfs = cached
        slots = self._delta_slot[dnums]
        keep = self._loc[slots] == dnums
        return slots[keep], tfs[keep]

    def top_k(self, query_tokens: Sequence[str], k: int = 10) -> list[tuple[str, float]]:
        """Best ``k`` documents containing a query token, by score, earlier-added first on ties."""
        if k <= 0:
            return []
        weights = self._query_weights(query_tokens)
        if not weights:
            return []
        # Bounds assume contributions >= 0; negative idfs only occur in tiny collections.
        prunable = self._use_kernel and _maxscore is not None and self._kernel_applies()
        if prunable and all(idf >= 0 for _, idf in weights):
            return self._top_k_pruned(weights, k)
        return self._top_k_exhaustive(weights, k)

    def _top_k_exhaustive(
        self, weights: list[tuple[int, float]], k: int
    ) -> list[tuple[str, float]]:
        """Score every document holding a query term (numpy; the reference path)."""
        postings: dict[int, tuple[npt.NDArray[Any], npt.NDArray[Any]]] = {}
        for tid, _ in weights:
            if tid not in postings:
                docs, tfs = self._main_postings(tid)
                dslots, dtfs = self._delta_term_postings(tid)
                if len(dslots):
                    docs = np.concatenate([docs.astype(np.int64), dslots])
                    tfs = np.concatenate([tfs.astype(np.int64), dtfs])
                    order = np.argsort(docs, kind="stable")
                    docs, tfs = docs[order], tfs[order]
                postings[tid] = (docs, tfs)
        nonempty = [docs for docs, _ in postings.values() if len(docs)]
        if not nonempty:
            return []
        cand = np.unique(np.concatenate(nonempty))
        scores = self._score_slots(cand, weights, postings)
        return self._results(cand, scores, k)

    def _top_k_pruned(self, weights: list[tuple[int, float]], k: int) -> list[tuple[str, float]]:
        """Delta scored in full, main segment through the block-max MaxScore kernel."""
        assert _maxscore is not None
        # The delta first: its k-th best score lets the kernel prune from the start.
        delta_post = {tid: self._delta_term_postings(tid) for tid, _ in weights}
        delta_nonempty = [slots for slots, _ in delta_post.values() if len(slots)]
        cand_parts: list[I64] = []
        theta0 = -np.inf
        if delta_nonempty:
            dcand = np.unique(np.concatenate(delta_nonempty))
            dscores = self._score_slots(dcand, weights, delta_post)
            if len(dcand) >= k:
                kth = float(np.partition(dscores, len(dscores) - k)[len(dscores) - k])
                theta0 = kth - 1e-9 * (1.0 + abs(kth))
            keep = self._top_positions(dscores, dcand, k)
            cand_parts.append(dcand[keep])
        main = self._main
        if main.blocks is None:
            self._compute_blocks()
        blocks = main.blocks
        if blocks is not None and main.n_terms:
            weight_of: dict[int, float] = {}
            for tid, idf in weights:
                if tid < main.n_terms and main.offsets[tid + 1] > main.offsets[tid]:
                    weight_of[tid] = weight_of.get(tid, 0.0) + idf
            if weight_of:
                tids = np.fromiter(weight_of.keys(), dtype=np.int64, count=len(weight_of))
                w = np.fromiter(weight_of.values(), dtype=np.float64, count=len(weight_of))
                avgdl = self._total_len / self._n_docs
                scale = max(1.0, avgdl / blocks.avgdl)
                ub = blocks.term_bound[tids].astype(np.float64) * w * scale
                order = np.argsort(ub, kind="stable")
                tids, w, ub = tids[order], w[order], ub[order]
                slots, _ = _maxscore(
                    main.docs,
                    main.tfs,
                    self._dl,
                    self._loc,
                    blocks.last,
                    blocks.bound,
                    main.offsets[tids],
                    main.offsets[tids + 1],
                    blocks.start[tids],
                    blocks.start[tids + 1],
                    w,
                    ub,
                    scale,
                    self.k1,
                    self.b,
                    avgdl,
                    k,
                    theta0,
                    _BLOCK,
                )
                cand_parts.append(slots)
        if not cand_parts:
            return []
        cand = np.unique(np.concatenate(cand_parts))
        if not len(cand):
            return []
        return self._results(cand, self._rescore(cand, weights), k)

    def _rescore(self, slots: I64, weights: list[tuple[int, float]]) -> F64:
        """Exact scores of a few slots, read from the forward index."""
        postings: dict[int, tuple[list[int], list[int]]] = {tid: ([], []) for tid, _ in weights}
        for slot in slots.tolist():
            loc = int(self._loc[slot])
            terms, tfs = self._main.forward(slot) if loc == _MAIN else self._delta_docs[loc]
            hit = np.flatnonzero(np.isin(terms, list(postings)))
            for t, tf in zip(terms[hit].tolist(), tfs[hit].tolist(), strict=True):
                postings[t][0].append(slot)
                postings[t][1].append(tf)
        arrays = {
            t: (np.array(s, dtype=np.int64), np.array(f, dtype=np.int64))
            for t, (s, f) in postings.items()
        }
        return self._score_slots(slots, weights, arrays)

    def _score_slots(
        self,
        cand: npt.NDArray[Any],
        weights: list[tuple[int, float]],
        postings: dict[int, tuple[npt.NDArray[Any], npt.NDArray[Any]]],
    ) -> F64:
        """Exact scores of ``cand`` (ascending slots), in rank-bm25's order of operations.

        ``postings[t]`` gives the (slot, tf) pairs of term ``t`` for at least the candidates
        that contain it; slots that are not candidates are ignored.
        """
        k1, b = self.k1, self.b
        avgdl = self._total_len / self._n_docs
        doc_len = self._dl[cand]
        norm = k1 * (1 - b + b * doc_len / avgdl)
        score = np.zeros(len(cand), dtype=np.float64)
        tf_of: dict[int, F64] = {}
        for tid, idf in weights:
            q_freq = tf_of.get(tid)
            if q_freq is None:
                docs, tfs = postings[tid]
                q_freq = np.zeros(len(cand), dtype=np.float64)
                if len(docs):
                    pos = np.searchsorted(cand, docs)
                    pos[pos == len(cand)] = 0
                    hit = cand[pos] == docs
                    q_freq[pos[hit]] = tfs[hit]
                tf_of[tid] = q_freq
            score += idf * (q_freq * (k1 + 1) / (q_freq + norm))
        return score

    def _results(self, cand: npt.NDArray[Any], scores: F64, k: int) -> list[tuple[str, float]]:
        ids = self._ids
        return [
            (str(ids[int(cand[i])]), float(scores[i])) for i in self._top_positions(scores, cand, k)
        ]

    @staticmethod
    def _top_positions(scores: F64, slots: npt.NDArray[Any], k: int) -> I64:
        """Positions of the best ``k`` scores, ties to the lower slot (the earlier-added)."""
        if len(scores) > k:
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            pool = np.flatnonzero(scores >= kth)
        else:
            pool = np.arange(len(scores))
        order = np.lexsort((slots[pool], -scores[pool]))
        return pool[order[:k]].astype(np.int64)

    def score(self, query_tokens: Sequence[str], doc_id: str) -> float:
        """The BM25 score of one document (KeyError if the id is not in the index)."""
        slot = self._slot_of[doc_id]
        weights = self._query_weights(query_tokens)
        if not weights:
            return 0.0
        return float(self._rescore(np.array([slot], dtype=np.int64), weights)[0])

    # ------------------------------------------------------------------------ persistence

    def save(self, directory: Path) -> None:
        """Write the index under ``directory`` atomically.

        Arrays go to a fresh generation folder; the manifest that names it is replaced with
        one rename, so a reader sees either the old index or the new one, never a mixture.
        """
        if self._changed or len(self._ids) != self._n_docs:
            self._merge()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        generation = f"gen-{uuid.uuid4().hex}"
        tmp = directory / f".{generation}.tmp"
        tmp.mkdir()
        arrays = dict(self._main.arrays(), dl=self._dl[: len(self._ids)])
        for name, values in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(values), allow_pickle=False)
        _write_json(tmp / "ids.json", self._ids)
        _write_json(tmp / "terms.json", self._terms)
        _fsync_dir(tmp)
        os.replace(tmp, directory / generation)
        blocks = self._main.blocks
        manifest = {
            "format": _FORMAT,
            "version": _VERSION,
            "generation": generation,
            "k1": self.k1,
            "b": self.b,
            "epsilon": self.epsilon,
            "documents": self._n_docs,
            "terms": len(self._terms),
            "postings": len(self._main.docs),
            "block_avgdl": blocks.avgdl if blocks is not None else None,
            "built_at": self.built_at.isoformat() if self.built_at else None,
        }
        _write_json(directory / f"{_MANIFEST}.tmp", manifest)
        os.replace(directory / f"{_MANIFEST}.tmp", directory / _MANIFEST)
        _fsync_dir(directory)
        for old in directory.iterdir():
            if old.name.startswith(("gen-", ".gen-")) and old.name != generation:
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        """Read an index written by `save` (IndexLoadError if missing or corrupt).

        The large arrays are memory-mapped: start-up reads only the ids and the vocabulary,
        and the postings are paged in as queries touch them.
        """
        directory = Path(directory)
        try:
            manifest = json.loads((directory / _MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("format") != _FORMAT or manifest.get("version") != _VERSION:
                raise IndexLoadError(f"{directory} holds no index of a format this version reads")
            gen = directory / str(manifest["generation"])
            names = ["offsets", "docs", "tfs", "fwd_offsets", "fwd_terms", "fwd_tfs", "dl"]
            block_avgdl = manifest.get("block_avgdl")
            if block_avgdl is not None:
                names += ["blk_start", "blk_last", "blk_bound", "blk_term_bound"]
            arrays = {
                name: np.asarray(np.load(gen / f"{name}.npy", mmap_mode="r", allow_pickle=False))
                for name in names
            }
            ids = json.loads((gen / "ids.json").read_text(encoding="utf-8"))
            terms = json.loads((gen / "terms.json").read_text(encoding="utf-8"))
            index = cls(manifest["k1"], manifest["b"], manifest["epsilon"])
            built_at = manifest.get("built_at")
            index.built_at = datetime.fromisoformat(built_at) if built_at else None
            dl = np.array(arrays.pop("dl"), dtype=np.int64)
            offsets = np.array(arrays.pop("offsets"), dtype=np.int64)
            fwd_offsets = np.array(arrays.pop("fwd_offsets"), dtype=np.int64)
            segment = _Segment(
                offsets,
                arrays["docs"],
                arrays["tfs"],
                fwd_offsets,
                arrays["fwd_terms"],
                arrays["fwd_tfs"],
            )
            if block_avgdl is not None:
                segment.blocks = _Blocks(
                    np.array(arrays["blk_start"], dtype=np.int64),
                    arrays["blk_last"],
                    arrays["blk_bound"],
                    arrays["blk_term_bound"],
                    float(block_avgdl),
                )
        except IndexLoadError:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise IndexLoadError(f"cannot read the index in {directory}: {exc}") from exc
        _check_consistent(directory, segment, dl, ids, terms, manifest)
        index._main = segment
        index._terms = terms
        index._term_ids = {t: i for i, t in enumerate(terms)}
        index._ids = ids
        index._slot_of = {doc_id: i for i, doc_id in enumerate(ids)}
        index._dl = dl
        index._loc = np.full(len(ids), _MAIN, dtype=np.int64)
        index._n_docs = len(ids)
        index._total_len = int(dl.sum())
        index._reset_df()
        if segment.blocks is None:
            index._compute_blocks()
        return index

    def stats(self) -> IndexStats:
        """Counts and an estimate of the memory the index holds."""
        arrays = [*self._main.arrays().values(), self._df, self._dl, self._loc]
        memory = sum(a.nbytes for a in arrays)
        memory += sys.getsizeof(self._term_ids) + sys.getsizeof(self._slot_of)
        memory += sum(sys.getsizeof(t) for t in self._terms)
        memory += sum(sys.getsizeof(i) for i in self._ids if i is not None)
        main_live = self._loc[: self._main.n_slots] == _MAIN
        postings = int(np.diff(self._main.fwd_offsets)[main_live].sum())
        postings += sum(
            len(self._delta_docs[int(loc)][0]) for loc in self._loc[: len(self._ids)] if loc >= 0
        )
        return IndexStats(
            documents=self._n_docs,
            terms=self._vocab_size,
            postings=postings,
            memory_bytes=int(memory),
            built_at=self.built_at,
        )


def _check_consistent(
    directory: Path,
    segment: _Segment,
    dl: I64,
    ids: object,
    terms: object,
    manifest: dict[str, object],
) -> None:
    """Refuse a saved index whose parts do not fit together (truncated or mixed files)."""
    problems = []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        problems.append("document ids are not a list of strings")
    elif len(set(ids)) != len(ids) or len(ids) != len(dl) or len(ids) != segment.n_slots:
        problems.append("document ids do not match the document arrays")
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        problems.append("terms are not a list of strings")
    elif len(terms) != segment.n_terms:
        problems.append("terms do not match the postings offsets")
    n_post = len(segment.docs)
    if (
        len(segment.tfs) != n_post
        or len(segment.fwd_terms) != n_post
        or len(segment.fwd_tfs) != n_post
        or int(segment.offsets[-1]) != n_post
        or int(segment.fwd_offsets[-1]) != n_post
        or manifest.get("postings") != n_post
    ):
        problems.append("postings arrays have inconsistent lengths")
    blocks = segment.blocks
    if blocks is not None and (
        len(blocks.start) != len(segment.offsets)
        or int(blocks.start[-1]) != len(blocks.last)
        or len(blocks.bound) != len(blocks.last)
        or len(blocks.term_bound) != segment.n_terms
    ):
        problems.append("block bounds do not match the postings")
    if problems:
        raise IndexLoadError(f"the index in {directory} is corrupt: {'; '.join(problems)}")


def _write_json(path: Path, value: object) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(value, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
