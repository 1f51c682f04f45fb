"""Text analysis shared by indexing, querying and excerpting.

One tokenizer serves the index and the queries, so that a word is found exactly when the
index holds the same token for it.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from functools import cache, lru_cache
from importlib.metadata import PackageNotFoundError, version

import pysbd
import Stemmer
from stopwords import get_stopwords

# A word: letters or digits, maybe joined by apostrophes or hyphens ("Russia's", "anti-tank").
_WORD = re.compile(r"\w+(?:['\u2019\u2010\u2011\-]\w+)*")
_HYPHENS = re.compile(r"[\u2010\u2011\-]")
_APOSTROPHES = re.compile(r"[\u2019]")
_POSSESSIVE = re.compile(r"'s$")

#: Bump when `tokenize` changes what terms it gives for a text (the word pattern, the
#: hyphen and possessive rules): a saved index of the old terms is then rebuilt.
TOKENIZER_VERSION = 1
_STEMMER_ALGORITHM = "english"
STOPWORDS: frozenset[str] = frozenset(get_stopwords("english"))
_stemmer = Stemmer.Stemmer(_STEMMER_ALGORITHM)
_segmenter = pysbd.Segmenter(language="en", clean=False)


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - run from a source tree without metadata
        return "unknown"


def analyzer_identity() -> dict[str, str]:
    """What decides the terms of a text: tokenizer version, stopword list (its package's
    version and a CRC of the words themselves) and stemmer (Snowball algorithm, PyStemmer
    version). An index saved under another identity holds other terms: it is stale."""
    return dict(_identity())


@cache
def _identity() -> tuple[tuple[str, str], ...]:
    words = "\n".join(sorted(STOPWORDS)).encode()
    return tuple(
        {
            "tokenizer": str(TOKENIZER_VERSION),
            "stopwords": f"stopwords {_package_version('stopwords')} english, "
            f"{len(STOPWORDS)} words crc32 {zlib.crc32(words):08x}",
            "stemmer": f"snowball {_STEMMER_ALGORITHM}, PyStemmer {_package_version('PyStemmer')}",
        }.items()
    )


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def _analyse(raw: str, stem: Callable[[str], str] = _stem) -> list[str]:
    """Normalise one raw word into index terms (stopwords dropped, stemmed by ``stem``)."""
    word = _APOSTROPHES.sub("'", raw.lower())
    if word in STOPWORDS:
        return []
    word = _POSSESSIVE.sub("", word)
    parts = [p for p in _HYPHENS.split(word) if p]
    if len(parts) > 1:
        # "counter-offensive" is indexed as its parts and as the joined word, so that
        # "counteroffensive" and "offensive" both find it.
        words = [p for p in parts if p not in STOPWORDS] + ["".join(parts)]
    else:
        words = [word]
    terms = []
    for w in words:
        w = w.replace("'", "")
        if w and w not in STOPWORDS:
            terms.append(stem(w))
    return terms


def analyse_word(raw: str) -> list[str]:
    """The index terms of one word as typed (query analysis works word by word)."""
    return _analyse(raw)


def tokenize(text: str) -> list[str]:
    """Index terms of a text: Unicode words, lowercased, stopwords removed, Snowball-stemmed."""
    terms: list[str] = []
    for match in _WORD.finditer(text):
        terms.extend(_analyse(match.group()))
    return terms


#: Bytes that can be part of a word (`_WORD`): ASCII letters, digits, "_", the ASCII
#: joiners, and every byte of a multi-byte UTF-8 character. Any other ASCII byte ends a word.
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'-")
_SPLIT_TABLE = bytes(b if b in _WORD_BYTES or b >= 0x80 else 0x20 for b in range(256))


def tokenize_many(texts: Iterable[str], cache_size: int = 1_000_000) -> Iterator[list[str]]:
    """`tokenize` of each text, several times faster on large archives (rebuilds, catch-ups).

    The UTF-8 bytes of a text are cut at every ASCII byte that no word can hold (one
    `bytes.translate` and `split`, in C); no `_WORD` match spans such a byte, so the matches
    inside each piece are exactly those of the whole text. Each distinct piece is analysed
    once and remembered (the memo is dropped when it holds ``cache_size`` pieces), so the
    token lists are identical to ``tokenize``'s. The memo ends with the iteration.
    """
    stem = _stemmer.stemWord
    # Each piece's terms as one string: "" for none, the term, or the rare piece's several
    # terms ("anti-tank") joined by NUL, which no term holds; a text with such a piece is
    # joined and split again, all in C.
    memo: dict[bytes, str] = {}
    several: set[bytes] = set()
    lookup = memo.__getitem__
    findall = _WORD.findall

    def learn(piece: bytes) -> None:
        raw = piece.decode("utf-8", "surrogatepass")
        terms = [term for word in findall(raw) for term in _analyse(word, stem)]
        if len(terms) > 1:
            several.add(piece)
        memo[piece] = "\0".join(terms)

    for text in texts:
        pieces = text.encode("utf-8", "surrogatepass").translate(_SPLIT_TABLE).split()
        try:
            found = list(filter(None, map(lookup, pieces)))
        except KeyError:
            if len(memo) >= cache_size:
                memo.clear()
                several.clear()
            for piece in pieces:
                if piece not in memo:
                    learn(piece)
            found = list(filter(None, map(lookup, pieces)))
        if several and not several.isdisjoint(pieces):
            found = "\0".join(found).split("\0")
        yield found


@lru_cache(maxsize=200_000)
def _word_terms(raw: str) -> tuple[str, ...]:
    """`_analyse` of one raw word, remembered: excerpts weigh the same words again and again
    (like `_stem`'s cache, a memo per word, not per post)."""
    return tuple(_analyse(raw))


def word_spans(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """Each word of a text with its character span and the terms it yields (for highlighting)."""
    return [(m.start(), m.end(), _word_terms(m.group())) for m in _WORD.finditer(text)]


@lru_cache(maxsize=50_000)
def sentences(text: str) -> tuple[str, ...]:
    """Split a paragraph into sentences (pysbd), whitespace-trimmed, empty ones dropped.

    Cached: pysbd is thorough but slow, and the same paragraphs are excerpted again and again.
    """
    return tuple(s.strip() for s in _segmenter.segment(text) if s.strip())


def terms_among(text: str, terms: frozenset[str], prefixes: tuple[str, ...]) -> frozenset[str]:
    """Which of `terms` the text yields, analysing only the words that can yield one.

    A stem starts with its word's first letters, so a word whose lowercased start is none of
    `prefixes` (the terms' first three letters) is skipped unanalysed; hyphenated words, which
    also yield their parts, are always analysed. Same answer as ``term_set(text) & terms``,
    several times faster on text read cold.
    """
    found: set[str] = set()
    for raw in _WORD.findall(text):
        low = raw.lower().replace("\u2019", "").replace("'", "")
        if low.startswith(prefixes) or not low.isalnum():
            found.update(t for t in _word_terms(raw) if t in terms)
    return frozenset(found)


def spans_among(
    text: str, terms: frozenset[str] | dict[str, float], prefixes: tuple[str, ...]
) -> list[tuple[int, int]]:
    """Character spans of the words of a text that yield one of `terms` (for marking and
    cutting quotes), skipping unanalysed the words that cannot, as `terms_among` does."""
    found: list[tuple[int, int]] = []
    for match in _WORD.finditer(text):
        raw = match.group()
        low = raw.lower().replace("\u2019", "").replace("'", "")
        if (low.startswith(prefixes) or not low.isalnum()) and any(
            t in terms for t in _word_terms(raw)
        ):
            found.append(match.span())
    return found


def plain_words(text: str) -> frozenset[str]:
    """The lowercased words of a text without stopwords, unstemmed: cheap, for telling
    whether two sentences say the same."""
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in STOPWORDS)


@lru_cache(maxsize=50_000)
def term_set(text: str) -> frozenset[str]:
    """The distinct index terms of a text, cached for texts that are weighed repeatedly
    (candidate posts and their sentences, for every question); the same terms as `tokenize`."""
    return frozenset(t for raw in _WORD.findall(text) for t in _word_terms(raw))
