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
* Long postings lists are split into impact layers by each posting's tf factor
  ``g = tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``: postings near the term's best g,
  and the rest. Queries run a score-at-a-time numba kernel over the main segment: it reads whole
  lists, the most bound-reducing per posting first, adding exact contributions into a scratch
  accumulator, and stops once the bounds of the unread lists cannot lift an unseen document to
  the k-th best partial score; the seen documents that still can are completed from the unread
  lists. Bounds are computed for a reference avgdl and scaled by ``max(1, avgdl / reference)``,
  which keeps them valid while the collection drifts (g grows at most like avgdl). The k
  winners are rescored with rank-bm25's own formula. Without numba (or with negative idfs, or
  more than 30 distinct query terms) every candidate is scored with numpy instead.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import threading
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
_VERSION = 2  # 2: postings in impact layers
_MANIFEST = "manifest.json"
_ABSENT = -2  # slot location: document removed
_MAIN = -1  # slot location: document's postings live in the main segment (>= 0: delta number)
_MAX_KERNEL_TERMS = 30  # the kernel marks the terms seen in a slot in 30 bits of a uint32
#: A postings list this long is split into impact layers: g >= 90% of the term's best g,
#: >= 80%, >= 65%, >= 50%, and the rest (measured on the benchmark archive: fewer layers read
#: more postings, more layers cost more bookkeeping per query term).
_LAYER_MIN = 1024
_LAYER_FRACTIONS = np.array([0.9, 0.8, 0.65, 0.5], dtype=np.float64)
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


def _tf_dtype(max_tf: int) -> type[np.integer[Any]]:
    """uint16 term frequencies halve the postings unless a document repeats a word 65,536 times."""
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


def _layers_py(
    offsets: I64,
    docs: I32,
    tfs: TF,
    dl: I32,
    k1: float,
    b: float,
    avgdl: float,
    fractions: F64,
    min_len: int,
) -> tuple[Any, ...]:
    """Split each long postings list into impact layers (see `_Layers`), in place.

    Reorders ``docs`` and ``tfs`` layer by layer (slots ascending within a layer; no second
    copy of the postings, which would double the build's peak memory) and returns the arrays
    of `_Layers`. Bounds are rounded up: float32 keeps 6e-8 relative, the margin 1e-6.
    """
    n_terms = offsets.shape[0] - 1
    n_layers = fractions.shape[0] + 1
    max_lists = n_terms * n_layers
    lists = np.zeros(n_terms + 1, np.int64)
    lo = np.empty(max_lists, np.int64)
    hi = np.empty(max_lists, np.int64)
    list_bound = np.zeros(max_lists, np.float32)
    longest = 0
    for t in range(n_terms):
        longest = max(longest, offsets[t + 1] - offsets[t])
    g = np.empty(longest, np.float64)
    layer = np.empty(longest, np.int64)
    old_docs = np.empty(longest, docs.dtype)
    old_tfs = np.empty(longest, tfs.dtype)
    kp1 = k1 + 1.0
    n_lists = 0
    for t in range(n_terms):
        first = offsets[t]
        count = offsets[t + 1] - first
        best = 0.0
        for q in range(count):
            tf = float(tfs[first + q])
            g[q] = tf * kp1 / (tf + k1 * (1.0 - b + b * dl[docs[first + q]] / avgdl))
            if g[q] > best:
                best = g[q]
        layers_here = n_layers if count >= min_len else 1
        if layers_here > 1:
            for q in range(count):
                old_docs[q] = docs[first + q]
                old_tfs[q] = tfs[first + q]
        for q in range(count):
            lay = 0
            while lay < layers_here - 1 and g[q] < fractions[lay] * best:
                lay += 1
            layer[q] = lay
        lists[t] = n_lists
        pos = first
        for lay in range(layers_here):
            begin = pos
            top = 0.0
            for q in range(count):
                if layer[q] == lay:
                    if layers_here > 1:
                        docs[pos] = old_docs[q]
                        tfs[pos] = old_tfs[q]
                    if g[q] > top:
                        top = g[q]
                    pos += 1
            if pos > begin:
                lo[n_lists] = begin
                hi[n_lists] = pos
                list_bound[n_lists] = top * (1.0 + 1e-6) + 1e-12
                n_lists += 1
    lists[n_terms] = n_lists
    return (
        lists,
        lo[:n_lists].copy(),
        hi[:n_lists].copy(),
        list_bound[:n_lists].copy(),
    )


def _saat_py(
    docs: I32,
    tfs: TF,
    dl: I32,
    loc: I64,
    tombstones: bool,
    lo: I64,
    hi: I64,
    lw: F64,
    lub: F64,
    term_lists: I64,
    term_w: F64,
    delta_off: I64,
    delta_slots: I64,
    delta_tfs: I64,
    k1: float,
    b: float,
    avgdl: float,
    k: int,
    theta0: float,
    acc: F64,
    seen: npt.NDArray[np.uint32],
    touched: I32,
    cands: I32,
) -> tuple[I64, F64]:
    """Best ``k`` live slots of a query, reading whole lists while they can matter.

    Query term ``t`` has lists ``term_lists[t]:term_lists[t+1]`` (weight ``lw``, bound ``lub``
    on a posting's contribution, descending; a slot is in at most one list of a term). Reading
    a list adds exact contributions to ``acc``; partial sums are lower bounds of scores, so once
    the bounds of the unread lists add up to less than the k-th best partial sum (or
    ``theta0``), no unseen slot can make the top k. Lists are read best value first: the
    largest drop of that sum per posting. The seen slots that can still make it are then
    completed from the unread lists (binary search, or one pass when they are many).
    The delta's postings of term ``t`` (``delta_off[t]:delta_off[t+1]``, live ones only) are
    read first and in full; a delta slot is then settled for every term, since its stale
    postings in the main lists (if it was edited) must not complete it.
    ``acc``, ``seen``, ``touched`` and ``cands`` are scratch arrays, zeroed on entry and exit.
    """
    n_terms = term_lists.shape[0] - 1
    kp1 = k1 + 1.0
    # k1 * (1 - b + b * dl / avgdl) as one multiply-add; every slot gets the same arithmetic,
    # so equal inputs still give equal sums (the final scores are recomputed exactly).
    base = k1 * (1.0 - b)
    slope = k1 * b / avgdl
    nxt = term_lists[:-1].copy()
    rest = np.zeros(n_terms, np.float64)
    for t in range(n_terms):
        rest[t] = lub[nxt[t]] if nxt[t] < term_lists[t + 1] else 0.0
    heap_s = np.empty(k, np.float64)
    heap_d = np.empty(k, np.int64)
    top = np.empty(k, np.int64)  # slots of the k best partial sums so far
    n_top = 0
    theta = theta0
    n_touched = 0
    marked = np.uint32(1 << 31)
    candidate = np.uint32(1 << 30)
    settled = np.uint32((1 << n_terms) - 1)
    size = 0
    for t in range(n_terms):
        for p in range(delta_off[t], delta_off[t + 1]):
            d = delta_slots[p]
            tf = float(delta_tfs[p])
            if seen[d] == 0:
                touched[n_touched] = d
                n_touched += 1
            seen[d] = settled
            acc[d] += term_w[t] * (tf * kp1 / (tf + (base + slope * dl[d])))
    for j in range(n_touched):
        size = _heap_push(heap_s, heap_d, size, k, acc[touched[j]], touched[j])
    n_top = size
    for j in range(size):
        top[j] = heap_d[j]
    if size == k:
        theta = max(theta, heap_s[0] - 1e-9 * (1.0 + abs(heap_s[0])))
    while True:
        unseen = 0.0
        for t in range(n_terms):
            unseen += rest[t]
        if unseen < theta:
            break
        best_t = -1
        best_value = -np.inf
        for t in range(n_terms):
            i = nxt[t]
            if i == term_lists[t + 1]:
                continue
            after = lub[i + 1] if i + 1 < term_lists[t + 1] else 0.0
            value = (rest[t] - after) / (hi[i] - lo[i] + 1.0)
            if value > best_value:
                best_value = value
                best_t = t
        if best_t < 0:
            break
        i = nxt[best_t]
        nxt[best_t] += 1
        rest[best_t] = lub[i + 1] if i + 1 < term_lists[best_t + 1] else 0.0
        bit = np.uint32(1 << best_t)
        w = lw[i]
        for j in range(n_top):
            seen[top[j]] |= marked
        size = 0
        for p in range(lo[i], hi[i]):
            d = docs[p]
            if tombstones and loc[d] != -1:
                continue
            tf = float(tfs[p])
            if seen[d] == 0:
                touched[n_touched] = d
                n_touched += 1
            seen[d] |= bit
            acc[d] += w * (tf * kp1 / (tf + (base + slope * dl[d])))
            if (seen[d] & marked) == 0:
                size = _heap_push(heap_s, heap_d, size, k, acc[d], d)
        for j in range(n_top):
            d = top[j]
            seen[d] ^= marked
            size = _heap_push(heap_s, heap_d, size, k, acc[d], d)
        n_top = size
        for j in range(size):
            top[j] = heap_d[j]
        if size == k:
            floor = heap_s[0] - 1e-9 * (1.0 + abs(heap_s[0]))
            if floor > theta:
                theta = floor
    # The seen slots whose bound still reaches theta become candidates.
    n_cands = 0
    for j in range(n_touched):
        d = touched[j]
        bound = acc[d]
        for t in range(n_terms):
            if (seen[d] & np.uint32(1 << t)) == 0:
                bound += rest[t]
        if bound >= theta:
            cands[n_cands] = d
            n_cands += 1
            seen[d] |= candidate
    # Complete them term by term (a fixed order: equal inputs give bit-equal sums).
    for t in range(n_terms):
        bit = np.uint32(1 << t)
        for i in range(nxt[t], term_lists[t + 1]):
            if n_cands == 0:
                break
            length = hi[i] - lo[i]
            if n_cands * 24 < length:
                for j in range(n_cands):
                    d = cands[j]
                    if (seen[d] & bit) != 0:
                        continue
                    a = lo[i]
                    z = hi[i]
                    while a < z:
                        mid = (a + z) >> 1
                        if docs[mid] < d:
                            a = mid + 1
                        else:
                            z = mid
                    if a < hi[i] and docs[a] == d:
                        tf = float(tfs[a])
                        acc[d] += lw[i] * (tf * kp1 / (tf + (base + slope * dl[d])))
                        seen[d] |= bit
            else:
                for p in range(lo[i], hi[i]):
                    d = docs[p]
                    if (seen[d] & candidate) != 0 and (seen[d] & bit) == 0:
                        tf = float(tfs[p])
                        acc[d] += lw[i] * (tf * kp1 / (tf + (base + slope * dl[d])))
                        seen[d] |= bit
        rest[t] = 0.0
        kept = 0
        for j in range(n_cands):
            d = cands[j]
            bound = acc[d]
            for u in range(t + 1, n_terms):
                if (seen[d] & np.uint32(1 << u)) == 0:
                    bound += rest[u]
            if bound >= theta:
                cands[kept] = d
                kept += 1
            else:
                seen[d] ^= candidate
        n_cands = kept
    size = 0
    for j in range(n_cands):
        d = cands[j]
        size = _heap_push(heap_s, heap_d, size, k, acc[d], d)
    for j in range(n_touched):
        d = touched[j]
        acc[d] = 0.0
        seen[d] = 0
    return heap_d[:size].copy(), heap_s[:size].copy()


def _heap_push(heap_s: F64, heap_d: I64, size: int, k: int, score: float, d: int) -> int:
    """Keep the best ``k`` (score, slot) pairs in a min-heap whose root is the worst kept.

    Worse means a lower score, or an equal score and a later slot (ties go to the earlier).
    Returns the new size.
    """
    if size < k:
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
        return size
    if score < heap_s[0] or (score == heap_s[0] and d > heap_d[0]):
        return size
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
    return size


def _gather_tfs_py(fwd_offsets: I64, fwd_terms: I32, fwd_tfs: TF, slots: I64, tids: I64) -> I64:
    """tf of each term in each slot, read from the forward index (0 when absent)."""
    out = np.zeros((slots.shape[0], tids.shape[0]), np.int64)
    for r in range(slots.shape[0]):
        s = slots[r]
        for p in range(fwd_offsets[s], fwd_offsets[s + 1]):
            for c in range(tids.shape[0]):
                if fwd_terms[p] == tids[c]:
                    out[r, c] = fwd_tfs[p]
    return out


def _gather_runs_py(
    code: I64,
    a_offsets: I64,
    a_terms: I32,
    a_tfs: TF,
    b_offsets: I64,
    b_terms: I32,
    b_tfs: npt.NDArray[Any],
    out_offsets: I64,
    out_terms: I32,
    out_tfs: TF,
) -> None:
    """Fill out run ``j`` with run ``code[j]`` of ``a`` (code >= 0) or run ``-code[j] - 1``
    of ``b``: the slot-by-slot copy that merges (and un-merges) forward indexes."""
    for j in range(code.shape[0]):
        c = code[j]
        q = out_offsets[j]
        if c >= 0:
            for p in range(a_offsets[c], a_offsets[c + 1]):
                out_terms[q] = a_terms[p]
                out_tfs[q] = a_tfs[p]
                q += 1
        else:
            c = -c - 1
            for p in range(b_offsets[c], b_offsets[c + 1]):
                out_terms[q] = b_terms[p]
                out_tfs[q] = b_tfs[p]
                q += 1


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
    if _gather_runs is not None:
        _gather_runs(code, a[0], a[1], a[2], b[0], b[1], b[2], offsets, terms, tfs)
        return offsets, terms, tfs
    for j, c in enumerate(code.tolist()):  # numpy: one slice per run
        src = a if c >= 0 else b
        r = c if c >= 0 else -c - 1
        lo, hi = int(src[0][r]), int(src[0][r + 1])
        terms[offsets[j] : offsets[j + 1]] = src[1][lo:hi]
        tfs[offsets[j] : offsets[j + 1]] = src[2][lo:hi]
    return offsets, terms, tfs


_invert: Callable[..., tuple[I32, TF]] | None = None
_gather_runs: Callable[..., None] | None = None
_layers: Callable[..., tuple[Any, ...]] | None = None
_saat: Callable[..., tuple[I64, F64]] | None = None
_gather_tfs: Callable[..., I64] | None = None


def _jit(function: Any, **options: Any) -> Any:
    """numba-compile `function`, caching the machine code beside the module (or in
    NUMBA_CACHE_DIR). A read-only install has nowhere to cache: compile per process instead
    of failing at import."""
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # "cannot cache function …: no locator available"
        return numba.njit(cache=False, **options)(function)


if numba is not None:
    _invert = _jit(_invert_py, nogil=True)
    _layers = _jit(_layers_py, nogil=True)
    _heap_push = _jit(_heap_push, inline="always")
    _saat = _jit(_saat_py)
    _gather_tfs = _jit(_gather_tfs_py, nogil=True)
    _gather_runs = _jit(_gather_runs_py, nogil=True)


# -------------------------------------------------------------------------------- index


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
        self._ids: list[str | None] = []
        self._slot_of: dict[str, int] = {}
        self._dl: I32 = np.zeros(16, dtype=np.int32)
        self._loc: I64 = np.full(16, _ABSENT, dtype=np.int64)
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
        self._scratch: tuple[F64, npt.NDArray[np.uint32], I32, I32] | None = None
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
        slot_of = index._slot_of
        ids = index._ids
        # One run of (term, tf) pairs per input document, in compact typed buffers.
        run_slots = array("q")
        run_lengths = array("q")
        run_dls = array("q")
        buf_terms = array("i")
        buf_tfs = array("i")
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
        # Views of the buffers, not copies: the build's peak memory is what an archive costs.
        fwd_terms = np.frombuffer(buf_terms, dtype=np.int32) if buf_terms else _EMPTY_I32
        all_tfs = np.frombuffer(buf_tfs, dtype=np.int32) if buf_tfs else _EMPTY_I32
        fwd_tfs = all_tfs.astype(_tf_dtype(int(all_tfs.max(initial=0))))
        del all_tfs, buf_tfs
        if len(runs) != n_slots:  # some id came more than once: keep each slot's last run
            last_run = np.zeros(n_slots, dtype=np.int64)
            np.maximum.at(last_run, runs, np.arange(len(runs)))
            keep = last_run[runs] == np.arange(len(runs))
            tokens_keep = np.repeat(keep, lengths)
            fwd_terms, fwd_tfs = fwd_terms[tokens_keep], fwd_tfs[tokens_keep]
            runs, lengths, dl_runs = runs[keep], lengths[keep], dl_runs[keep]
        dls = np.zeros(n_slots, dtype=np.int32)
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
        index._compute_layers()
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
        for t, tf in zip(term_ids.tolist(), tfs.tolist(), strict=True):
            entry = postings.get(t)
            if entry is None:
                entry = postings[t] = _DeltaList()
            entry.append(dnum, tf)
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
        grow = max(n, 2 * len(self._dl)) - len(self._dl)
        self._dl = np.concatenate([self._dl, np.zeros(grow, dtype=np.int32)])
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

        One pass over the main postings; the delta is small by construction. Memory: the merge
        never holds more than two of the four big arrays sets (old and new inverted lists, old
        and new forward index) at once, so its peak is about the segment's own size. The old
        inverted lists go first (the old forward index rebuilds them if the merge fails); the
        new forward index is copied slot by slot; the old forward index goes before the new
        lists are inverted, and the postings it alone held (slots edited or removed since the
        last merge; few) are kept aside so that a failure can still restore it.
        """
        n_slots = len(self._ids)
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
        if removed:  # slots renumbered; otherwise ids and their slots stay as they are
            self._ids = [doc_id for doc_id in self._ids if doc_id is not None]
            self._slot_of = {d: i for i, d in enumerate(self._ids) if d is not None}
            self._dl = self._dl[:n_slots][live].copy()
        else:
            self._dl = self._dl[:n_slots].copy()
        self._loc = np.full(len(self._ids), _MAIN, dtype=np.int64)
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
        if _layers is None or not self._kernel_applies() or main.layers is not None:
            return  # (layering twice would scramble the slot order inside each list)
        avgdl = self._total_len / self._n_docs if self._n_docs else 1.0
        avgdl = max(avgdl, 1e-9)
        if not (main.docs.flags.writeable and main.tfs.flags.writeable):
            main.docs, main.tfs = np.array(main.docs), np.array(main.tfs)  # read-only mapping
        lists, lo, hi, bound = _layers(
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
        prunable = self._use_kernel and _saat is not None and self._kernel_applies()
        distinct = len({tid for tid, _ in weights})
        if prunable and distinct <= _MAX_KERNEL_TERMS and all(idf >= 0 for _, idf in weights):
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
        assert _saat is not None
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
        if self._scratch is None or len(self._scratch[0]) < n_slots:
            n = n_slots + n_slots // 4 + 1024  # room for the posts still to come
            self._scratch = (
                np.zeros(n, np.float64),
                np.zeros(n, np.uint32),
                np.zeros(n, np.int32),
                np.zeros(n, np.int32),
            )
        with self._lock:
            slots, _ = _saat(
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
                *self._scratch,
            )
        if not len(slots):
            return []
        cand = np.sort(slots)
        return self._results(cand, self._rescore(cand, weights), k)

    def _rescore(self, slots: I64, weights: list[tuple[int, float]]) -> F64:
        """Exact scores of a few slots (ascending), read from the forward index."""
        if _gather_tfs is not None and bool(np.all(self._loc[slots] == _MAIN)):
            tids = list(dict.fromkeys(tid for tid, _ in weights))
            main = self._main
            matrix = _gather_tfs(
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
            layers_avgdl = manifest.get("layers_avgdl")
            if layers_avgdl is not None:
                names += ["lay_lists", "lay_lo", "lay_hi", "lay_bound"]
            arrays = {
                name: np.asarray(np.load(gen / f"{name}.npy", mmap_mode="c", allow_pickle=False))
                for name in names
            }
            ids = json.loads((gen / "ids.json").read_text(encoding="utf-8"))
            terms = json.loads((gen / "terms.json").read_text(encoding="utf-8"))
            index = cls(manifest["k1"], manifest["b"], manifest["epsilon"])
            built_at = manifest.get("built_at")
            index.built_at = datetime.fromisoformat(built_at) if built_at else None
            dl = np.array(arrays.pop("dl"), dtype=np.int32)
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
        index._slot_of = {doc_id: i for i, doc_id in enumerate(ids)}
        index._dl = dl
        index._loc = np.full(len(ids), _MAIN, dtype=np.int64)
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
    dl: I32,
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
