"""The allocator setting: a freed large array stays out of the heap even after bigger frees.

Runs in a child process (the setting is process-wide and lasts) and reads glibc's own
accounting through mallinfo2; skipped where the C library is not glibc 2.33 or newer.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys

import pytest

CHILD = r"""
import ctypes, json, sys
import numpy as np
from retrieval.index.memory import map_large_allocations

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2

def mapped_bytes():
    return libc.mallinfo2().hblkhd

accepted = map_large_allocations() if sys.argv[1] == "set" else None
big = np.ones(16 << 20, np.uint8)  # freeing it raises glibc's own threshold to 16 MB
del big
before = mapped_bytes()
medium = np.ones(4 << 20, np.uint8)  # a merge-sized array
print(json.dumps({"accepted": accepted, "mapped": mapped_bytes() - before}))
"""


def _glibc_with_mallinfo2() -> bool:
    try:
        libc = ctypes.CDLL(None)
        return hasattr(libc, "mallinfo2") and hasattr(libc, "mallopt")
    except OSError:
        return False


def _run(mode: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="needs glibc 2.33+ (mallinfo2)")
def test_a_merge_sized_array_gets_its_own_mapping_once_the_threshold_is_fixed() -> None:
    assert _run("default")["mapped"] == 0  # glibc alone: the 4 MB array comes from the heap
    fixed = _run("set")
    assert fixed["accepted"] is True
    assert isinstance(fixed["mapped"], int) and fixed["mapped"] >= 4 << 20
