"""The BM25 term formula, written once for numpy and for the compiled kernels.

rank-bm25's ``BM25Okapi`` adds, for each query token, ``idf * (tf * (k1 + 1) / (tf + k1 *
(1 - b + b * dl / avgdl)))``. `tf_factor` is the part in parentheses in that order of
operations, so every path (numpy rescoring, the pruning kernel, the impact layers' bounds)
rounds the same way rank-bm25 does. It is plain arithmetic: applied to numpy arrays it is
vectorised, and `tf_factor_compiled` is the same function inlined into the numba kernels.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from retrieval.index._numba import compile_function, numba

__all__ = ["Bm25", "tf_factor", "tf_factor_compiled"]


class Bm25(NamedTuple):
    """The collection-dependent parameters of the formula (a numba-friendly tuple)."""

    k1: float
    b: float
    avgdl: float


def tf_factor(tf: Any, dl: Any, p: Bm25) -> Any:
    """rank-bm25's saturated term frequency of ``tf`` in a document of ``dl`` tokens."""
    return tf * (p.k1 + 1.0) / (tf + p.k1 * (1.0 - p.b + p.b * dl / p.avgdl))


tf_factor_compiled: Any = (
    compile_function(tf_factor, inline="always") if numba is not None else None
)
