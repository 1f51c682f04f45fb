"""BM25 index over posts: exact rank-bm25 ``BM25Okapi`` scores, updatable in place.

Layout (why it is fast and still exact):

* A *main segment* holds an inverted index as CSR numpy arrays: for each term, the slots of the
  documents containing it (ascending) and their term frequencies, plus the same postings by
  document (the forward index), which edits and removals need to update the statistics.
* Documents added or edited since the last merge go to a small append-only *delta*; edited or
  removed documents stay in the main arrays as tombstones until the delta is merged.
* Document ids live in a compact table (`retrieval.index.doc_ids`), term frequencies in one byte
  while they fit.
* Document frequencies, the total document length and a histogram of document frequencies are
  kept up to date on every change, so N, avgdl, each idf and rank-bm25's epsilon floor (which
  depends on the mean idf over the whole vocabulary) are exact at all times.
* Long postings lists are split into impact layers by each posting's tf factor
  ``g = tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``: postings near the term's best g,
  and the rest. Queries run a score-at-a-time numba kernel over the main segment: it reads whole
  lists, the most bound-reducing per posting first, adding exact contributions into a scratch
  accumulator, and stops once the bounds of the unread lists cannot lift an unseen document to
  the k-th best partial score; the seen documents that still can are completed from the unread
  lists, term by term, dropping those that fall behind as the k-th best sum rises. Bounds are
  computed for a reference avgdl and scaled by ``max(1, avgdl / reference)``, which keeps them
  valid while the collection drifts (g grows at most like avgdl). The k winners are rescored
  with rank-bm25's own formula. Without numba (or with negative idfs, or
  more than 30 distinct query terms) every candidate is scored with numpy instead.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import shutil
import sys
import threading
import uuid
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval.index import kernels
from retrieval.index.doc_ids import DocIds

__all__ = ["BM25Index", "IndexLoadError", "IndexStats"]

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
TF = npt.NDArray[np.integer[Any]]
DL = npt.NDArray[np.integer[Any]]  # document lengths: uint16, or int32 past 65,535 tokens

_FORMAT = "liveblog-bm25"
_VERSION = 3  # 2: postings in impact layers; 3: ids as arrays
_MANIFEST = "manifest.json"
_ABSENT = -2  # slot location: document removed
_MAIN = -1  # slot location: document's postings live in the main segment (>= 0: delta number)
#: A postings list this long is split into impact layers: g >= 90% of the term's best g,
#: >= 80%, >= 65%, >= 50%, and the rest (measured on the benchmark archive: fewer layers read
#: more postings, more layers cost more bookkeeping per query term).
_LAYER_MIN = 1024
_LAYER_FRACTIONS = np.array([0.9, 0.8, 0.65, 0.5], dtype=np.float64)
_EMPTY_I32: I32 = np.zeros(0, dtype=np.int32)
_EMPTY_I64: I64 = np.zeros(0, dtype=np.int64)


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
class _Layers:
    """Impact layers of a segment's postings, which the kernel prunes with.

    A long postings list is split by its tf factor ``g = tf * (k1 + 1) / (tf + k1 * (1 - b +
    b * dl / avgdl))`` into up to five lists, high first, each sorted by slot, so that the long
    low-impact part of a common term is only looked up, never read in full. ``lists[t]:
    lists[t+1]`` are term ``t``'s lists; list ``l`` spans postings ``lo[l]:hi[l]`` and
    ``bound[l]`` bounds g over it at this ``avgdl``.
    """

    lists: I64
    lo: I64
    hi: I64
    bound: F32
    avgdl: float

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "lay_lists": self.lists,
            "lay_lo": self.lo,
            "lay_hi": self.hi,
            "lay_bound": self.bound,
        }


@dataclass
class _Segment:
    """Immutable inverted and forward index of the documents merged so far.

    ``docs[offsets[t]:offsets[t+1]]`` are the slots containing term ``t`` and ``tfs`` their
    term frequencies (ascending slots, or ascending within each impact layer once ``layers`` is
    set); ``fwd_*`` hold the same postings slot by slot.
    """

    offsets: I64  # len = terms + 1
    docs: I32
    tfs: TF
    fwd_offsets: I64  # len = slots + 1
    fwd_terms: I32
    fwd_tfs: TF
    layers: _Layers | None = None

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
        if self.layers is not None:
            arrays.update(self.layers.arrays())
        return arrays


def _dl_dtype(max_len: int) -> type[np.integer[Any]]:
    """Document lengths in two bytes while they fit: the pruning kernel looks one up for
    every posting it reads, and a smaller array stays in cache (~15% faster queries)."""
    return np.uint16 if max_len < 1 << 16 else np.int32


def _tf_dtype(max_tf: int) -> type[np.integer[Any]]:
    """The narrowest type for term frequencies up to ``max_tf``: a post rarely repeats a word
    256 times, so postings usually store their tf in one byte instead of four."""
    if max_tf < 1 << 8:
        return np.uint8
    return np.uint16 if max_tf < 1 << 16 else np.int32


def _term_counts(terms: I32, n_terms: int, chunk: int = 1 << 22) -> I64:
    """``np.bincount(terms, minlength=n_terms)`` chunk by chunk: bincount converts its input
    to int64, which for all postings at once would be a second, doubled copy of them."""
    counts = np.zeros(n_terms, dtype=np.int64)
    for lo in range(0, len(terms), chunk):
        counts += np.bincount(terms[lo : lo + chunk], minlength=n_terms)
    return counts


def _segment_from_forward(fwd_offsets: I64, fwd_terms: I32, fwd_tfs: TF, n_terms: int) -> _Segment:
    """Invert slot-major postings (each slot's terms distinct) into term-major CSR arrays."""
    offsets = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(_term_counts(fwd_terms, n_terms), out=offsets[1:])
    if kernels.invert is not None:
        docs, tfs = kernels.invert(fwd_offsets, fwd_terms, fwd_tfs, offsets)
    else:
        slots = np.repeat(np.arange(len(fwd_offsets) - 1, dtype=np.int32), np.diff(fwd_offsets))
        order = np.argsort(fwd_terms, kind="stable")  # stable: slots stay ascending per term
        docs = slots[order]
        del slots
        tfs = fwd_tfs[order]
    return _Segment(offsets, docs, tfs, fwd_offsets, fwd_terms, fwd_tfs)


def _run_lengths(code: I64, a_offsets: I64, b_offsets: I64) -> I64:
    """Length of each run `_gather_runs` copies for ``code``."""
    lengths = np.empty(len(code), dtype=np.int64)
    from_a = code >= 0
    a_codes = code[from_a]
    lengths[from_a] = a_offsets[a_codes + 1] - a_offsets[a_codes]
    b_codes = -code[~from_a] - 1
    lengths[~from_a] = b_offsets[b_codes + 1] - b_offsets[b_codes]
    return lengths


def _gathered(
    code: I64,
    a: tuple[I64, I32, TF],
    b: tuple[I64, I32, npt.NDArray[Any]],
    tf_dtype: type[np.integer[Any]] | np.dtype[Any],
) -> tuple[I64, I32, TF]:
    """Forward arrays (offsets, terms, tfs) of the runs ``code`` picks from ``a`` and ``b``."""
    offsets = np.zeros(len(code) + 1, dtype=np.int64)
    np.cumsum(_run_lengths(code, a[0], b[0]), out=offsets[1:])
    total = int(offsets[-1])
    terms = np.empty(total, dtype=np.int32)
    tfs = np.empty(total, dtype=tf_dtype)
    if kernels.gather_runs is not None:
        kernels.gather_runs(code, a[0], a[1], a[2], b[0], b[1], b[2], offsets, terms, tfs)
        return offsets, terms, tfs
    for j, c in enumerate(code.tolist()):  # numpy: one slice per run
        src = a if c >= 0 else b
        r = c if c >= 0 else -c - 1
        lo, hi = int(src[0][r]), int(src[0][r + 1])
        terms[offsets[j] : offsets[j + 1]] = src[1][lo:hi]
        tfs[offsets[j] : offsets[j + 1]] = src[2][lo:hi]
    return offsets, terms, tfs


# -------------------------------------------------------------------------------- index


class _Scratch:
    """Work arrays of the pruning kernel, one entry per slot, zero between queries."""

    __slots__ = ("_seen32", "acc", "cands", "seen8", "touched")

    def __init__(self, n: int) -> None:
        self.acc: F64 = np.zeros(n, np.float64)
        self.seen8 = np.zeros(n, np.uint8)
        self._seen32: npt.NDArray[np.uint32] | None = None  # only for long questions
        self.touched: I32 = np.zeros(n, np.int32)
        self.cands: I32 = np.zeros(n, np.int32)

    @property
    def seen32(self) -> npt.NDArray[np.uint32]:
        if self._seen32 is None:
            self._seen32 = np.zeros(len(self.acc), np.uint32)
        return self._seen32


class _DeltaList:
    """One term's postings in the delta: append-only (delta number, tf) in doubling arrays."""

    __slots__ = ("dnums", "n", "tfs")

    def __init__(self) -> None:
        self.dnums: I64 = np.empty(4, dtype=np.int64)
        self.tfs: I64 = np.empty(4, dtype=np.int64)
        self.n = 0

    def append(self, dnum: int, tf: int) -> None:
        if self.n == len(self.dnums):
            self.dnums = np.concatenate([self.dnums, np.empty(self.n, dtype=np.int64)])
            self.tfs = np.concatenate([self.tfs, np.empty(self.n, dtype=np.int64)])
        self.dnums[self.n] = dnum
        self.tfs[self.n] = tf
        self.n += 1


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
        self._ids = DocIds.from_ids([])
        self._dl: DL = np.zeros(16, dtype=np.uint16)  # widened by a post of 65,536+ tokens
        self._loc: I32 = np.full(16, _ABSENT, dtype=np.int32)  # delta numbers fit 31 bits
        self._n_docs = 0
        self._total_len = 0
        self._main = _Segment.empty()
        # Delta: documents added or edited since the last merge, by delta number.
        self._delta_docs: list[tuple[I32, TF]] = []
        self._delta_slot: I64 = np.zeros(16, dtype=np.int64)
        self._delta_postings: dict[int, _DeltaList] = {}  # term -> its postings in the delta
        self._changed = 0  # documents added, edited or removed since the last merge
        self._main_dead = 0  # main-segment documents since removed or edited (tombstones)
        self.built_at: datetime | None = None
        # Zeroed work arrays of the kernel, one per slot; the lock keeps threads off each other.
        self._scratch: _Scratch | None = None
        self._lock = threading.Lock()

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
        slot_of: dict[str, int] = {}
        ids: list[str] = []
        # One run of (term, tf) pairs per input document, in compact typed buffers.
        run_slots = array("q")
        run_lengths = array("q")
        run_dls = array("q")
        buf_terms = array("i")
        buf_tfs = array("B")  # widened to "i" by the first tf above 255
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
            try:
                buf_tfs.extend(counts.values())
            except OverflowError:
                del buf_tfs[len(buf_terms) - len(counts) :]
                buf_tfs = array("i", buf_tfs)
                buf_tfs.extend(counts.values())
        n_slots = len(ids)
        n_terms = len(term_ids)
        index._terms = list(term_ids)
        index._ids = DocIds.from_ids(ids)
        del ids, slot_of  # a million id strings and their dict: ~95 MB until the inversion
        runs = np.frombuffer(run_slots, dtype=np.int64) if run_slots else _EMPTY_I64
        lengths = np.frombuffer(run_lengths, dtype=np.int64) if run_lengths else _EMPTY_I64
        dl_runs = np.frombuffer(run_dls, dtype=np.int64) if run_dls else _EMPTY_I64
        # Views of the buffers, not copies: the build's peak memory is what an archive costs.
        fwd_terms = np.frombuffer(buf_terms, dtype=np.int32) if buf_terms else _EMPTY_I32
        fwd_tfs: TF = (
            np.frombuffer(buf_tfs, dtype=np.dtype(buf_tfs.typecode)) if buf_tfs else _EMPTY_I32
        )
        fwd_tfs = fwd_tfs.astype(_tf_dtype(int(fwd_tfs.max(initial=0))), copy=False)
        del buf_tfs
        if len(runs) != n_slots:  # some id came more than once: keep each slot's last run
            last_run = np.zeros(n_slots, dtype=np.int64)
            np.maximum.at(last_run, runs, np.arange(len(runs)))
            keep = last_run[runs] == np.arange(len(runs))
            tokens_keep = np.repeat(keep, lengths)
            fwd_terms, fwd_tfs = fwd_terms[tokens_keep], fwd_tfs[tokens_keep]
            runs, lengths, dl_runs = runs[keep], lengths[keep], dl_runs[keep]
        dls: DL = np.zeros(n_slots, dtype=_dl_dtype(int(dl_runs.max(initial=0))))
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
        index._loc = np.full(n_slots, _MAIN, dtype=np.int32)
        index._n_docs = n_slots
        index._total_len = int(dls.sum())
        index._reset_df()
        index.built_at = datetime.now(UTC)
        index._compute_layers()
        return index

    @classmethod
    def warm_up(cls) -> None:
        """Run the compiled kernels once on a throwaway index, both query sizes, so that they
        are compiled (or loaded from numba's cache) before the first question arrives instead
        of while it waits: seconds with a cold cache."""
        terms = [f"term{i}" for i in range(kernels.SMALL_SEEN_TERMS + 1)]
        index = cls.build((f"doc{i}", [terms[i % len(terms)], "filler"]) for i in range(40))
        index.top_k(terms[:2], 3)
        index.top_k(terms, 3)

    def upsert(self, doc_id: str, tokens: Sequence[str]) -> None:
        """Add a document, or replace an existing document's tokens (it keeps its rank order)."""
        slot = self._ids.slot(doc_id)
        if slot is not None:
            self._forget(slot)
        else:
            slot = self._ids.append(doc_id)
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
        for t, tf in zip(term_ids.tolist(), tfs.tolist(), strict=True):
            entry = postings.get(t)
            if entry is None:
                entry = postings[t] = _DeltaList()
            entry.append(dnum, tf)
        self._loc[slot] = dnum
        if len(tokens) > np.iinfo(self._dl.dtype).max:
            self._dl = self._dl.astype(_dl_dtype(len(tokens)))
        self._dl[slot] = len(tokens)
        self._n_docs += 1
        self._total_len += len(tokens)
        self._change_df(term_ids, +1)
        self._changed += 1
        self._maybe_merge()

    def remove(self, doc_id: str) -> None:
        """Remove a document; removing an absent id does nothing."""
        slot = self._ids.remove(doc_id)
        if slot is None:
            return
        self._forget(slot)
        self._changed += 1
        self._maybe_merge()

    def _forget(self, slot: int) -> None:
        """Take a slot's current postings out of the statistics (its slot stays reserved)."""
        loc = int(self._loc[slot])
        if loc == _MAIN:
            terms, _ = self._main.forward(slot)
            self._main_dead += 1
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
        grow = max(n, len(self._dl) + len(self._dl) // 4 + 16) - len(self._dl)  # amortized
        self._dl = np.concatenate([self._dl, np.zeros(grow, dtype=self._dl.dtype)])
        self._loc = np.concatenate([self._loc, np.full(grow, _ABSENT, dtype=np.int32)])

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

        One pass over the main postings; the delta is small by construction. Memory: the merge
        never holds more than two of the four big arrays sets (old and new inverted lists, old
        and new forward index) at once, so its peak is about the segment's own size. The old
        inverted lists go first (the old forward index rebuilds them if the merge fails); the
        new forward index is copied slot by slot; the old forward index goes before the new
        lists are inverted, and the postings it alone held (slots edited or removed since the
        last merge; few) are kept aside so that a failure can still restore it.
        """
        n_slots = len(self._ids)
        new_ids = self._ids.compacted()  # first: it may fail while nothing has changed yet
        loc = self._loc[:n_slots]
        main = self._main
        old_main_slots = main.n_slots
        old_fwd = (main.fwd_offsets, main.fwd_terms, main.fwd_tfs)
        live = loc != _ABSENT
        removed = not bool(live.all())
        # Delta runs by delta number (superseded runs included; the delta is small).
        delta_docs = self._delta_docs
        d_offsets = np.zeros(len(delta_docs) + 1, dtype=np.int64)
        d_lengths = (len(terms) for terms, _ in delta_docs)
        np.cumsum(np.fromiter(d_lengths, np.int64, len(delta_docs)), out=d_offsets[1:])
        d_terms = np.concatenate([t for t, _ in delta_docs]) if delta_docs else _EMPTY_I32
        d_tfs = np.concatenate([f for _, f in delta_docs]) if delta_docs else _EMPTY_I64
        delta = (d_offsets, d_terms, d_tfs)
        # New slot j takes main run s (still in main) or delta run loc[s] (code -loc[s] - 1).
        live_slots = np.flatnonzero(live)
        live_loc = loc[live_slots]
        new_code = np.where(live_loc == _MAIN, live_slots, -live_loc - 1)
        del live_slots, live_loc
        # Main slots since edited or removed: their postings, for undoing the merge.
        in_main = loc[:old_main_slots] == _MAIN
        dead_slots = np.flatnonzero(~in_main)
        dead = _gathered(dead_slots, old_fwd, delta, main.fwd_tfs.dtype)
        max_tf = max(int(d_tfs.max(initial=0)), int(main.fwd_tfs.max(initial=0)))
        # The old inverted lists go first: two copies of the postings at once would be the
        # merge's peak memory.
        main.docs, main.tfs, main.layers = _EMPTY_I32, _EMPTY_I32, None
        self._scratch = None
        try:
            fwd_offsets, fwd_terms, fwd_tfs = _gathered(new_code, old_fwd, delta, _tf_dtype(max_tf))
        except BaseException:  # e.g. MemoryError: put the old segment back together
            self._main = _segment_from_forward(*old_fwd, main.n_terms)
            self._compute_layers()
            raise
        n_old_terms = main.n_terms
        main.fwd_offsets, main.fwd_terms, main.fwd_tfs = _EMPTY_I64, _EMPTY_I32, _EMPTY_I32
        old_fwd_offsets = old_fwd[0]
        del old_fwd, main, d_terms, d_tfs, delta
        try:
            self._main = _segment_from_forward(fwd_offsets, fwd_terms, fwd_tfs, len(self._terms))
        except BaseException:  # restore the old forward index from the new one and `dead`
            new_slot = np.cumsum(live) - 1
            old_code = np.empty(old_main_slots, dtype=np.int64)
            old_code[in_main] = new_slot[:old_main_slots][in_main]
            old_code[~in_main] = -np.arange(len(dead_slots), dtype=np.int64) - 1
            del new_slot
            restored = _gathered(old_code, (fwd_offsets, fwd_terms, fwd_tfs), dead, dead[2].dtype)
            del fwd_terms, fwd_tfs
            self._main = _segment_from_forward(old_fwd_offsets, *restored[1:], n_old_terms)
            self._compute_layers()
            raise
        del fwd_terms, fwd_tfs, dead
        self._ids = new_ids  # removed slots dropped, the later ones renumbered
        if removed:
            self._dl = self._dl[:n_slots][live].copy()
        else:
            self._dl = self._dl[:n_slots].copy()
        self._loc = np.full(len(self._ids), _MAIN, dtype=np.int32)
        self._delta_docs = []
        self._delta_postings = {}
        self._changed = 0
        self._main_dead = 0
        self._reset_df()
        self.built_at = datetime.now(UTC)
        self._compute_layers()

    def _compute_layers(self) -> None:
        """Impact layers and block bounds for the main segment (only the kernel needs them)."""
        main = self._main
        if kernels.layers is None or not self._kernel_applies() or main.layers is not None:
            return  # (layering twice would scramble the slot order inside each list)
        avgdl = self._total_len / self._n_docs if self._n_docs else 1.0
        avgdl = max(avgdl, 1e-9)
        if not (main.docs.flags.writeable and main.tfs.flags.writeable):
            main.docs, main.tfs = np.array(main.docs), np.array(main.tfs)  # read-only mapping
        lists, lo, hi, bound = kernels.layers(
            main.offsets,
            main.docs,
            main.tfs,
            self._dl,
            self.k1,
            self.b,
            avgdl,
            _LAYER_FRACTIONS,
            _LAYER_MIN,
        )
        main.layers = _Layers(lists, lo, hi, bound, avgdl)
        self._scratch = None

    def _kernel_applies(self) -> bool:
        """Block bounds rely on the tf factor growing with tf and shrinking with length."""
        return self.k1 >= 0 and 0 <= self.b <= 1

    # --------------------------------------------------------------------------- querying

    def __len__(self) -> int:
        return self._n_docs

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._ids

    def document_frequency(self, term: str) -> int:
        """How many documents hold `term` (the answer core weighs query words by it)."""
        tid = self._term_ids.get(term)
        return 0 if tid is None or tid >= len(self._df) else int(self._df[tid])

    def terms_with_prefix(self, prefix: str, limit: int = 5) -> list[tuple[str, int]]:
        """Index terms starting with `prefix`, most documents first, with their document
        frequency: what inline mode completes a half-typed last word against. Read-only; the
        sorted vocabulary is rebuilt only when new terms were added."""
        if not prefix:
            return []
        cached: tuple[int, list[str]] | None = getattr(self, "_sorted_terms", None)
        if cached is None or cached[0] != len(self._terms):
            cached = (len(self._terms), sorted(self._terms))
            self._sorted_terms = cached
        vocabulary = cached[1]
        found = []
        at = bisect.bisect_left(vocabulary, prefix)
        while at < len(vocabulary) and vocabulary[at].startswith(prefix):
            df = self.document_frequency(vocabulary[at])
            if df:
                found.append((vocabulary[at], df))
            at += 1
        found.sort(key=lambda pair: (-pair[1], pair[0]))
        return found[:limit]

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
        dnums = entry.dnums[: entry.n]
        slots = self._delta_slot[dnums]
        keep = self._loc[slots] == dnums  # not since edited again, nor removed
        return slots[keep], entry.tfs[: entry.n][keep]

    def top_k(self, query_tokens: Sequence[str], k: int = 10) -> list[tuple[str, float]]:
        """Best ``k`` documents containing a query token, by score, earlier-added first on ties."""
        if k <= 0:
            return []
        weights = self._query_weights(query_tokens)
        if not weights:
            return []
        # Bounds assume contributions >= 0; negative idfs only occur in tiny collections.
        prunable = self._use_kernel and kernels.saat is not None and self._kernel_applies()
        distinct = len({tid for tid, _ in weights})
        if prunable and distinct <= kernels.MAX_QUERY_TERMS and all(idf >= 0 for _, idf in weights):
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
        """Run the score-at-a-time kernel over the delta and the main segment's lists."""
        assert kernels.saat is not None
        main = self._main
        if main.layers is None:
            self._compute_layers()
        layers = main.layers
        if layers is None:
            return self._top_k_exhaustive(weights, k)
        weight_of: dict[int, float] = {}
        for tid, idf in weights:
            weight_of[tid] = weight_of.get(tid, 0.0) + idf
        tids = list(weight_of)
        # Main lists of each query term (none for a term that only the delta holds).
        ranges = [
            (int(layers.lists[t]), int(layers.lists[t + 1])) if t < main.n_terms else (0, 0)
            for t in tids
        ]
        counts = np.array([z - a for a, z in ranges], dtype=np.int64)
        ids = np.concatenate([np.arange(a, z, dtype=np.int64) for a, z in ranges])
        term_lists = np.zeros(len(tids) + 1, dtype=np.int64)
        np.cumsum(counts, out=term_lists[1:])
        w = np.fromiter(weight_of.values(), np.float64, len(weight_of))
        lw = np.repeat(w, counts)
        avgdl = self._total_len / self._n_docs
        scale = max(1.0, avgdl / layers.avgdl)  # bounds grow at most like avgdl (see module doc)
        lub = layers.bound[ids].astype(np.float64) * lw * scale
        # The delta's live postings of each query term, which the kernel reads in full.
        delta = [self._delta_term_postings(t) for t in tids]
        delta_off = np.zeros(len(tids) + 1, dtype=np.int64)
        np.cumsum([len(slots) for slots, _ in delta], out=delta_off[1:])
        delta_slots = np.concatenate([slots for slots, _ in delta])
        delta_tfs = np.concatenate([tfs for _, tfs in delta])
        n_slots = len(self._ids)
        scratch = self._scratch
        if scratch is None or len(scratch.acc) < n_slots:
            scratch = self._scratch = _Scratch(n_slots + n_slots // 4 + 1024)  # room to grow
        seen: tuple[npt.NDArray[Any], np.unsignedinteger[Any], np.unsignedinteger[Any]]
        if len(tids) <= kernels.SMALL_SEEN_TERMS:
            seen = (scratch.seen8, np.uint8(1 << 7), np.uint8(1 << 6))
        else:
            seen = (scratch.seen32, np.uint32(1 << 31), np.uint32(1 << 30))
        with self._lock:
            slots, _ = kernels.saat(
                main.docs,
                main.tfs,
                self._dl,
                self._loc,
                self._main_dead > 0,
                layers.lo[ids],
                layers.hi[ids],
                lw,
                lub,
                term_lists,
                w,
                delta_off,
                delta_slots,
                delta_tfs,
                self.k1,
                self.b,
                avgdl,
                k,
                -np.inf,
                scratch.acc,
                *seen,
                scratch.touched,
                scratch.cands,
            )
        if not len(slots):
            return []
        cand = np.sort(slots)
        return self._results(cand, self._rescore(cand, weights), k)

    def _rescore(self, slots: I64, weights: list[tuple[int, float]]) -> F64:
        """Exact scores of a few slots (ascending), read from the forward index."""
        if kernels.gather_tfs is not None and bool(np.all(self._loc[slots] == _MAIN)):
            tids = list(dict.fromkeys(tid for tid, _ in weights))
            main = self._main
            matrix = kernels.gather_tfs(
                main.fwd_offsets, main.fwd_terms, main.fwd_tfs, slots, np.array(tids, np.int64)
            )
            return self._score_tfs(
                slots, weights, {t: matrix[:, i].astype(np.float64) for i, t in enumerate(tids)}
            )
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
        tf_of: dict[int, F64] = {}
        for tid, _ in weights:
            if tid not in tf_of:
                docs, tfs = postings[tid]
                q_freq = np.zeros(len(cand), dtype=np.float64)
                if len(docs):
                    pos = np.searchsorted(cand, docs)
                    pos[pos == len(cand)] = 0
                    hit = cand[pos] == docs
                    q_freq[pos[hit]] = tfs[hit]
                tf_of[tid] = q_freq
        return self._score_tfs(cand, weights, tf_of)

    def _score_tfs(
        self, cand: npt.NDArray[Any], weights: list[tuple[int, float]], tf_of: dict[int, F64]
    ) -> F64:
        """rank-bm25's formula, term by term in query order, given each term's tf per slot."""
        k1, b = self.k1, self.b
        avgdl = self._total_len / self._n_docs
        doc_len = self._dl[cand]
        norm = k1 * (1 - b + b * doc_len / avgdl)
        score = np.zeros(len(cand), dtype=np.float64)
        for tid, idf in weights:
            q_freq = tf_of[tid]
            score += idf * (q_freq * (k1 + 1) / (q_freq + norm))
        return score

    def _results(self, cand: npt.NDArray[Any], scores: F64, k: int) -> list[tuple[str, float]]:
        doc_id = self._ids.doc_id
        return [
            (str(doc_id(int(cand[i]))), float(scores[i]))
            for i in self._top_positions(scores, cand, k)
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
        slot = self._ids.slot(doc_id)
        if slot is None:
            raise KeyError(doc_id)
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
        arrays = dict(self._main.arrays(), **self._ids.arrays(), dl=self._dl[: len(self._ids)])
        for name, values in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(values), allow_pickle=False)
        _write_json(tmp / "terms.json", self._terms)
        _fsync_dir(tmp)
        os.replace(tmp, directory / generation)
        layers = self._main.layers
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
            "layers_avgdl": layers.avgdl if layers is not None else None,
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

        The large arrays are memory-mapped (copy-on-write, so that they are the same writable
        arrays the compiled kernels already know): start-up reads only the ids and the
        vocabulary, and the postings are paged in as queries touch them.
        """
        directory = Path(directory)
        try:
            manifest = json.loads((directory / _MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("format") != _FORMAT or manifest.get("version") != _VERSION:
                raise IndexLoadError(f"{directory} holds no index of a format this version reads")
            gen = directory / str(manifest["generation"])
            names = ["offsets", "docs", "tfs", "fwd_offsets", "fwd_terms", "fwd_tfs", "dl"]
            names += ["id_blob", "id_starts", "id_sorted_crcs", "id_order"]
            layers_avgdl = manifest.get("layers_avgdl")
            if layers_avgdl is not None:
                names += ["lay_lists", "lay_lo", "lay_hi", "lay_bound"]
            arrays = {
                name: np.asarray(np.load(gen / f"{name}.npy", mmap_mode="c", allow_pickle=False))
                for name in names
            }
            ids = DocIds(
                np.array(arrays.pop("id_blob"), dtype=np.uint8),
                np.array(arrays.pop("id_starts"), dtype=np.int64),
                np.array(arrays.pop("id_sorted_crcs"), dtype=np.uint32),
                np.array(arrays.pop("id_order"), dtype=np.int32),
            )
            terms = json.loads((gen / "terms.json").read_text(encoding="utf-8"))
            index = cls(manifest["k1"], manifest["b"], manifest["epsilon"])
            built_at = manifest.get("built_at")
            index.built_at = datetime.fromisoformat(built_at) if built_at else None
            dl = np.array(arrays.pop("dl"))
            dl = dl.astype(_dl_dtype(int(dl.max(initial=0))))  # and refuses non-numbers
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
            if layers_avgdl is not None:
                segment.layers = _Layers(
                    np.array(arrays["lay_lists"], dtype=np.int64),
                    np.array(arrays["lay_lo"], dtype=np.int64),
                    np.array(arrays["lay_hi"], dtype=np.int64),
                    np.array(arrays["lay_bound"], dtype=np.float32),
                    float(layers_avgdl),
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
        index._dl = dl
        index._loc = np.full(len(ids), _MAIN, dtype=np.int32)
        index._n_docs = len(ids)
        index._total_len = int(dl.sum())
        index._reset_df()
        if segment.layers is None:
            index._compute_layers()
        return index

    def stats(self) -> IndexStats:
        """Counts and an estimate of the memory the index holds."""
        arrays = [*self._main.arrays().values(), self._df, self._dl, self._loc]
        memory = sum(a.nbytes for a in arrays)
        memory += sys.getsizeof(self._term_ids) + sum(sys.getsizeof(t) for t in self._terms)
        memory += self._ids.memory_bytes()
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
    dl: DL,
    ids: DocIds,
    terms: object,
    manifest: dict[str, object],
) -> None:
    """Refuse a saved index whose parts do not fit together (truncated or mixed files)."""
    problems = []
    if not ids.consistent():
        problems.append("document ids are not a well-formed table of distinct ids")
    elif len(ids) != len(dl) or len(ids) != segment.n_slots:
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
    layers = segment.layers
    if layers is not None and (
        len(layers.lists) != len(segment.offsets)
        or int(layers.lists[-1]) != len(layers.lo)
        or len(layers.hi) != len(layers.lo)
        or len(layers.bound) != len(layers.lo)
        or (len(layers.hi) and int(layers.hi.max()) > n_post)
    ):
        problems.append("impact layers do not match the postings")
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
