"""Reach plc live events (The Mirror, Express, Cork Beo and the group's other titles).

Reach's JSON-LD gives every update the blog's whole byline list and cuts bodies at about 150
characters; the page shows each update whole. Two layouts are in use:

- `div.live-event-entry#ID` (Mirror, Cork Beo…): `.entry-info` holds the time and, in a
  `<mark>`, the writer, or a label such as "KEY EVENT" that is no name; `data-post-time` is
  the publication time in milliseconds; `.entry-content` starts with the `<h3>` headline.
- `div.live-events__entry#ID` (Express): `a.live-events__entry-author`, `h3.live-events__entry-head`
  and `.live-events__entry-text`; its `<time data-time>` has no offset, so the time is left to
  the JSON-LD, which has one.

"Read more: …" promo paragraphs and image credits are left out of bodies.
"""

from __future__ import annotations

import lxml.html

from retrieval.sources.blocks import Block, clean_body, drop, epoch_millis, text_of
from retrieval.sources.html_text import element_paragraphs

_NOT_AUTHORS = frozenset({"key event", "pinned post", "pinned", "breaking"})


def entries(root: lxml.html.HtmlElement) -> list[Block]:
    """Every Reach live-event entry of the page, in page order; empty for other layouts."""
    found = [
        _mirror_entry(e)
        for e in root.xpath("//div[contains(concat(' ', @class, ' '), ' live-event-entry ')]")
        if isinstance(e, lxml.html.HtmlElement)
    ]
    found += [
        _express_entry(e)
        for e in root.xpath("//div[contains(concat(' ', @class, ' '), ' live-events__entry ')]")
        if isinstance(e, lxml.html.HtmlElement)
    ]
    return found


def _mirror_entry(entry: lxml.html.HtmlElement) -> Block:
    mark = entry.find(".//*[@class='entry-info']/mark")
    writer = text_of(mark)
    content = entry.find(".//*[@class='entry-content']")
    headline = None
    if content is not None:
        content = _detached(content)
        head = content.find(".//h3")
        headline = text_of(head)
        drop(head)
        for chrome in content.xpath(".//figcaption | .//*[contains(@class, 'credit')]"):
            drop(chrome)
    return Block(
        anchor=entry.get("id"),
        headline=headline,
        published=epoch_millis(entry.get("data-post-time")),
        authors=(writer,) if writer and writer.casefold() not in _NOT_AUTHORS else (),
        body=clean_body(element_paragraphs(content)) if content is not None else (),
    )


def _express_entry(entry: lxml.html.HtmlElement) -> Block:
    writer = text_of(entry.find(".//a[@class='live-events__entry-author']"))
    text = entry.find(".//*[@class='live-events__entry-text']")
    return Block(
        anchor=entry.get("id"),
        headline=text_of(entry.find(".//*[@class='live-events__entry-head']")),
        published=None,
        authors=(writer,) if writer else (),
        body=clean_body(element_paragraphs(text)) if text is not None else (),
    )


def _detached(element: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """A copy to strip headline and credits from without touching the page."""
    copied = lxml.html.fragment_fromstring(
        lxml.html.tostring(element, encoding="unicode", with_tail=False)
    )
    return copied if isinstance(copied, lxml.html.HtmlElement) else element
