"""What a loaded index must satisfy before the compiled kernels may read it.

The kernels index arrays with the values of other arrays (slots from ``docs``, terms from
``fwd_terms``, postings ranges from offsets and layers) without bounds checks, so a loaded
index whose arrays do not fit together would read out of bounds. The CRCs make such an index
unlikely; these checks make it impossible. Each is a vectorised pass (~0.1 s at 1M posts).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.index.doc_ids import DocIds
from retrieval.index.persistence import IndexDamagedError
from retrieval.index.segment import Segment

__all__ = ["check_loaded", "check_types"]

_TF_TYPES = (np.uint8, np.uint16, np.int32)
_TYPES: dict[str, tuple[type[np.generic], ...]] = {
    "offsets": (np.int64,),
    "docs": (np.int32,),
    "tfs": _TF_TYPES,
    "fwd_offsets": (np.int64,),
    "fwd_terms": (np.int32,),
    "fwd_tfs": _TF_TYPES,
    "dl": (np.uint8, np.uint16, np.int32, np.int64),
    "id_blob": (np.uint8,),
    "id_starts": (np.int64,),
    "id_sorted_crcs": (np.uint32,),
    "id_order": (np.int32,),
    "lay_lists": (np.int64,),
    "lay_lo": (np.int64,),
    "lay_hi": (np.int64,),
    "lay_bound": (np.float32,),
}


def check_types(directory: Path, arrays: dict[str, np.ndarray]) -> None:
    """Every array of the element type the index saves it with (and the kernels compile for)."""
    wrong = [n for n, a in arrays.items() if a.dtype.type not in _TYPES.get(n, (a.dtype.type,))]
    if wrong:
        raise IndexDamagedError(
            f"the index in {directory} is corrupt: arrays of unexpected types ({', '.join(wrong)})"
        )


def _monotone_csr(offsets: np.ndarray, end: int) -> bool:
    """Offsets of a CSR array of ``end`` items: from 0, never decreasing, ending at ``end``."""
    return (
        len(offsets) >= 1
        and int(offsets[0]) == 0
        and int(offsets[-1]) == end
        and bool(np.all(offsets[1:] >= offsets[:-1]))
    )


def _within(values: np.ndarray, limit: int) -> bool:
    """All values in [0, limit)."""
    return not len(values) or (int(values.min()) >= 0 and int(values.max()) < limit)


def check_loaded(
    directory: Path,
    segment: Segment,
    dl: np.ndarray,
    ids: DocIds,
    terms: list[str],
    manifest: dict[str, Any],
) -> None:
    """Raise IndexDamagedError naming every way the loaded parts do not fit together."""
    problems = []
    n_slots, n_terms, n_post = segment.n_slots, segment.n_terms, len(segment.docs)
    if not ids.consistent():
        problems.append("document ids are not a well-formed table of distinct ids")
    elif len(ids) != len(dl) or len(ids) != n_slots:
        problems.append("document ids do not match the document arrays")
    if len(terms) != n_terms:
        problems.append("terms do not match the postings offsets")
    elif len(set(terms)) != len(terms):
        problems.append("terms repeat")
    if (
        len(segment.tfs) != n_post
        or len(segment.fwd_terms) != n_post
        or len(segment.fwd_tfs) != n_post
        or manifest.get("postings") != n_post
        or manifest.get("documents") != n_slots
        or manifest.get("terms") != n_terms
    ):
        problems.append("postings arrays have inconsistent lengths")
    elif not (
        _monotone_csr(segment.offsets, n_post) and _monotone_csr(segment.fwd_offsets, n_post)
    ):
        problems.append("postings offsets are not monotone within the postings")
    elif not (_within(segment.docs, n_slots) and _within(segment.fwd_terms, n_terms)):
        problems.append("postings name documents or terms that do not exist")
    if len(dl) and int(dl.min()) < 0:
        problems.append("negative document lengths")
    for key in ("k1", "b", "epsilon"):
        value = manifest.get(key)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            problems.append(f"{key} is not a number")
    layers = segment.layers
    if layers is not None and not (
        len(layers.lists) == n_terms + 1
        and _monotone_csr(layers.lists, len(layers.lo))
        and len(layers.hi) == len(layers.lo) == len(layers.bound)
        and bool(np.all(layers.lo <= layers.hi))
        and (not len(layers.lo) or (int(layers.lo.min()) >= 0 and int(layers.hi.max()) <= n_post))
        and bool(np.all(np.isfinite(layers.bound)))
        and bool(np.all(layers.bound >= 0))
        and math.isfinite(layers.avgdl)
        and layers.avgdl > 0
    ):
        problems.append("impact layers do not match the postings")
    if problems:
        raise IndexDamagedError(f"the index in {directory} is corrupt: {'; '.join(problems)}")
