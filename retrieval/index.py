"""BM25 index over posts: exact rank-bm25 ``BM25Okapi`` scores, updatable in place.

The index keeps an inverted index (CSR numpy arrays, one postings list per term, sorted by
document slot) plus a small append-only delta for documents added or edited since the last
merge. Document frequencies, the document-length total and the sum of idf over the vocabulary
are tracked incrementally, so that every score equals the one a fresh ``BM25Okapi`` built on
the current documents would give, without a full rebuild after each edit.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["BM25Index", "IndexLoadError", "IndexStats"]

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

_FORMAT = "liveblog-bm25"
_VERSION = 1
_MANIFEST = "manifest.json"
_ABSENT = -2  # slot location: document removed
_MAIN = -1  # slot location: document's postings live in the main segment


class IndexLoadError(Exception):
    """A saved index is missing, unreadable or inconsistent; rebuild it from the store."""


@dataclass(frozen=True)
class IndexStats:
    """Sizes of the index, for the `stats` command and health checks."""

    documents: int
    terms: int
    postings: int
    memory_bytes: int
    built_at: datetime | None


@dataclass
class _Segment:
    """Immutable inverted and forward index of the documents that were merged.

    ``docs[offsets[t]:offsets[t+1]]`` are the slots containing term ``t`` (ascending) and
    ``tfs`` their term frequencies. The forward arrays hold the same postings by slot, so that
    removing or editing a document can take its terms out of the document frequencies.
    """

    offsets: I64  # len = terms + 1
    docs: I32
    tfs: I32
    fwd_offsets: I64  # len = slots + 1
    fwd_terms: I32
    fwd_tfs: I32

    @classmethod
    def empty(cls) -> _Segment:
        z64 = np.zeros(1, dtype=np.int64)
        z32 = np.zeros(0, dtype=np.int32)
        return cls(z64, z32, z32, z64.copy(), z32.copy(), z32.copy())

    @property
    def n_terms(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_slots(self) -> int:
        return len(self.fwd_offsets) - 1

    def postings(self, term: int) -> tuple[I32, I32]:
        if term >= self.n_terms:
            return _EMPTY_I32, _EMPTY_I32
        lo, hi = int(self.offsets[term]), int(self.offsets[term + 1])
        return self.docs[lo:hi], self.tfs[lo:hi]

    def forward(self, slot: int) -> tuple[I32, I32]:
        lo, hi = int(self.fwd_offsets[slot]), int(self.fwd_offsets[slot + 1])
        return self.fwd_terms[lo:hi], self.fwd_tfs[lo:hi]

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "offsets": self.offsets,
            "docs": self.docs,
            "tfs": self.tfs,
            "fwd_offsets": self.fwd_offsets,
            "fwd_terms": self.fwd_terms,
            "fwd_tfs": self.fwd_tfs,
        }


_EMPTY_I32: I32 = np.zeros(0, dtype=np.int32)


def _build_segment(slot_terms: I32, slot_tfs: I32, slot_lengths: I64, n_terms: int) -> _Segment:
    """CSR arrays from per-slot (term, tf) runs, each slot's terms distinct.

    ``slot_terms``/``slot_tfs`` are concatenated slot by slot; ``slot_lengths[s]`` is the number
    of distinct terms of slot ``s`` (0 for removed slots).
    """
    n_slots = len(slot_lengths)
    fwd_offsets = np.zeros(n_slots + 1, dtype=np.int64)
    np.cumsum(slot_lengths, out=fwd_offsets[1:])
    slots = np.repeat(np.arange(n_slots, dtype=np.int32), slot_lengths)
    # Stable sort by term keeps slots ascending inside each postings list.
    order = np.argsort(slot_terms, kind="stable")
    docs = slots[order]
    tfs = slot_tfs[order]
    counts = np.bincount(slot_terms, minlength=n_terms).astype(np.int64)
    offsets = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return _Segment(
        offsets=offsets,
        docs=docs.astype(np.int32, copy=False),
        tfs=tfs.astype(np.int32, copy=False),
        fwd_offsets=fwd_offsets,
        fwd_terms=slot_terms.astype(np.int32, copy=False),
        fwd_tfs=slot_tfs.astype(np.int32, copy=False),
    )


class BM25Index:
    """Exact rank-bm25 BM25Okapi scores over documents identified by string ids."""

    #: Merge the delta into the main segment when it holds more documents than this many, or
    #: than ``_MERGE_FRACTION`` of the index, whichever is larger (amortises the rebuild).
    _MERGE_MIN = 2048
    _MERGE_FRACTION = 0.05

    def __init__(self, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> None:
        self.k1 = float(k1)
        self.b = float(b)
        self.epsilon = float(epsilon)
        # Vocabulary: term ids never change; a term whose df drops to 0 leaves the vocabulary
        # that rank-bm25 would see (``_vocab_size``) but keeps its id.
        self._term_ids: dict[str, int] = {}
        self._terms: list[str] = []
        self._df: I64 = np.zeros(16, dtype=np.int64)
        self._df_hist: Counter[int] = Counter()  # df value -> number of terms with that df
        self._vocab_size = 0
        self._idf_sum_cache: tuple[int, float] | None = None  # (N, sum of raw idf)
        # Documents live in slots, numbered in the order they were first added.
        self._ids: list[str | None] = []
        self._slot_of: dict[str, int] = {}
        self._dl: I64 = np.zeros(16, dtype=np.int64)
        self._loc: I64 = np.zeros(16, dtype=np.int64)  # _ABSENT, _MAIN or delta doc number
        self._n_docs = 0
        self._total_len = 0
        self._main = _Segment.empty()
        # Delta: documents added or edited since the last merge.
        self._delta_docs: list[tuple[int, I32, I32]] = []  # delta number -> (slot, terms, tfs)
        self._delta_postings: dict[int, tuple[list[int], list[int]]] = {}  # term -> (dnums, tfs)
        self._delta_live = 0
        self.built_at: datetime | None = None

    # ----------------------------------------------------------------- building and updating

    @classmethod
    def build(
        cls,
        docs: Iterable[tuple[str, Sequence[str]]],
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
    ) -> BM25Index:
        """An index of ``docs`` built in one pass (a repeated id keeps its last tokens)."""
        index = cls(k1, b, epsilon)
        latest: dict[str, Sequence[str]] = {}
        for doc_id, tokens in docs:
            latest[doc_id] = tokens  # re-assignment keeps the first position, as upsert does
        term_ids = index._term_ids
        flat: list[int] = []
        lengths = np.zeros(len(latest), dtype=np.int64)
        for i, tokens in enumerate(latest.values()):
            flat.extend([term_ids.setdefault(t, len(term_ids)) for t in tokens])
            lengths[i] = len(tokens)
        index._terms = list(term_ids)
        n_terms = len(term_ids)
        n_slots = len(latest)
        token_terms = np.array(flat, dtype=np.int64)
        token_slots = np.repeat(np.arange(n_slots, dtype=np.int64), lengths)
        # One sort of (slot, term) keys gives each slot's distinct terms and their counts.
        keys = token_slots * max(n_terms, 1) + token_terms
        keys.sort()
        if len(keys):
            starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
            uniq = keys[starts]
            tfs = np.diff(np.append(starts, len(keys))).astype(np.int32)
            ukey_slots = uniq // max(n_terms, 1)
            uterms = (uniq % max(n_terms, 1)).astype(np.int32)
        else:
            tfs = _EMPTY_I32
            ukey_slots = np.zeros(0, dtype=np.int64)
            uterms = _EMPTY_I32
        slot_lengths = np.bincount(ukey_slots, minlength=n_slots).astype(np.int64)
        index._main = _build_segment(uterms, tfs, slot_lengths, n_terms)
        index._ids = list(latest)
        index._slot_of = {doc_id: i for i, doc_id in enumerate(latest)}
        index._dl = lengths
        index._loc = np.full(n_slots, _MAIN, dtype=np.int64)
        index._n_docs = n_slots
        index._total_len = int(lengths.sum())
        index._df = np.diff(index._main.offsets)
        hist = np.bincount(index._df)
        index._df_hist = Counter({int(d): int(hist[d]) for d in np.flatnonzero(hist) if d > 0})
        index._vocab_size = int(np.count_nonzero(index._df))
        index.built_at = datetime.now(UTC)
        return index

    def upsert(self, doc_id: str, tokens: Sequence[str]) -> None:
        """Add a document, or replace an existing document's tokens (it keeps its rank order)."""
        slot = self._slot_of.get(doc_id)
        if slot is not None:
            self._forget(slot)
        else:
            slot = len(self._ids)
            self._ids.append(doc_id)
            self._slot_of[doc_id] = slot
            self._ensure_slot_capacity(slot + 1)
        counts = Counter(tokens)
        term_ids = np.fromiter(
            (self._term_id(t) for t in counts), dtype=np.int32, count=len(counts)
        )
        tfs = np.fromiter(counts.values(), dtype=np.int32, count=len(counts))
        dnum = len(self._delta_docs)
        self._delta_docs.append((slot, term_ids, tfs))
        for t, tf in zip(term_ids.tolist(), tfs.tolist(), strict=True):
            entry = self._delta_postings.get(t)
            if entry is None:
                self._delta_postings[t] = ([dnum], [tf])
            else:
                entry[0].append(dnum)
                entry[1].append(tf)
        self._delta_live += 1
        self._loc[slot] = dnum
        self._dl[slot] = len(tokens)
        self._n_docs += 1
        self._total_len += len(tokens)
        self._change_df(term_ids, +1)
        if self._delta_live > max(self._MERGE_MIN, self._MERGE_FRACTION * self._n_docs):
            self._merge()

    def remove(self, doc_id: str) -> None:
        """Remove a document; removing an absent id does nothing."""
        slot = self._slot_of.pop(doc_id, None)
        if slot is None:
            return
        self._forget(slot)
        self._ids[slot] = None

    def _forget(self, slot: int) -> None:
        """Take a slot's current postings out of the statistics (its slot stays reserved)."""
        loc = int(self._loc[slot])
        if loc == _MAIN:
            terms, _ = self._main.forward(slot)
        elif loc >= 0:
            terms = self._delta_docs[loc][1]
            self._delta_live -= 1
        else:
            return
        self._change_df(terms, -1)
        self._loc[slot] = _ABSENT
        self._n_docs -= 1
        self._total_len -= int(self._dl[slot])
        self._dl[slot] = 0

    def _term_id(self, term: str) -> int:
        tid = self._term_ids.get(term)
        if tid is None:
            tid = len(self._terms)
            self._term_ids[term] = tid
            self._terms.append(term)
            if tid >= len(self._df):
                grow = max(16, len(self._df))
                self._df = np.concatenate([self._df, np.zeros(grow, dtype=np.int64)])
        return tid

    def _ensure_slot_capacity(self, n: int) -> None:
        if n <= len(self._dl):
            return
        grow = max(n, 2 * len(self._dl)) - len(self._dl)
        self._dl = np.concatenate([self._dl, np.zeros(grow, dtype=np.int64)])
        self._loc = np.concatenate([self._loc, np.full(grow, _ABSENT, dtype=np.int64)])

    def _change_df(self, terms: I32, delta: int) -> None:
        """Move ``terms`` (distinct) by ``delta`` documents, keeping the df histogram exact."""
        if not len(terms):
            return
        old = self._df[terms]
        new = old + delta
        self._df[terms] = new
        hist = self._df_hist
        for d in old.tolist():
            if d > 0:
                hist[d] -= 1
                if not hist[d]:
                    del hist[d]
        for d in new.tolist():
            if d > 0:
                hist[d] += 1
        self._vocab_size += int(np.count_nonzero(new > 0)) - int(np.count_nonzero(old > 0))
        self._idf_sum_cache = None

    def _merge(self) -> None:
        """Fold the delta into a fresh main segment, dropping removed slots."""
        live = np.flatnonzero(self._loc[: len(self._ids)] != _ABSENT)
        terms_parts: list[I32] = []
        tfs_parts: list[I32] = []
        lengths = np.zeros(len(live), dtype=np.int64)
        for i, slot in enumerate(live.tolist()):
            loc = int(self._loc[slot])
            if loc == _MAIN:
                terms, tfs = self._main.forward(slot)
            else:
                _, terms, tfs = self._delta_docs[loc]
            order = np.argsort(terms, kind="stable")
            terms_parts.append(terms[order])
            tfs_parts.append(tfs[order])
            lengths[i] = len(terms)
        n_terms = len(self._terms)
        all_terms = np.concatenate(terms_parts) if terms_parts else _EMPTY_I32
        all_tfs = np.concatenate(tfs_parts) if tfs_parts else _EMPTY_I32
        self._main = _build_segment(all_terms, all_tfs, lengths, n_terms)
        self._ids = [self._ids[s] for s in live.tolist()]
        self._slot_of = {doc_id: i for i, doc_id in enumerate(self._ids) if doc_id is not None}
        self._dl = self._dl[live].copy()
        self._loc = np.full(len(live), _MAIN, dtype=np.int64)
        self._delta_docs = []
        self._delta_postings = {}
        self._delta_live = 0
        self.built_at = datetime.now(UTC)

    # --------------------------------------------------------------------------- querying

    def __len__(self) -> int:
        return self._n_docs

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slot_of

    def document_frequency(self, term: str) -> int:
        """How many documents hold `term` (the answer core weighs query words by it)."""
        tid = self._term_ids.get(term)
        return 0 if tid is None else int(self._df[tid])

    def _idf_sum(self) -> float:
        """Sum over the vocabulary of rank-bm25's raw idf, computed per distinct df value."""
        n = self._n_docs
        if self._idf_sum_cache is not None and self._idf_sum_cache[0] == n:
            return self._idf_sum_cache[1]
        dfs = np.fromiter(self._df_hist.keys(), dtype=np.float64, count=len(self._df_hist))
        mult = np.fromiter(self._df_hist.values(), dtype=np.float64, count=len(self._df_hist))
        total = float(np.sum(mult * (np.log(n - dfs + 0.5) - np.log(dfs + 0.5))))
        self._idf_sum_cache = (n, total)
        return total

    def _query_weights(self, query_tokens: Sequence[str]) -> list[tuple[int, float]]:
        """(term id, idf) for each query token that is in the vocabulary, in query order."""
        n = self._n_docs
        if n == 0 or self._vocab_size == 0:
            return []
        eps: float | None = None
        weights = []
        for token in query_tokens:
            tid = self._term_ids.get(token)
            if tid is None:
                continue
            df = int(self._df[tid])
            if df == 0:
                continue
            idf = math.log(n - df + 0.5) - math.log(df + 0.5)
            if idf < 0:
                if eps is None:
                    eps = self.epsilon * (self._idf_sum() / self._vocab_size)
                idf = eps
            weights.append((tid, idf))
        return weights

    def _term_postings(self, term: int) -> tuple[I32, I32]:
        """Live (slots, tfs) of a term across main and delta, slots ascending."""
        docs, tfs = self._main.postings(term)
        if len(docs):
            keep = self._loc[docs] == _MAIN
            if not keep.all():
                docs, tfs = docs[keep], tfs[keep]
        entry = self._delta_postings.get(term)
        if entry is not None:
            dnums = np.array(entry[0], dtype=np.int64)
            dslots = np.array([self._delta_docs[d][0] for d in entry[0]], dtype=np.int64)
            keep = self._loc[dslots] == dnums
            if keep.any():
                docs = np.concatenate([docs, dslots[keep].astype(np.int32)])
                tfs = np.concatenate([tfs, np.array(entry[1], dtype=np.int32)[keep]])
                order = np.argsort(docs, kind="stable")
                docs, tfs = docs[order], tfs[order]
        return docs, tfs

    def top_k(self, query_tokens: Sequence[str], k: int = 10) -> list[tuple[str, float]]:
        """Best ``k`` documents containing a query token, by score, earlier-added first on ties."""
        if k <= 0:
            return []
        weights = self._query_weights(query_tokens)
        if not weights:
            return []
        postings = {tid: self._term_postings(tid) for tid, _ in weights}
        nonempty = [docs for docs, _ in postings.values() if len(docs)]
        if not nonempty:
            return []
        cand = np.unique(np.concatenate(nonempty))
        scores = self._score_slots(cand, weights, postings)
        order = _top_order(scores, cand, k)
        ids = self._ids
        return [(ids[int(cand[i])], float(scores[i])) for i in order]  # type: ignore[misc]

    def _score_slots(
        self,
        cand: I32,
        weights: list[tuple[int, float]],
        postings: dict[int, tuple[I32, I32]],
    ) -> F64:
        """Exact scores of ``cand`` (ascending slots), in rank-bm25's order of operations."""
        k1, b = self.k1, self.b
        avgdl = self._total_len / self._n_docs
        doc_len = self._dl[cand]
        norm = k1 * (1 - b + b * doc_len / avgdl)
        score = np.zeros(len(cand), dtype=np.float64)
        tf_of: dict[int, F64] = {}
        for tid, idf in weights:
            q_freq = tf_of.get(tid)
            if q_freq is None:
                docs, tfs = postings[tid]
                q_freq = np.zeros(len(cand), dtype=np.float64)
                q_freq[np.searchsorted(cand, docs)] = tfs
                tf_of[tid] = q_freq
            score += idf * (q_freq * (k1 + 1) / (q_freq + norm))
        return score

    def score(self, query_tokens: Sequence[str], doc_id: str) -> float:
        """The BM25 score of one document (KeyError if the id is not in the index)."""
        slot = self._slot_of[doc_id]
        weights = self._query_weights(query_tokens)
        if not weights:
            return 0.0
        loc = int(self._loc[slot])
        if loc == _MAIN:
            terms, tfs = self._main.forward(slot)
        else:
            _, terms, tfs = self._delta_docs[loc]
        tf_of = dict(zip(terms.tolist(), tfs.tolist(), strict=True))
        k1, b = self.k1, self.b
        avgdl = self._total_len / self._n_docs
        norm = k1 * (1 - b + b * float(self._dl[slot]) / avgdl)
        total = 0.0
        for tid, idf in weights:
            q_freq = float(tf_of.get(tid, 0))
            total += idf * (q_freq * (k1 + 1) / (q_freq + norm))
        return total

    # ------------------------------------------------------------------------ persistence

    def save(self, directory: Path) -> None:
        """Write the index under ``directory`` atomically.

        Arrays go to a fresh generation folder; the manifest that names it is replaced with
        one rename, so a reader sees either the old index or the new one, never a mixture.
        """
        if self._delta_live or len(self._ids) != self._n_docs:
            self._merge()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        generation = f"gen-{uuid.uuid4().hex}"
        tmp = directory / f".{generation}.tmp"
        tmp.mkdir()
        arrays = dict(self._main.arrays(), dl=self._dl[: len(self._ids)])
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        _write_json(tmp / "ids.json", self._ids)
        _write_json(tmp / "terms.json", self._terms)
        _fsync_dir(tmp)
        os.replace(tmp, directory / generation)
        manifest = {
            "format": _FORMAT,
            "version": _VERSION,
            "generation": generation,
            "k1": self.k1,
            "b": self.b,
            "epsilon": self.epsilon,
            "documents": self._n_docs,
            "terms": len(self._terms),
            "postings": len(self._main.docs),
            "built_at": self.built_at.isoformat() if self.built_at else None,
        }
        _write_json(directory / f"{_MANIFEST}.tmp", manifest)
        os.replace(directory / f"{_MANIFEST}.tmp", directory / _MANIFEST)
        _fsync_dir(directory)
        for old in directory.iterdir():
            if old.name.startswith(("gen-", ".gen-")) and old.name != generation:
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        """Read an index written by `save` (IndexLoadError if missing or corrupt)."""
        directory = Path(directory)
        try:
            manifest = json.loads((directory / _MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("format") != _FORMAT or manifest.get("version") != _VERSION:
                raise IndexLoadError(f"{directory} holds no index of a format this version reads")
            gen = directory / str(manifest["generation"])
            arrays = {
                name: np.load(gen / f"{name}.npy", allow_pickle=False)
                for name in ("offsets", "docs", "tfs", "fwd_offsets", "fwd_terms", "fwd_tfs", "dl")
            }
            ids = json.loads((gen / "ids.json").read_text(encoding="utf-8"))
            terms = json.loads((gen / "terms.json").read_text(encoding="utf-8"))
            index = cls(manifest["k1"], manifest["b"], manifest["epsilon"])
            built_at = manifest.get("built_at")
            index.built_at = datetime.fromisoformat(built_at) if built_at else None
        except IndexLoadError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexLoadError(f"cannot read the index in {directory}: {exc}") from exc
        dl = arrays.pop("dl").astype(np.int64)
        segment = _Segment(**arrays)
        _check_consistent(directory, segment, dl, ids, terms, manifest)
        index._main = segment
        index._terms = terms
        index._term_ids = {t: i for i, t in enumerate(terms)}
        index._ids = ids
        index._slot_of = {doc_id: i for i, doc_id in enumerate(ids)}
        index._dl = dl
        index._loc = np.full(len(ids), _MAIN, dtype=np.int64)
        index._n_docs = len(ids)
        index._total_len = int(dl.sum())
        index._df = np.diff(segment.offsets)
        hist = np.bincount(index._df) if len(index._df) else np.zeros(1, dtype=np.int64)
        index._df_hist = Counter({int(d): int(hist[d]) for d in np.flatnonzero(hist) if d > 0})
        index._vocab_size = int(np.count_nonzero(index._df))
        return index

    def stats(self) -> IndexStats:
        """Counts and an estimate of the memory the index holds."""
        arrays = [*self._main.arrays().values(), self._df, self._dl, self._loc]
        memory = sum(a.nbytes for a in arrays)
        memory += sys.getsizeof(self._term_ids) + sys.getsizeof(self._slot_of)
        memory += sum(sys.getsizeof(t) for t in self._terms)
        memory += sum(sys.getsizeof(i) for i in self._ids if i is not None)
        postings = int(np.count_nonzero(self._loc[self._main.docs] == _MAIN)) + sum(
            len(self._delta_docs[int(loc)][1]) for loc in self._loc[: len(self._ids)] if loc >= 0
        )
        return IndexStats(
            documents=self._n_docs,
            terms=self._vocab_size,
            postings=postings,
            memory_bytes=int(memory),
            built_at=self.built_at,
        )


def _top_order(scores: F64, slots: I32, k: int) -> list[int]:
    """Positions of the best ``k`` scores, ties to the lower slot (the earlier-added)."""
    if len(scores) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        pool = np.flatnonzero(scores >= kth)
    else:
        pool = np.arange(len(scores))
    order = np.lexsort((slots[pool], -scores[pool]))
    return [int(i) for i in pool[order[:k]]]


def _check_consistent(
    directory: Path,
    segment: _Segment,
    dl: I64,
    ids: object,
    terms: object,
    manifest: dict[str, object],
) -> None:
    """Refuse a saved index whose parts do not fit together (truncated or mixed files)."""
    problems = []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        problems.append("document ids are not a list of strings")
    elif len(set(ids)) != len(ids) or len(ids) != len(dl) or len(ids) != segment.n_slots:
        problems.append("document ids do not match the document arrays")
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        problems.append("terms are not a list of strings")
    elif len(terms) != segment.n_terms:
        problems.append("terms do not match the postings offsets")
    n_post = len(segment.docs)
    if (
        len(segment.tfs) != n_post
        or len(segment.fwd_terms) != n_post
        or len(segment.fwd_tfs) != n_post
        or int(segment.offsets[-1]) != n_post
        or int(segment.fwd_offsets[-1]) != n_post
        or manifest.get("postings") != n_post
    ):
        problems.append("postings arrays have inconsistent lengths")
    if problems:
        raise IndexLoadError(f"the index in {directory} is corrupt: {'; '.join(problems)}")


def _write_json(path: Path, value: object) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(value, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
