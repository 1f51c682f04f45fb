"""A background warm-up hides the compiled kernels from other threads until it is done, and
the index answers exactly the same meanwhile (numpy paths)."""

from __future__ import annotations

import threading

from retrieval.index import BM25Index, kernels
from retrieval.index._numba import usable, warm_in_background

DOCS = [
    (f"d{i}", ["bakhmut", "wagner"][: 1 + i % 2] + [f"w{i % 7}"] * (1 + i % 3)) for i in range(300)
]


def test_while_the_kernels_compile_other_threads_use_numpy_and_get_the_same_answers() -> None:
    index = BM25Index.build(DOCS)
    expected = index.top_k(["bakhmut", "wagner", "w3"], 10)
    release = threading.Event()
    entered = threading.Event()

    def slow_warm_up() -> None:
        entered.set()
        assert usable(kernels.saat) is kernels.saat  # the warming thread may use them
        release.wait(10)

    thread = warm_in_background(slow_warm_up)
    entered.wait(10)
    try:
        assert usable(kernels.saat) is None and usable(kernels.gather_tfs) is None
        assert not BM25Index.wait_warm(0.05)  # still compiling: the wait gives up
        assert index.top_k(["bakhmut", "wagner", "w3"], 10) == expected
    finally:
        release.set()
    assert BM25Index.wait_warm(10)  # a caller that must time the compiled path waits here
    thread.join(10)
    assert usable(kernels.saat) is kernels.saat
    assert index.top_k(["bakhmut", "wagner", "w3"], 10) == expected
