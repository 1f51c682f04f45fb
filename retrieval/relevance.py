"""How much each word of a question weighs, and how much of it a post must hold.

Each content term weighs its idf over the index (Lucene's always-positive form,
ln(1 + (N - df + .5)/(df + .5))). A word the coverage never uses, and that no close term of
the vocabulary explains, weighs what it would if it were in a single post, scaled by how
specific it is in general English (wordfreq's Zipf frequency, which ships with the package):
"iPhone", "pancakes" or "Tesla" name a subject the coverage does not have and weigh nearly
in full; "hurt", "sent" or "got" are only words the coverage happens to phrase otherwise and
weigh little. A name written with a capital weighs a little more. A corrected word weighs its
correction's idf, discounted, so a correction alone cannot lift a question over the floor
that its own words would not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from retrieval.index import BM25Index
from retrieval.query import Query
from retrieval.spelling import Speller

#: A corrected word weighs this share of its correction's idf.
CORRECTION_WEIGHT = 0.8
#: Unknown words: weight = idf of a one-post word x clip((ZIPF_TOP - zipf) / ZIPF_SPAN, .., 1).
ZIPF_TOP = 6.5
ZIPF_SPAN = 2.5
UNKNOWN_MIN = 0.1
#: The question's most specific word names its subject: when the coverage lacks it (and no
#: correction explains it) and it is at least this specific, nothing in the coverage matches
#: ("When does the next iPhone launch?" is not about launches in general).
SUBJECT_MIN = 0.75
#: Words rarer than this in general English (Zipf scale) may be typos and are corrected.
TYPO_ZIPF = 2.5
CAPITAL_FACTOR = 1.3
#: A word the coverage holds weighs its idf x (KNOWN_BASE + (1 - KNOWN_BASE) x specificity):
#: in a small coverage "make" is as rare as "Tinder", but it names no subject.
KNOWN_BASE = 0.4
#: Likewise a word the coverage lacks weighs a one-post idf x (UNKNOWN_BASE + (1 - …) x spec).
UNKNOWN_BASE = 0.3


@dataclass(frozen=True)
class Weighed:
    """A question's searched terms with their weights, and the weight of what it lacks."""

    weights: dict[str, float]
    missing: float  # weight of the words the coverage does not hold
    corrections: dict[str, str] = field(default_factory=dict)  # typed word -> index term
    variants: frozenset[str] = frozenset()  # terms that came from corrections
    subject_missing: bool = False  # the question's most specific word is not in the coverage

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(self.weights)

    @property
    def total(self) -> float:
        return sum(self.weights.values()) + self.missing

    def share(self, held: set[str] | frozenset[str]) -> float:
        """The share of the question's weight a post holding the terms `held` matches."""
        total = self.total
        if total <= 0:
            return 0.0
        return sum(w for t, w in self.weights.items() if t in held) / total


def idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


@lru_cache(maxsize=20_000)
def specificity(word: str) -> float:
    """How much a word names a subject, from 0.15 (everyday words) to 1 (rare words)."""
    from wordfreq import zipf_frequency  # loads its table on first use (~0.3 s)

    zipf = zipf_frequency(word, "en")
    return min(1.0, max(UNKNOWN_MIN, (ZIPF_TOP - zipf) / ZIPF_SPAN))


@lru_cache(maxsize=20_000)
def is_unfamiliar(word: str) -> bool:
    """Whether general English does not know the word: only such words are corrected
    ("counteroffensiv", "Zelenskyy"), never a real word the coverage lacks ("Lakers")."""
    from wordfreq import zipf_frequency

    return bool(zipf_frequency(word, "en") < TYPO_ZIPF)


def weigh(query: Query, index: BM25Index, speller: Speller) -> Weighed:
    """Weights of a question's terms over `index`, correcting the words it does not hold."""
    n = max(len(index), 1)
    one_post = idf(n, 1)
    weights: dict[str, float] = {}
    missing = 0.0
    corrections: dict[str, str] = {}
    variants: set[str] = set()
    subject: tuple[float, bool] = (0.0, False)  # (specificity, missing) of the most specific
    for word in query.words:
        general = specificity(word.raw.lower()) * (CAPITAL_FACTOR if word.capitalized else 1.0)
        for term in word.terms:
            if term in weights:
                continue
            df = index.document_frequency(term)
            if df > 0:
                # "Lvova-Belova" yields three terms and "100000" two: one word, one weight
                share = KNOWN_BASE + (1 - KNOWN_BASE) * min(1.0, general)
                weights[term] = idf(n, df) * share / len(word.terms)
                subject = max(subject, (general, False))
                continue
            fix = speller.correct(term) if is_unfamiliar(word.raw.lower()) else None
            if fix is not None and fix.term not in weights:
                weights[fix.term] = CORRECTION_WEIGHT * idf(n, index.document_frequency(fix.term))
                corrections[word.raw] = fix.term
                variants.add(fix.term)
                # the rest of the word's weight counts as missing
                missing += (1 - CORRECTION_WEIGHT) * weights[fix.term] / CORRECTION_WEIGHT
                continue
            missing += (
                one_post * (UNKNOWN_BASE + (1 - UNKNOWN_BASE) * min(1.0, general)) / len(word.terms)
            )
            if word.raw[:1].isupper() or word.capitalized:  # a name: the question's subject
                subject = max(subject, (general, True))
    lacks = subject[1] and subject[0] >= SUBJECT_MIN
    return Weighed(weights, missing, corrections, frozenset(variants), lacks)
