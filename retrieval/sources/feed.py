"""RSS 2.0, RSS 1.0 and Atom feeds, read with feedparser.

Many outlets publish a live blog as a feed whose entries are the updates. feedparser copes
with the malformed XML, odd encodings and date formats found in the wild, and gives every
date in UTC, so this module only maps its entries onto `Post`s.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import feedparser  # type: ignore[import-untyped]

from retrieval.models import Coverage, Post, Timestamp, stable_id
from retrieval.sources import Parsed, SourceError
from retrieval.sources.liveblog_html import html_to_paragraphs, text_to_paragraphs, title_from_body

_DATE_ONLY = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")
# RSS <author> is "email (Name)"; feedparser's e-mail pattern cuts long top-level domains.
_RSS_AUTHOR = re.compile(r"\s*[^\s()<>]+@[^\s()<>]+\s*\((?P<name>[^()]+)\)\s*")


def parse(content: str | bytes, *, url: str | None = None) -> Parsed:
    """Posts of a feed, one per entry, newest first; the feed itself is the coverage."""
    where = url or "the feed"
    # Without a content type feedparser flags every feed as malformed ("bozo"); application/xml
    # lets the XML declaration name the charset.
    headers = {"content-type": "application/xml"}
    if url:
        headers["content-location"] = url  # the base for relative links
    if isinstance(content, str):
        # Text is already decoded: stop feedparser from trusting an XML declaration's charset.
        content = content.encode("utf-8")
        headers["content-type"] = "application/xml; charset=utf-8"
    if not content.strip():
        raise SourceError(f"{where} is empty")
    # A stream, never a string: feedparser would fetch a string that looks like a URL or path.
    result = feedparser.parse(io.BytesIO(content), response_headers=headers)
    reason = _one_line(result.get("bozo_exception")) if result.get("bozo") else ""
    if not result.entries:
        if reason:
            raise SourceError(f"{where} is not a readable feed: {reason}")
        raise SourceError(f"{where} is a feed without entries")

    notes = [f"the feed is not well-formed ({reason}); read leniently"] if reason else []
    meta = result.feed
    base = url or _str(_field(meta, "link"))
    feed_title = _plain(_field(meta, "title"), _field(meta, "title_detail"))
    title = feed_title or _host(base) or "Untitled feed"
    coverage = Coverage(
        coverage_id=stable_id(urldefrag(url).url if url else _str(_field(meta, "link")) or title),
        title=title,
        source=_source(meta, feed_title, base),
        url=_link(_field(meta, "link"), url) or url,
        summary=_paragraphs(_field(meta, "subtitle"), _field(meta, "subtitle_detail")),
    )

    posts: dict[str, Post] = {}
    rejected: list[str] = []
    for number, entry in enumerate(result.entries, start=1):
        post = _post(entry, coverage, url)
        if isinstance(post, str):
            rejected.append(f"entry {number}: {post}")
        elif post.post_id in posts:
            rejected.append(f"entry {number}: same id as an earlier entry")
        else:
            posts[post.post_id] = post
    if not posts:
        raise SourceError(f"{where} has no usable entry: {rejected[0]}")
    ordered = sorted(posts.values(), key=lambda p: p.published.sort_key(), reverse=True)
    return Parsed(
        coverage=coverage,
        posts=[replace(p, position=i) for i, p in enumerate(ordered)],
        rejected=rejected,
        notes=notes,
    )


def _post(entry: Any, coverage: Coverage, url: str | None) -> Post | str:
    """One entry as a Post, or the reason it cannot be one."""
    body = _body(entry)
    title = _plain(_field(entry, "title"), _field(entry, "title_detail")) or title_from_body(body)
    if not title:
        return "no title and no content"
    published = _timestamp(entry, "published") or _timestamp(entry, "updated")
    if published is None:
        raw = _field(entry, "published") or _field(entry, "updated")
        return f"unreadable date {raw!r}" if raw else f"{title[:40]!r} has no date"
    updated = _timestamp(entry, "updated")
    if updated == published:
        updated = None
    link = _link(_field(entry, "link"), url)
    identity = _str(_field(entry, "id")) or _str(_field(entry, "link"))
    if identity:
        post_id = stable_id(coverage.coverage_id, "id", identity)
    else:
        post_id = stable_id(coverage.coverage_id, title, published.isoformat())
    return Post(
        post_id=post_id,
        coverage_id=coverage.coverage_id,
        title=title,
        body=body,
        published=published,
        source=coverage.source,
        authors=_authors(entry),
        url=link,
        updated=updated,
    )


def _body(entry: Any) -> tuple[str, ...]:
    """Full content when the feed has it (HTML preferred), else the summary."""
    contents = [c for c in _field(entry, "content") or [] if _str(c.get("value"))]
    if contents:
        chosen = next((c for c in contents if "html" in (c.get("type") or "")), contents[0])
        return _paragraphs(chosen.get("value"), chosen)
    return _paragraphs(_field(entry, "summary"), _field(entry, "summary_detail"))


def _paragraphs(value: Any, detail: Any) -> tuple[str, ...]:
    text = _str(value)
    if not text:
        return ()
    kind = (detail or {}).get("type") or "text/html"
    return text_to_paragraphs(text) if kind == "text/plain" else html_to_paragraphs(text)


def _plain(value: Any, detail: Any) -> str:
    """A one-line text (a title): markup removed when the feed says it is HTML."""
    return " ".join(_paragraphs(value, detail))


def _timestamp(entry: Any, name: str) -> Timestamp | None:
    """feedparser's UTC struct_time as a Timestamp; a bare date keeps date precision."""
    parsed: time.struct_time | None = _field(entry, f"{name}_parsed")
    if parsed is None:
        return None
    if _DATE_ONLY.fullmatch(_str(_field(entry, name)) or ""):
        return Timestamp.of_date(date(*parsed[:3]))
    return Timestamp.of_time(datetime(*parsed[:6], tzinfo=UTC))


def _authors(entry: Any) -> tuple[str, ...]:
    rss_author = _RSS_AUTHOR.fullmatch(_str(_field(entry, "author")) or "")
    if rss_author and len(_field(entry, "authors") or []) <= 1:
        return (" ".join(rss_author["name"].split()),)
    names: list[str] = []
    for author in _field(entry, "authors") or []:
        name = _str(author.get("name")) or _str(author.get("email"))
        if name and name not in names:
            names.append(name)
    if not names and _str(_field(entry, "author")):
        names.append(_str(_field(entry, "author")) or "")
    return tuple(" ".join(html_to_paragraphs(n)) for n in names)


def _source(meta: Any, title: str, base: str | None) -> str:
    """Who publishes the feed: its publisher or author when given, else its title or generator."""
    for candidate in (
        _field(meta, "publisher"),
        (_field(meta, "publisher_detail") or {}).get("name"),
        (_field(meta, "author_detail") or {}).get("name"),
        _field(meta, "author"),
    ):
        name = _plain(candidate, None)
        if name:
            return name
    generator = _plain(_field(meta, "generator"), None)
    return title or generator or _host(base) or "unknown source"


def _link(value: Any, base: str | None) -> str | None:
    link = _str(value)
    if not link:
        return None
    resolved = urljoin(base, link) if base else link
    parts = urlsplit(resolved)
    return resolved if parts.scheme in ("http", "https") and parts.netloc else None


def _host(url: str | None) -> str | None:
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def _str(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _one_line(exc: Any) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _field(node: Any, key: str) -> Any:
    """A field as the feed gave it.

    `FeedParserDict.get` silently answers "updated" with "published" (feedparser issue 310),
    which would turn every entry into an edited one.
    """
    return dict.get(node, key) if isinstance(node, dict) else None
