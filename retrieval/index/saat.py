"""The query kernel of the BM25 index: score-at-a-time top-k with exact pruning.

`saat` takes its arrays grouped by what they describe: the main segment's postings
(`Postings`), the slots' lengths and locations (`Slots`), the query's lists over the impact
layers (`QueryLists`), the delta's postings of the query terms (`DeltaLists`), the formula's
parameters (`scoring.Bm25`) and zeroed work arrays (`Scratch`). Compiled with numba when it is
installed (else `saat` is None and the index scores with numpy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from retrieval.index._numba import compile_function, numba
from retrieval.index.arrays import DL, F64, I32, I64, TF
from retrieval.index.scoring import Bm25, tf_factor, tf_factor_compiled

__all__ = [
    "MAX_QUERY_TERMS",
    "SMALL_SEEN_TERMS",
    "DeltaLists",
    "Postings",
    "QueryLists",
    "Scratch",
    "Slots",
    "saat",
]

#: `saat` marks the query terms seen in a slot in 30 bits of a uint32, or 6 bits of a uint8.
MAX_QUERY_TERMS = 30
SMALL_SEEN_TERMS = 6
#: Up to this many distinct query terms, `saat` looks up a slot's bound on what its unread
#: terms can add in a table of ``2**terms`` entries instead of looping over the terms.
_MASK_TABLE_TERMS = 12


class Postings(NamedTuple):
    """The main segment's inverted postings: slots and their term frequencies."""

    docs: I32
    tfs: TF


class Slots(NamedTuple):
    """Per slot: document length and location (-1 main segment, >= 0 delta, -2 removed);
    ``tombstones``: whether some main-segment slot is no longer live there."""

    dl: DL
    loc: I32
    tombstones: bool


class QueryLists(NamedTuple):
    """The main-segment lists a query reads: list ``i`` spans postings ``lo[i]:hi[i]`` with
    weight ``weight[i]`` (its term's idf) and ``bound[i]`` on one posting's contribution;
    query term ``t`` owns lists ``term_lists[t]:term_lists[t+1]`` and weighs
    ``term_weight[t]``."""

    lo: I64
    hi: I64
    weight: F64
    bound: F64
    term_lists: I64
    term_weight: F64


class DeltaLists(NamedTuple):
    """The delta's live postings of query term ``t``: ``slots[offsets[t]:offsets[t+1]]``."""

    offsets: I64
    slots: I64
    tfs: I64


class Scratch(NamedTuple):
    """Work arrays, one entry per slot, zero on entry and exit; ``seen`` holds a bit per
    query term plus the flags ``marked`` and ``candidate`` (its two top bits)."""

    acc: F64
    seen: npt.NDArray[np.unsignedinteger[Any]]
    marked: np.unsignedinteger[Any]
    candidate: np.unsignedinteger[Any]
    touched: I32
    cands: I32


def _saat_py(
    main: Postings,
    slots: Slots,
    query: QueryLists,
    delta: DeltaLists,
    params: Bm25,
    k: int,
    theta0: float,
    scratch: Scratch,
) -> tuple[I64, F64]:
    """Best ``k`` live slots of a query, reading whole lists while they can matter.

    Query term ``t`` has lists ``term_lists[t]:term_lists[t+1]`` (weight ``lw``, bound ``lub``
    on a posting's contribution, descending; a slot is in at most one list of a term). Reading
    a list adds exact contributions to ``acc``; partial sums are lower bounds of scores, so once
    the bounds of the unread lists add up to less than the k-th best partial sum (or
    ``theta0``), no unseen slot can make the top k. Lists are read best value first: the
    largest drop of that sum per posting. The seen slots that can still make it are then
    completed from the unread lists (binary search, or one pass when they are many), one term
    at a time, the term with the most left to add first; after each term the completed sums
    raise the k-th best, and the candidates that can no longer reach it are dropped.
    The delta's postings of term ``t`` (``delta_off[t]:delta_off[t+1]``, live ones only) are
    read first and in full; a delta slot is then settled for every term, since its stale
    postings in the main lists (if it was edited) must not complete it.
    ``acc``, ``seen``, ``touched`` and ``cands`` are scratch arrays, zeroed on entry and exit.
    ``seen`` holds a bit per query term plus the flags ``marked`` and ``candidate``, its two
    top bits: a uint8 array (1 MB per million slots, which stays in cache) serves queries of
    up to `SMALL_SEEN_TERMS` terms, a uint32 array longer ones.
    """
    docs, tfs = main.docs, main.tfs
    dl, loc, tombstones = slots.dl, slots.loc, slots.tombstones
    lo, hi, lw, lub = query.lo, query.hi, query.weight, query.bound
    term_lists, term_w = query.term_lists, query.term_weight
    delta_off, delta_slots, delta_tfs = delta.offsets, delta.slots, delta.tfs
    acc, seen, touched, cands = scratch.acc, scratch.seen, scratch.touched, scratch.cands
    marked, candidate = scratch.marked, scratch.candidate
    n_terms = term_lists.shape[0] - 1
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
            acc[d] += term_w[t] * tf_factor(tf, dl[d], params)
    for j in range(n_touched):
        size = _heap_push(heap_s, heap_d, size, k, acc[touched[j]], touched[j])
    n_top = size
    for j in range(size):
        top[j] = heap_d[j]
    theta = _raised(theta, heap_s, size, k)
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
            s = seen[d]
            touched[n_touched] = d  # kept only on a first touch, without a branch (which
            n_touched += s == 0  # mispredicts on about every other posting)
            seen[d] = s | bit
            a = acc[d] + w * tf_factor(tf, dl[d], params)
            acc[d] = a
            # Below theta a partial sum cannot be among the k best after this list: the k
            # slots that set theta are at or above it and pushed again below.
            if (s & marked) == 0 and a >= theta:
                size = _heap_push(heap_s, heap_d, size, k, a, d)
        for j in range(n_top):
            d = top[j]
            seen[d] ^= marked
            size = _heap_push(heap_s, heap_d, size, k, acc[d], d)
        n_top = size
        for j in range(size):
            top[j] = heap_d[j]
        theta = _raised(theta, heap_s, size, k)
    # The seen slots whose bound still reaches theta become candidates.
    unread = np.empty(1 << n_terms if n_terms <= _MASK_TABLE_TERMS else 0, np.float64)
    n_cands = _reachable(
        touched, n_touched, cands, acc, seen, settled, candidate, rest, unread, theta
    )
    # Complete them term by term, the term with the most left to add first: one order for
    # every slot, so that equal inputs still give bit-equal sums. After each term the
    # completed partial sums raise theta, and candidates that can no longer reach it go.
    order = np.argsort(-rest, kind="mergesort")
    for pos in range(n_terms):
        t = order[pos]
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
                        acc[d] += lw[i] * tf_factor(tf, dl[d], params)
                        seen[d] |= bit
            else:
                for p in range(lo[i], hi[i]):
                    d = docs[p]
                    if (seen[d] & candidate) != 0 and (seen[d] & bit) == 0:
                        tf = float(tfs[p])
                        acc[d] += lw[i] * tf_factor(tf, dl[d], params)
                        seen[d] |= bit
            # A slot this list did not hold can only be in the term's later lists, whose
            # bound is lower: when those lists outnumber the candidates, the ones that can no
            # longer reach theta go now, before the longer lists are read.
            if i + 1 < term_lists[t + 1] and hi[term_lists[t + 1] - 1] - hi[i] > n_cands:
                rest[t] = lub[i + 1]
                n_cands, theta = _narrowed(
                    cands,
                    n_cands,
                    heap_s,
                    heap_d,
                    k,
                    acc,
                    seen,
                    settled,
                    candidate,
                    rest,
                    unread,
                    theta,
                )
        rest[t] = 0.0
        if pos == n_terms - 1 or n_cands == 0:
            break
        n_cands, theta = _narrowed(
            cands, n_cands, heap_s, heap_d, k, acc, seen, settled, candidate, rest, unread, theta
        )
    size = 0
    for j in range(n_cands):
        d = cands[j]
        size = _heap_push(heap_s, heap_d, size, k, acc[d], d)
    for j in range(n_touched):
        d = touched[j]
        acc[d] = 0.0
        seen[d] = 0
    return heap_d[:size].copy(), heap_s[:size].copy()


def _narrowed(
    cands: I32,
    n: int,
    heap_s: F64,
    heap_d: I64,
    k: int,
    acc: F64,
    seen: npt.NDArray[np.unsignedinteger[Any]],
    settled: np.unsignedinteger[Any],
    candidate: np.unsignedinteger[Any],
    rest: F64,
    unread: F64,
    theta: float,
) -> tuple[int, float]:
    """Theta raised to the k-th best of the candidates' partial sums, and the candidates
    (kept first in ``cands``, their count returned) that can still reach it."""
    size = 0
    for j in range(n):
        d = cands[j]
        size = _heap_push(heap_s, heap_d, size, k, acc[d], d)
    theta = _raised(theta, heap_s, size, k)
    kept = _reachable(cands, n, cands, acc, seen, settled, candidate, rest, unread, theta)
    return kept, theta


def _raised(theta: float, heap_s: F64, size: int, k: int) -> float:
    """Theta raised to the k-th best partial sum once there are k of them, less a margin for
    rounding: a slot whose exact score ties the k-th must stay in play."""
    if size < k:
        return theta
    floor = float(heap_s[0]) - 1e-9 * (1.0 + abs(float(heap_s[0])))
    return floor if floor > theta else theta


def _reachable(
    slots: I32,
    n: int,
    out: I32,
    acc: F64,
    seen: npt.NDArray[np.unsignedinteger[Any]],
    settled: np.unsignedinteger[Any],
    candidate: np.unsignedinteger[Any],
    rest: F64,
    unread: F64,
    theta: float,
) -> int:
    """Copy to ``out`` those of the first ``n`` ``slots`` whose partial sum plus the bounds of
    their unread terms still reaches ``theta``, and flag exactly those as candidates; returns
    how many. ``out`` may be ``slots``. Branch-free where a table of the bounds by term mask
    fits (`unread`, refilled here): keeping or dropping is a coin toss the CPU cannot predict.
    """
    kept = 0
    if unread.shape[0]:
        _unread_bounds(rest, unread)
        for j in range(n):
            d = slots[j]
            s = seen[d]
            keep = acc[d] + unread[s & settled] >= theta
            out[kept] = d
            kept += keep
            seen[d] = (s & ~candidate) | (candidate * keep)
    else:
        for j in range(n):
            d = slots[j]
            if acc[d] + _unread_bound(rest, seen[d]) >= theta:
                out[kept] = d
                kept += 1
                seen[d] |= candidate
            else:
                seen[d] &= ~candidate
    return kept


def _unread_bounds(rest: F64, table: F64) -> None:
    """``table[mask]``: the sum of ``rest[t]`` over the terms ``t`` not in ``mask``.

    Built by adding, from the full mask down, so each entry is a sum of the same non-negative
    bounds a loop would add (a bound must never come out below what the terms can add).
    """
    n_terms = rest.shape[0]
    full = (1 << n_terms) - 1
    table[full] = 0.0
    for mask in range(full - 1, -1, -1):
        u = 0
        while (mask >> u) & 1:
            u += 1
        table[mask] = table[mask | (1 << u)] + rest[u]


def _unread_bound(rest: F64, mask: np.uint32) -> float:
    """The sum of ``rest[t]`` over the terms ``t`` not in ``mask`` (many-term queries)."""
    bound = 0.0
    for t in range(rest.shape[0]):
        if (mask & np.uint32(1 << t)) == 0:
            bound += rest[t]
    return bound


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


saat: Callable[..., tuple[I64, F64]] | None = None

if numba is not None:
    tf_factor = tf_factor_compiled  # the same formula, inlined into the loop
    _heap_push = compile_function(_heap_push, inline="always")
    _unread_bounds = compile_function(_unread_bounds)
    _raised = compile_function(_raised, inline="always")
    _reachable = compile_function(_reachable)
    _narrowed = compile_function(_narrowed)
    _unread_bound = compile_function(_unread_bound, inline="always")
    saat = compile_function(_saat_py)
