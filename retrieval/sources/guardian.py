"""The Guardian's live blogs (theguardian.com/…/live/…).

The Guardian's JSON-LD gives every `liveBlogUpdate` the blog's own headline, time and whole
byline list, and a body cut at 1,000 characters; its `@id` is the block's id without the
`block-` the page's element carries. The page shows each update whole as
`<article id="block-ID" class="block …">`:

- a `<header>` with the time (`<time datetime>`, in UTC), a "12.50 BST" label, the
  contributor's avatar and name (a `<span>` outside the time link), and the update's `<h2>`
  headline when it has one;
- the text (paragraphs, quotes, embedded tweets), image figures with their captions and video
  embeds whose only text is the player's title;
- a `<footer>` with share links and "Updated at …" (and, in older layouts, the byline).

The class names are generated (`dcr-1r02hz5`) and change between deployments, so this reads the
structure, not the classes.
"""

from __future__ import annotations

import lxml.html

from retrieval.sources.blocks import Block, authors_of, aware_time, clean_body, drop, text_of
from retrieval.sources.html_text import element_paragraphs

# Embeds whose visible text is a player's chrome (title, duration), not the update's text.
_MEDIA_EMBEDS = ("Youtube", "Video", "Audio", "MediaAtom")


def entries(root: lxml.html.HtmlElement) -> list[Block]:
    """Every Guardian live-blog block of the page, in page order; empty for other layouts."""
    found = root.xpath(
        "//article[starts-with(@id, 'block-')][contains(concat(' ', @class, ' '), ' block ')]"
        "[header]"
    )
    return [_block(e) for e in found if isinstance(e, lxml.html.HtmlElement)]


def _block(element: lxml.html.HtmlElement) -> Block:
    header = element.find("header")
    assert header is not None  # the XPath asks for it
    headline = text_of(header.find(".//h2"))
    published = None
    for value in header.xpath(".//time/@datetime"):
        published = aware_time(str(value))
        if published is not None:
            break
    authors: list[str] = []
    for span in header.xpath(".//span[not(ancestor::a)][not(ancestor::h2)]"):
        name = text_of(span) if isinstance(span, lxml.html.HtmlElement) else None
        if name and name not in authors:
            authors.append(name)
    if not authors:  # a byline elsewhere in the block (older layouts put it in the footer)
        authors = list(authors_of(element))
    text = _detached(element)
    for chrome in text.xpath("./header | ./footer | .//figcaption"):
        drop(chrome)
    for figure in text.xpath(".//figure[@data-spacefinder-type]"):
        kind = figure.get("data-spacefinder-type") or ""
        if any(name in kind for name in _MEDIA_EMBEDS):
            drop(figure)
    return Block(
        anchor=element.get("id"),
        headline=headline,
        published=published,
        authors=tuple(authors),
        body=clean_body(element_paragraphs(text)),
    )


def _detached(element: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    copied = lxml.html.fragment_fromstring(
        lxml.html.tostring(element, encoding="unicode", with_tail=False)
    )
    return copied if isinstance(copied, lxml.html.HtmlElement) else element
