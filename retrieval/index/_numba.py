"""numba, when installed, and the one way the index compiles its loops with it.

Without numba `jit` is None and every kernel module leaves its public names None: the index
then scores with numpy, exactly but slower.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

numba: Any
try:
    import numba  # type: ignore[import-untyped,import-not-found,unused-ignore,no-redef]
except ImportError:  # pragma: no cover - numba is optional: exact numpy scoring still works
    numba = None

__all__ = ["compile_function", "kernels_ready", "numba", "usable", "warm_in_background"]

_K = TypeVar("_K")
_ready = threading.Event()
_ready.set()  # kernels compile on first use, unless a background warm-up is running
_warming = threading.local()


def compile_function(function: Callable[..., Any], **options: Any) -> Any:
    """numba-compile ``function``, caching the machine code beside the module (or in
    NUMBA_CACHE_DIR). A read-only install has nowhere to cache: compile per process instead
    of failing at import."""
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # "cannot cache function …: no locator available"
        return numba.njit(cache=False, **options)(function)


def usable(kernel: _K | None) -> _K | None:
    """The compiled kernel, or None while a background warm-up is still compiling the
    kernels: then the caller takes its exact numpy path, and the first question of a fresh
    start never waits for the compiler."""
    if kernel is None or _ready.is_set() or getattr(_warming, "active", False):
        return kernel
    return None


def kernels_ready(timeout: float | None = None) -> bool:
    """Wait up to ``timeout`` seconds for a background warm-up to end; whether it has."""
    return _ready.wait(timeout)


def warm_in_background(warm: Callable[[], None]) -> threading.Thread:
    """Run ``warm`` (which calls every kernel once) in a thread; until it ends, `usable`
    hides the kernels from every other thread."""
    _ready.clear()

    def run() -> None:
        _warming.active = True
        try:
            warm()
        finally:
            _ready.set()

    thread = threading.Thread(target=run, name="compile-kernels", daemon=True)
    thread.start()
    return thread
