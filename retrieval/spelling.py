"""Question words the coverage does not hold, matched to close terms of the index's own vocabulary.

Readers misspell ("counteroffensiv") and transliterate names their own way ("Zelenskyy",
"Bakhmout"). A general dictionary knows neither "Bakhmut" nor "Prystaiko", so the candidates
are the index's terms: first a term with the same transliteration skeleton (doubled letters
and y/i, ou/u, kh/h, w/v folded), else the term within a small edit distance (one edit from
five letters, two from eight; same first letter) that the most posts use.

The table is built from `BM25Index.terms` on first need and extended with the terms added
since, so a growing archive costs only its new words.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from retrieval.index import BM25Index

_FOLDS = (("kh", "h"), ("ou", "u"), ("ph", "f"), ("w", "v"), ("ie", "i"), ("y", "i"), ("j", "i"))
_DOUBLE = re.compile(r"(.)\1+")


def skeleton(term: str) -> str:
    """A term with transliteration variants folded: zelenskyy, zelenski → zelenski."""
    for a, b in _FOLDS:
        term = term.replace(a, b)
    return _DOUBLE.sub(r"\1", term)


def max_edits(term: str) -> int:
    """How many edits a correction of `term` may make: short words have too many neighbours."""
    return 0 if len(term) < 5 else 1 if len(term) < 8 else 2


@dataclass(frozen=True)
class Correction:
    term: str  # the index term found
    edits: float  # 0.5 for a transliteration variant, else the edit distance


class Speller:
    """Corrections of unknown query terms from one index's vocabulary."""

    def __init__(self, index: BM25Index) -> None:
        self.index = index
        self._seen = 0
        self._skeletons: dict[str, list[str]] = defaultdict(list)
        self._buckets: dict[tuple[str, int], list[str]] = defaultdict(list)
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        new = self.index.terms(self._seen)
        for term in new:
            if term.isdigit():
                continue  # a number is never a typo of another number
            self._skeletons[skeleton(term)].append(term)
            self._buckets[(term[:1], len(term))].append(term)
        self._seen += len(new)

    def correct(self, term: str) -> Correction | None:
        """The index term `term` most likely means, or None (it is not corrected)."""
        if term.isdigit() or len(term) < 4:
            return None
        with self._lock:
            self._refresh()
            df = self.index.document_frequency
            variants = [t for t in self._skeletons.get(skeleton(term), ()) if df(t) > 0]
            if variants:
                return Correction(max(variants, key=lambda t: (df(t), t)), 0.5)
            budget = max_edits(term)
            if budget == 0:
                return None
            best: tuple[int, int, str] | None = None
            for length in range(len(term) - budget, len(term) + budget + 1):
                bucket = self._buckets.get((term[:1], length))
                if not bucket:
                    continue
                for found, distance, _ in extract(
                    term, bucket, scorer=OSA.distance, score_cutoff=budget, limit=None
                ):
                    key = (int(distance), -df(found), found)
                    if df(found) > 0 and (best is None or key < best):
                        best = key
        return Correction(best[2], float(best[0])) if best else None
