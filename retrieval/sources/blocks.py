"""Live-blog updates as the page shows them: one `Block` per update element of the HTML.

Structured data often repeats the blog's headline, time or byline for every update and cuts
bodies short, while the page shows each update whole in its own element, usually with an `id`
that its permalink points to. This module reads such elements generically: by the id a
permalink names, or as the page's repeated elements that each carry a time. Layouts generic
rules cannot read have adapters (`reach`, `guardian`) that return the same `Block`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.etree
import lxml.html

from retrieval.models import Timestamp
from retrieval.sources.html_text import element_paragraphs, parse_iso_timestamp


@dataclass(frozen=True)
class Block:
    """One update as the page shows it. `anchor` is the element's id (the permalink fragment)."""

    anchor: str | None
    headline: str | None
    published: Timestamp | None
    authors: tuple[str, ...]
    body: tuple[str, ...]


_HEADINGS = ("h2", "h3", "h4")
# Class or id words of elements inside an update that are no part of its text.
_CHROME = re.compile(
    r"(?:^|[\s_-])(?:caption|credit|share|sharing|social|advert|ad-slot|ad-container|related|"
    r"newsletter|promo|byline|author|contributor|timestamp|dateline|entry-info|toolbar|"
    r"button|tags|reactions|comments?|inline-article|teaser)(?:$|[\s_-])",
    re.I,
)
_TEASER = re.compile(r"(?:^|[\s_-])(?:inline-article|teaser|related|promo)(?:$|[\s_-])", re.I)
_BYLINE = re.compile(r"(?:^|[\s_-])(?:byline|author|contributor)(?:$|[\s_-])", re.I)
_PROMO = re.compile(
    r"^(?:read more|read next|more:|related:|see also|watch:|listen:|sign up|subscribe|"
    r"click here|don't miss|we use your sign-up|our standards:)",
    re.I,
)
# Whole paragraphs that are page furniture wherever they appear.
_FURNITURE = frozenset(
    {"advertisement", "supported by", "skip advertisement", "highlights", "story continues below"}
)
# "… extinguishers. Read more: Inside Rotherham hotel…": a promo run into the paragraph's end.
_TRAILING_PROMO = re.compile(r"(?<=[.!?\"”’])\s+(?:read more|read next|more:|watch:)\b.*$", re.I)
# Credit lines of the story itself, not its text.
_CREDIT_LINE = re.compile(
    r"^(?:(?:additional )?reporting by|writing by|editing by|compiled by)\b"
    r"|contributed (?:to )?this report\.?$"
    r"|(?:edited|written) by\b.*\bupdated:",
    re.I,
)
# An embed's address shown as text until the publisher's script replaces it with the embed.
_BARE_URL = re.compile(r"https?://\S+")
# CMS codes left in text: la Repubblica's `[[ge:rep-locali:…]]` and `[[(gele.Finegil.…) …]]`.
_CMS_CODE = re.compile(r"\[\[(?:[a-z]+:|\([a-z.]+[^)]*\))[^\]]*\]\]", re.I)
# A time shown as a label beside the machine-readable one ("19:02 (IST), Oct 02", "12.50 BST",
# "20:51 (IST)"): the post's time, not its text.
_TIME_LABEL = re.compile(
    r"\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?\s*"
    r"(?:\(?(?:IST|GMT|BST|CET|CEST|UTC|ET|EST|EDT|PT|PST|PDT|AEST|AEDT)\)?)?"
    r"(?:,?\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}|\d{1,2}\s+[A-Z][a-z]{2,8}\.?)(?:,?\s+\d{4})?)?",
    re.I,
)
# Characters no reader sees (zero-width spaces and joiners, byte-order marks).
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_NOT_AUTHORS = frozenset({"key event", "pinned", "breaking", "live", "update"})


def anchor_targets(root: lxml.html.HtmlElement) -> dict[str, lxml.html.HtmlElement]:
    """Every element a URL fragment can point to, by its id (or an `<a name>`): read once per
    page, since a blog of hundreds of updates asks for each."""
    targets: dict[str, lxml.html.HtmlElement] = {}
    for element in root.iter():
        if not isinstance(element, lxml.html.HtmlElement):
            continue
        for key in (element.get("id"), element.get("name") if element.tag == "a" else None):
            if key and key not in targets:
                targets[key] = element
    return targets


def element_by_anchor(
    targets: dict[str, lxml.html.HtmlElement], anchor: str
) -> lxml.html.HtmlElement | None:
    """The update element a permalink fragment points to: the element with that id or name.

    An empty anchor target (`<a id="x"></a>` before the update) stands for the element that
    holds it, so the climb stops at the first ancestor with text of its own.
    """
    element = targets.get(anchor)
    if element is None:
        return None
    while len(" ".join(element.text_content().split())) < 40:
        parent = element.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        element = parent
    return element


def repeated_updates(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """The page's updates when nothing names them: microdata `liveBlogUpdate` elements, else the
    largest group of three or more sibling elements of one tag and class (or none, as the Times
    of India's) that each hold a `<time>`."""
    marked = root.xpath(
        "//*[@itemprop and contains(concat(' ', @itemprop, ' '), ' liveBlogUpdate ')]"
    )
    if isinstance(marked, list) and marked:
        return [e for e in marked if isinstance(e, lxml.html.HtmlElement)]
    best: list[lxml.html.HtmlElement] = []
    for parent in root.iter():
        if not isinstance(parent, lxml.html.HtmlElement):
            continue
        groups: Counter[tuple[str, str]] = Counter()
        children = [c for c in parent if isinstance(c, lxml.html.HtmlElement)]
        for child in children:
            if child.find(".//time") is not None:
                groups[(child.tag, child.get("class") or "")] += 1
        if not groups:
            continue
        (tag, cls), count = groups.most_common(1)[0]
        if count >= 3 and count > len(best):
            best = [c for c in children if c.tag == tag and (c.get("class") or "") == cls]
    return best


def read_block(element: lxml.html.HtmlElement, *, anchor: str | None = None) -> Block:
    """Headline, time, authors and text of one update element, chrome left out.

    Its anchor is the element's id, else that of an anchor target at its start, else that of
    the element around it that holds nothing else (NDTV's `<li id="79_parent">`)."""
    outer = _outer_anchor(element)
    element = _copy(element)
    headline = _headline(element)
    published = _time(element)
    authors = authors_of(element)
    _drop_chrome(element)
    if anchor is None:
        anchor = element.get("id") or _inner_anchor(element) or outer
    body = clean_body(element_paragraphs(element))
    if headline and body and body[0] == headline:
        # Stated once in markup (`itemprop="headline" content=…`) and shown again as text.
        body = body[1:]
    return Block(anchor=anchor, headline=headline, published=published, authors=authors, body=body)


def clean_body(paragraphs: tuple[str, ...]) -> tuple[str, ...]:
    """Paragraphs without promos ("Read more: …"), image credits, CMS codes (`[[ge:…]]`), time
    labels ("19:02 (IST)") or invisible characters."""
    kept: list[str] = []
    for paragraph in paragraphs:
        paragraph = " ".join(_CMS_CODE.sub("", paragraph).translate(_INVISIBLE).split())
        paragraph = _TRAILING_PROMO.sub("", paragraph)
        if (
            not paragraph
            or _TIME_LABEL.fullmatch(paragraph)
            or _PROMO.match(paragraph)
            or _is_credit(paragraph)
            or paragraph.casefold() in _FURNITURE
            or _BARE_URL.fullmatch(paragraph)
            or not any(ch.isalnum() for ch in paragraph)
        ):
            continue
        kept.append(paragraph)
    return tuple(kept)


def epoch_millis(value: str | None) -> Timestamp | None:
    """A `data-…-time` attribute in milliseconds since 1970 as a UTC time."""
    if not value or not value.strip().isdigit():
        return None
    return Timestamp.of_time(datetime.fromtimestamp(int(value) / 1000, tz=UTC))


def aware_time(value: str | None) -> Timestamp | None:
    """An ISO 8601 time with its offset; a time without one is no usable per-update time."""
    if not value:
        return None
    try:
        stamp, naive = parse_iso_timestamp(value)
    except ValueError:
        return None
    return None if naive or stamp.precision != "time" else stamp


def text_of(element: lxml.html.HtmlElement | None) -> str | None:
    if element is None:
        return None
    found = " ".join(element.text_content().split())
    return found or None


def drop(element: lxml.html.HtmlElement | None) -> None:
    """Remove an element but keep its tail text in place."""
    if element is not None and element.getparent() is not None:
        element.drop_tree()


def _inner_anchor(element: lxml.html.HtmlElement) -> str | None:
    """The id or name of an anchor target at the start of an update (`<a name="p3"></a>`)."""
    found = element.xpath("(.//a[@name] | .//a[@id] | .//*[@id])[1]")
    if isinstance(found, list) and found and isinstance(found[0], lxml.html.HtmlElement):
        value = found[0].get("id") or found[0].get("name")
        return str(value) if value else None
    return None


def _outer_anchor(element: lxml.html.HtmlElement) -> str | None:
    """The id of the nearest enclosing element (at most three levels up) whose text is the
    update's own: a wrapper that holds nothing but this update."""
    own = len(" ".join(element.text_content().split()))
    for parent in list(element.iterancestors())[:3]:
        if parent.tag in ("body", "html"):
            return None
        if len(" ".join(parent.text_content().split())) > own + 80:
            return None
        if parent.get("id"):
            return str(parent.get("id"))
    return None


def _copy(element: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    copied = lxml.html.fromstring(lxml.etree.tostring(element, encoding="unicode", with_tail=False))
    return copied if isinstance(copied, lxml.html.HtmlElement) else element


def _headline(element: lxml.html.HtmlElement) -> str | None:
    marked = element.xpath(".//*[@itemprop='headline']")
    if isinstance(marked, list) and marked and isinstance(marked[0], lxml.html.HtmlElement):
        head = marked[0]
        value = head.get("content") or text_of(head)
        drop(head)
        return " ".join(value.split()) if value else None
    for tag in _HEADINGS:
        head = element.find(f".//{tag}")
        if head is not None:
            value = text_of(head)
            drop(head)
            return value
    return None


def _time(element: lxml.html.HtmlElement) -> Timestamp | None:
    for path in (
        ".//*[@itemprop='datePublished']/@content",
        ".//*[@itemprop='datePublished']/@datetime",
        ".//time/@datetime",
    ):
        found = element.xpath(path)
        for value in found if isinstance(found, list) else []:
            stamp = aware_time(str(value))
            if stamp is not None:
                return stamp
    return None


def authors_of(element: lxml.html.HtmlElement) -> tuple[str, ...]:
    """The writers an update element names: microdata `author`, `rel=author`, else elements
    whose class or id says byline, author or contributor."""
    found: list[str] = []
    candidates = element.xpath(
        ".//*[@itemprop='author']//*[@itemprop='name']"
        " | .//*[@itemprop='author'][not(.//*[@itemprop='name'])]"
        " | .//*[@rel='author']"
    )
    if not isinstance(candidates, list) or not candidates:
        candidates = [
            e
            for e in element.iter()
            if isinstance(e, lxml.html.HtmlElement)
            and _BYLINE.search(f"{e.get('class') or ''} {e.get('id') or ''}")
            and not len(e)
        ]
    for candidate in candidates:
        if not isinstance(candidate, lxml.html.HtmlElement) or _in_teaser(candidate, element):
            continue
        name = candidate.get("content") or text_of(candidate)
        name = re.sub(r"^by\s+", "", name or "", flags=re.I).strip(" ,")
        if name and len(name) <= 60 and name.casefold() not in _NOT_AUTHORS and name not in found:
            found.append(name)
    return tuple(found)


def _in_teaser(candidate: lxml.html.HtmlElement, update: lxml.html.HtmlElement) -> bool:
    """Whether `candidate` is inside another story's card within the update (la Repubblica's
    `inline-article`, whose "di Sami al-Ajrami" is that story's byline)."""
    for ancestor in candidate.iterancestors():
        if ancestor is update:
            return False
        if _TEASER.search(ancestor.get("class") or ""):
            return True
    return False


def _drop_chrome(element: lxml.html.HtmlElement) -> None:
    for inner in list(element.iter()):
        if not isinstance(inner, lxml.html.HtmlElement) or inner is element:
            continue
        if inner.tag in (
            "figcaption",
            "time",
            "button",
            "script",
            "style",
            "noscript",
            "nav",
        ) or _CHROME.search(f"{inner.get('class') or ''} {inner.get('id') or ''}"):
            drop(inner)
        elif inner.tag == "a" and (inner.get("href") or "").lower().startswith("javascript:"):
            drop(inner)  # a control (share, expand), not a link to read
        elif inner.get("itemprop") in ("datePublished", "dateModified", "author"):
            drop(inner)  # the update's time and byline, already read


def _is_credit(paragraph: str) -> bool:
    if _CREDIT_LINE.search(paragraph) and len(paragraph) < 400:
        return True
    return bool(re.fullmatch(r"\(?(?:image|photo|picture|credit)s?:[^)]{0,80}\)?", paragraph, re.I))
