"""Folding the delta into a fresh main segment, dropping removed slots (order kept).

One pass over the main postings; the delta is small by construction. Memory: the merge never
holds more than two of the four big array sets (old and new inverted lists, old and new
forward index) at once, so its peak is about the segment's own size. The old inverted lists
go first (the old forward index rebuilds them if the merge fails); the new forward index is
copied slot by slot; the old forward index goes before the new lists are inverted, and the
postings it alone held (slots edited or removed since the last merge; few) are kept aside so
that a failure can still restore it. A failed merge (MemoryError…) leaves the segment as it
was and raises.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from retrieval.index.arrays import EMPTY_I32, EMPTY_I64, I32, tf_dtype
from retrieval.index.delta import Delta
from retrieval.index.segment import Segment, gathered, segment_from_forward

__all__ = ["ABSENT", "MAIN", "merged"]

ABSENT = -2  # slot location: document removed
MAIN = -1  # slot location: document's postings live in the main segment (>= 0: delta number)


def _restore(main: Segment, other: Segment, relayer: Callable[[Segment], None]) -> None:
    main.offsets, main.docs, main.tfs = other.offsets, other.docs, other.tfs
    main.fwd_offsets, main.fwd_terms, main.fwd_tfs = (
        other.fwd_offsets,
        other.fwd_terms,
        other.fwd_tfs,
    )
    main.layers = None
    relayer(main)


def merged(
    main: Segment, delta: Delta, loc: I32, n_terms: int, relayer: Callable[[Segment], None]
) -> Segment:
    """The segment of every live slot of ``loc`` (main runs and current delta runs), with
    ``n_terms`` terms. Consumes ``main``'s arrays; on failure puts them back (``relayer``
    gives the restored segment its impact layers again) and re-raises."""
    old_main_slots = main.n_slots
    old_fwd = main.forward_index
    live = loc != ABSENT
    delta_fwd = delta.forward()
    # New slot j takes main run s (still in main) or delta run loc[s] (code -loc[s] - 1).
    live_slots = np.flatnonzero(live)
    live_loc = loc[live_slots]
    new_code = np.where(live_loc == MAIN, live_slots, -live_loc - 1)
    del live_slots, live_loc
    # Main slots since edited or removed: their postings, for undoing the merge.
    in_main = loc[:old_main_slots] == MAIN
    dead_slots = np.flatnonzero(~in_main)
    dead = gathered(dead_slots, old_fwd, delta_fwd, main.fwd_tfs.dtype)
    max_tf = max(int(delta_fwd.tfs.max(initial=0)), int(main.fwd_tfs.max(initial=0)))
    # The old inverted lists go first: two copies of the postings at once would be the
    # merge's peak memory.
    main.docs, main.tfs, main.layers = EMPTY_I32, EMPTY_I32, None
    try:
        new_fwd = gathered(new_code, old_fwd, delta_fwd, tf_dtype(max_tf))
    except BaseException:  # e.g. MemoryError: put the old segment back together
        _restore(main, segment_from_forward(*old_fwd, main.n_terms), relayer)
        raise
    n_old_terms = main.n_terms
    main.fwd_offsets, main.fwd_terms, main.fwd_tfs = EMPTY_I64, EMPTY_I32, EMPTY_I32
    old_fwd_offsets = old_fwd.offsets
    del old_fwd, delta_fwd
    try:
        return segment_from_forward(*new_fwd, n_terms)
    except BaseException:  # restore the old forward index from the new one and `dead`
        new_slot = np.cumsum(live) - 1
        old_code = np.empty(old_main_slots, dtype=np.int64)
        old_code[in_main] = new_slot[:old_main_slots][in_main]
        old_code[~in_main] = -np.arange(len(dead_slots), dtype=np.int64) - 1
        del new_slot
        restored = gathered(old_code, new_fwd, dead, dead.tfs.dtype)
        del new_fwd
        _restore(main, segment_from_forward(old_fwd_offsets, *restored[1:], n_old_terms), relayer)
        raise
