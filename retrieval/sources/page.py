"""One HTML page read once: its tree, structured data, canonical URL, title and outlet name.

Live-blog and article importers ask the same questions of a page; reading it here once keeps
their answers consistent (one canonical URL, so a page imported from a file and from its URL
is the same coverage; one outlet name).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.etree
import lxml.html

from retrieval.sources import SourceError
from retrieval.sources.outlet import outlet_name
from retrieval.sources.structured import Structured, publisher, read_structured


@dataclass
class Page:
    """A parsed page. `base` resolves relative links; `canonical` is the page's own URL."""

    html: str
    root: lxml.html.HtmlElement
    url: str | None
    base: str | None
    canonical: str | None
    title: str | None
    site_name: str | None
    structured: Structured

    @cached_property
    def anchors(self) -> dict[str, lxml.html.HtmlElement]:
        """The page's fragment targets by id (see `blocks.anchor_targets`)."""
        from retrieval.sources.blocks import anchor_targets

        return anchor_targets(self.root)

    def outlet(self, *, publisher_name: str | None = None, override: str | None = None) -> str:
        """The outlet's name a reader recognises (see `retrieval.sources.outlet`)."""
        if override:
            return override
        found = outlet_name(
            [self.site_name, publisher_name, self._application_name()],
            url=self.canonical or self.url,
            page_title=self.title,
        )
        return found or "unknown source"

    def meta(self, *names: str) -> str | None:
        """The first non-empty `<meta property|name=… content>` among `names`."""
        for name in names:
            found = first(
                strings(self.root, f"//meta[@property='{name}' or @name='{name}']/@content")
            )
            if found:
                return found
        return None

    def _application_name(self) -> str | None:
        return self.meta("application-name", "publisher", "twitter:site")


def read_page(html: str, url: str | None) -> Page:
    """Parse `html`; `url` is where it was fetched from (None for a file)."""
    try:
        root = lxml.html.document_fromstring(
            html.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8")
        )
    except (lxml.etree.ParserError, ValueError) as exc:
        raise SourceError(f"{url or 'the page'} is not readable HTML: {exc}") from None
    base = url
    base_href = first(strings(root, "//base/@href"))
    if base_href:
        base = urljoin(url or "", base_href) or base
    structured = read_structured(root, html, base)
    page = Page(
        html=html,
        root=root,
        url=url,
        base=base,
        canonical=None,
        title=first(strings(root, "//meta[@property='og:title']/@content"))
        or first(strings(root, "//title/text()")),
        site_name=first(strings(root, "//meta[@property='og:site_name']/@content")),
        structured=structured,
    )
    page.canonical = _canonical(page)
    if page.base is None:
        page.base = page.canonical
    return page


def _canonical(page: Page) -> str | None:
    """`<link rel=canonical>`, else `og:url`, else the URL the page was fetched from."""
    for ref in (
        first(strings(page.root, "//link[@rel='canonical']/@href")),
        page.meta("og:url"),
    ):
        if ref:
            found = absolute(ref, page.base)
            if found:
                return urldefrag(found).url
    return urldefrag(page.url).url if page.url else None


def blog_publisher(page: Page, node: dict[str, object]) -> str | None:
    return publisher(node, page.structured.index)


def absolute(ref: str, base: str | None) -> str | None:
    """`ref` resolved against the page; a relative link without a page URL is no usable link."""
    resolved = urljoin(base, ref) if base else ref
    parts = urlsplit(resolved)
    return resolved if parts.scheme in ("http", "https") and parts.netloc else None


def strings(root: lxml.html.HtmlElement, path: str) -> list[str]:
    found = root.xpath(path)
    return [str(value) for value in found] if isinstance(found, list) else []


def first(values: list[str]) -> str | None:
    for value in values:
        found = " ".join(str(value).split())
        if found:
            return found
    return None
