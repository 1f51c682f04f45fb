"""Collection statistics of the index: N, total length, document frequencies, idf.

rank-bm25 gives a term with a negative idf (one in more than half of the documents) the floor
``epsilon * mean idf over the whole vocabulary``. The mean moves with every change, so the
document frequencies and a histogram of them (df value -> number of terms) are kept exact on
every change, and the sum of idfs is computed per distinct df value, not per term.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from retrieval.index.arrays import EMPTY_I64, I32, I64

__all__ = ["CollectionStats"]


class CollectionStats:
    """N, the total length and each term's document frequency, kept exact under edits."""

    def __init__(self, epsilon: float) -> None:
        self.epsilon = epsilon
        self.df: I64 = np.zeros(16, dtype=np.int64)
        self.n_docs = 0
        self.total_len = 0
        self._hist: Counter[int] = Counter()  # df value -> number of terms with that df
        self.vocab_size = 0  # terms with df > 0: the vocabulary rank-bm25 would see
        self._idf_sum_cache: tuple[int, float] | None = None  # (N, sum of raw idf)

    @property
    def avgdl(self) -> float:
        return self.total_len / self.n_docs

    def reset(self, df: I64, n_docs: int, total_len: int) -> None:
        """Start again from a segment's document frequencies (``np.diff`` of its offsets)."""
        self.df = df
        self.n_docs = n_docs
        self.total_len = total_len
        hist = np.bincount(df) if len(df) else EMPTY_I64
        self._hist = Counter({int(d): int(hist[d]) for d in np.flatnonzero(hist) if d > 0})
        self.vocab_size = int(np.count_nonzero(df))
        self._idf_sum_cache = None

    def ensure_terms(self, n_terms: int) -> None:
        """Room for term ids below ``n_terms`` (amortized growth)."""
        if n_terms > len(self.df):
            grow = max(16, len(self.df), n_terms - len(self.df))
            self.df = np.concatenate([self.df, np.zeros(grow, dtype=np.int64)])

    def add_document(self, terms: I32, length: int, *, df: bool = True) -> None:
        """Count a document in (``df=False``: its terms come later, through `change_many`)."""
        self.n_docs += 1
        self.total_len += length
        if df:
            self._change_df(terms, +1)

    def remove_document(self, terms: I32, length: int, *, df: bool = True) -> None:
        self.n_docs -= 1
        self.total_len -= length
        if df:
            self._change_df(terms, -1)

    def change_many(self, added: list[I32], removed: list[I32]) -> None:
        """The document frequencies of many documents' terms in and out at once (bincounts;
        the histogram recomputed once), instead of document by document."""
        n = len(self.df)
        for terms, sign in ((added, 1), (removed, -1)):
            if terms:
                self.df += sign * np.bincount(np.concatenate(terms), minlength=n)
        self.reset(self.df, self.n_docs, self.total_len)

    def _change_df(self, terms: I32, delta: int) -> None:
        """Move ``terms`` (distinct) by ``delta`` documents, keeping the df histogram exact."""
        if not len(terms):
            return
        old = self.df[terms]
        new = old + delta
        self.df[terms] = new
        hist = self._hist
        for d in old.tolist():
            if d > 0:
                hist[d] -= 1
                if not hist[d]:
                    del hist[d]
        for d in new.tolist():
            if d > 0:
                hist[d] += 1
        self.vocab_size += int(np.count_nonzero(new > 0)) - int(np.count_nonzero(old > 0))
        self._idf_sum_cache = None

    def document_frequency(self, tid: int | None) -> int:
        return 0 if tid is None or tid >= len(self.df) else int(self.df[tid])

    def _idf_sum(self) -> float:
        """Sum over the vocabulary of rank-bm25's raw idf, computed per distinct df value."""
        n = self.n_docs
        if self._idf_sum_cache is not None and self._idf_sum_cache[0] == n:
            return self._idf_sum_cache[1]
        dfs = np.fromiter(self._hist.keys(), dtype=np.float64, count=len(self._hist))
        mult = np.fromiter(self._hist.values(), dtype=np.float64, count=len(self._hist))
        total = float(np.sum(mult * (np.log(n - dfs + 0.5) - np.log(dfs + 0.5))))
        self._idf_sum_cache = (n, total)
        return total

    def weights(self, tids: Sequence[int | None]) -> list[tuple[int, float]]:
        """(term id, idf) for each known query term id, in query order (rank-bm25's idf with
        its epsilon floor); ids of unknown or vanished terms contribute nothing."""
        n = self.n_docs
        if n == 0 or self.vocab_size == 0:
            return []
        eps: float | None = None
        weights = []
        for tid in tids:
            if tid is None:
                continue
            df = int(self.df[tid])
            if df == 0:
                continue
            idf = math.log(n - df + 0.5) - math.log(df + 0.5)
            if idf < 0:
                if eps is None:
                    eps = self.epsilon * (self._idf_sum() / self.vocab_size)
                idf = eps
            weights.append((tid, idf))
        return weights
