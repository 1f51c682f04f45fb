"""How big a message is, as Telegram counts it: the budget a digest is fitted into.

Telegram measures a message after parsing, in UTF-16 code units, and refuses more than 100
formatting entities. The core fits digests into that budget before any renderer sees them, so
the measures live here; `bot.telegram.render` splits other replies by the same ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.reply import Span

MAX_CHARS = 4096
MAX_ENTITIES = 100
FORMATTED_STYLES = frozenset({"bold", "mark", "italic", "code"})
SAFE_LINK_SCHEMES = ("http://", "https://", "tg://")


def text_length(spans: Iterable[Span]) -> int:
    """Length as Telegram counts it: UTF-16 code units of the visible text."""
    return sum(len(span.text.encode("utf-16-le")) // 2 for span in spans)


def entity_count(spans: Iterable[Span]) -> int:
    """Formatting entities the spans become: one per styled run, one per link."""
    return sum(
        (span.style in FORMATTED_STYLES)
        + bool(span.link and span.link.startswith(SAFE_LINK_SCHEMES))
        for span in spans
        if span.text.strip()
    )
