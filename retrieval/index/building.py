"""Building: documents streamed once into compact slot-major postings.

`collect` reads (doc id, tokens) pairs into typed buffers (a run of (term id, tf) per input
document, tfs in one byte until one needs more), keeps the last run of an id that comes more
than once (at its first position), and hands back views of those buffers, not copies: the
build's peak memory is what an archive costs. The facade inverts the result into a segment.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.index.arrays import DL, EMPTY_I32, EMPTY_I64, TF, dl_dtype, tf_dtype
from retrieval.index.doc_ids import DocIds
from retrieval.index.kernels import Forward

__all__ = ["Collected", "collect"]


@dataclass
class Collected:
    """What a build read: the vocabulary, the ids by slot, slot-major postings, lengths."""

    term_ids: dict[str, int]
    terms: list[str]  # by term id
    ids: DocIds
    forward: Forward
    dl: DL


def collect(docs: Iterable[tuple[str, Sequence[str]]]) -> Collected:
    """Every document's distinct terms and their tfs, slot by slot (a repeated id keeps its
    last tokens at its first slot)."""
    term_ids: dict[str, int] = {}
    slot_of: dict[str, int] = {}
    ids: list[str] = []
    # One run of (term, tf) pairs per input document, in compact typed buffers.
    run_slots = array("q")
    run_lengths = array("q")
    run_dls = array("q")
    buf_terms = array("i")
    buf_tfs = array("B")  # widened to "i" by the first tf above 255
    for doc_id, tokens in docs:
        slot = slot_of.get(doc_id)
        if slot is None:
            slot = slot_of[doc_id] = len(ids)
            ids.append(doc_id)
        counts = Counter(tokens)
        run_slots.append(slot)
        run_lengths.append(len(counts))
        run_dls.append(len(tokens))
        buf_terms.extend([term_ids.setdefault(t, len(term_ids)) for t in counts])
        try:
            buf_tfs.extend(counts.values())
        except OverflowError:
            del buf_tfs[len(buf_terms) - len(counts) :]
            buf_tfs = array("i", buf_tfs)
            buf_tfs.extend(counts.values())
    n_slots = len(ids)
    doc_ids = DocIds.from_ids(ids)
    del ids, slot_of  # a million id strings and their dict: ~95 MB until the inversion
    runs = np.frombuffer(run_slots, dtype=np.int64) if run_slots else EMPTY_I64
    lengths = np.frombuffer(run_lengths, dtype=np.int64) if run_lengths else EMPTY_I64
    dl_runs = np.frombuffer(run_dls, dtype=np.int64) if run_dls else EMPTY_I64
    # Views of the buffers, not copies: the build's peak memory is what an archive costs.
    fwd_terms = np.frombuffer(buf_terms, dtype=np.int32) if buf_terms else EMPTY_I32
    fwd_tfs: TF = np.frombuffer(buf_tfs, dtype=np.dtype(buf_tfs.typecode)) if buf_tfs else EMPTY_I32
    fwd_tfs = fwd_tfs.astype(tf_dtype(int(fwd_tfs.max(initial=0))), copy=False)
    del buf_tfs
    if len(runs) != n_slots:  # some id came more than once: keep each slot's last run
        last_run = np.zeros(n_slots, dtype=np.int64)
        np.maximum.at(last_run, runs, np.arange(len(runs)))
        keep = last_run[runs] == np.arange(len(runs))
        tokens_keep = np.repeat(keep, lengths)
        fwd_terms, fwd_tfs = fwd_terms[tokens_keep], fwd_tfs[tokens_keep]
        runs, lengths, dl_runs = runs[keep], lengths[keep], dl_runs[keep]
    dls: DL = np.zeros(n_slots, dtype=dl_dtype(int(dl_runs.max(initial=0))))
    dls[runs] = dl_runs
    if len(runs) and not bool(np.all(runs[1:] > runs[:-1])):  # runs out of slot order
        order = np.argsort(runs, kind="stable")
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        pick = np.concatenate(
            [np.arange(starts[r], starts[r] + lengths[r]) for r in order.tolist()]
        ).astype(np.int64)
        fwd_terms, fwd_tfs, lengths = fwd_terms[pick], fwd_tfs[pick], lengths[order]
    fwd_offsets = np.zeros(n_slots + 1, dtype=np.int64)
    np.cumsum(lengths, out=fwd_offsets[1:])
    return Collected(
        term_ids, list(term_ids), doc_ids, Forward(fwd_offsets, fwd_terms, fwd_tfs), dls
    )
