"""Compiled loops of the BM25 index over its segments (`segment` describes the layout).

Plain Python functions in the subset numba compiles (loops over arrays, no Python objects),
taking their arrays grouped in small NamedTuples (`Forward`, `Inverted`), compiled when numba
is installed. Without numba the public names are None and the index falls back to numpy,
which is exact but slower. The query kernel `saat` lives in `retrieval.index.saat`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from retrieval.index import saat as _saat
from retrieval.index._numba import compile_function, numba
from retrieval.index.arrays import F32, F64, I32, I64, TF
from retrieval.index.saat import MAX_QUERY_TERMS, SMALL_SEEN_TERMS
from retrieval.index.scoring import Bm25, tf_factor, tf_factor_compiled

__all__ = [
    "MAX_QUERY_TERMS",
    "SMALL_SEEN_TERMS",
    "Forward",
    "Inverted",
    "gather_runs",
    "gather_tfs",
    "invert",
    "layers",
    "saat",
]


class Forward(NamedTuple):
    """Slot-major postings: slot ``s`` holds ``terms[offsets[s]:offsets[s+1]]`` (distinct)
    with their term frequencies ``tfs``."""

    offsets: I64
    terms: I32
    tfs: TF


class Inverted(NamedTuple):
    """Term-major postings: term ``t`` is in slots ``docs[offsets[t]:offsets[t+1]]``."""

    offsets: I64
    docs: I32
    tfs: TF


def _invert_py(fwd: Forward, offsets: I64) -> tuple[I32, TF]:
    """Counting sort of slot-major postings by term: one pass, slots ascending per term."""
    n_post = fwd.terms.shape[0]
    docs = np.empty(n_post, np.int32)
    tfs = np.empty(n_post, fwd.tfs.dtype)
    nxt = offsets[:-1].copy()
    for s in range(fwd.offsets.shape[0] - 1):
        for p in range(fwd.offsets[s], fwd.offsets[s + 1]):
            t = fwd.terms[p]
            q = nxt[t]
            docs[q] = s
            tfs[q] = fwd.tfs[p]
            nxt[t] = q + 1
    return docs, tfs


def _layers_py(
    inv: Inverted, dl: TF, params: Bm25, fractions: F64, min_len: int
) -> tuple[I64, I64, I64, F32]:
    """Split each long postings list into impact layers (see `segment.Layers`), in place.

    Reorders ``inv.docs`` and ``inv.tfs`` layer by layer (slots ascending within a layer; no
    second copy of the postings, which would double the build's peak memory) and returns the
    arrays of `Layers`. Bounds are rounded up: float32 keeps 6e-8 relative, the margin 1e-6.
    """
    offsets, docs, tfs = inv.offsets, inv.docs, inv.tfs
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
    count_of = np.zeros(n_layers, np.int64)
    top_of = np.zeros(n_layers, np.float64)
    next_of = np.zeros(n_layers, np.int64)
    n_lists = 0
    for t in range(n_terms):
        first = offsets[t]
        count = offsets[t + 1] - first
        best = 0.0
        for q in range(count):
            g[q] = tf_factor(float(tfs[first + q]), dl[docs[first + q]], params)
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


def _gather_tfs_py(fwd: Forward, slots: I64, tids: I64) -> I64:
    """tf of each term in each slot, read from the forward index (0 when absent)."""
    out = np.zeros((slots.shape[0], tids.shape[0]), np.int64)
    for r in range(slots.shape[0]):
        s = slots[r]
        for p in range(fwd.offsets[s], fwd.offsets[s + 1]):
            for c in range(tids.shape[0]):
                if fwd.terms[p] == tids[c]:
                    out[r, c] = fwd.tfs[p]
    return out


def _gather_runs_py(code: I64, a: Forward, b: Forward, out: Forward) -> None:
    """Fill out run ``j`` with run ``code[j]`` of ``a`` (code >= 0) or run ``-code[j] - 1``
    of ``b``: the slot-by-slot copy that merges (and un-merges) forward indexes."""
    for j in range(code.shape[0]):
        c = code[j]
        q = out.offsets[j]
        if c >= 0:
            for p in range(a.offsets[c], a.offsets[c + 1]):
                out.terms[q] = a.terms[p]
                out.tfs[q] = a.tfs[p]
                q += 1
        else:
            c = -c - 1
            for p in range(b.offsets[c], b.offsets[c + 1]):
                out.terms[q] = b.terms[p]
                out.tfs[q] = b.tfs[p]
                q += 1


invert: Callable[..., tuple[I32, TF]] | None = None
gather_runs: Callable[..., None] | None = None
layers: Callable[..., tuple[I64, I64, I64, F32]] | None = None
gather_tfs: Callable[..., I64] | None = None
saat: Callable[..., tuple[I64, F64]] | None = _saat.saat

if numba is not None:
    tf_factor = tf_factor_compiled  # the same formula, inlined into the loops
    invert = compile_function(_invert_py, nogil=True)
    layers = compile_function(_layers_py, nogil=True)
    gather_tfs = compile_function(_gather_tfs_py, nogil=True)
    gather_runs = compile_function(_gather_runs_py, nogil=True)
