"""From a question to ranked hits with excerpts, behind an honest relevance floor.

BM25 ranks every post that shares a word with the question, however weak the link. A reader
asking "who won the world cup" must not be shown a post that merely mentions "the world", so
a hit is kept only when it matches at least `RELEVANCE_FLOOR` of the question's weight: each
distinct query term weighs its idf (Lucene's always-positive form, ln(1 + (N - df + .5)/(df + .5))),
and a term the coverage never uses weighs as much as a word found in a single post.

Calibrated on the sample (tests/bot/core/test_answers.py holds both lists): on-topic questions
score 0.47-1.0 ("Is Tinder leaving Russia?" 0.47: "leaving" is not in the text), off-topic
ones 0.16-0.33 ("who won the world cup" 0.25, "how to train a dog" 0.33).
"""

from __future__ import annotations

import math
from collections.abc import Sequence, Set
from dataclasses import dataclass

from retrieval.index import BM25Index
from retrieval.models import Post
from retrieval.storage.store import Store
from retrieval.text import sentences, term_set, tokenize, word_spans

RELEVANCE_FLOOR = 0.4
EXCERPT_MAX = 300
CANDIDATES = 200
_CHUNK = 20  # candidates read from SQLite at a time


@dataclass(frozen=True)
class Excerpt:
    """A quote from a post; `marks` are (start, end) character spans of matched words."""

    text: str
    marks: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Hit:
    post: Post
    score: float
    excerpt: Excerpt
    matched: float


@dataclass(frozen=True)
class SearchResult:
    query: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    total: int


class Searcher:
    """Ranks stored posts for a query with the BM25 index kept in step with the store."""

    def __init__(self, store: Store, index: BM25Index) -> None:
        self.store = store
        self.index = index

    def search(
        self, query: str, *, limit: int, offset: int = 0, count_all: bool = True
    ) -> SearchResult:
        """Hits that clear the relevance floor, best first, `limit` of them from `offset`.

        `total` counts every candidate that clears the floor (for page counts); with
        `count_all` False it stops at the page, which is all a question needs.
        """
        terms = tuple(tokenize(query))
        if not terms:
            return SearchResult(query, terms, (), 0)
        ranked = self.index.top_k(terms, k=max(CANDIDATES, offset + limit))
        weights = self.weights(terms)
        kept: list[tuple[Post, float, float]] = []
        for start in range(0, len(ranked), _CHUNK):
            chunk = ranked[start : start + _CHUNK]
            posts = self.store.posts(doc_id for doc_id, _ in chunk)
            for doc_id, score in chunk:
                post = posts.get(doc_id)
                matched = self._relevant(weights, post, score) if post else None
                if post is not None and matched is not None:
                    kept.append((post, score, matched))
            if not count_all and len(kept) >= offset + limit:
                break
        page = kept[offset : offset + limit]
        hits = tuple(
            Hit(post, score, excerpt(post, weights), matched) for post, score, matched in page
        )
        return SearchResult(query, terms, hits, len(kept))

    def match(self, query: str, post: Post) -> Hit | None:
        """The hit `search` would show for this post, or None: the one judgement of relevance,
        shared by answers, /search and /follow alerts."""
        terms = tuple(tokenize(query))
        if not terms or post.post_id not in self.index:
            return None
        score = self.index.score(sorted(set(terms)), post.post_id)
        weights = self.weights(terms)
        matched = self._relevant(weights, post, score)
        if matched is None:
            return None
        return Hit(post, score, excerpt(post, weights), matched)

    @staticmethod
    def _relevant(weights: dict[str, float], post: Post, score: float) -> float | None:
        """The share of the query's weight the post matches, or None below the floor.

        Not the score's sign: in a tiny collection rank-bm25's idf floor can make every score
        negative, and the ranking among them still holds."""
        matched = matched_share(weights, term_set(post.text))
        return matched if matched >= RELEVANCE_FLOOR else None

    def weights(self, terms: Sequence[str]) -> dict[str, float]:
        n = max(len(self.index), 1)
        weights = {}
        for term in dict.fromkeys(terms):
            df = self.index.document_frequency(term) or 1
            weights[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return weights


def matched_share(weights: dict[str, float], doc_terms: Set[str]) -> float:
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if t in doc_terms) / total


def excerpt(post: Post, weights: dict[str, float], limit: int = EXCERPT_MAX) -> Excerpt:
    """The sentence or two of the post's body that best match the query, matched words marked.

    Sentences are weighed by the distinct query terms they hold; the best one is extended by
    its neighbour when that adds matches (or context to a short sentence) and still fits.
    """
    candidates = [(s, p) for p, paragraph in enumerate(post.body) for s in sentences(paragraph)]
    if not candidates:
        return _marked(post.title[:limit], weights)

    def value(sentence: str) -> float:
        return sum(weights.get(t, 0.0) for t in term_set(sentence))

    values = [value(s) for s, _ in candidates]
    best = max(range(len(candidates)), key=lambda i: (values[i], -i))
    text = candidates[best][0]
    if best + 1 < len(candidates) and candidates[best + 1][1] == candidates[best][1]:
        following = candidates[best + 1][0]
        adds = term_set(following) - term_set(text)
        if (any(t in weights for t in adds) or len(text) < 120) and len(text) + 1 + len(
            following
        ) <= limit:
            text = f"{text} {following}"
    return _marked(_shorten(text, weights, limit), weights)


def _shorten(text: str, weights: dict[str, float], limit: int) -> str:
    """Cut a long sentence to `limit` characters around its first matched word, at word bounds."""
    if len(text) <= limit:
        return text
    first = next((start for start, _, ts in word_spans(text) if any(t in weights for t in ts)), 0)
    start = max(0, min(first - limit // 3, len(text) - limit + 2))
    if start > 0:
        start = text.find(" ", start) + 1 or start
    end = start + limit - 2
    cut = text[start:end]
    if end < len(text) and " " in cut:
        cut = cut[: cut.rfind(" ")]
    return ("…" if start > 0 else "") + cut.strip() + ("…" if start + len(cut) < len(text) else "")


def _marked(text: str, weights: dict[str, float]) -> Excerpt:
    marks = tuple(
        (start, end) for start, end, terms in word_spans(text) if any(t in weights for t in terms)
    )
    return Excerpt(text, marks)
