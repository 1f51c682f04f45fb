"""How the C allocator treats the index's large arrays.

glibc serves a block of at least its *mmap threshold* with a mapping of its own, which goes
back to the OS when freed; smaller blocks come from the heap, whose free pieces mostly stay
resident. The threshold starts at 128 kB but rises after each large free (up to 32 MB), so
once an index has merged a few times, its per-merge arrays of 1-32 MB (document lengths,
offsets, ids, impact layers) come from the heap and leave holes behind: about 90 MB at a
million posts. Fixing the threshold keeps every such array in its own mapping.
"""

from __future__ import annotations

import ctypes
import logging

__all__ = ["map_large_allocations"]

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def map_large_allocations(threshold: int = 1 << 20) -> bool:
    """Serve allocations of ``threshold`` bytes or more with their own mapping, for good.

    Returns whether the C library took the setting (False where it is not glibc). Processes
    that hold a large index call it once at start-up.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    accepted = bool(mallopt(_M_MMAP_THRESHOLD, threshold))
    if not accepted:
        log.debug("the C library refused an mmap threshold of %d bytes", threshold)
    return accepted
