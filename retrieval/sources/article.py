"""An ordinary news article as one post: headline, authors, time with offset, canonical URL and
the whole main text, lead included.

The article's structured data (JSON-LD, microdata or RDFa `NewsArticle`…) gives the headline,
authors and times; the page's `article:` meta tags and trafilatura's metadata fill what it
lacks. The text is trafilatura's extraction of the main content, without image captions,
credit lines or promos. Splitting an article at its subheadings would invent posts that
have no time, author or link of their own, so an article is never split.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import lxml.etree
import lxml.html

from retrieval.models import Coverage, Post, Timestamp, stable_id
from retrieval.sources import Parsed
from retrieval.sources.blocks import clean_body
from retrieval.sources.html_text import parse_iso_timestamp, text_to_paragraphs
from retrieval.sources.page import Page, strings
from retrieval.sources.structured import names, plain, publisher, text
from retrieval.sources.updates import strip_time_prefix

ARTICLE_TYPES = (
    "NewsArticle",
    "Article",
    "ReportageNewsArticle",
    "AnalysisNewsArticle",
    "OpinionNewsArticle",
    "BackgroundNewsArticle",
    "ReviewNewsArticle",
    "Report",
    "BlogPosting",
)
_MIN_TEXT = 200
# Parts of an article page that are no part of its text, whatever the publisher: captions,
# credit and byline lines, highlight boxes, data widgets, sharing and promo blocks.
_CHROME_CLASS = re.compile(r"caption|credit|byline|wdgt|highlight|share|promo", re.I)


def article_node(page: Page) -> dict[str, Any] | None:
    """The page's own article node: the one with a headline, the longest body first."""
    nodes = [n for n in page.structured.of_type(*ARTICLE_TYPES) if text(n.get("headline"))]
    if not nodes:
        return None
    return max(
        nodes,
        key=lambda n: (bool(text(n.get("datePublished"))), len(text(n.get("articleBody")) or "")),
    )


def parse_article(page: Page, *, outlet: str | None = None) -> Parsed | str:
    """The page as one post, or the reason it is no article (no markup and little text, no
    headline, no publication time)."""
    import trafilatura

    node = article_node(page)
    og_type = (page.meta("og:type") or "").lower()
    document = trafilatura.bare_extraction(
        _without_data_widgets(page.root),
        url=page.url,
        include_comments=False,
        include_tables=False,
        include_images=False,
        with_metadata=True,
    )
    extracted = str(getattr(document, "text", None) or "")
    body = _body(page, extracted)
    if node is None and og_type != "article" and len(" ".join(body)) < _MIN_TEXT:
        return "no article markup and too little main text"
    if not body and node is not None:
        body = clean_body(text_to_paragraphs(text(node.get("articleBody")) or ""))
    if not body:
        return "an article without any text"
    index = page.structured.index
    stated = (plain(node.get("headline")) if node else None) or page.meta("og:title")
    headline = (
        _page_headline(page, stated)
        or stated
        or " ".join(str(getattr(document, "title", None) or "").split())
        or page.title
    )
    if not headline:
        return "an article without a headline"
    headline = strip_time_prefix(headline)
    notes: list[str] = []
    published, updated = _times(page, node, document, notes)
    if published is None:
        return "an article without a publication date (no datePublished, article:published_time)"
    authors = names(node.get("author"), index) if node else ()
    if not authors:
        authors = _meta_authors(page) or _split_authors(getattr(document, "author", None))
    publisher_name = publisher(node, index) if node else None
    source = page.outlet(publisher_name=publisher_name, override=outlet)
    # "BBC News" as the author of a BBC page is the outlet, not a byline the reader sees.
    outlets = {source.casefold(), (publisher_name or "").casefold()}
    authors = tuple(a for a in authors if a.casefold() not in outlets)
    coverage_key = page.canonical or page.url or headline
    coverage = Coverage(
        coverage_id=stable_id(coverage_key),
        title=headline,
        source=source,
        url=page.canonical,
        summary=text_to_paragraphs(page.meta("og:description", "description") or ""),
        started=published,
    )
    post = Post(
        post_id=stable_id(coverage.coverage_id, "article"),
        coverage_id=coverage.coverage_id,
        title=headline,
        body=_without_headline(body, headline),
        published=published,
        source=source,
        authors=authors,
        url=page.canonical,
        updated=updated,
    )
    notes.insert(0, "an article, read as one post")
    return Parsed(coverage=coverage, posts=[post], notes=[*page.structured.notes, *notes])


def _body(page: Page, extracted: str) -> tuple[str, ...]:
    """trafilatura's main text without the page's image captions and credit lines."""
    captions = {
        " ".join(c.split())
        for c in strings(page.root, "//figcaption//text()/parent::*")
        if c.strip()
    }
    captions |= {
        " ".join(e.text_content().split())
        for e in page.root.xpath("//figcaption | //*[contains(@class, 'caption')]")
        if hasattr(e, "text_content")
    }
    captions.discard("")
    paragraphs = clean_body(_rejoined(extracted.split("\n")))
    return tuple(p for p in paragraphs if p not in captions)


_CONTINUES = re.compile(r"^(?:[a-z]|['’]s\b|[,.;:!?)\]])")
_GLUED = re.compile(r"^(?:['’]s\b|[,.;:!?)\]])")
_ENDS = re.compile(r"[.!?\"”’')…]$")
_DATELINE = re.compile(r"^[A-Z][\w .,/'-]{0,40}:$")


def _rejoined(lines: list[str]) -> tuple[str, ...]:
    """trafilatura's lines with the pieces it split at inline links put back together
    ("NEW DELHI:", "Pakistan", "'s approach…" -> "NEW DELHI: Pakistan's approach…")."""
    joined: list[str] = []
    for raw in lines:
        line = " ".join(raw.split())
        if not line:
            continue
        if joined and (
            _DATELINE.match(joined[-1])
            or (not _ENDS.search(joined[-1]) and _CONTINUES.match(line))
            or (
                len(joined[-1].split()) <= 3 and not _ENDS.search(joined[-1]) and _GLUED.match(line)
            )
        ):
            glue = "" if _GLUED.match(line) else " "
            joined[-1] = f"{joined[-1]}{glue}{line}"
        else:
            joined.append(line)
    return tuple(joined)


def _times(
    page: Page, node: dict[str, Any] | None, document: Any, notes: list[str]
) -> tuple[Timestamp | None, Timestamp | None]:
    candidates = [
        text(node.get("datePublished")) if node else None,
        page.meta("article:published_time", "datePublished", "publish-date", "pubdate"),
        text(node.get("dateCreated")) if node else None,
        text(node.get("dateModified")) if node else None,
        page.meta("article:modified_time"),
        str(getattr(document, "date", None) or "") or None,
    ]
    published = None
    for candidate in candidates:
        if not candidate:
            continue
        try:
            published, naive = parse_iso_timestamp(candidate)
        except ValueError:
            continue
        if naive:
            notes.append(f"the article's time {candidate!r} has no UTC offset; read as UTC")
        break
    updated = None
    modified = (text(node.get("dateModified")) if node else None) or page.meta(
        "article:modified_time"
    )
    if modified and published is not None:
        try:
            updated, _ = parse_iso_timestamp(modified)
        except ValueError:
            updated = None
        if updated == published:
            updated = None
    return published, updated


_BOXES = frozenset({"div", "section", "aside", "ul"})
_NUMBER = re.compile(r"^[\d.,:%+-]*\d[\d.,:%+-]*$")


def _without_data_widgets(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """A copy of the page for trafilatura without what is no part of the text wherever it sits:
    captions, credit and byline lines, highlight and sharing boxes, promos (by class, in
    elements of up to 300 words), and boxes of figures (live case counts, scores, tickers:
    eight or more numbers making up a third of the box's words)."""
    copied = copy.deepcopy(root)
    # Comments inside a sentence (React's `<!-- -->`) would split it; their text stays.
    lxml.etree.strip_tags(copied, lxml.etree.Comment)
    for box in copied.xpath("//body//*"):
        if not isinstance(box, lxml.html.HtmlElement) or box.getparent() is None:
            continue
        if box.tag == "figcaption":
            box.drop_tree()
            continue
        words = box.text_content().split()
        if len(words) > 300 or box.tag in ("main", "article"):
            continue  # a container of the story itself, whatever its class says
        if _CHROME_CLASS.search(box.get("class") or ""):
            box.drop_tree()
            continue
        numbers = sum(1 for w in words if _NUMBER.match(w))
        if box.tag in _BOXES and numbers >= 8 and numbers * 3 >= len(words):
            box.drop_tree()
    return copied


def _page_headline(page: Page, stated: str | None) -> str | None:
    """The headline the reader sees: the page's one `<h1>`, when it is a version of the stated
    headline (structured data often carries a shorter search-engine one; a lone `<h1>` may
    also be a logo or a sign-up box)."""
    found = page.root.xpath("//body//h1")
    if not isinstance(found, list) or len(found) != 1:
        return None
    element = found[0]
    shown = " ".join(element.text_content().split()) if hasattr(element, "text_content") else ""
    if len(shown.split()) < 3:
        return None
    if stated is None:
        return shown
    shown_words = set(re.findall(r"\w+", shown.casefold()))
    stated_words = set(re.findall(r"\w+", stated.casefold()))
    shared = len(shown_words & stated_words)
    return shown if shared * 2 >= min(len(shown_words), len(stated_words)) else None


def _meta_authors(page: Page) -> tuple[str, ...]:
    found = [
        a
        for a in strings(page.root, "//meta[@name='author' or @property='article:author']/@content")
        if a.strip() and "://" not in a
    ]
    return tuple(dict.fromkeys(" ".join(a.split()) for a in found))


def _split_authors(raw: object) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(dict.fromkeys(a.strip() for a in str(raw).split(";") if a.strip()))


def _without_headline(body: tuple[str, ...], headline: str) -> tuple[str, ...]:
    if body and body[0].casefold() == headline.casefold():
        return body[1:]
    return body
