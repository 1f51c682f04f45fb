"""What the answer core says, as plain data: renderers turn it into Telegram HTML or terminal text.

Nothing here knows Telegram; a Slack adapter or a web page could render the same `Reply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Style = Literal["plain", "bold", "mark", "italic", "code"]
Kind = Literal["answer", "empty", "invalid", "info"]


@dataclass(frozen=True)
class Span:
    """A run of text with one style; `link` makes it a hyperlink."""

    text: str
    style: Style = "plain"
    link: str | None = None


@dataclass(frozen=True)
class Block:
    """A paragraph. Renderers may split a long reply between blocks, never inside one.

    `joined` ties a block to the one before (a hit's title, attribution and quote): it goes
    on the next line rather than after a blank one, and is kept in the same message.
    """

    spans: tuple[Span, ...]
    joined: bool = False

    @classmethod
    def of(cls, *parts: Span | str, joined: bool = False) -> Block:
        return cls(tuple(Span(p) if isinstance(p, str) else p for p in parts), joined)

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


@dataclass(frozen=True)
class Button:
    """An inline button; `cursor` is opaque to renderers and comes back when pressed.

    `row`: buttons with the same row sit side by side (◀ ▶), others one under the other.
    `switch_inline`: instead of a cursor, open inline mode in a chat the user picks with this
    query typed (Telegram's switch_inline_query; surfaces without inline mode skip it).
    """

    label: str
    cursor: str
    row: int = 0
    switch_inline: str | None = None


@dataclass(frozen=True)
class ResultItem:
    """One hit as machine-readable data (the CLI's --json shape)."""

    post_id: str
    title: str
    excerpt: str
    published_at: str
    source: str
    authors: tuple[str, ...]
    url: str | None
    score: float | None

    def as_json(self) -> dict[str, object]:
        return {
            "post_id": self.post_id,
            "title": self.title,
            "excerpt": self.excerpt,
            "published_at": self.published_at,
            "source": self.source,
            "authors": list(self.authors),
            "url": self.url,
            "score": self.score,
        }


@dataclass(frozen=True)
class Reply:
    """A complete answer: blocks to show, buttons, and the same hits as data.

    `kind` tells callers how it went: "invalid" input (CLI exit 2), "empty" (honest
    nothing-found, still a success), "answer" or "info".
    """

    blocks: tuple[Block, ...]
    kind: Kind = "answer"
    query: str | None = None
    message: str | None = None
    results: tuple[ResultItem, ...] = ()
    buttons: tuple[Button, ...] = ()
    asks: bool = False  # a question to the user: their next message answers it (ForceReply)

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)

    def as_json(self) -> dict[str, object]:
        return {
            "query": self.query,
            "message": self.message,
            "results": [item.as_json() for item in self.results],
        }


def info(*parts: Block | str) -> Reply:
    """A reply that tells something (no hits): each part a paragraph."""
    return Reply(tuple(p if isinstance(p, Block) else Block.of(p) for p in parts), kind="info")


def invalid(message: str, *more: Block) -> Reply:
    """A refusal of what the user asked, saying what to do instead (CLI exit 2)."""
    return Reply((Block.of(message), *more), kind="invalid", message=message)
