"""Text of HTML fragments and ISO 8601 times: the helpers every importer shares.

A reader sees paragraphs, not markup, and a time is only as precise as its source says, so
these helpers keep both honest: block elements split paragraphs, hidden elements vanish, and a
date alone stays a date.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, date, datetime

import lxml.etree
import lxml.html

from retrieval.models import Timestamp

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
    return element_paragraphs(root)


def element_paragraphs(root: lxml.html.HtmlElement) -> tuple[str, ...]:
    """The paragraphs a reader sees inside one element of a parsed page (its tail excluded)."""
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
