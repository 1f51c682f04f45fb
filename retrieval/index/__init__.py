"""The BM25 index: exact rank-bm25 ``BM25Okapi`` scores at archive scale.

`BM25Index` (in `bm25_index`) is the facade other code and outside benchmarks use:
``build``, ``upsert``, ``remove``, ``top_k``, ``save``, ``load``, ``warm_up``. Its compiled
loops live in `kernels`, its id table in `doc_ids`, the allocator setting it wants in `memory`.
"""

from retrieval.index.bm25_index import BM25Index, IndexLoadError, IndexStats

__all__ = ["BM25Index", "IndexLoadError", "IndexStats"]
