"""The BM25 index: exact rank-bm25 ``BM25Okapi`` scores at archive scale.

`BM25Index` (in `bm25_index`) is the facade other code and outside benchmarks use:
``build``, ``upsert``, ``remove``, ``top_k``, ``save``, ``load``, ``warm_up``. Its parts, one
responsibility each:

* `scoring`: the BM25 term formula, once, for numpy and the compiled kernels;
* `stats`: N, avgdl, document frequencies and idf with rank-bm25's epsilon floor;
* `building`: documents streamed once into slot-major postings (`BM25Index.build`);
* `segment`: the main segment's CSR postings (inverted and forward) and impact layers;
* `delta`: documents added or edited since the last merge;
* `merge`: folding the delta into a fresh segment, undone on failure;
* `query`: the top-k path (pruning kernel or numpy) and exact rescoring;
* `persistence`: atomic, checksummed save and load; `invariants`: what a load must satisfy;
* `kernels` and `saat`: the compiled loops, taking their arrays as small NamedTuples;
* `doc_ids`: the compact id table; `arrays`: array types; `memory`: the allocator setting.
"""

from retrieval.index.bm25_index import BM25Index, IndexStats
from retrieval.index.persistence import IndexDamagedError, IndexLoadError, IndexStaleError

__all__ = ["BM25Index", "IndexDamagedError", "IndexLoadError", "IndexStaleError", "IndexStats"]
