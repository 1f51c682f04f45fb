"""`Reply` → Telegram HTML messages: escaped, within 4,096 characters and 100 entities each.

Telegram measures a message after parsing, in UTF-16 code units, and refuses more than 100
formatting entities. A reply is split between hits first, then between paragraphs, and only
a paragraph that alone is too long is cut, at a space.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from bot.core.message_size import (
    MAX_CHARS,
    MAX_ENTITIES,
    SAFE_LINK_SCHEMES,
    entity_count,
    text_length,
)
from bot.core.reply import Block, Reply, Span

_TAGS = {"bold": "b", "mark": "b", "italic": "i", "code": "code"}


def render_messages(reply: Reply) -> list[str]:
    """The reply as one or more HTML messages, in order; never an empty one."""
    messages: list[list[Span]] = []
    current: list[Span] = []
    for unit in _units(reply.blocks):
        candidate = [*current, Span("\n\n"), *unit] if current else unit
        if _fits(candidate):
            current = candidate
            continue
        if current:
            messages.append(current)
            current = []
        if _fits(unit):
            current = unit
        else:
            pieces = _split(unit)
            messages.extend(pieces[:-1])
            current = pieces[-1]
    if current:
        messages.append(current)
    rendered = [to_html(spans).strip() for spans in messages]
    return [m for m in rendered if m] or ["…"]


def to_html(spans: Iterable[Span]) -> str:
    """Spans as Telegram HTML, every piece of text escaped."""
    out = []
    for span in spans:
        text = html.escape(span.text, quote=False)
        if not span.text.strip():  # formatting blank text would only spend entities
            out.append(text)
            continue
        tag = _TAGS.get(span.style)
        if tag:
            text = f"<{tag}>{text}</{tag}>"
        if span.link and span.link.startswith(SAFE_LINK_SCHEMES):
            text = f'<a href="{html.escape(span.link, quote=True)}">{text}</a>'
        out.append(text)
    return "".join(out)


def _fits(spans: list[Span]) -> bool:
    return text_length(spans) <= MAX_CHARS and entity_count(spans) <= MAX_ENTITIES


def _units(blocks: tuple[Block, ...]) -> list[list[Span]]:
    """Groups of blocks kept together (a hit's title, attribution and quote)."""
    units: list[list[Span]] = []
    for block in blocks:
        if block.joined and units:
            units[-1] = [*units[-1], Span("\n"), *block.spans]
        else:
            units.append(list(block.spans))
    return units


def _split(spans: list[Span]) -> list[list[Span]]:
    """Cut a too-long run of spans into messages, at line breaks if possible, else at spaces."""
    pieces: list[list[Span]] = []
    current: list[Span] = []
    for span in spans:
        for part in _split_span(span):
            if current and not _fits([*current, part]):
                pieces.append(current)
                current = []
            current.append(part)
    if current:
        pieces.append(current)
    return pieces


def _split_span(span: Span) -> list[Span]:
    """A span short enough to fit a message on its own (cut at a space, or hard if it has none)."""
    limit = MAX_CHARS // 2  # UTF-16 may count each character twice
    text, parts = span.text, []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        cut = cut if cut > limit // 2 else limit
        parts.append(Span(text[:cut], span.style, span.link))
        text = text[cut:]
    parts.append(Span(text, span.style, span.link))
    return parts
