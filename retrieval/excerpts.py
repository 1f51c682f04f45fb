"""The sentence that answers: a post's sentences weighed by how well they answer the question.

A sentence is worth the query weight it holds (all matched terms in one sentence are close
together), plus a bonus when it holds what the question asks for: a number for "how many", a
name for "who", a date or time for "when", a cause for "why". Lead-ins ("Here's the latest
headlines:") are never chosen while the post has anything else. Captions are candidates too,
marked as such. Sentences are split with a small rule set, not pysbd: an answer reads a dozen
posts cold, and pysbd costs a millisecond and more a paragraph.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from retrieval.models import Post
from retrieval.query import Kind
from retrieval.text import plain_words, spans_among, terms_among

EXCERPT_MAX = 300
#: Bonus, as a share of the question's weight, for a sentence holding what the question asks.
KIND_BONUS = 0.35
#: Choosing a post's sentence, a term weighs w / (its sentences holding it) ** SPREAD_POWER.
SPREAD_POWER = 0.5
#: A quote shorter than this is followed by the next sentence when it fits.
SHORT_QUOTE = 160
#: A sentence without the verb a "who was arrested …?" question asks about weighs this much.
FOCUS_MISS = 0.6
#: ... and by the start of a longer one when this much of it fits.
MIN_TAIL = 80

_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "gen",
        "lt",
        "col",
        "sgt",
        "maj",
        "capt",
        "st",
        "jr",
        "sr",
        "no",
        "vs",
        "etc",
        "inc",
        "ltd",
        "co",
        "corp",
        "gov",
        "sen",
        "rep",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "u.n",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
        "adm",
    ]
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"\u201d\u2019)\]]*\s+(?=[\"\u201c\u2018(\[]?[A-Z0-9])")
_LAST_WORD = re.compile(r"(\S+)$")
#: A round-up's item starts with its label ("Russian casualties: Russia has …").
_ITEM = re.compile(r"^[^.:!?\n]{3,60}: ")
_KIND_PATTERNS: dict[Kind, re.Pattern[str]] = {
    "count": re.compile(
        r"\d|\b(hundreds?|thousands?|millions?|dozens?|percent|half|third|quarter)\b", re.I
    ),
    "time": re.compile(
        r"\b(January|February|March|April|May|June|July|August|September|October|November"
        r"|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|today|tonight"
        r"|yesterday|tomorrow|weeks?|months?|days?|spring|summer|autumn|winter|soon|date"
        r"|imminent)\b|\b\d{1,2}:\d{2}\b|\b(19|20)\d{2}\b"
    ),
    "person": re.compile(
        r"(?<!^)(?<![.!?] )\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)+\b|\b(official|minister|spokes\w+"
        r"|head|chief|president|mayor|governor|ambassador|commissioner|reporter|journalist"
        r"|soldier|suspects?|deputy|leader|general|commander)\b"
    ),
    "place": re.compile(
        r"\b(in|at|near|from|into|across|along|inside|outside|around|toward|towards)\s+"
        r"([a-z-]+\s+){0,3}?[A-Z][a-z]+"
        r"|\b(city|town|village|region|province|district|port|capital|outskirts) of [A-Z]"
    ),
    "reason": re.compile(
        r"\b(because|due to|cites?|cited|reasons?|caused|causing|blamed?|as a result|weather"
        r"|since|after|so that|in order to|led to)\b",
        re.I,
    ),
}


@dataclass(frozen=True)
class Excerpt:
    """A quote from a post; `marks` are (start, end) character spans of matched words."""

    text: str
    marks: tuple[tuple[int, int], ...] = ()
    caption: bool = False  # quoted from a photo caption, not the body
    value: float = 0.0  # share of the question's weight it holds, with the kind bonus
    words: frozenset[str] = frozenset()  # plain words of the quoted sentences (spots repeats)
    answers_kind: bool = False  # holds what the question asks for (a number for "how many" …)


@dataclass(frozen=True)
class Sentence:
    text: str
    paragraph: int  # body paragraph, or -1 - n for caption n
    words: frozenset[str]

    @property
    def caption(self) -> bool:
        return self.paragraph < 0


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph: a break after . ! ? before a capital, unless after "Mr." …"""
    pieces = _BOUNDARY.split(paragraph.strip())
    out: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        if out:
            last = _LAST_WORD.search(out[-1])
            word = last.group(1).rstrip(".").lower() if last else ""
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                out[-1] = f"{out[-1]} {piece}"
                continue
        out.append(piece)
    return out


@lru_cache(maxsize=4096)
def _sentences(body: tuple[str, ...], captions: tuple[str, ...]) -> tuple[Sentence, ...]:
    found = [
        Sentence(s, p, plain_words(s)) for p, para in enumerate(body) for s in split_sentences(para)
    ]
    found += [
        Sentence(s, -1 - c, plain_words(s))
        for c, cap in enumerate(captions)
        for s in split_sentences(cap)
    ]
    return tuple(found)


def post_sentences(post: Post) -> tuple[Sentence, ...]:
    """The post's sentences (body, then captions), split once and remembered."""
    return _sentences(post.body, post.captions)


def _is_lead_in(sentence: str) -> bool:
    return (sentence.endswith(":") and len(sentence) < 100) or len(sentence) < 20


def duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two sentences say the same: most of the shorter one's words are in the other."""
    if not a or not b:
        return False
    return len(a & b) >= 0.7 * min(len(a), len(b))


def excerpt(
    post: Post,
    weights: dict[str, float],
    total: float,
    kind: Kind = "other",
    avoid: Sequence[frozenset[str]] = (),
    limit: int = EXCERPT_MAX,
    joined: Mapping[str, tuple[str, ...]] | None = None,
    word_of: Mapping[str, str] | None = None,
    focus: frozenset[str] = frozenset(),
) -> Excerpt:
    """The sentence or two of the post that best answer the question, matched words marked.

    ``total`` is the question's whole weight (words the coverage lacks included); sentences
    saying what one in ``avoid`` already said are passed over (one answer shows a sentence
    once). ``joined`` maps a hyphenated word's joined term to its parts: a sentence holding
    the joined term holds the word once. ``word_of`` maps each term to the question word it
    stands for (synonyms, parts): a word's spread over the post counts all its terms.
    ``focus`` holds the terms of the verb a "who was arrested …?" question asks about: a
    sentence saying none of them weighs `FOCUS_MISS` of its value.
    """
    candidates = [s for s in post_sentences(post) if not any(duplicate(s.words, a) for a in avoid)]
    if not candidates:
        return _marked(_shorten(post.title, weights, limit), weights, value=0.0)
    total = total or 1.0
    pattern = _KIND_PATTERNS.get(kind)

    wanted = frozenset(weights)
    prefixes = _prefixes(wanted)
    held = [terms_among(s.text, wanted, prefixes) for s in candidates]
    if joined:
        held = [h - {p for j, ps in joined.items() if j in h for p in ps} for h in held]

    # Choosing the sentence, a word most of the post's sentences hold (its subject,
    # "Lvova-Belova") tells which post, not which sentence: it weighs less the more sentences
    # of the post hold it. The value reported for ranking posts is the plain one.
    # "blast" and "explosive" both stand for the question's "bomb": a post about an explosion
    # holds that word in many sentences, whichever term each uses.
    word = word_of or {}
    stands = [{word.get(t, t) for t in h} for h in held]
    spread = {t: sum(word.get(t, t) in w for w in stands) for t in wanted}
    local = {t: w / max(spread[t], 1) ** SPREAD_POWER for t, w in weights.items()}

    def value(i: int, weights: dict[str, float] = weights) -> float:
        s = candidates[i]
        matched = sum(weights[t] for t in held[i]) / total
        if _is_lead_in(s.text):
            return matched * 0.1
        if matched and pattern is not None and pattern.search(s.text):
            matched += KIND_BONUS
        if len(s.text) > limit:
            matched *= 0.9
        if focus and not held[i] & focus:
            matched *= FOCUS_MISS
        return matched

    values = [value(i) for i in range(len(candidates))]
    choice = [value(i, local) for i in range(len(candidates))]
    best = max(range(len(candidates)), key=lambda i: (choice[i], not candidates[i].caption, -i))
    chosen = candidates[best]
    text, words = chosen.text, chosen.words
    # A sentence that closes a quotation opened before it ("… in due time,” Peskov said) is
    # quoted from the quotation's start when that fits: what was said, then who said it.
    if chosen.text.count("\u201d") > chosen.text.count("\u201c"):
        start, joined_text, joined_words = best, text, words
        while start > 0:
            prev = candidates[start - 1]
            if prev.paragraph != chosen.paragraph or len(prev.text) + 1 + len(joined_text) > limit:
                break
            start -= 1
            joined_text, joined_words = f"{prev.text} {joined_text}", joined_words | prev.words
            if prev.text.count("\u201c") > prev.text.count("\u201d"):
                text, words = joined_text, joined_words
                break
    # The next sentences (of the same body or caption) join while they fit and either add
    # matched words or give a short quote its context ("First of all. We will not have …").
    for at in range(best + 1, len(candidates)):
        nxt = candidates[at]
        if nxt.caption != chosen.caption:
            break
        if len(text) + 1 + len(nxt.text) > limit:
            # a short quote's context is often the long sentence after it ("… Burns said."
            # then what he said): its start joins, cut at a word
            room = limit - len(text) - 2
            if len(text) < SHORT_QUOTE and room >= MIN_TAIL and not _ITEM.match(nxt.text):
                cut = nxt.text[:room]
                text, words = f"{text} {cut[: cut.rfind(' ')].rstrip(',;:')}…", words | nxt.words
            break
        if not (held[at] or len(text) < SHORT_QUOTE):
            break
        text, words = f"{text} {nxt.text}", words | nxt.words
    shown = _shorten(text, weights, limit)
    fits = pattern is not None and values[best] > 0 and pattern.search(chosen.text) is not None
    return Excerpt(shown, (), chosen.caption, values[best], words, fits)


def marked(quote: Excerpt, weights: dict[str, float]) -> Excerpt:
    """The excerpt with its matched words marked (done only for the hits shown)."""
    marks = tuple(spans_among(quote.text, weights, _prefixes(weights)))
    return dataclasses.replace(quote, marks=marks)


def _shorten(text: str, weights: dict[str, float], limit: int) -> str:
    """Cut a long sentence to `limit` characters around its first matched word, at word bounds."""
    if len(text) <= limit:
        return text
    spans = spans_among(text, weights, _prefixes(weights))
    first = spans[0][0] if spans else 0
    start = max(0, min(first - limit // 3, len(text) - limit + 2))
    if start > 0:
        start = text.find(" ", start) + 1 or start
    end = start + limit - 2
    cut = text[start:end]
    if end < len(text) and " " in cut:
        cut = cut[: cut.rfind(" ")]
    return ("…" if start > 0 else "") + cut.strip() + ("…" if start + len(cut) < len(text) else "")


def _marked(
    text: str,
    weights: dict[str, float],
    *,
    caption: bool = False,
    value: float = 0.0,
) -> Excerpt:
    marks = tuple(spans_among(text, weights, _prefixes(weights)))
    return Excerpt(text, marks, caption, value)


def _prefixes(terms: Iterable[str]) -> tuple[str, ...]:
    """The first three letters of each term (a word starting otherwise yields none)."""
    return tuple({t[:3] for t in terms})
