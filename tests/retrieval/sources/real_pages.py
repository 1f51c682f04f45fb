"""What the real-page tests share: the fixtures' folder, the shape of an expected update, and
the comparisons (time to the minute the page shows, text from its first to its last words)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import lxml.html

from retrieval.models import Post
from retrieval.sources import Parsed
from retrieval.sources.liveblog_html import parse

REAL = Path(__file__).parents[2] / "fixtures" / "real"

# Text that is page furniture wherever it turns up in a body.
CHROME = ("Read more", "(Image:", "Image:", "Photograph:", "Getty Images)", "Advertisement")


@dataclass(frozen=True)
class Update:
    """One live-blog update as the page shows it. `first`/`last`: None for an update with no text."""

    anchor: str
    time: str
    authors: tuple[str, ...]
    title: str
    first: str | None
    last: str | None


@dataclass(frozen=True)
class Blog:
    file: str
    canonical: str
    outlet: str
    updates: tuple[Update, ...]
    # Updates the structured data lists but the page does not show (title -> expected values).
    off_page: tuple[Update, ...] = ()


def u(
    anchor: str, time: str, author: str | None, title: str, first: str | None, last: str | None
) -> Update:
    return Update(anchor, time, (author,) if author else (), title, first, last)


@cache
def parsed(file: str) -> Parsed:
    return parse((REAL / file).read_bytes())


@cache
def page_ids(file: str) -> frozenset[str]:
    root = lxml.html.fromstring((REAL / file).read_bytes())
    return frozenset(str(i) for i in root.xpath("//@id | //a/@name"))


def minute(post: Post) -> datetime:
    assert post.published.precision == "time"
    value = post.published.value
    assert isinstance(value, datetime)
    return value.replace(second=0, microsecond=0)


def assert_body(body: tuple[str, ...], first: str | None, last: str | None) -> None:
    if first is None:
        assert body == ()
        return
    assert body, "the update has text on the page"
    assert body[0].startswith(first), body[0]
    assert last is not None and body[-1].endswith(last), body[-1]
    for paragraph in body:
        assert not paragraph.startswith(CHROME), paragraph
