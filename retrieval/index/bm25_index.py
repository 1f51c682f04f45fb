"""`BM25Index`: exact rank-bm25 ``BM25Okapi`` scores over posts, updatable in place.

The facade over the package's parts (the package docstring lists them): documents live in
slots numbered in the order they were first added; merged documents in the main `Segment`,
documents added or edited since in the `Delta` (edited or removed main documents stay there as
tombstones until the next merge); `CollectionStats` keeps N, avgdl and every idf exact at all
times; `query.top_k` answers; `persistence` saves and loads.
"""

from __future__ import annotations

import bisect
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from retrieval.index import kernels, query
from retrieval.index._numba import kernels_ready, usable, warm_in_background
from retrieval.index.arrays import DL, I32, dl_dtype
from retrieval.index.building import collect
from retrieval.index.delta import Delta
from retrieval.index.doc_ids import DocIds
from retrieval.index.invariants import check_loaded, check_types
from retrieval.index.merge import ABSENT, MAIN, merged
from retrieval.index.persistence import IndexDamagedError, Saved, read_saved, write_saved
from retrieval.index.scoring import Bm25
from retrieval.index.segment import Layers, Segment, layered, segment_from_forward
from retrieval.index.stats import CollectionStats

__all__ = ["BM25Index", "IndexStats"]

_ARRAYS = ["offsets", "docs", "tfs", "fwd_offsets", "fwd_terms", "fwd_tfs", "dl"]
_ARRAYS += ["id_blob", "id_starts", "id_sorted_crcs", "id_order"]
_LAYER_ARRAYS = ["lay_lists", "lay_lo", "lay_hi", "lay_bound"]


@dataclass(frozen=True)
class IndexStats:
    """Sizes of the index, for the `stats` command and health checks."""

    documents: int
    terms: int
    postings: int
    memory_bytes: int
    built_at: datetime | None


class BM25Index:
    """Exact rank-bm25 BM25Okapi scores over documents identified by string ids."""

    #: Merge the delta (and drop tombstones) once this many documents changed since the last
    #: merge: ``N / _MERGE_DIVISOR`` clamped to [_MERGE_MIN, _MERGE_MAX]. Bigger deltas make
    #: queries slower; smaller ones make merges (a pass over all postings) more frequent.
    _MERGE_MIN = 1024
    _MERGE_MAX = 8192
    _MERGE_DIVISOR = 128
    #: Use the compiled pruning kernel when available (tests turn it off to compare paths).
    _use_kernel = True

    def __init__(self, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> None:
        self.k1 = float(k1)
        self.b = float(b)
        self.epsilon = float(epsilon)
        #: The text analyzer the tokens came from (`retrieval.text.analyzer_identity`), saved
        #: in the manifest so that a load under another analyzer knows the index is stale.
        self.analyzer: dict[str, str] | None = None
        # Vocabulary: term ids never change; a term whose df drops to 0 leaves the vocabulary
        # that rank-bm25 would see but keeps its id.
        self._term_ids: dict[str, int] = {}
        self._terms: list[str] = []
        self._stats = CollectionStats(self.epsilon)
        self._ids = DocIds.from_ids([])
        self._dl: DL = np.zeros(16, dtype=np.uint16)  # widened by a post of 65,536+ tokens
        self._loc: I32 = np.full(16, ABSENT, dtype=np.int32)  # delta numbers fit 31 bits
        self._main = Segment.empty()
        self._delta = Delta()
        self._changed = 0  # documents added, edited or removed since the last merge
        self._main_dead = 0  # main-segment documents since removed or edited (tombstones)
        self.built_at: datetime | None = None
        self._scratch = query.QueryScratch()

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
        collected = collect(docs)
        index._term_ids, index._terms = collected.term_ids, collected.terms
        index._ids = collected.ids
        index._dl = collected.dl
        index._main = segment_from_forward(*collected.forward, len(collected.terms))
        del collected  # the segment holds the forward arrays now
        n_slots = len(index._ids)
        index._loc = np.full(n_slots, MAIN, dtype=np.int32)
        index._stats.reset(np.diff(index._main.offsets), n_slots, int(index._dl.sum()))
        index.built_at = datetime.now(UTC)
        index._compute_layers()
        return index

    @classmethod
    def warm_up(cls, *, background: bool = False) -> None:
        """Run the compiled kernels once on a throwaway index, both query sizes, so that they
        are compiled (or loaded from numba's cache) before the first question arrives instead
        of while it waits: seconds with a cold cache.

        ``background``: compile in a thread and return at once; until it is done every index
        takes its exact numpy paths (what `liveblog-bot run` does, so a fresh install answers
        its first question within a few seconds)."""
        if background:
            warm_in_background(cls._run_kernels)
        else:
            cls._run_kernels()

    @staticmethod
    def wait_warm(timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for `warm_up(background=True)` to finish; whether
        the compiled kernels now answer."""
        return kernels_ready(timeout)

    @classmethod
    def _run_kernels(cls) -> None:
        terms = [f"term{i}" for i in range(kernels.SMALL_SEEN_TERMS + 1)]
        index = cls.build((f"doc{i}", [terms[i % len(terms)], "filler"]) for i in range(40))
        index.top_k(terms[:2], 3)
        index.top_k(terms, 3)
        index.holds(["doc0", "doc1"], terms[:2])
        index.upsert("doc0", [terms[1], "filler"])
        index.top_k(terms[:2], 3)

    def upsert(self, doc_id: str, tokens: Sequence[str]) -> None:
        """Add a document, or replace an existing document's tokens (it keeps its rank order)."""
        term_ids = self._place(doc_id, tokens, None)
        self._stats.add_document(term_ids, len(tokens))
        self._changed += 1
        self._maybe_merge()

    def upsert_many(self, docs: Iterable[tuple[str, Sequence[str]]]) -> int:
        """`upsert` each document, merging at most once, at the end: a catch-up of many posts
        costs one pass over the postings instead of one per merge (seconds each at a million
        posts); the document frequencies change by bincount, not term by term, and the
        delta's postings by term are made when a query first needs them. Returns how many."""
        added: list[I32] = []
        removed: list[I32] = []
        try:
            for doc_id, tokens in docs:
                term_ids = self._place(doc_id, tokens, removed)
                self._stats.add_document(term_ids, len(tokens), df=False)
                added.append(term_ids)
        finally:
            self._stats.change_many(added, removed)
            self._changed += len(added)
            self._maybe_merge()
        return len(added)

    def _place(self, doc_id: str, tokens: Sequence[str], removed: list[I32] | None) -> I32:
        """Put a document's run in the delta (forgetting its old one); its term ids. With
        ``removed``, the df changes and the delta's postings by term wait (`upsert_many`)."""
        slot = self._ids.slot(doc_id)
        if slot is not None:
            self._forget(slot, removed)
        else:
            slot = self._ids.append(doc_id)
            self._ensure_slot_capacity(slot + 1)
        counts = Counter(tokens)
        known = list(map(self._term_ids.get, counts))  # one C loop; new terms are rare
        if None in known:
            pairs = zip(counts, known, strict=True)
            known = [self._term_id(t) if i is None else i for t, i in pairs]
        term_ids = np.array(known, dtype=np.int32)
        tfs = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        self._loc[slot] = self._delta.add(slot, term_ids, tfs, by_term=removed is None)
        if len(tokens) > np.iinfo(self._dl.dtype).max:
            self._dl = self._dl.astype(dl_dtype(len(tokens)))
        self._dl[slot] = len(tokens)
        return term_ids

    def remove(self, doc_id: str) -> None:
        """Remove a document; removing an absent id does nothing."""
        slot = self._ids.remove(doc_id)
        if slot is None:
            return
        self._forget(slot, None)
        self._changed += 1
        self._maybe_merge()

    def _forget(self, slot: int, removed: list[I32] | None) -> None:
        """Take a slot's current postings out of the statistics (its slot stays reserved);
        with ``removed``, its terms are collected there for one df change later."""
        loc = int(self._loc[slot])
        if loc == MAIN:
            terms, _ = self._main.forward(slot)
            self._main_dead += 1
        elif loc >= 0:
            terms = self._delta.docs[loc][0]
        else:
            return
        self._stats.remove_document(terms, int(self._dl[slot]), df=removed is None)
        if removed is not None:
            removed.append(terms)
        self._loc[slot] = ABSENT
        self._dl[slot] = 0

    def _term_id(self, term: str) -> int:
        tid = self._term_ids.get(term)
        if tid is None:
            tid = len(self._terms)
            self._term_ids[term] = tid
            self._terms.append(term)
            self._stats.ensure_terms(tid + 1)
        return tid

    def _ensure_slot_capacity(self, n: int) -> None:
        if n <= len(self._dl):
            return
        grow = max(n, len(self._dl) + len(self._dl) // 4 + 16) - len(self._dl)  # amortized
        self._dl = np.concatenate([self._dl, np.zeros(grow, dtype=self._dl.dtype)])
        self._loc = np.concatenate([self._loc, np.full(grow, ABSENT, dtype=np.int32)])

    def _maybe_merge(self) -> None:
        limit = min(self._MERGE_MAX, self._stats.n_docs // self._MERGE_DIVISOR)
        if self._changed > max(self._MERGE_MIN, limit):
            self._merge()

    def _merge(self) -> None:
        """Fold the delta into a fresh main segment (`merge.merged`), renumbering slots."""
        n_slots = len(self._ids)
        new_ids = self._ids.compacted()  # first: it may fail while nothing has changed yet
        loc = self._loc[:n_slots]
        self._scratch.clear()
        self._main = merged(self._main, self._delta, loc, len(self._terms), self._layer)
        live = loc != ABSENT
        self._ids = new_ids  # removed slots dropped, the later ones renumbered
        self._dl = self._dl[:n_slots][live].copy() if not live.all() else self._dl[:n_slots].copy()
        self._loc = np.full(len(self._ids), MAIN, dtype=np.int32)
        self._delta = Delta()
        self._changed = 0
        self._main_dead = 0
        self._stats.reset(np.diff(self._main.offsets), self._stats.n_docs, self._stats.total_len)
        self.built_at = datetime.now(UTC)
        self._compute_layers()

    def _layer(self, segment: Segment) -> None:
        """Impact layers for ``segment`` at the current avgdl (only the kernel reads them)."""
        if self._kernel_applies():
            n = self._stats.n_docs
            layered(segment, self._dl, self.k1, self.b, self._stats.total_len / n if n else 1.0)
            self._scratch.clear()

    def _compute_layers(self) -> None:
        self._layer(self._main)

    def _kernel_applies(self) -> bool:
        """Block bounds rely on the tf factor growing with tf and shrinking with length."""
        return self.k1 >= 0 and 0 <= self.b <= 1

    # --------------------------------------------------------------------------- querying

    def __len__(self) -> int:
        return self._stats.n_docs

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._ids

    def document_frequency(self, term: str) -> int:
        """How many documents hold `term` (the answer core weighs query words by it)."""
        return self._stats.document_frequency(self._term_ids.get(term))

    def terms(self, start: int = 0) -> list[str]:
        """The vocabulary from term id ``start`` on, in id order (ids never change, so a
        caller keeping a spelling table reads only the terms added since)."""
        return self._terms[start:]

    def terms_with_prefix(self, prefix: str, limit: int = 5) -> list[tuple[str, int]]:
        """Index terms starting with `prefix`, most documents first, with their document
        frequency: what inline mode completes a half-typed last word against. Read-only; the
        sorted vocabulary is rebuilt only when new terms were added."""
        if not prefix:
            return []
        cached: tuple[int, list[str]] | None = getattr(self, "_sorted_terms", None)
        if cached is None or cached[0] != len(self._terms):
            cached = (len(self._terms), sorted(self._terms))
            self._sorted_terms = cached
        vocabulary = cached[1]
        found = []
        at = bisect.bisect_left(vocabulary, prefix)
        while at < len(vocabulary) and vocabulary[at].startswith(prefix):
            df = self.document_frequency(vocabulary[at])
            if df:
                found.append((vocabulary[at], df))
            at += 1
        found.sort(key=lambda pair: (-pair[1], pair[0]))
        return found[:limit]

    def holds(self, doc_ids: Sequence[str], terms: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Which of ``terms`` each document holds (rows: ``doc_ids``, columns: ``terms``),
        read from the forward index: the answer core's relevance floor needs no post text."""
        out = np.zeros((len(doc_ids), len(terms)), dtype=np.bool_)
        wanted = np.array([self._term_ids.get(t, -1) for t in terms], dtype=np.int64)
        found = [
            (row, slot) for row, slot in enumerate(self._ids.slots(doc_ids)) if slot is not None
        ]
        if not found or not bool(np.any(wanted >= 0)):
            return out
        rows = np.array([r for r, _ in found], dtype=np.int64)
        slots = np.array([s for _, s in found], dtype=np.int64)
        main = self._loc[slots] == MAIN
        gather_tfs = usable(kernels.gather_tfs)
        if gather_tfs is not None and bool(main.any()):
            matrix = gather_tfs(self._main.forward_index, slots[main], wanted)
            out[rows[main]] = matrix > 0
            rest = np.flatnonzero(~main)
        else:
            rest = np.arange(len(slots))
        for i in rest.tolist():
            loc = int(self._loc[slots[i]])
            if loc == ABSENT:
                continue
            held = self._main.forward(int(slots[i]))[0] if loc == MAIN else self._delta.docs[loc][0]
            out[rows[i]] = np.isin(wanted, held)
        return out

    def _query_weights(self, query_tokens: Sequence[str]) -> query.Weights:
        """(term id, idf) for each query token that is in the vocabulary, in query order."""
        get = self._term_ids.get
        return self._stats.weights([get(token) for token in query_tokens])

    def _view(self) -> query.View:
        params = Bm25(self.k1, self.b, self._stats.avgdl)
        tombstones = self._main_dead > 0
        return query.View(
            self._main, self._delta, self._ids, self._dl, self._loc, tombstones, params
        )

    def top_k(self, query_tokens: Sequence[str], k: int = 10) -> list[tuple[str, float]]:
        """Best ``k`` documents containing a query token, by score, earlier-added first on ties."""
        if k <= 0:
            return []
        weights = self._query_weights(query_tokens)
        if not weights:
            return []
        prunable = self._use_kernel and self._kernel_applies()
        if prunable and self._main.layers is None:
            self._compute_layers()
        return query.top_k(self._view(), weights, k, self._scratch, prunable)

    def score(self, query_tokens: Sequence[str], doc_id: str) -> float:
        """The BM25 score of one document (KeyError if the id is not in the index)."""
        slot = self._ids.slot(doc_id)
        if slot is None:
            raise KeyError(doc_id)
        weights = self._query_weights(query_tokens)
        if not weights:
            return 0.0
        return float(query.rescore(self._view(), np.array([slot], dtype=np.int64), weights)[0])

    # ------------------------------------------------------------------------ persistence

    def save(self, directory: Path) -> None:
        """Write the index under ``directory`` atomically, with a checksum per file
        (`retrieval.index.persistence`); pending changes are merged first."""
        if self._changed or len(self._ids) != self._stats.n_docs:
            self._merge()
        layers = self._main.layers
        manifest = {
            "k1": self.k1,
            "b": self.b,
            "epsilon": self.epsilon,
            "documents": self._stats.n_docs,
            "terms": len(self._terms),
            "postings": len(self._main.docs),
            "layers_avgdl": layers.avgdl if layers is not None else None,
            "built_at": self.built_at.isoformat() if self.built_at else None,
            "analyzer": self.analyzer,
        }
        arrays = dict(self._main.arrays(), **self._ids.arrays(), dl=self._dl[: len(self._ids)])
        write_saved(Path(directory), Saved(manifest, arrays, self._terms))

    @classmethod
    def load(cls, directory: Path, *, analyzer: Mapping[str, str] | None = None) -> BM25Index:
        """Read an index written by `save`, every byte verified (IndexLoadError if missing,
        damaged or, given the caller's ``analyzer``, built by another one).

        The arrays are read into memory, so the files may be removed or truncated under a
        running index without harm.
        """
        directory = Path(directory)
        saved = read_saved(directory, _saved_arrays, analyzer)
        manifest, arrays = saved.manifest, saved.arrays
        check_types(directory, arrays)
        try:
            ids = DocIds(
                arrays["id_blob"], arrays["id_starts"], arrays["id_sorted_crcs"], arrays["id_order"]
            )
            segment = Segment(
                arrays["offsets"],
                arrays["docs"],
                arrays["tfs"],
                arrays["fwd_offsets"],
                arrays["fwd_terms"],
                arrays["fwd_tfs"],
            )
            layers_avgdl = manifest.get("layers_avgdl")
            if layers_avgdl is not None:
                segment.layers = Layers(
                    arrays["lay_lists"],
                    arrays["lay_lo"],
                    arrays["lay_hi"],
                    arrays["lay_bound"],
                    float(layers_avgdl),
                )
            dl = arrays["dl"]
            check_loaded(directory, segment, dl, ids, saved.terms, manifest)
            index = cls(manifest["k1"], manifest["b"], manifest["epsilon"])
            built_at = manifest.get("built_at")
            index.built_at = datetime.fromisoformat(built_at) if built_at else None
            analyzer_saved = manifest.get("analyzer")
            index.analyzer = dict(analyzer_saved) if isinstance(analyzer_saved, dict) else None
        except (ValueError, TypeError, KeyError) as exc:
            raise IndexDamagedError(f"the index in {directory} is corrupt: {exc}") from exc
        index._main = segment
        index._terms = saved.terms
        index._term_ids = dict(zip(saved.terms, range(len(saved.terms)), strict=True))
        index._ids = ids
        index._dl = dl.astype(dl_dtype(int(dl.max(initial=0))), copy=False)
        index._loc = np.full(len(ids), MAIN, dtype=np.int32)
        index._stats.reset(np.diff(segment.offsets), len(ids), int(index._dl.sum()))
        if segment.layers is None:
            index._compute_layers()
        return index

    def stats(self) -> IndexStats:
        """Counts and an estimate of the memory the index holds."""
        arrays = [*self._main.arrays().values(), self._stats.df, self._dl, self._loc]
        memory = sum(a.nbytes for a in arrays)
        memory += sys.getsizeof(self._term_ids) + sum(sys.getsizeof(t) for t in self._terms)
        memory += self._ids.memory_bytes()
        main_live = self._loc[: self._main.n_slots] == MAIN
        postings = int(np.diff(self._main.fwd_offsets)[main_live].sum())
        postings += sum(
            len(self._delta.docs[int(loc)][0]) for loc in self._loc[: len(self._ids)] if loc >= 0
        )
        return IndexStats(
            documents=self._stats.n_docs,
            terms=self._stats.vocab_size,
            postings=postings,
            memory_bytes=int(memory),
            built_at=self.built_at,
        )


def _saved_arrays(manifest: Mapping[str, object]) -> list[str]:
    """The arrays a save wrote: the layers' only when they were computed."""
    return _ARRAYS + (_LAYER_ARRAYS if manifest.get("layers_avgdl") is not None else [])
