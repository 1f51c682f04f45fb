"""What a reader's question asks: its content words, its kind, and whether it is only small talk.

People type "hey, is Tinder leaving Russia?" or "Please tell me whether …". Greetings,
politeness and the scaffolding of a question ("tell me", "whether", "really") say nothing about
which post answers it, so they are dropped before ranking and never count against the
relevance floor. Numbers are written as the coverage writes them ("100000" and "100k" become
"100,000", which the tokenizer turns into the terms the index holds). "latest", "now", "today"
ask for recent posts: they are not matched as words but favour newer posts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from retrieval.text import STOPWORDS, analyse_word

Kind = Literal["count", "person", "time", "place", "reason", "other"]

_WORD = re.compile(r"\w+(?:['\u2019\u2010\u2011\-]\w+)*")
GREETINGS = frozenset(
    [
        "hi",
        "hello",
        "hey",
        "heya",
        "hiya",
        "howdy",
        "yo",
        "hola",
        "greetings",
        "morning",
        "afternoon",
        "evening",
        "good",
        "thanks",
        "thank",
        "thx",
        "ty",
        "cheers",
        "bye",
        "goodbye",
        "ok",
        "okay",
        "great",
        "nice",
        "cool",
    ]
)
#: Words that make a message polite or a question a question, and say nothing of its subject.
FILLER = frozenset(
    [
        "please",
        "pls",
        "plz",
        "kindly",
        "tell",
        "know",
        "show",
        "explain",
        "wonder",
        "wondering",
        "wondered",
        "curious",
        "whether",
        "really",
        "actually",
        "anyone",
        "anybody",
        "someone",
        "somebody",
        "anything",
        "something",
        "everything",
        "info",
        "information",
        "details",
        "detail",
        "question",
        "quick",
        "quickly",
        "hear",
        "heard",
        "news",
        "like",
        "kind",
        "sort",
        "maybe",
        "perhaps",
        "exactly",
        "basically",
        "also",
        "even",
        "just",
        "still",
        "got",
        "get",
        "getting",
        "go",
        "going",
        "gone",
        "guys",
        "bot",
        "dear",
        "sir",
        "madam",
        "thing",
        "things",
        "can",
        "lot",
        "lots",
        "many",
        "much",
        "whats",
        "what's",
        "who's",
        "where's",
        "when's",
        "how's",
        "hows",
    ]
)
#: Words that ask for the newest posts rather than name a subject.
RECENCY = frozenset(
    [
        "latest",
        "newest",
        "recent",
        "recently",
        "now",
        "today",
        "tonight",
        "currently",
        "current",
        "update",
        "updates",
        "yesterday",
    ]
)
_RECENT_PHRASE = re.compile(
    r"\b(this|so far this) (morning|afternoon|evening|week)\b|\bright now\b|\bat the moment\b",
    re.IGNORECASE,
)
_TEMPORAL_FILLER = re.compile(r"\b(this|next|last) (year|week|month|time)\b", re.IGNORECASE)
#: A question with more than this share of its words (after the first) capitalized is in
#: title case.
NAME_SHARE = 0.6
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)(k|m|bn|million|thousand|billion)?$", re.IGNORECASE)
_SCALE = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000}
_SCALE |= {"bn": 1_000_000_000, "billion": 1_000_000_000}


@dataclass(frozen=True)
class Word:
    """A content word of the question: as typed, and the index terms it yields."""

    raw: str
    terms: tuple[str, ...]
    capitalized: bool  # written with a capital inside the question: likely a name
    position: int = 0  # place among the question's words (stopwords and filler counted)


@dataclass(frozen=True)
class Query:
    text: str
    words: tuple[Word, ...]
    kind: Kind
    recent: bool
    small_talk: bool  # only greetings, thanks or filler: answer with a hello
    title_case: bool = False  # most words capitalized: capitals say nothing about names
    #: the verb a "who was arrested …?" question asks about: the sentence that answers says it
    focus: Word | None = None

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(t for w in self.words for t in w.terms)

    def names(self) -> tuple[tuple[Word, ...], ...]:
        """Runs of two or more adjacent capitalized words: one name each ("Wall Street
        Journal", "Nicholas Burns"); none in a title-case question."""
        if self.title_case:
            return ()
        runs: list[list[Word]] = []
        for word in self.words:
            if not word.capitalized:
                continue
            if runs and runs[-1][-1].position == word.position - 1:
                runs[-1].append(word)
            else:
                runs.append([word])
        return tuple(tuple(run) for run in runs if len(run) > 1)


def analyse(text: str) -> Query:
    """Split a question into content words, its kind ("how many" → count …) and recency."""
    cleaned = text.replace("\u2019", "'")
    recent = bool(_RECENT_PHRASE.search(cleaned))
    cleaned = _RECENT_PHRASE.sub(" ", cleaned)
    cleaned = _TEMPORAL_FILLER.sub(" ", cleaned)
    raws = _WORD.findall(cleaned)
    lowered = [r.lower() for r in raws]
    words: list[Word] = []
    greeting = False
    for position, (raw, low) in enumerate(zip(raws, lowered, strict=True)):
        if low in GREETINGS:
            greeting = True
            continue
        if low in RECENCY:
            recent = True
            continue
        if low in FILLER or low in STOPWORDS:
            continue
        number = _number(low)
        if number is not None:
            terms = tuple(t for part in _WORD.findall(number) for t in analyse_word(part))
        else:
            terms = tuple(analyse_word(raw))
        if terms:
            capital = position > 0 and any(c.isupper() for c in raw) and not raw.isupper()
            words.append(Word(raw, terms, capital or _mixed_case(raw), position))
    # "good" and "great" are greetings only when nothing else is asked
    small_talk = not words and (greeting or not raws) and bool(raws)
    inner = [r for r in raws[1:] if not r.isdigit()]
    title_case = len(inner) >= 3 and sum(r[0].isupper() for r in inner) > NAME_SHARE * len(inner)
    focus = _focus(lowered, words)
    return Query(text, tuple(words), _kind(lowered), recent, small_talk, title_case, focus)


_AUXILIARY = frozenset(
    [
        "was",
        "were",
        "is",
        "are",
        "has",
        "have",
        "had",
        "been",
        "being",
        "got",
        "will",
        "would",
        "can",
        "could",
        "may",
        "might",
        "did",
    ]
)


_PASSIVE = frozenset(["was", "were", "is", "are", "been"])


def _focus(lowered: list[str], words: list[Word]) -> Word | None:
    """The verb of a question asking who did or underwent it: "Who was arrested …",
    "Who killed …", "Which reporter … was detained?" (the first word after the question
    word and its auxiliaries, or after "which/what NOUN … was")."""
    if not lowered or lowered[0] not in ("who", "whom", "which"):
        return None
    at = 1
    if lowered[0] == "which":  # "Which town did Bogomaz say was shelled?": the last "was"
        aux = [i for i, w in enumerate(lowered) if w in _PASSIVE]
        if not aux:
            return None
        at = aux[-1]
    while at < len(lowered) and lowered[at] in _AUXILIARY:
        at += 1
    if at >= len(lowered):
        return None
    return next((w for w in words if w.position == at), None)


def _mixed_case(raw: str) -> bool:
    return any(c.isupper() for c in raw[1:]) and any(c.islower() for c in raw)


def _number(word: str) -> str | None:
    """ "100000", "100k", "1.5m" as the coverage writes them ("100,000", "1,500,000")."""
    match = _NUMBER.match(word.replace(",", ""))
    if not match:
        return None
    value = float(match[1]) * _SCALE.get((match[2] or "").lower(), 1)
    if value < 10_000 and not match[2]:
        return None  # years and small counts are written as they are
    return f"{int(value):,}"


def _kind(words: list[str]) -> Kind:
    """What kind of answer the question wants, from its question words."""
    joined = " ".join(words)
    if re.search(
        r"\bhow (many|much)\b|\bnumber of\b|\bwhat (percentage|share|proportion)\b", joined
    ):
        return "count"
    if re.search(r"\b(when|by when|what time|what date|how long|how soon|since when)\b", joined):
        return "time"
    if re.search(r"\b(who|whom|whose|which (reporter|official|person|people))\b", joined):
        return "person"
    if re.search(r"\bwhere\b", joined):
        return "place"
    if re.search(r"\bwhy\b|\bwhat caused\b|\breason\b", joined):
        return "reason"
    return "other"
