"""A live-blog update as its structured data states it (`Draft`), and which of those values are
really the blog's (`Repeats`): a value every update shares is no per-update value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag

from retrieval.models import Timestamp, stable_id
from retrieval.sources.blocks import clean_body
from retrieval.sources.html_text import html_to_paragraphs, parse_iso_timestamp
from retrieval.sources.page import absolute
from retrieval.sources.structured import names, plain, publisher, text

_CUT = re.compile(r"(?:\.\.\.|…|&[#a-z0-9]{1,8})\s*$", re.I)
_CUT_ENTITY = re.compile(r"&[#a-z0-9]{1,8}(?:\.\.\.|…)?$", re.I)
_TIME_PREFIX = re.compile(
    r"^\s*\d{1,2}[:.]\d{2}\s*\((?:IST|GMT|BST|CET|CEST|UTC|ET|EST|EDT|PT|AEST|AEDT)\)\s*", re.I
)


def strip_time_prefix(headline: str) -> str:
    """ "19:02(IST) Rain in Mumbai" -> "Rain in Mumbai": the time is the post's, not its title."""
    return _TIME_PREFIX.sub("", headline, count=1) or headline


@dataclass(frozen=True)
class Draft:
    """One update's structured-data values, before the page is asked."""

    number: int
    headline: str | None
    body: tuple[str, ...]
    published: Timestamp
    published_text: str
    updated: Timestamp | None
    naive: int
    authors: tuple[str, ...]
    node_id: str | None
    permalink: str | None
    url: str | None
    fragment: str | None
    cut_short: bool
    publisher: str | None = None

    def post_id(self, coverage_id: str) -> str:
        """Stable across imports: from the update's `@id`, else its `url`, else title and time."""
        if self.node_id:
            return stable_id(coverage_id, "id", self.node_id)
        if self.permalink:
            return stable_id(coverage_id, "url", self.permalink)
        return stable_id(
            coverage_id, self.headline or " ".join(self.body)[:90], self.published_text
        )


def draft_update(
    number: int, update: dict[str, Any], index: dict[str, Any], base: str | None
) -> tuple[Draft | None, str]:
    """The update's values, or None and the reason it cannot be a post."""
    raw_body = (
        text(update.get("articleBody"))
        or text(update.get("text"))
        or text(update.get("description"))
        or ""
    )
    body = clean_body(html_to_paragraphs(raw_body))
    headline = plain(update.get("headline")) or plain(update.get("name"))
    if headline:
        headline = strip_time_prefix(headline)
        if _CUT_ENTITY.search(headline):
            # "… said &rdq" or "&rdq…": an entity cut in half is no text; the cut is shown as one.
            headline = _CUT_ENTITY.sub("", headline).rstrip() + "…"
    if not headline and not body:
        return None, "no headline and no articleBody"
    label = (headline or " ".join(body))[:40]
    published_text = text(update.get("datePublished")) or text(update.get("dateCreated"))
    modified_text = text(update.get("dateModified"))
    if not published_text and not modified_text:
        return None, f"{label!r} has no datePublished"
    naive = 0
    try:
        published, was_naive = parse_iso_timestamp(published_text or modified_text or "")
        naive += was_naive
    except ValueError:
        return None, f"datePublished {published_text!r} is not an ISO 8601 date"
    updated = None
    if modified_text and published_text:
        try:
            updated, was_naive = parse_iso_timestamp(modified_text)
            naive += was_naive
        except ValueError:
            updated = None
        if updated == published:
            updated = None

    node_id = text(update.get("@id"))
    permalink = text(update.get("url"))
    url = (
        absolute(permalink, base)
        if permalink
        else _anchor(node_id or text(update.get("identifier")), base)
    )
    fragment = urldefrag(url).fragment or None if url else None
    if fragment is None and node_id and not node_id.startswith(("http://", "https://", "/")):
        fragment = node_id.lstrip("#") or None
    return (
        Draft(
            number=number,
            headline=headline,
            body=body,
            published=published,
            published_text=published_text or modified_text or "",
            updated=updated,
            naive=naive,
            authors=names(update.get("author"), index),
            node_id=node_id,
            permalink=permalink,
            url=url,
            fragment=fragment,
            cut_short=bool(_CUT.search(raw_body) or (headline and _CUT.search(headline))),
            publisher=publisher(update, index),
        ),
        "",
    )


def _anchor(node_id: str | None, base: str | None) -> str | None:
    """A permalink for an update without `url`: the page URL plus `#` and the update's id."""
    if not node_id or not base:
        return None
    if node_id.startswith(("#", "/", "http://", "https://")):
        return absolute(node_id, base)
    return absolute(f"{urldefrag(base).url}#{node_id}", None)


@dataclass(frozen=True)
class Repeats:
    """Which structured-data values every update shares, so none of them is the update's own."""

    headline: str | None
    time: str | None
    authors: tuple[str, ...]

    @classmethod
    def of(cls, drafts: list[Draft]) -> Repeats:
        if len(drafts) < 2:
            return cls(None, None, ())
        headlines = {d.headline for d in drafts}
        times = {d.published_text for d in drafts}
        bylines = {d.authors for d in drafts}
        byline = next(iter(bylines)) if len(bylines) == 1 else ()
        return cls(
            headline=next(iter(headlines)) if len(headlines) == 1 else None,
            time=next(iter(times)) if len(times) == 1 else None,
            # One writer for every update is plausible; a whole byline list for each is not.
            authors=byline if len(byline) >= 2 else (),
        )

    def notes(self, total: int) -> list[str]:
        found = []
        if self.headline:
            found.append(
                f"all {total} updates carry the headline {self.headline[:60]!r}: each post's "
                "title is its own from the page, else the start of its text"
            )
        if self.time:
            found.append(
                f"all {total} updates carry the time {self.time}: a post without its own time "
                "on the page keeps the day only"
            )
        if self.authors:
            shown = ", ".join(self.authors[:3]) + (", …" if len(self.authors) > 3 else "")
            found.append(
                f"all {total} updates carry the byline list ({shown}): credited only where "
                "the page names the update's writer"
            )
        return found
