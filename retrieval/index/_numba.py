"""numba, when installed, and the one way the index compiles its loops with it.

Without numba `jit` is None and every kernel module leaves its public names None: the index
then scores with numpy, exactly but slower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

numba: Any
try:
    import numba  # type: ignore[import-untyped,import-not-found,unused-ignore,no-redef]
except ImportError:  # pragma: no cover - numba is optional: exact numpy scoring still works
    numba = None

__all__ = ["compile_function", "numba"]


def compile_function(function: Callable[..., Any], **options: Any) -> Any:
    """numba-compile ``function``, caching the machine code beside the module (or in
    NUMBA_CACHE_DIR). A read-only install has nowhere to cache: compile per process instead
    of failing at import."""
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # "cannot cache function …: no locator available"
        return numba.njit(cache=False, **options)(function)
