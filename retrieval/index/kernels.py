"""Compiled loops of the BM25 index (`retrieval.index` describes the layout they work on).

Plain Python functions in the subset numba compiles (loops over arrays, no Python objects),
compiled when numba is installed. Without numba the public names are None and the index falls
back to numpy, which is exact but slower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

numba: Any
try:
    import numba  # type: ignore[import-untyped,import-not-found,unused-ignore,no-redef]
except ImportError:  # pragma: no cover - numba is optional: exact numpy scoring still works
    numba = None

__all__ = [
    "MAX_QUERY_TERMS",
    "SMALL_SEEN_TERMS",
    "gather_runs",
    "gather_tfs",
    "invert",
    "layers",
    "saat",
]

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
TF = npt.NDArray[np.integer[Any]]

#: `saat` marks the query terms seen in a slot in 30 bits of a uint32, or 6 bits of a uint8.
MAX_QUERY_TERMS = 30
SMALL_SEEN_TERMS = 6
#: Up to this many distinct query terms, `saat` looks up a slot's bound on what its unread
#: terms can add in a table of ``2**terms`` entries instead of looping over the terms.
_MASK_TABLE_TERMS = 12


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
    dl: TF,  # document lengths: any integer type
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
    # One multiply-add per posting (the layering only needs g to sort and bound postings; the
    # bounds get a relative margin far above the rounding this changes).
    base = k1 * (1.0 - b)
    slope = k1 * b / avgdl
    count_of = np.zeros(n_layers, np.int64)
    top_of = np.zeros(n_layers, np.float64)
    next_of = np.zeros(n_layers, np.int64)
    n_lists = 0
    for t in range(n_terms):
        first = offsets[t]
        count = offsets[t + 1] - first
        best = 0.0
        for q in range(count):
            tf = float(tfs[first + q])
            g[q] = tf * kp1 / (tf + (base + slope * dl[docs[first + q]]))
            if g[q] > best:
                best = g[q]
        lists[t] = n_lists
        if count < min_len:  # one list, as it is
            if count:
                lo[n_lists] = first
                hi[n_lists] = first + count
                list_bound[n_lists] = best * (1.0 + 1e-6) + 1e-12
                n_lists += 1
            continue
        count_of[:] = 0
        top_of[:] = 0.0
        for q in range(count):
            lay = 0
            while lay < n_layers - 1 and g[q] < fractions[lay] * best:
                lay += 1
            layer[q] = lay
            count_of[lay] += 1
            if g[q] > top_of[lay]:
                top_of[lay] = g[q]
            old_docs[q] = docs[first + q]
            old_tfs[q] = tfs[first + q]
        pos = first
        for lay in range(n_layers):
            next_of[lay] = pos
            if count_of[lay]:
                lo[n_lists] = pos
                hi[n_lists] = pos + count_of[lay]
                list_bound[n_lists] = top_of[lay] * (1.0 + 1e-6) + 1e-12
                n_lists += 1
            pos += count_of[lay]
        for q in range(count):  # one stable scatter: slots stay ascending within a layer
            p = next_of[layer[q]]
            docs[p] = old_docs[q]
            tfs[p] = old_tfs[q]
            next_of[layer[q]] = p + 1
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
    dl: TF,  # document lengths: any integer type
    loc: I32,
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
    seen: npt.NDArray[np.unsignedinteger[Any]],
    marked: np.unsignedinteger[Any],
    candidate: np.unsignedinteger[Any],
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
            acc[d] += w * (tf * kp1 / (tf + (base + slope * dl[d])))
            if (s & marked) == 0:
                size = _heap_push(heap_s, heap_d, size, k, acc[d], d)
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
        if pos == n_terms - 1 or n_cands == 0:
            break
        size = 0
        for j in range(n_cands):
            d = cands[j]
            size = _heap_push(heap_s, heap_d, size, k, acc[d], d)
        theta = _raised(theta, heap_s, size, k)
        n_cands = _reachable(
            cands, n_cands, cands, acc, seen, settled, candidate, rest, unread, theta
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


invert: Callable[..., tuple[I32, TF]] | None = None
gather_runs: Callable[..., None] | None = None
layers: Callable[..., tuple[Any, ...]] | None = None
saat: Callable[..., tuple[I64, F64]] | None = None
gather_tfs: Callable[..., I64] | None = None


def _jit(function: Any, **options: Any) -> Any:
    """numba-compile `function`, caching the machine code beside the module (or in
    NUMBA_CACHE_DIR). A read-only install has nowhere to cache: compile per process instead
    of failing at import."""
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # "cannot cache function …: no locator available"
        return numba.njit(cache=False, **options)(function)


if numba is not None:
    invert = _jit(_invert_py, nogil=True)
    layers = _jit(_layers_py, nogil=True)
    _heap_push = _jit(_heap_push, inline="always")
    _unread_bounds = _jit(_unread_bounds)
    _raised = _jit(_raised, inline="always")
    _reachable = _jit(_reachable)
    _unread_bound = _jit(_unread_bound, inline="always")
    saat = _jit(_saat_py)
    gather_tfs = _jit(_gather_tfs_py, nogil=True)
    gather_runs = _jit(_gather_runs_py, nogil=True)
