"""Plain-text dumps of live-blog pages (what "Save as text" or a reader view gives).

The dump has no markup, so structure is recovered from the page's conventions:

- the first line reads ``DATE - TITLE | SOURCE`` (e.g. ``May 2, 2023 - Russia-Ukraine news | CNN``);
- an optional "What we covered here" list of bullets summarises the coverage;
- an ``N Posts`` line opens the feed of posts, newest first;
- a post starts with a headline: a short paragraph that does not end like a sentence;
- the paragraph right under a headline may be the photo or video caption. It is recognised by
  what captions do and leads don't: it ends with when the picture was taken ("… on April 26.",
  "-- March 4."), carries a photo credit, or merely restates a later paragraph of the same post
  word for word; and it quotes nobody ("said", "told").
- "Related article …" teasers with their thumbnail caption and the "Read more …:" line that
  introduces them, "GO DEEPER" and video time stamps ("02:43 • Source: CNN") are page chrome.

The dump carries no per-post times, so posts get the page's date with *date* precision.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from retrieval.models import Coverage, Post, Timestamp, stable_id
from retrieval.sources import Parsed, SourceError
from retrieval.text import tokenize

_HEADER = re.compile(
    r"^(?P<date>[^|]+?)\s+[-\u2013\u2014]\s+(?P<title>.+?)\s*\|\s*(?P<source>[^|]+?)$"
)
_POSTS_MARKER = re.compile(r"^\d[\d,]*\s+Posts?$", re.IGNORECASE)
_SUMMARY_MARKER = re.compile(r"^What we covered here$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[\u2022\u25cf\u25aa*\-]\s+")
_VIDEO_TIME = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?(\s*\u2022\s*Source:.*)?$")
_CHROME = re.compile(
    r"^(GO DEEPER|Related article\b.*|Read more\b.*:|Read the full story:)$", re.IGNORECASE
)
_RELATED = re.compile(r"^Related article\b", re.IGNORECASE)
_READ_MORE = re.compile(r"^Read (more|the full story)\b.*:$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:;\u2026\u201d\u2019)\]]$|[.!?,]['\"]$")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_PHOTO_DATE = re.compile(
    rf"(\b(on|in)\s+({_WEEKDAYS}|(({_MONTHS})\s+\d{{1,2}}(,\s*\d{{4}})?))|\s--\s*({_MONTHS})\s+\d{{1,2}})\.?$"
)
_PHOTO_CREDIT = re.compile(
    r"\((Photo|Image|Video)s? (by|courtesy)\b|Getty Images|Reuters\)|AP Photo", re.I
)
_REPORTING = re.compile(r"\b(said|says|told|added|according to)\b|[\u201c\u201d]")
_HEADLINE_MAX = 200
_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%Y-%m-%d")


def parse(text: str, *, origin: str | None = None) -> Parsed:
    """Split a plain-text live-blog dump into its coverage and posts (page order, newest first)."""
    if not text.strip():
        raise SourceError("the file is empty")
    head = text.lstrip()[:200].lower()
    if head.startswith("<") and ("<html" in head or "<!doctype" in head or "<body" in head):
        raise SourceError("this is an HTML page, not a plain-text live blog")
    lines = [line.rstrip() for line in text.splitlines()]
    first = next(line.strip() for line in lines if line.strip())
    coverage = _coverage_from_header(first, origin)
    paragraphs = _paragraphs(lines)
    summary, feed = _split_summary(paragraphs)
    coverage = Coverage(
        coverage_id=coverage.coverage_id,
        title=coverage.title,
        source=coverage.source,
        url=coverage.url,
        summary=tuple(summary),
        started=coverage.started,
    )
    posts = _posts(feed, coverage)
    if not posts:
        raise SourceError("no post headlines found: this does not look like a live-blog page")
    return Parsed(coverage=coverage, posts=posts)


def _coverage_from_header(first: str, origin: str | None) -> Coverage:
    match = _HEADER.match(first)
    if not match:
        # The message never quotes the content: it may be a server's answer shown in a chat.
        raise SourceError(
            "not a plain-text live blog: its first line should read 'DATE - TITLE | SOURCE'"
        )
    day = _parse_date(match["date"])
    if day is None:
        raise SourceError("cannot read the date on the first line ('DATE - TITLE | SOURCE')")
    title, source = match["title"].strip(), match["source"].strip()
    return Coverage(
        coverage_id=stable_id(source, title, day.isoformat()),
        title=title,
        source=source,
        url=origin if origin and origin.startswith(("http://", "https://")) else None,
        started=Timestamp.of_date(day),
    )


def _parse_date(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _paragraphs(lines: list[str]) -> list[str]:
    """Blank-line separated blocks; every line of a block of short lines or bullets stands alone."""
    paragraphs: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped:
            paragraphs.append(re.sub(r"\s+", " ", stripped))
    return paragraphs


def _split_summary(paragraphs: list[str]) -> tuple[list[str], list[str]]:
    """Separate the page header and "What we covered here" bullets from the feed of posts."""
    marker = next((i for i, p in enumerate(paragraphs) if _POSTS_MARKER.match(p)), None)
    summary_at = next((i for i, p in enumerate(paragraphs) if _SUMMARY_MARKER.match(p)), None)
    summary: list[str] = []
    if summary_at is not None:
        for p in paragraphs[summary_at + 1 : marker]:
            if not _BULLET.match(p):
                break
            summary.append(_BULLET.sub("", p))
    if marker is not None:
        start = marker + 1
    elif summary_at is not None:
        start = summary_at + 1 + len(summary)
    else:
        start = 2  # the page-title line and the repeated title
    return summary, paragraphs[start:]


def _is_headline(paragraph: str) -> bool:
    return (
        len(paragraph) <= _HEADLINE_MAX
        and not _BULLET.match(paragraph)
        and not _CHROME.match(paragraph)
        and not _VIDEO_TIME.match(paragraph)
        and not _SENTENCE_END.search(paragraph)
    )


def _is_caption(paragraph: str, later: list[str]) -> bool:
    """Whether the paragraph under a headline describes its picture rather than leads the story."""
    if _REPORTING.search(paragraph) or len(paragraph) > 300:
        return False
    if _PHOTO_DATE.search(paragraph) or _PHOTO_CREDIT.search(paragraph):
        return True
    terms = set(tokenize(paragraph))
    return len(terms) >= 6 and any(len(terms - set(tokenize(p))) <= len(terms) // 10 for p in later)


def _posts(feed: list[str], coverage: Coverage) -> list[Post]:
    starts = [
        i
        for i, p in enumerate(feed)
        if _is_headline(p) and i + 1 < len(feed) and not _is_headline(feed[i + 1])
    ]
    posts: list[Post] = []
    seen: dict[str, int] = {}
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(feed)
        title = feed[start]
        body, captions = _body(feed[start + 1 : end])
        if not body:
            continue
        key = title.casefold()
        seen[key] = seen.get(key, 0) + 1
        ident = title.casefold() if seen[key] == 1 else f"{title.casefold()}#{seen[key]}"
        published = coverage.started or Timestamp.of_date(date.today())
        posts.append(
            Post(
                post_id=stable_id(coverage.coverage_id, ident),
                coverage_id=coverage.coverage_id,
                title=title,
                body=tuple(body),
                published=published,
                source=coverage.source,
                url=None,
                position=len(posts),
                captions=tuple(captions),
            )
        )
    return posts


def _body(paragraphs: list[str]) -> tuple[list[str], list[str]]:
    """The post's own text (teasers and page chrome removed, bullets unmarked) and its
    captions: the one under the headline and the thumbnail captions of its teasers."""
    keep = [True] * len(paragraphs)
    captions: list[str] = []
    if paragraphs and _is_caption(paragraphs[0], paragraphs[1:]):
        keep[0] = False
        captions.append(paragraphs[0])
    for i, p in enumerate(paragraphs):
        if _CHROME.match(p) or _VIDEO_TIME.match(p):
            keep[i] = False
        if _RELATED.match(p):
            # The teaser's thumbnail caption and its "Read more …:" lead-in go with it.
            if i >= 1:
                keep[i - 1] = False
                if not _READ_MORE.match(paragraphs[i - 1]) and paragraphs[i - 1] not in captions:
                    captions.append(paragraphs[i - 1])
            if i >= 2 and _READ_MORE.match(paragraphs[i - 2]):
                keep[i - 2] = False
    body = [_BULLET.sub("", p) for p, k in zip(paragraphs, keep, strict=True) if k]
    return body, captions
