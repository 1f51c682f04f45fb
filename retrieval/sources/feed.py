"""RSS 2.0, RSS 1.0 and Atom feeds, read with feedparser.

Many outlets publish a live blog as a feed whose entries are the updates. feedparser copes
with the malformed XML, odd encodings and date formats found in the wild, and gives every
date in UTC, so this module maps its entries onto `Post`s, and adds what it lacks:

- dates in other languages ("Seg, 24 Set 2018 19:42:40 -0300") are read with dateparser;
- relative links resolve against the URL the feed came from, else its own `rel="self"` or
  channel link (a saved file has no URL), after feedparser has applied `xml:base`;
- sponsored entries are skipped and counted, trailers and promo lines leave the bodies
  (`retrieval.sources.feed_text`);
- one bad entry (no title, an unreadable or implausible date, a character reference to a
  surrogate like `&#xD800;`) is rejected with its position while the others are imported.

`Coverage.url` is the feed's canonical URL: its `rel="self"` link, else its channel link, else
the URL it was fetched from, so a saved copy and the live feed name the same coverage.
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
from retrieval.sources import Parsed, SourceError, without_quotes
from retrieval.sources.detect import repair_encoded_surrogates
from retrieval.sources.feed_text import clean_body, is_sponsored, outlet_name
from retrieval.sources.liveblog_html import html_to_paragraphs, text_to_paragraphs, title_from_body

_EMAIL_ANY = re.compile(r"[^\s@<>()]+@[^\s@<>()]+")
_EMAIL_ONLY = re.compile(r"\s*<?[^\s@<>()]+@[^\s@<>()]+>?\s*")
_DATE_ONLY = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")
# RSS <author> is "email (Name)"; feedparser's e-mail pattern cuts long top-level domains.
_RSS_AUTHOR = re.compile(r"\s*[^\s()<>]+@[^\s()<>]+\s*\((?P<name>[^()]+)\)\s*")
# feedparser turns `&#xD800;` into a character no encoder accepts and fails the whole feed;
# such references become a noncharacter (never in real text) that marks the entry as bad.
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_BAD_CHAR = "\ufdd0"
_DATE_LANGUAGES = ("pt", "es", "fr", "de", "it", "nl", "ca", "ro", "pl", "sv", "da", "en")


def parse(content: str | bytes, *, url: str | None = None, now: datetime | None = None) -> Parsed:
    """Posts of a feed, one per entry, newest first; the feed itself is the coverage.

    Times are judged at `now` (default: the current time; see `Post.implausible`).
    """
    where = url or "the feed"
    # Without a content type feedparser flags every feed as malformed ("bozo"); application/xml
    # lets the XML declaration name the charset.
    headers = {"content-type": "application/xml"}
    if url:
        headers["content-location"] = url  # the base for relative links
    if isinstance(content, str):
        # Text is already decoded: stop feedparser from trusting an XML declaration's charset.
        content = content.encode("utf-8", errors="surrogatepass")
        headers["content-type"] = "application/xml; charset=utf-8"
    if not content.strip():
        raise SourceError(f"{where} is empty")
    content = repair_encoded_surrogates(_CHARREF.sub(_charref, content), _BAD_CHAR)
    try:
        # A stream, never a string: feedparser would fetch a string that looks like a URL.
        result = feedparser.parse(io.BytesIO(content), response_headers=headers)
    except (UnicodeError, ValueError, OverflowError, RecursionError) as exc:
        raise SourceError(f"{where} is not a readable feed: {type(exc).__name__}") from None
    reason = _one_line(result.get("bozo_exception")) if result.get("bozo") else ""
    if not result.entries:
        if reason:
            raise SourceError(f"{where} is not a readable feed: {reason}")
        raise SourceError(f"{where} is a feed without entries")

    notes = [f"the feed is not well-formed ({reason}); read leniently"] if reason else []
    meta = result.feed
    self_link = _link(_self_link(meta), url)
    channel_link = _link(_field(meta, "link"), url or self_link)
    base = url or self_link or channel_link
    feed_title = _plain(_field(meta, "title"), _field(meta, "title_detail"))
    coverage = Coverage(
        coverage_id=stable_id(
            urldefrag(url).url if url else _str(_field(meta, "link")) or feed_title
        ),
        title=feed_title or _host(base) or "Untitled feed",
        source=_source(meta, feed_title, self_link or channel_link or url),
        url=self_link or channel_link or url,
        summary=_paragraphs(_field(meta, "subtitle"), _field(meta, "subtitle_detail")),
    )

    language = (_str(_field(meta, "language")) or "").split("-")[0].lower()
    moment = now or datetime.now(UTC)
    posts: dict[str, Post] = {}
    rejected: list[str] = []
    sponsored = 0
    for number, entry in enumerate(result.entries, start=1):
        try:
            post = _post(entry, coverage, base, language, moment)
        except (ValueError, OverflowError, RecursionError, UnicodeError) as exc:
            post = f"unreadable ({type(exc).__name__})"
        if post is None:
            sponsored += 1
        elif isinstance(post, str):
            rejected.append(f"entry {number}: {post}")
        elif post.post_id in posts:
            rejected.append(f"entry {number}: same id as an earlier entry")
        else:
            posts[post.post_id] = post
    skipped = {"sponsored": sponsored} if sponsored else {}
    if not posts:
        if skipped and not rejected:
            raise SourceError(f"{where} holds only sponsored entries")
        raise SourceError(f"{where} has no usable entry: {without_quotes(rejected[0])}")
    ordered = sorted(posts.values(), key=lambda p: p.published.sort_key(), reverse=True)
    return Parsed(
        coverage=coverage,
        posts=[replace(p, position=i) for i, p in enumerate(ordered)],
        rejected=rejected,
        notes=notes,
        skipped=skipped,
    )


def _charref(match: re.Match[bytes]) -> bytes:
    hexa, decimal = match.groups()
    code = int(hexa, 16) if hexa else int(decimal)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return _BAD_CHAR.encode()
    return match.group(0)


def _post(
    entry: Any, coverage: Coverage, base: str | None, language: str, now: datetime
) -> Post | str | None:
    """One entry as a Post, the reason it cannot be one, or None for a sponsored entry."""
    raw_body = _body(entry)
    title = _plain(_field(entry, "title"), _field(entry, "title_detail"))
    authors = _authors(entry)
    categories = [_str(t.get("term")) or "" for t in _field(entry, "tags") or []]
    if is_sponsored(title, categories, authors):
        return None
    body, submitter = clean_body(raw_body)
    title = title or title_from_body(body)
    if not title:
        return "no title and no content"
    if _BAD_CHAR in title or any(_BAD_CHAR in p for p in body) or _BAD_CHAR in "".join(authors):
        return "holds a lone surrogate (like &#xD800;), not text"
    published = _timestamp(entry, "published", language) or _timestamp(entry, "updated", language)
    if published is None:
        raw = _str(_field(entry, "published")) or _str(_field(entry, "updated"))
        return f"unreadable date {raw[:40]!r}" if raw else "no date"
    updated = _timestamp(entry, "updated", language)
    if updated == published:
        updated = None
    link = _link(_field(entry, "link"), base)
    identity = _str(_field(entry, "id")) or _str(_field(entry, "link"))
    if identity:
        post_id = stable_id(coverage.coverage_id, "id", identity)
    else:
        post_id = stable_id(coverage.coverage_id, title, published.isoformat())
    post = Post(
        post_id=post_id,
        coverage_id=coverage.coverage_id,
        title=title,
        body=body,
        published=published,
        source=coverage.source,
        authors=authors or ((submitter,) if submitter else ()),
        url=link,
        updated=updated,
    )
    return post.implausible(now) or post


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


def _timestamp(entry: Any, name: str, language: str) -> Timestamp | None:
    """The entry's date as a Timestamp (a bare date keeps date precision), or None.

    feedparser reads the English and ISO forms (in UTC); dateparser reads the rest, such as
    Portuguese day and month names, keeping their offset.
    """
    raw = _str(_field(entry, name)) or ""
    parsed: time.struct_time | None = _field(entry, f"{name}_parsed")
    try:
        if parsed is not None:
            if _DATE_ONLY.fullmatch(raw):
                return Timestamp.of_date(date(*parsed[:3]))
            return Timestamp.of_time(datetime(*parsed[:6], tzinfo=UTC))
    except (ValueError, OverflowError):
        return None
    return _foreign_date(raw, language) if raw else None


def _foreign_date(raw: str, language: str) -> Timestamp | None:
    import dateparser  # type: ignore[import-untyped]  # loaded only for dates feedparser can't read

    languages = [language, *(x for x in _DATE_LANGUAGES if x != language)] if language else None
    try:
        moment = dateparser.parse(
            raw[:100],
            languages=languages or list(_DATE_LANGUAGES),
            settings={
                "REQUIRE_PARTS": ["day", "month", "year"],
                "PARSERS": ["custom-formats", "absolute-time"],
            },
        )
    except (ValueError, OverflowError, TypeError, LookupError):
        return None
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is None:  # like feedparser: a time without an offset is taken as UTC
        moment = moment.replace(tzinfo=UTC)
    return Timestamp.of_time(moment)


def _authors(entry: Any) -> tuple[str, ...]:
    """Bylines as names: "email (Name)" gives the name, a bare e-mail address is no byline."""
    rss_author = _RSS_AUTHOR.fullmatch(_str(_field(entry, "author")) or "")
    if rss_author and len(_field(entry, "authors") or []) <= 1:
        return (" ".join(rss_author["name"].split()),)
    whole = _str(_field(entry, "author"))
    if whole and "@" in whole:
        # feedparser cuts long domains and calls their tail the name ("desk@news.exam", "ple").
        raw: list[str | None] = [_EMAIL_ANY.sub("", whole).strip(" ()<>,;")]
    else:
        raw = [_str(a.get("name")) for a in _field(entry, "authors") or [] if isinstance(a, dict)]
        raw = raw if any(raw) else [whole]
    names: list[str] = []
    for value in raw:
        name = " ".join(" ".join(html_to_paragraphs(value)).split()) if value else ""
        if name and not _EMAIL_ONLY.fullmatch(name) and name not in names:
            names.append(name)
    return tuple(names)


def _source(meta: Any, title: str, url: str | None) -> str:
    """Who publishes the feed, as a reader knows it (see `feed_text.outlet_name`)."""
    candidates = []
    for raw, detail in (("publisher", "publisher_detail"), ("author", "author_detail")):
        text = _plain(_field(meta, raw), None)
        # feedparser's e-mail pattern cuts long domains, leaving their tail as a "name": when
        # the raw value holds an address, outlet_name strips it from the raw value instead.
        named = "" if "@" in text else _plain((_field(meta, detail) or {}).get("name"), None)
        candidates += [named, text]
    return outlet_name(candidates, title, url)


def _self_link(meta: Any) -> str | None:
    """The feed's own address (`atom:link rel="self"`), if it gives one."""
    for link in _field(meta, "links") or []:
        if isinstance(link, dict) and link.get("rel") == "self" and _str(link.get("href")):
            return _str(link.get("href"))
    return None


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
