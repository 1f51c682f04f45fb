"""Live-blog pages that publish schema.org `LiveBlogPosting` JSON-LD.

The Guardian, AP, the BBC and the WordPress live-blog plugins describe every update of a live
blog as a `BlogPosting` in the page's JSON-LD, with its own time, author and permalink. That is
far more reliable than guessing the page layout, so it is read first; a page without it falls
back to its main text (trafilatura) and the plain-text segmentation.

The helpers `html_to_paragraphs`, `text_to_paragraphs` and `parse_iso_timestamp` are shared
with the other importers.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.etree
import lxml.html

from retrieval.models import Coverage, Post, Timestamp, stable_id
from retrieval.sources import Parsed, SourceError

NO_JSONLD_NOTE = "no LiveBlogPosting JSON-LD; read the page's main text"
NO_UPDATES_NOTE = "the LiveBlogPosting JSON-LD lists no usable updates; read the page's main text"

_TAG = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9-]*[\s/>]|/[a-zA-Z]|!--)")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_BLANK_LINE = re.compile(r"\n[ \t\f\v\r\u00a0]*\n")
_PARAGRAPH_BREAK = "\x00"

# Elements that start a new paragraph in the text a reader sees.
_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt"),
        *("figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr"),
        *("li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody"),
        *("thead", "tfoot", "tr", "ul"),
    }
)
# Elements whose content no reader sees.
_HIDDEN_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "iframe", "object", "head"}
)

_TITLE_LENGTH = 90


# --- shared helpers -----------------------------------------------------------------------------


def html_to_paragraphs(markup: str) -> tuple[str, ...]:
    """The paragraphs a reader sees in an HTML fragment (or plain text), whitespace normalised.

    Block elements (`<p>`, `<li>`, headings…) and blank lines made of `<br>`s separate
    paragraphs; scripts and styles are dropped; entities are decoded.
    """
    if not _TAG.search(markup):
        return text_to_paragraphs(html_lib.unescape(markup))
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return text_to_paragraphs(markup)
    pieces: list[str] = []
    hidden_depth = 0
    for event, element in lxml.etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if event == "start":
            if hidden_depth or tag in _HIDDEN_TAGS:
                hidden_depth += 1
                continue
            if tag in _BLOCK_TAGS:
                pieces.append(_PARAGRAPH_BREAK)
            elif tag == "br":
                pieces.append("\n")
            elif tag in ("td", "th"):
                pieces.append(" ")
            if element.text:
                pieces.append(element.text)
            continue
        if event == "end":
            if hidden_depth:
                hidden_depth -= 1
                if hidden_depth:
                    continue
            elif tag in _BLOCK_TAGS:
                pieces.append(_PARAGRAPH_BREAK)
        elif hidden_depth:
            continue
        if element.tail and element is not root:
            pieces.append(element.tail)
    paragraphs: list[str] = []
    for block in "".join(pieces).split(_PARAGRAPH_BREAK):
        paragraphs.extend(_split_blank_lines(block))
    return tuple(paragraphs)


def text_to_paragraphs(text: str) -> tuple[str, ...]:
    """Paragraphs of plain text: split on blank lines, or on every line when there are none."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _BLANK_LINE.search(text):
        return _split_blank_lines(text)
    return tuple(p for p in (" ".join(line.split()) for line in text.split("\n")) if p)


def _split_blank_lines(text: str) -> tuple[str, ...]:
    return tuple(p for p in (" ".join(chunk.split()) for chunk in _BLANK_LINE.split(text)) if p)


def parse_iso_timestamp(text: str) -> tuple[Timestamp, bool]:
    """An ISO 8601 date or datetime as a `Timestamp`, and whether it lacked a UTC offset.

    A date alone keeps date precision (inventing midnight would mislead); a time without an
    offset is read as UTC and flagged so the caller can say so. Raises ValueError.
    """
    raw = text.strip()
    if _DATE_ONLY.fullmatch(raw):
        return Timestamp.of_date(date.fromisoformat(raw)), False
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        return Timestamp.of_time(moment.replace(tzinfo=UTC)), True
    return Timestamp.of_time(moment), False


def title_from_body(body: tuple[str, ...]) -> str:
    """A title for an update that has none: the start of its first paragraph."""
    if not body:
        return ""
    first = body[0]
    if len(first) <= _TITLE_LENGTH:
        return first
    cut = first[:_TITLE_LENGTH].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


# --- JSON-LD ------------------------------------------------------------------------------------


@dataclass
class _Page:
    """What the HTML page says besides its JSON-LD: the fallbacks for missing fields."""

    base: str | None
    title: str | None
    site_name: str | None
    blocks: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse(html: str | bytes, *, url: str | None = None) -> Parsed:
    """Posts of a live-blog page, one per `liveBlogUpdate`; main text when there is no JSON-LD."""
    if isinstance(html, bytes):
        from retrieval.sources.detect import decode

        html = decode(html, None, what=url or "the page")
    if not html.strip():
        raise SourceError(f"{url or 'the page'} is empty")
    page = _read_page(html, url)
    nodes = list(_walk(page.blocks))
    index = {
        node["@id"]: node
        for node in reversed(nodes)
        if isinstance(node.get("@id"), str) and len(node) > 1
    }
    blogs = [node for node in nodes if "LiveBlogPosting" in _types(node)]
    if not blogs:
        return _main_text(html, url, page.notes, [], NO_JSONLD_NOTE)
    return _from_jsonld(html, url, page, blogs, index)


def _read_page(html: str, url: str | None) -> _Page:
    try:
        root = lxml.html.document_fromstring(
            html.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8")
        )
    except (lxml.etree.ParserError, ValueError) as exc:
        raise SourceError(f"{url or 'the page'} is not readable HTML: {exc}") from None
    base = url
    base_href = _first(_strings(root, "//base/@href"))
    if base_href:
        base = urljoin(url or "", base_href) or base
    page = _Page(
        base=base,
        title=_first(_strings(root, "//meta[@property='og:title']/@content"))
        or _first(_strings(root, "//title/text()")),
        site_name=_first(_strings(root, "//meta[@property='og:site_name']/@content")),
    )
    scripts = [
        s
        for s in root.iter("script")
        if (s.get("type") or "").split(";")[0].strip().lower() == "application/ld+json"
    ]
    for number, script in enumerate(scripts, start=1):
        raw = _unwrap_script(script.text or "")
        if not raw:
            continue
        try:
            page.blocks.append(json.loads(raw, strict=False))
        except ValueError as exc:
            page.notes.append(f"JSON-LD block {number} skipped: bad JSON ({_one_line(exc)})")
    return page


def _unwrap_script(text: str) -> str:
    """Script text without the comment/CDATA wrappers some CMSs still put around JSON."""
    text = text.strip().removesuffix(";").strip()
    for prefix, suffix in (("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("<![CDATA[", "]]>")):
        if text.startswith(prefix) and text.endswith(suffix):
            text = text[len(prefix) : -len(suffix)].strip()
    return text


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON-LD node in a block: top level, arrays, `@graph` and nested values."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            yield item
            stack.extend(reversed([v for v in item.values() if isinstance(v, (dict, list))]))


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {re.split(r"[/:#]", n)[-1] for n in names if isinstance(n, str)}


def _from_jsonld(
    html: str, url: str | None, page: _Page, blogs: list[dict[str, Any]], index: dict[str, Any]
) -> Parsed:
    blog = next((b for b in blogs if _text(b.get("headline") or b.get("name"))), blogs[0])
    notes = list(page.notes)
    rejected: list[str] = []
    naive_times = 0

    canonical = _text(blog.get("url")) or _text(_resolve(blog.get("mainEntityOfPage"), index))
    canonical = _absolute(canonical, page.base) if canonical else None
    base = page.base or canonical
    title = _text(blog.get("headline")) or _text(blog.get("name")) or page.title or "Live blog"
    source = _publisher(blog, index) or page.site_name or _host(base) or "unknown source"
    started = None
    start_text = _text(blog.get("coverageStartTime"))
    if start_text:
        try:
            started, naive = parse_iso_timestamp(start_text)
            naive_times += int(naive)
        except ValueError:
            notes.append(f"coverageStartTime {start_text!r} is not an ISO 8601 date; ignored")
    coverage = Coverage(
        coverage_id=stable_id(urldefrag(url).url if url else canonical or title),
        title=title,
        source=source,
        url=canonical or url,
        summary=html_to_paragraphs(_text(blog.get("description")) or ""),
        started=started,
    )
    if len({_text(b.get("@id")) or _text(b.get("url")) or id(b) for b in blogs}) > 1:
        notes.append(f"the page holds {len(blogs)} LiveBlogPosting blocks; read as one coverage")

    posts: dict[str, Post] = {}
    number = 0
    for blog_node in blogs:
        for raw_update in _as_list(blog_node.get("liveBlogUpdate")):
            number += 1
            update = _resolve(raw_update, index)
            if not isinstance(update, dict):
                rejected.append(f"update {number}: not a JSON-LD object")
                continue
            post, naive_count, reason = _post(update, coverage, base, index)
            naive_times += naive_count
            if post is None:
                rejected.append(f"update {number}: {reason}")
                continue
            known = posts.get(post.post_id)
            if known is None:
                posts[post.post_id] = post
            elif known.content_hash() != post.content_hash():
                rejected.append(f"update {number}: same id as an earlier, different update")

    if naive_times:
        notes.append(f"{naive_times} time(s) without a UTC offset were read as UTC")
    if not posts:
        return _main_text(html, url, notes, rejected, NO_UPDATES_NOTE)
    ordered = sorted(posts.values(), key=lambda p: p.published.sort_key(), reverse=True)
    return Parsed(
        coverage=coverage,
        posts=[replace(post, position=i) for i, post in enumerate(ordered)],
        rejected=rejected,
        notes=notes,
    )


def _post(
    update: dict[str, Any], coverage: Coverage, base: str | None, index: dict[str, Any]
) -> tuple[Post | None, int, str]:
    """One update as a Post, the number of naive times read as UTC, or the reason it is skipped."""
    body = html_to_paragraphs(
        _text(update.get("articleBody"))
        or _text(update.get("text"))
        or _text(update.get("description"))
        or ""
    )
    headline = _text(update.get("headline")) or _text(update.get("name"))
    if not headline and not body:
        return None, 0, "no headline and no articleBody"
    title = " ".join(html_to_paragraphs(headline)) if headline else title_from_body(body)

    published_text = _text(update.get("datePublished")) or _text(update.get("dateCreated"))
    modified_text = _text(update.get("dateModified"))
    if not published_text and not modified_text:
        return None, 0, f"{title[:40]!r} has no datePublished"
    naive = 0
    try:
        published, was_naive = parse_iso_timestamp(published_text or modified_text or "")
        naive += was_naive
    except ValueError:
        return None, 0, f"datePublished {published_text!r} is not an ISO 8601 date"
    updated = None
    if modified_text and published_text:
        try:
            updated, was_naive = parse_iso_timestamp(modified_text)
            naive += was_naive
        except ValueError:
            updated = None
        if updated == published:
            updated = None

    node_id = _text(update.get("@id"))
    permalink = _text(update.get("url"))
    post_url = (
        _absolute(permalink, base)
        if permalink
        else _anchor(node_id or _text(update.get("identifier")), base)
    )
    key = ("id", node_id) if node_id else ("url", permalink) if permalink else None
    if key:
        post_id = stable_id(coverage.coverage_id, *key)
    else:
        post_id = stable_id(coverage.coverage_id, title, published_text or modified_text or "")

    post = Post(
        post_id=post_id,
        coverage_id=coverage.coverage_id,
        title=title,
        body=body,
        published=published,
        source=_publisher(update, index) or coverage.source,
        authors=_names(update.get("author"), index),
        url=post_url,
        updated=updated,
    )
    return post, naive, ""


def _main_text(
    html: str, url: str | None, notes: list[str], rejected: list[str], note: str
) -> Parsed:
    """The page's main text, segmented as plain text: the fallback for pages without JSON-LD.

    The plain-text importer reads a "DATE - TITLE | SOURCE" first line and the repeated title
    (the shape of a saved page), so the page's metadata is written in that shape above the text.
    """
    import trafilatura

    from retrieval.sources import plaintext

    where = url or "the page"
    reason = "no LiveBlogPosting JSON-LD" if note == NO_JSONLD_NOTE else "no usable JSON-LD updates"
    document = trafilatura.bare_extraction(
        html, url=url, include_comments=False, include_tables=True, with_metadata=True
    )
    text = str(getattr(document, "text", None) or "").strip()
    if not text:
        raise SourceError(f"{where} has {reason} and no readable main text")
    title = " ".join(str(getattr(document, "title", None) or "").split())
    day = str(getattr(document, "date", None) or "")
    site = " ".join(str(getattr(document, "sitename", None) or _host(url) or "").split())
    if title and day and site:
        lines = text.splitlines()
        if lines and " ".join(lines[0].split()) != title:
            text = f"{title}\n{text}"
        text = f"{day} - {title.replace('|', '/')} | {site.replace('|', '/')}\n\n{text}"
    try:
        parsed = plaintext.parse(text, origin=url)
    except SourceError as exc:
        raise SourceError(
            f"{where} has {reason}, and its main text reads as no live blog: {exc}"
        ) from None
    return Parsed(
        coverage=parsed.coverage,
        posts=parsed.posts,
        rejected=[*rejected, *parsed.rejected],
        notes=[*notes, note, *parsed.notes],
    )


# --- JSON-LD values -----------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _resolve(value: Any, index: dict[str, Any]) -> Any:
    """A node for a bare `{"@id": …}` reference, so updates may live elsewhere in the graph."""
    if isinstance(value, dict) and set(value) == {"@id"}:
        return index.get(value["@id"], value)
    if isinstance(value, str) and value in index:
        return index[value]
    return value


def _text(value: Any) -> str | None:
    """A JSON-LD literal as stripped text: plain strings, `{"@value": …}`, first of a list."""
    if isinstance(value, list):
        return next((t for t in (_text(v) for v in value) if t), None)
    if isinstance(value, dict):
        value = value.get("@value", value.get("value", value.get("@id")))
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def _names(value: Any, index: dict[str, Any]) -> tuple[str, ...]:
    """Names of a Person/Organization, or of several, or of plain strings; no duplicates."""
    names: list[str] = []
    for item in _as_list(value):
        item = _resolve(item, index)
        if isinstance(item, dict):
            name = _text(item.get("name")) or _text(item.get("legalName"))
            if not name:
                parts = [_text(item.get("givenName")), _text(item.get("familyName"))]
                name = " ".join(p for p in parts if p) or None
        else:
            name = _text(item) if isinstance(item, str) and "://" not in item else None
        if name:
            name = " ".join(html_to_paragraphs(name))
            if name and name not in names:
                names.append(name)
    return tuple(names)


def _publisher(node: dict[str, Any], index: dict[str, Any]) -> str | None:
    names = _names(node.get("publisher"), index)
    return names[0] if names else None


def _absolute(ref: str, base: str | None) -> str | None:
    """`ref` resolved against the page; a relative link without a page URL is no usable link."""
    resolved = urljoin(base, ref) if base else ref
    parts = urlsplit(resolved)
    return resolved if parts.scheme in ("http", "https") and parts.netloc else None


def _anchor(node_id: str | None, base: str | None) -> str | None:
    """A permalink for an update without `url`: the page URL plus `#` and the update's id."""
    if not node_id or not base:
        return None
    if node_id.startswith(("#", "/", "http://", "https://")):
        return _absolute(node_id, base)
    return _absolute(f"{urldefrag(base).url}#{node_id}", None)


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname
    return host.removeprefix("www.") if host else None


def _strings(root: lxml.html.HtmlElement, path: str) -> list[str]:
    found = root.xpath(path)
    return [str(value) for value in found] if isinstance(found, list) else []


def _first(values: list[str]) -> str | None:
    for value in values:
        text = " ".join(str(value).split())
        if text:
            return text
    return None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
