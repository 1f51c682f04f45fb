"""Telegram HTML rendering: escaped, well-formed for Telegram's subset, within its limits."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.message_size import MAX_CHARS, MAX_ENTITIES
from bot.core.reply import Block, Button, Reply, Span
from bot.telegram.render import render_messages

ALLOWED = {"b", "i", "code", "a"}


class TelegramSubset(HTMLParser):
    """Parses a message the way Telegram would, collecting visible text and entity count."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.entities = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED, tag
        if tag == "a":
            assert [name for name, _ in attrs] == ["href"]
        else:
            assert attrs == []
        self.stack.append(tag)
        self.entities += 1

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, f"misnested </{tag}>"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(message: str) -> TelegramSubset:
    parser = TelegramSubset()
    parser.feed(message)
    parser.close()
    assert parser.stack == [], "unclosed tags"
    return parser


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


spans = st.builds(
    Span,
    text=st.text(min_size=1, max_size=600),
    style=st.sampled_from(["plain", "bold", "mark", "italic", "code"]),
    link=st.one_of(st.none(), st.just("https://example.com/a?b=1&c=<2>"), st.just("javascript:x")),
)
blocks = st.builds(
    Block, spans=st.lists(spans, min_size=1, max_size=40).map(tuple), joined=st.booleans()
)


@settings(max_examples=150, deadline=None)
@given(st.lists(blocks, min_size=1, max_size=30))
def test_any_post_text_renders_to_well_formed_messages_within_limits(bs: list[Block]) -> None:
    reply = Reply(tuple(bs))
    messages = render_messages(reply)
    visible = []
    for message in messages:
        parsed = parse(message)
        text = "".join(parsed.text)
        assert utf16(text) <= MAX_CHARS
        assert parsed.entities <= MAX_ENTITIES
        assert message.strip()
        visible.append(text)
    # Nothing is lost: every non-blank character of the reply is shown, in order.
    original = "".join(c for b in bs for s in b.spans for c in s.text if not c.isspace())
    shown = "".join(c for t in visible for c in t if not c.isspace())
    assert shown == original or original == ""


def test_coverage_text_is_escaped() -> None:
    reply = Reply((Block.of(Span("<script>&amp; 5 > 3", "bold")),))
    (message,) = render_messages(reply)
    assert message == "<b>&lt;script&gt;&amp;amp; 5 &gt; 3</b>"


def test_only_web_links_become_anchors() -> None:
    reply = Reply(
        (
            Block.of(
                Span("ok", link="https://cnn.com/x?a=1&b=2"),
                Span("bad", link="javascript:alert(1)"),
            ),
        )
    )
    (message,) = render_messages(reply)
    assert message == '<a href="https://cnn.com/x?a=1&amp;b=2">ok</a>bad'


def test_a_long_reply_splits_between_hits_not_inside_them() -> None:
    hit = [
        Block.of(Span("Title", "bold")),
        Block.of("2 May 2023 · CNN", joined=True),
        Block.of("x " * 700, joined=True),
    ]
    reply = Reply(tuple(hit * 6))
    messages = render_messages(reply)
    assert len(messages) > 1
    for message in messages:
        assert message.startswith("<b>Title</b>")


def test_more_than_100_entities_are_split_across_messages() -> None:
    reply = Reply(tuple(Block.of(Span("w", "bold")) for _ in range(250)))
    messages = render_messages(reply)
    assert len(messages) == 3
    assert all(parse(m).entities <= MAX_ENTITIES for m in messages)


def test_buttons_do_not_change_the_text() -> None:
    reply = Reply((Block.of("hi"),), buttons=(Button("▶", "s:abc:2"),))
    assert render_messages(reply) == ["hi"]
