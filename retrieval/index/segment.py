"""The main segment: immutable CSR postings of the documents merged so far.

``docs[offsets[t]:offsets[t+1]]`` are the slots containing term ``t`` and ``tfs`` their term
frequencies (ascending slots, or ascending within each impact layer once ``layers`` is set);
``fwd_*`` hold the same postings slot by slot (the forward index), which edits, removals,
merges and the final rescoring read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.index import kernels
from retrieval.index._numba import usable
from retrieval.index.arrays import DL, EMPTY_I32, F32, I32, I64, TF, term_counts
from retrieval.index.kernels import Forward, Inverted
from retrieval.index.scoring import Bm25

__all__ = ["Layers", "Segment", "gathered", "layered", "segment_from_forward"]

#: A postings list this long is split into impact layers: g >= 90% of the term's best g,
#: >= 80%, >= 65%, >= 50%, and the rest (measured on the benchmark archive: fewer layers read
#: more postings, more layers cost more bookkeeping per query term).
LAYER_MIN = 1024
LAYER_FRACTIONS = np.array([0.9, 0.8, 0.65, 0.5], dtype=np.float64)


@dataclass
class Layers:
    """Impact layers of a segment's postings, which the kernel prunes with.

    A long postings list is split by its tf factor (`scoring.tf_factor` at this ``avgdl``) into
    up to five lists, high first, each sorted by slot, so that the long low-impact part of a
    common term is only looked up, never read in full. ``lists[t]:lists[t+1]`` are term
    ``t``'s lists; list ``l`` spans postings ``lo[l]:hi[l]`` and ``bound[l]`` bounds the tf
    factor over it at this ``avgdl``.
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
class Segment:
    """Inverted and forward index of the merged documents (see the module docstring)."""

    offsets: I64  # len = terms + 1
    docs: I32
    tfs: TF
    fwd_offsets: I64  # len = slots + 1
    fwd_terms: I32
    fwd_tfs: TF
    layers: Layers | None = None

    @classmethod
    def empty(cls) -> Segment:
        z64 = np.zeros(1, dtype=np.int64)
        return cls(z64, EMPTY_I32, EMPTY_I32, z64.copy(), EMPTY_I32, EMPTY_I32)

    @property
    def n_terms(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_slots(self) -> int:
        return len(self.fwd_offsets) - 1

    @property
    def forward_index(self) -> Forward:
        return Forward(self.fwd_offsets, self.fwd_terms, self.fwd_tfs)

    def postings(self, term: int) -> tuple[I32, TF]:
        if term >= self.n_terms:
            return EMPTY_I32, EMPTY_I32
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


def segment_from_forward(fwd_offsets: I64, fwd_terms: I32, fwd_tfs: TF, n_terms: int) -> Segment:
    """Invert slot-major postings (each slot's terms distinct) into term-major CSR arrays."""
    offsets = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(term_counts(fwd_terms, n_terms), out=offsets[1:])
    invert = usable(kernels.invert)
    if invert is not None:
        docs, tfs = invert(Forward(fwd_offsets, fwd_terms, fwd_tfs), offsets)
    else:
        slots = np.repeat(np.arange(len(fwd_offsets) - 1, dtype=np.int32), np.diff(fwd_offsets))
        order = np.argsort(fwd_terms, kind="stable")  # stable: slots stay ascending per term
        docs = slots[order]
        del slots
        tfs = fwd_tfs[order]
    return Segment(offsets, docs, tfs, fwd_offsets, fwd_terms, fwd_tfs)


def _run_lengths(code: I64, a_offsets: I64, b_offsets: I64) -> I64:
    """Length of each run `gathered` copies for ``code``."""
    lengths = np.empty(len(code), dtype=np.int64)
    from_a = code >= 0
    a_codes = code[from_a]
    lengths[from_a] = a_offsets[a_codes + 1] - a_offsets[a_codes]
    b_codes = -code[~from_a] - 1
    lengths[~from_a] = b_offsets[b_codes + 1] - b_offsets[b_codes]
    return lengths


def gathered(
    code: I64, a: Forward, b: Forward, tf_type: type[np.integer[Any]] | np.dtype[Any]
) -> Forward:
    """Forward arrays of the runs ``code`` picks from ``a`` (code >= 0: run ``code``) and
    ``b`` (code < 0: run ``-code - 1``), in ``code``'s order."""
    offsets = np.zeros(len(code) + 1, dtype=np.int64)
    np.cumsum(_run_lengths(code, a.offsets, b.offsets), out=offsets[1:])
    total = int(offsets[-1])
    out = Forward(offsets, np.empty(total, dtype=np.int32), np.empty(total, dtype=tf_type))
    gather_runs = usable(kernels.gather_runs)
    if gather_runs is not None:
        gather_runs(code, a, b, out)
        return out
    for j, c in enumerate(code.tolist()):  # numpy: one slice per run
        src = a if c >= 0 else b
        r = c if c >= 0 else -c - 1
        lo, hi = int(src.offsets[r]), int(src.offsets[r + 1])
        out.terms[offsets[j] : offsets[j + 1]] = src.terms[lo:hi]
        out.tfs[offsets[j] : offsets[j + 1]] = src.tfs[lo:hi]
    return out


def layered(segment: Segment, dl: DL, k1: float, b: float, avgdl: float) -> None:
    """Give ``segment`` its impact layers (reordering each long list in place); does nothing
    without the compiled kernels, which alone read them, or when it has them already
    (layering twice would scramble the slot order inside each list)."""
    compute = usable(kernels.layers)
    if compute is None or segment.layers is not None:
        return
    if not (segment.docs.flags.writeable and segment.tfs.flags.writeable):
        segment.docs, segment.tfs = np.array(segment.docs), np.array(segment.tfs)
    inverted = Inverted(segment.offsets, segment.docs, segment.tfs)
    params = Bm25(k1, b, max(avgdl, 1e-9))
    lists, lo, hi, bound = compute(inverted, dl, params, LAYER_FRACTIONS, LAYER_MIN)
    segment.layers = Layers(lists, lo, hi, bound, params.avgdl)
