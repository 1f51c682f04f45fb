"""Coverage retrieval: posts, storage, ranking and digests, independent of any chat transport."""

import os

# numpy's OpenBLAS starts a worker thread per core; the index never multiplies matrices, and
# on a 2-core machine those threads made about one answer in a hundred take 10-25 ms of CPU
# instead of 3 (benchmarks/README.md, "Answers"). One thread, unless the operator says
# otherwise; set here because every module of this package imports numpy after it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
