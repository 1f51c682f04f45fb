"""The delta: documents added or edited since the last merge, append-only.

A document in the delta has a *delta number* (its place in `docs`); each term's postings in
the delta are (delta number, tf) in doubling arrays. An edit appends a new run and leaves the
old one behind; whether a run is live is read from the slots' locations (``loc[slot] ==
delta number``), so superseded and removed runs cost nothing until the next merge drops them.
"""

from __future__ import annotations

import numpy as np

from retrieval.index.arrays import EMPTY_I32, EMPTY_I64, I32, I64, TF
from retrieval.index.kernels import Forward

__all__ = ["Delta"]


class _TermPostings:
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


class Delta:
    """Runs of (term ids, tfs) by delta number, the slot of each, and postings by term."""

    def __init__(self) -> None:
        self.docs: list[tuple[I32, TF]] = []
        self._slot: I64 = np.zeros(16, dtype=np.int64)
        self._postings: dict[int, _TermPostings] = {}
        self._indexed = 0  # runs below this delta number are in `_postings`

    def __len__(self) -> int:
        return len(self.docs)

    def add(self, slot: int, term_ids: I32, tfs: I64, *, by_term: bool = True) -> int:
        """Append a document's run; returns its delta number. ``by_term=False`` (bulk loads
        that merge right after) leaves the postings by term to the first query that needs
        them, if one comes before the merge."""
        dnum = len(self.docs)
        self.docs.append((term_ids, tfs))
        if dnum >= len(self._slot):
            self._slot = np.concatenate([self._slot, np.zeros(dnum, np.int64)])
        self._slot[dnum] = slot
        if by_term and self._indexed == dnum:
            self._index(dnum)
        return dnum

    def _index(self, dnum: int) -> None:
        term_ids, tfs = self.docs[dnum]
        postings = self._postings
        for t, tf in zip(term_ids.tolist(), tfs.tolist(), strict=True):
            entry = postings.get(t)
            if entry is None:
                entry = postings[t] = _TermPostings()
            entry.append(dnum, tf)
        self._indexed = dnum + 1

    def term_postings(self, term: int, loc: I32) -> tuple[I64, I64]:
        """Live (slots, tfs) of a term, in the order they were added (``loc``: the slots'
        locations, which say which runs are still current)."""
        for dnum in range(self._indexed, len(self.docs)):
            self._index(dnum)
        entry = self._postings.get(term)
        if entry is None:
            return EMPTY_I64, EMPTY_I64
        dnums = entry.dnums[: entry.n]
        slots = self._slot[dnums]
        keep = loc[slots] == dnums  # not since edited again, nor removed
        return slots[keep], entry.tfs[: entry.n][keep]

    def forward(self) -> Forward:
        """Every run (superseded ones too) as forward arrays by delta number."""
        offsets = np.zeros(len(self.docs) + 1, dtype=np.int64)
        lengths = (len(terms) for terms, _ in self.docs)
        np.cumsum(np.fromiter(lengths, np.int64, len(self.docs)), out=offsets[1:])
        terms = np.concatenate([t for t, _ in self.docs]) if self.docs else EMPTY_I32
        tfs = np.concatenate([f for _, f in self.docs]) if self.docs else EMPTY_I64
        return Forward(offsets, terms, tfs)
