"""The query path: top k of a query's (term id, idf) weights over a segment and its delta.

With numba the score-at-a-time kernel (`retrieval.index.saat`) prunes over the main
segment's impact layers and the delta, and the k winners are rescored exactly from the
forward index; otherwise (or with negative idfs, or more than `MAX_QUERY_TERMS` distinct
terms) every document holding a query term is scored with numpy. Both end in `tf_factor`,
rank-bm25's formula, term by term in query order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval.index import kernels
from retrieval.index._numba import usable
from retrieval.index.arrays import DL, F64, I32, I64
from retrieval.index.delta import Delta
from retrieval.index.doc_ids import DocIds
from retrieval.index.merge import MAIN
from retrieval.index.saat import DeltaLists, Postings, QueryLists, Scratch, Slots
from retrieval.index.scoring import Bm25, tf_factor
from retrieval.index.segment import Segment

__all__ = ["QueryScratch", "View", "Weights", "top_k"]

Weights = list[tuple[int, float]]  # (term id, idf) per query token, in query order


@dataclass
class View:
    """What a query reads of the index at one moment."""

    main: Segment
    delta: Delta
    ids: DocIds
    dl: DL
    loc: I32
    tombstones: bool  # some main-segment slot was since edited or removed
    params: Bm25  # k1, b and the current avgdl


class QueryScratch:
    """The kernel's zeroed work arrays, one entry per slot, kept between queries; the lock
    keeps threads off each other's."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._arrays: tuple[F64, npt.NDArray[np.uint8], I32, I32] | None = None
        self._seen32: npt.NDArray[np.uint32] | None = None  # only for long questions

    def clear(self) -> None:
        """Drop the arrays (a merge renumbers slots; the next query allocates anew)."""
        self._arrays = None
        self._seen32 = None

    def for_query(self, n_slots: int, n_terms: int) -> Scratch:
        if self._arrays is None or len(self._arrays[0]) < n_slots:
            n = n_slots + n_slots // 4 + 1024  # room to grow
            zeros = np.zeros
            self._arrays = (
                zeros(n, np.float64),
                zeros(n, np.uint8),
                zeros(n, np.int32),
                zeros(n, np.int32),
            )
            self._seen32 = None
        acc, seen8, touched, cands = self._arrays
        if n_terms <= kernels.SMALL_SEEN_TERMS:
            return Scratch(acc, seen8, np.uint8(1 << 7), np.uint8(1 << 6), touched, cands)
        if self._seen32 is None:
            self._seen32 = np.zeros(len(acc), np.uint32)
        return Scratch(acc, self._seen32, np.uint32(1 << 31), np.uint32(1 << 30), touched, cands)


def top_k(
    view: View, weights: Weights, k: int, scratch: QueryScratch, prunable: bool
) -> list[tuple[str, float]]:
    """Best ``k`` documents by score, earlier slot first on ties (``prunable``: the kernel may
    run: numba is there, the parameters keep its bounds valid and the caller allows it)."""
    distinct = len({tid for tid, _ in weights})
    layers = view.main.layers
    if (
        prunable
        and usable(kernels.saat) is not None
        and layers is not None
        and distinct <= kernels.MAX_QUERY_TERMS
        and all(idf >= 0 for _, idf in weights)  # bounds assume contributions >= 0
    ):
        return _top_k_pruned(view, weights, k, scratch)
    return _top_k_exhaustive(view, weights, k)


def _main_postings(view: View, term: int) -> tuple[I32, Any]:
    """Live (slots, tfs) of a term in the main segment."""
    docs, tfs = view.main.postings(term)
    if len(docs):
        keep = view.loc[docs] == MAIN
        if not keep.all():
            docs, tfs = docs[keep], tfs[keep]
    return docs, tfs


def _top_k_exhaustive(view: View, weights: Weights, k: int) -> list[tuple[str, float]]:
    """Score every document holding a query term (numpy; the reference path)."""
    postings: dict[int, tuple[npt.NDArray[Any], npt.NDArray[Any]]] = {}
    for tid, _ in weights:
        if tid not in postings:
            docs, tfs = _main_postings(view, tid)
            dslots, dtfs = view.delta.term_postings(tid, view.loc)
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
    return _results(view, cand, _score_slots(view, cand, weights, postings), k)


def _top_k_pruned(
    view: View, weights: Weights, k: int, scratch: QueryScratch
) -> list[tuple[str, float]]:
    """Run the score-at-a-time kernel over the delta and the main segment's lists."""
    assert kernels.saat is not None
    main = view.main
    layers = main.layers
    assert layers is not None
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
    # Bounds were computed at the layers' avgdl; the tf factor grows at most like avgdl.
    scale = max(1.0, view.params.avgdl / layers.avgdl)
    lub = layers.bound[ids].astype(np.float64) * lw * scale
    query = QueryLists(layers.lo[ids], layers.hi[ids], lw, lub, term_lists, w)
    # The delta's live postings of each query term, which the kernel reads in full.
    delta = [view.delta.term_postings(t, view.loc) for t in tids]
    delta_off = np.zeros(len(tids) + 1, dtype=np.int64)
    np.cumsum([len(slots) for slots, _ in delta], out=delta_off[1:])
    delta_lists = DeltaLists(
        delta_off,
        np.concatenate([slots for slots, _ in delta]),
        np.concatenate([tfs for _, tfs in delta]),
    )
    work = scratch.for_query(len(view.ids), len(tids))
    with scratch.lock:
        slots, _ = kernels.saat(
            Postings(main.docs, main.tfs),
            Slots(view.dl, view.loc, view.tombstones),
            query,
            delta_lists,
            view.params,
            k,
            -np.inf,
            work,
        )
    if not len(slots):
        return []
    cand = np.sort(slots)
    return _results(view, cand, rescore(view, cand, weights), k)


def rescore(view: View, slots: I64, weights: Weights) -> F64:
    """Exact scores of a few slots (ascending), read from the forward index."""
    tids = list(dict.fromkeys(tid for tid, _ in weights))
    gather_tfs = usable(kernels.gather_tfs)
    if gather_tfs is not None and bool(np.all(view.loc[slots] == MAIN)):
        tids_arr = np.array(tids, np.int64)
        matrix = gather_tfs(view.main.forward_index, slots, tids_arr)
        tf_of = {t: matrix[:, i].astype(np.float64) for i, t in enumerate(tids)}
        return _score_tfs(view, slots, weights, tf_of)
    postings: dict[int, tuple[list[int], list[int]]] = {tid: ([], []) for tid in tids}
    for slot in slots.tolist():
        loc = int(view.loc[slot])
        terms, tfs = view.main.forward(slot) if loc == MAIN else view.delta.docs[loc]
        hit = np.flatnonzero(np.isin(terms, tids))
        for t, tf in zip(terms[hit].tolist(), tfs[hit].tolist(), strict=True):
            postings[t][0].append(slot)
            postings[t][1].append(tf)
    arrays = {
        t: (np.array(s, dtype=np.int64), np.array(f, dtype=np.int64))
        for t, (s, f) in postings.items()
    }
    return _score_slots(view, slots, weights, arrays)


def _score_slots(
    view: View,
    cand: npt.NDArray[Any],
    weights: Weights,
    postings: dict[int, tuple[npt.NDArray[Any], npt.NDArray[Any]]],
) -> F64:
    """Exact scores of ``cand`` (ascending slots). ``postings[t]`` gives the (slot, tf) pairs
    of term ``t`` for at least the candidates that contain it; other slots are ignored."""
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
    return _score_tfs(view, cand, weights, tf_of)


def _score_tfs(view: View, cand: npt.NDArray[Any], weights: Weights, tf_of: dict[int, F64]) -> F64:
    """rank-bm25's sum, term by term in query order, given each term's tf per slot."""
    doc_len = view.dl[cand]
    score = np.zeros(len(cand), dtype=np.float64)
    for tid, idf in weights:
        score += idf * tf_factor(tf_of[tid], doc_len, view.params)
    return score


def _results(view: View, cand: npt.NDArray[Any], scores: F64, k: int) -> list[tuple[str, float]]:
    doc_id = view.ids.doc_id
    return [(str(doc_id(int(cand[i]))), float(scores[i])) for i in _top_positions(scores, cand, k)]


def _top_positions(scores: F64, slots: npt.NDArray[Any], k: int) -> I64:
    """Positions of the best ``k`` scores, ties to the lower slot (the earlier-added)."""
    if len(scores) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        pool = np.flatnonzero(scores >= kth)
    else:
        pool = np.arange(len(scores))
    order = np.lexsort((slots[pool], -scores[pool]))
    return pool[order[:k]].astype(np.int64)
