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

A word is weighed once however it is written: a hyphenated word's joined term ("counteroffens"
for "counter-offensive") holds the whole word and its parts share it; the adjacent capitalized
words of a name ("Wall Street Journal") weigh the heaviest of them plus `NAME_EXTRA` of the
others, because they come together (summed, the name outweighed "reporter" and "arrested").
A synonym stands for its word at `SYNONYM_WEIGHT` (news copy says "detained" for "arrested").
On the dev set among 10,635 BBC posts these took S@1 from 0.917 to 1.0 (with the second stage
re-weighed), on the 116 labelled questions from 0.926 to 0.938 (benchmarks/README.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
import numpy.typing as npt

from retrieval.index import BM25Index
from retrieval.query import Query
from retrieval.spelling import Speller
from retrieval.text import analyse_word

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
#: A multi-word name weighs its heaviest word's weight plus this share of the others'.
NAME_EXTRA = 0.3
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
    #: term -> other terms that stand for the same word (news synonyms: "arrested", "detained")
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: a hyphenated word's joined term -> its parts ("counteroffens" -> "counter", "offens"):
    #: a post holding the joined term holds the whole word, one holding parts a share of it
    joined: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def terms(self) -> tuple[str, ...]:
        """Every term searched: the question's own (or corrected) terms and their synonyms."""
        extra = (a for alts in self.alternatives.values() for a in alts)
        return tuple(dict.fromkeys((*self.weights, *extra)))

    def searched(self, index: BM25Index) -> tuple[str, ...]:
        """The terms BM25 ranks by: the question's own and its synonyms, except a synonym
        that a large archive's posts hold by the thousand ("russian" for "Russia"): it would
        barely move a score and costs the longest posting list; it still counts toward the
        share of the posts found."""
        common = max(COMMON_SYNONYM * len(index), COMMON_POSTINGS)
        extra = (
            a
            for alts in self.alternatives.values()
            for a in alts
            if index.document_frequency(a) <= common
        )
        return tuple(dict.fromkeys((*self.weights, *extra)))

    @property
    def total(self) -> float:
        parts = {p for ps in self.joined.values() for p in ps}
        return sum(w for t, w in self.weights.items() if t not in parts) + self.missing

    @cached_property
    def word_of(self) -> dict[str, str]:
        """Each searched term -> the question word it stands for (its own term, the term a
        synonym stands in for, the joined term of a hyphenated word's parts)."""
        out = {t: t for t in self.weights}
        for term, alts in self.alternatives.items():
            for alt in alts:
                out.setdefault(alt, term)
        for whole, parts in self.joined.items():
            for part in parts:
                out[part] = whole
        return out

    def whole(self, held: frozenset[str]) -> frozenset[str]:
        """`held` without the parts of a hyphenated word whose joined term it holds (the
        word counts once)."""
        if not self.joined:
            return held
        return held - {p for j, ps in self.joined.items() if j in held for p in ps}

    def term_weights(self) -> dict[str, float]:
        """Each searched term's weight (a synonym weighs `SYNONYM_WEIGHT` of its word);
        worked out once per question, not to be changed."""
        return self._term_weights

    @cached_property
    def _term_weights(self) -> dict[str, float]:
        out = dict(self.weights)
        for term, alts in self.alternatives.items():
            for alt in alts:
                out.setdefault(alt, SYNONYM_WEIGHT * self.weights[term])
        return out

    def share(self, held: set[str] | frozenset[str]) -> float:
        """The share of the question's weight a post holding the terms `held` matches."""
        total = self.total
        if total <= 0:
            return 0.0
        held = self.whole(frozenset(held))
        matched = 0.0
        for term, weight in self.weights.items():
            if term in held:
                matched += weight
            elif any(a in held for a in self.alternatives.get(term, ())):
                matched += SYNONYM_WEIGHT * weight
        return matched / total

    def shares(
        self, terms: tuple[str, ...], held: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        """`share` of each row of `held` (documents x `terms`, as `BM25Index.holds` gives)."""
        column = {t: i for i, t in enumerate(terms)}
        matched = np.zeros(held.shape[0], dtype=np.float64)
        for term, weight in self.weights.items():
            own = held[:, column[term]]
            alts = [column[a] for a in self.alternatives.get(term, ())]
            if alts:
                other = held[:, alts].any(axis=1)
                matched += np.where(own, weight, np.where(other, SYNONYM_WEIGHT * weight, 0.0))
            else:
                matched += own * weight
        for whole, parts in self.joined.items():
            for part in parts:  # the word counts once
                matched -= (held[:, column[whole]] & held[:, column[part]]) * self.weights[part]
        return matched / (self.total or 1.0)


#: A synonym held by more than this share of the posts is not searched (see `searched`).
COMMON_SYNONYM = 0.1
COMMON_POSTINGS = 5_000
#: Words news questions and news copy use for the same thing ("Who was arrested?" — "three
#: suspects were detained"). A post holding a synonym matches the word at SYNONYM_WEIGHT.
SYNONYM_WEIGHT = 0.7
SYNONYM_GROUPS = (
    "kill killed killing dead die died dies death deaths fatalities toll",
    "injure injured injuring wound wounded hurt injury injuries hospitalized hospitalised",
    "arrest arrested arrests detain detained detention custody",
    "uk britain british",
    "russia russian russians",
    "ukraine ukrainian ukrainians",
    "china chinese",
    "us america american americans",
    "weapon weapons arms munitions lethal",
    "send sent sending provide provided providing supply supplied deliver delivered",
    "agree agreed agrees consent consented accept accepted approve approved",
    "worry worries worried concern concerns concerned fear fears",
    "big large huge extensive sprawling massive vast",
    "start started starts begin begins began launch launched",
    "leave leaving withdraw withdrawing withdrawal exit exiting quit quitting",
    "fire fired sack sacked dismiss dismissed dismissal oust ousted",
    "bomb bombing blast explosion explosive explosives",
    "talk talks negotiation negotiations discussion discussions dialogue",
    "attack attacks attacked strike strikes shelling shelled",
    "aid assistance",
    "troops soldiers forces servicemen",
    "children kids minors",
    "rail railway railways railroad train",
)


@lru_cache(maxsize=1)
def _synonyms() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for group in SYNONYM_GROUPS:
        stems = {t for word in group.split() for t in analyse_word(word)}
        for stem in stems:
            table.setdefault(stem, set()).update(stems - {stem})
    return {stem: frozenset(others) for stem, others in table.items()}


def synonyms(term: str) -> frozenset[str]:
    """Terms that stand for the same thing as `term` in news copy (see SYNONYM_GROUPS)."""
    return _synonyms().get(term, frozenset())


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
    alternatives: dict[str, tuple[str, ...]] = {}
    joined: dict[str, tuple[str, ...]] = {}
    subject: tuple[float, bool] = (0.0, False)  # (specificity, missing) of the most specific
    marks: list[tuple[frozenset[str], float]] = []  # (terms, missing) before each word
    for word in query.words:
        marks.append((frozenset(weights), missing))
        general = specificity(word.raw.lower()) * (CAPITAL_FACTOR if word.capitalized else 1.0)
        share = KNOWN_BASE + (1 - KNOWN_BASE) * min(1.0, general)
        terms = word.terms
        whole, parts = _hyphenated(word.raw, terms)
        if whole is not None and whole not in weights:
            # "counter-offensive": a post writing "counteroffensive" holds the whole word, one
            # writing "counter offensive" both parts (the word again), "offensive" a part of it
            df = index.document_frequency(whole)
            new = tuple(p for p in parts if p not in weights and p != whole)
            known = [p for p in new if index.document_frequency(p)]
            if df > 0 or known:
                for part in known:
                    weights[part] = idf(n, index.document_frequency(part)) * share / len(parts)
                if df > 0:  # the joined term stands for the word: a part it lacks is no loss
                    weights[whole] = max(idf(n, df) * share, sum(weights[p] for p in known))
                    joined[whole] = tuple(known)
                else:
                    missing += sum(
                        one_post * (UNKNOWN_BASE + (1 - UNKNOWN_BASE) * min(1.0, general))
                        for p in new
                        if p not in known
                    ) / len(parts)
                subject = max(subject, (general, False))
                continue
        for term in terms:
            if term in weights:
                continue
            df = index.document_frequency(term)
            present = sorted(
                (t for t in synonyms(term) if t not in weights and index.document_frequency(t)),
                key=lambda t: -index.document_frequency(t),
            )
            if df > 0:
                # "Lvova-Belova" yields three terms and "100000" two: one word, one weight
                weights[term] = idf(n, df) * share / len(word.terms)
                if present and len(word.terms) == 1:
                    alternatives[term] = tuple(present)
                subject = max(subject, (general, False))
                continue
            if present and len(word.terms) == 1:
                # the coverage says it another way ("hurt" -> "injured"): the most used synonym
                # stands for the word, and the rest of the word's weight counts as missing
                first = present[0]
                full = idf(n, index.document_frequency(first)) * share
                weights[first] = SYNONYM_WEIGHT * full
                missing += (1 - SYNONYM_WEIGHT) * full
                if present[1:]:
                    alternatives[first] = tuple(present[1:])
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
    marks.append((frozenset(weights), missing))
    missing += _names_as_one(query, weights, marks)
    lacks = subject[1] and subject[0] >= SUBJECT_MIN
    return Weighed(weights, missing, corrections, frozenset(variants), lacks, alternatives, joined)


def _names_as_one(
    query: Query, weights: dict[str, float], marks: list[tuple[frozenset[str], float]]
) -> float:
    """Weigh each multi-word name of the question ("Wall Street Journal") as one word: its
    words come together, so their weights do not add up. The name weighs its heaviest
    word plus `NAME_EXTRA` of the others (each word's terms scaled alike, the words the
    coverage lacks too); returns the change to the missing weight."""
    place = {id(w): i for i, w in enumerate(query.words)}
    change = 0.0
    for name in query.names():
        own: list[tuple[frozenset[str], float]] = []
        for word in name:
            i = place[id(word)]
            own.append((marks[i + 1][0] - marks[i][0], marks[i + 1][1] - marks[i][1]))
        each = [sum(weights[t] for t in terms) + lacking for terms, lacking in own]
        whole = sum(each)
        if whole <= 0:
            continue
        factor = (max(each) + NAME_EXTRA * (whole - max(each))) / whole
        for terms, lacking in own:
            for term in terms:
                weights[term] *= factor
            change -= (1 - factor) * lacking
    return change


def _hyphenated(raw: str, terms: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """The joined term and the part terms of a hyphenated word (the tokenizer gives the
    parts, then the joined word), or (None, ()) for any other word."""
    if len(terms) < 2 or not any(h in raw for h in "-\u2010\u2011"):
        return None, ()
    return terms[-1], terms[:-1]
