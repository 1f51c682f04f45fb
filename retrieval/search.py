"""From a question to ranked hits with excerpts, behind a calibrated relevance floor.

Three steps, one judgement (answers, /search, /follow alerts and inline all ask `Searcher`):

1. **Question analysis** (`retrieval.query`, `retrieval.spelling`, `retrieval.relevance`):
   greetings and filler dropped, numbers written as the coverage writes them, words the
   coverage lacks corrected against the index's own vocabulary or weighed by how specific
   they are.
2. **BM25** over the searched terms: the index's exact rank-bm25 scores, `CANDIDATES` of them.
3. **Second stage** over those candidates: the relevance floor, read from the index's forward
   lists (no post text), then for the best `RERANKED` by what the index tells (relative BM25
   and the share of the question held, so that a long post holding every word is not lost
   behind short ones holding most) the post text: the sentence that answers, a bonus when it
   holds what the question asks for (a number, a name, a date, a place), a small one for newer
   posts (a larger one when the question asks for the latest), and round-ups that only repeat
   what a post above them said yield their place.

The floor: a hit must hold at least `RELEVANCE_FLOOR` of the question's weight (see
`retrieval.relevance` for the weights; a word matched by a synonym counts 0.7, a word found only
in a photo caption of a post whose body also matches counts 0.25). Calibrated with
`benchmarks/bench_quality.py --sweep` on the labelled set `benchmarks/quality_set.json` (116
questions) and the dev set, sample alone: 0.30 keeps every dev question (S@3 1.0) but lets 2 of
10 off-topic ones through; 0.40 abstains on all 10 (and 34 of the 35 labelled off-topic ones)
at labelled S@3 0.971; 0.45 starts losing answers (labelled S@3 0.943); the sweep after the
question-weight changes of issue #13 still puts the floor at 0.40. At 0.40 with the committed
second stage: dev S@1 1.0, S@3 1.0, excerpt holds the answer 24/26, abstention 10/10 alone;
among 10,635 BBC posts S@1 1.0, S@3 1.0, and no off-topic question draws a sample post.
Figures and command: benchmarks/README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from retrieval.digest import is_summary
from retrieval.excerpts import EXCERPT_MAX, Excerpt, duplicate, excerpt, marked
from retrieval.index import BM25Index
from retrieval.models import Post
from retrieval.query import Query, analyse
from retrieval.relevance import Weighed, weigh
from retrieval.spelling import Speller
from retrieval.storage.store import Store
from retrieval.text import terms_among, word_spans

RELEVANCE_FLOOR = 0.4
CANDIDATES = 60
RERANKED = 5
#: Second-stage weights: BM25 (relative to the best candidate), the excerpt's value, newness.
W_BM25 = 0.7
W_SHARE = 1.0
W_EXCERPT = 0.4
W_NEWER = 0.04
W_LATEST = 0.4
W_KIND = 0.35  # the excerpt holds what the question asks for
SUMMARY_PENALTY = 0.15
#: A post whose best fresh sentence holds less than this share of what its best sentence
#: holds only repeats what an earlier hit showed: it yields its place.
REPEAT_KEEP = 0.6
#: A word a post holds only in a photo caption counts this much toward the floor.
CAPTION_WEIGHT = 0.25

__all__ = ["EXCERPT_MAX", "RELEVANCE_FLOOR", "Excerpt", "Hit", "SearchResult", "Searcher"]


@dataclass(frozen=True)
class Hit:
    post: Post
    score: float  # the index's BM25 score
    excerpt: Excerpt
    matched: float  # share of the question's weight the post holds


@dataclass(frozen=True)
class SearchResult:
    query: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    total: int
    corrected: str | None = None  # the question as searched, when words were corrected
    small_talk: bool = False  # only a greeting or thanks
    analysis: Query | None = field(default=None, compare=False)


class Searcher:
    """Ranks stored posts for a query with the BM25 index kept in step with the store."""

    def __init__(self, store: Store, index: BM25Index) -> None:
        self.store = store
        self.index = index
        self.speller = Speller(index)

    def search(
        self,
        query: str,
        *,
        limit: int,
        offset: int = 0,
        count_all: bool = True,
        distinct: bool = False,
    ) -> SearchResult:
        """Hits that clear the relevance floor, best first, `limit` of them from `offset`.

        `total` counts every candidate that clears the floor (for page counts); `count_all`
        is kept for callers that only need the first page. With `distinct` (one answer) no
        sentence is quoted twice and a post that would only repeat one yields its place.
        """
        analysis = analyse(query)
        if analysis.small_talk:
            return SearchResult(query, (), (), 0, small_talk=True, analysis=analysis)
        weighed = weigh(analysis, self.index, self.speller)
        terms = weighed.terms
        if not terms or weighed.subject_missing:
            return SearchResult(query, terms, (), 0, analysis=analysis)
        ranked = self.index.top_k(
            weighed.searched(self.index), k=max(CANDIDATES, offset + limit + RERANKED)
        )
        held = self.index.holds([doc_id for doc_id, _ in ranked], terms)
        shares = weighed.shares(terms, held)
        kept = [(d, s, float(m)) for (d, s), m in zip(ranked, shares, strict=True)]
        kept = [k for k in kept if k[2] >= RELEVANCE_FLOOR]
        hits = self._second_stage(kept, weighed, analysis, offset + limit, distinct)
        corrected = _corrected_text(query, weighed, hits) if weighed.corrections else None
        page = tuple(
            Hit(h.post, h.score, marked(h.excerpt, weighed.term_weights()), h.matched)
            for h in hits[offset : offset + limit]
        )
        return SearchResult(
            query,
            terms,
            page,
            len(kept) if not distinct else min(len(kept), len(hits)),
            corrected,
            analysis=analysis,
        )

    def match(self, query: str, post: Post) -> Hit | None:
        """The hit `search` would show for this post (same analysis, same floor), or None."""
        analysis = analyse(query)
        if analysis.small_talk or post.post_id not in self.index:
            return None
        weighed = weigh(analysis, self.index, self.speller)
        if not weighed.terms or weighed.subject_missing:
            return None
        held = self.index.holds([post.post_id], weighed.terms)[0]
        share = weighed.share({t for t, h in zip(weighed.terms, held, strict=True) if h})
        share = _body_share(post, weighed, share)
        if share < RELEVANCE_FLOOR:
            return None
        score = self.index.score(weighed.terms, post.post_id)
        quote = _quote(post, weighed, analysis)
        return Hit(post, score, marked(quote, weighed.term_weights()), share)

    def _second_stage(
        self,
        kept: list[tuple[str, float, float]],
        weighed: Weighed,
        analysis: Query,
        wanted: int,
        distinct: bool,
    ) -> list[Hit]:
        """Re-rank the best candidates by the sentence that answers and by newness."""
        if not kept:
            return []
        # The posts read are the best by what the index alone tells (BM25 and the share of
        # the question held), not by BM25 alone: a long post holding every word of the
        # question must not lose its place to short ones that hold most of them.
        top = max(score for _, score, _ in kept) or 1.0
        kept.sort(key=lambda k: -(W_BM25 * k[1] / top + W_SHARE * k[2]))
        head = kept[: max(RERANKED, wanted + (2 if distinct else 0))]
        posts = self.store.posts(doc_id for doc_id, _, _ in head)
        rows = [(posts[d], s, m) for d, s, m in head if d in posts]
        order = sorted(range(len(rows)), key=lambda i: _newness_key(rows[i][0]))
        newness = {i: rank / max(len(rows) - 1, 1) for rank, i in enumerate(order)}
        scored: list[tuple[float, int, Hit]] = []
        for i, (post, score, share) in enumerate(rows):
            share = _body_share(post, weighed, share)
            if share < RELEVANCE_FLOOR:
                continue
            quote = _quote(post, weighed, analysis)
            value = W_BM25 * score / top + W_SHARE * share + W_EXCERPT * quote.value
            value += W_KIND * quote.answers_kind
            value += (W_LATEST if analysis.recent else W_NEWER) * newness[i]
            if is_summary(post.title):
                value -= SUMMARY_PENALTY
            scored.append((value, i, Hit(post, score, quote, share)))
        scored.sort(key=lambda x: (-x[0], x[1]))
        hits = [hit for _, _, hit in scored]
        if distinct:
            hits = _without_repeats(hits, weighed, analysis)
        rest: list[Hit] = []
        if len(hits) < wanted and len(kept) > len(head):
            extra = self.store.posts(d for d, _, _ in kept[len(head) : wanted])
            for d, s, m in kept[len(head) : wanted]:
                if d in extra:
                    quote = _quote(extra[d], weighed, analysis)
                    rest.append(Hit(extra[d], s, quote, m))
        return hits + rest


def _quote(
    post: Post, weighed: Weighed, analysis: Query, avoid: Sequence[frozenset[str]] = ()
) -> Excerpt:
    """The post's sentence that best answers the question (see `retrieval.excerpts`)."""
    return excerpt(
        post,
        weighed.term_weights(),
        weighed.total,
        analysis.kind,
        avoid=avoid,
        joined=weighed.joined,
        word_of=weighed.word_of,
        focus=_focus_terms(weighed, analysis),
    )


def _focus_terms(weighed: Weighed, analysis: Query) -> frozenset[str]:
    """The searched terms standing for the question's focus verb (its own, its synonyms)."""
    if analysis.focus is None:
        return frozenset()
    own = set(analysis.focus.terms)
    return frozenset(t for t, w in weighed.word_of.items() if w in own or t in own)


def _body_share(post: Post, weighed: Weighed, share: float) -> float:
    """The post's share with words found only in its captions discounted when its body
    matches too: a photo taken in "10 Downing Street, London" does not make a post on the
    weather about London."""
    if not post.captions:
        return share
    searched = frozenset(weighed.terms)
    prefixes = tuple({t[:3] for t in searched})
    body = terms_among("\n".join((post.title, *post.body)), searched, prefixes)
    only = terms_among("\n".join(post.captions), searched, prefixes) - body
    if not only or not body:
        return share  # a post found by its picture alone ("dragon's teeth") keeps its share
    return share - (1 - CAPTION_WEIGHT) * weighed.share(only)


def _newness_key(post: Post) -> tuple[str, int]:
    """Older first: publication time, then place on the page (top is newest)."""
    return (post.published.sort_key(), -post.position)


def _without_repeats(hits: list[Hit], weighed: Weighed, analysis: Query) -> list[Hit]:
    """Each hit quoted with sentences no earlier hit showed; pure repeats dropped."""
    shown: list[frozenset[str]] = []
    kept: list[Hit] = []
    for hit in hits:
        quote = hit.excerpt
        if any(duplicate(quote.words, s) for s in shown):
            fresh = _quote(hit.post, weighed, analysis, avoid=shown)
            if fresh.value < REPEAT_KEEP * quote.value or fresh.value <= 0:
                continue
            quote = fresh
            hit = Hit(hit.post, hit.score, quote, hit.matched)
        shown.append(quote.words)
        kept.append(hit)
    return kept


def _corrected_text(query: str, weighed: Weighed, hits: Sequence[Hit]) -> str | None:
    """The question with each corrected word replaced by the word the coverage uses."""
    if not hits:
        return None
    text = query
    for raw, term in weighed.corrections.items():
        surface = _surface(term, hits) or term
        text = text.replace(raw, surface)
    return text if text != query else None


def _surface(term: str, hits: Sequence[Hit]) -> str | None:
    """How the posts write the word an index term stands for ("counteroffensive")."""
    for hit in hits:
        for source in (hit.excerpt.text, hit.post.title, *hit.post.body):
            for start, end, terms in word_spans(source):
                if term in terms:
                    word = source[start:end]
                    return word if word[:1].isupper() and not word.isupper() else word.lower()
    return None
