"""Telegram channel posts as coverage, and the registry of channels the bot reads.

Many newsrooms run a live blog as a Telegram channel: each channel post is an update. The
adapter hands the message's fields over as plain values (no `telegram` types here), and this
module turns them into the one shape every source produces. One channel is one coverage; a
post's id comes from (channel id, message id), so an edited post replaces its old version.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

from retrieval.models import Coverage, Post, Timestamp, stable_id
from retrieval.sources import Parsed, SourceError
from retrieval.storage.schema import migrate
from retrieval.text import sentences

TITLE_MAX = 120

_USERNAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")
_CHAT_ID = re.compile(r"^-?\d{1,20}$")
_BLANK_LINE = re.compile(r"\n[ \t\f\v\r\u00a0]*\n")


def channel_coverage_id(channel_id: int) -> str:
    """The coverage id of a channel: stable across renames and username changes."""
    return stable_id("telegram-channel", str(channel_id))


def channel_post_id(channel_id: int, message_id: int) -> str:
    """The post id of a channel message: an edit of the message keeps it."""
    return stable_id(channel_coverage_id(channel_id), "message", str(message_id))


def channel_post_to_parsed(
    channel_id: int,
    channel_title: str,
    channel_username: str | None,
    message_id: int,
    text: str,
    date: datetime,
    author_signature: str | None,
    edit_date: datetime | None,
) -> Parsed:
    """One channel post (its text or caption) as a one-post coverage of the channel.

    Raises `SourceError` when there is no text to keep (a photo without a caption).
    """
    body = paragraphs(text)
    if not body:
        raise SourceError(f"post {message_id} of {channel_title or channel_id} has no text")
    username = _bare_username(channel_username)
    source = channel_title.strip() or (f"@{username}" if username else f"channel {channel_id}")
    coverage = Coverage(
        coverage_id=channel_coverage_id(channel_id),
        title=source,
        source=source,
        url=f"https://t.me/{username}" if username else None,
    )
    title = post_title(body)
    if len(body) > 1 and body[0] == title:
        body = body[1:]  # a headline line is the title, not the first paragraph as well
    author = (author_signature or "").strip()
    post = Post(
        post_id=channel_post_id(channel_id, message_id),
        coverage_id=coverage.coverage_id,
        title=title,
        body=body,
        published=Timestamp.of_time(_aware_utc(date)),
        source=source,
        authors=(author,) if author else (),
        url=f"https://t.me/{username}/{message_id}" if username else None,
        updated=Timestamp.of_time(_aware_utc(edit_date)) if edit_date else None,
        extra={"telegram_chat_id": str(channel_id), "telegram_message_id": str(message_id)},
    )
    return Parsed(coverage, [post])


def paragraphs(text: str) -> tuple[str, ...]:
    """Paragraphs of a post: split on blank lines, or on every line when there are none.

    Channel posts often break paragraphs with a single newline; when blank lines are used,
    single newlines are only wrapping.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    chunks = _BLANK_LINE.split(text) if _BLANK_LINE.search(text) else text.split("\n")
    return tuple(p for p in (" ".join(chunk.split()) for chunk in chunks) if p)


def post_title(body: tuple[str, ...]) -> str:
    """The first line, or its first sentence when it has several, cut to `TITLE_MAX` characters."""
    if not body:
        return ""
    first = body[0]
    found = sentences(first)
    if len(found) > 1:
        first = found[0]
    if len(first) <= TITLE_MAX:
        return first
    cut = first[: TITLE_MAX - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-–—") + "…"


def _aware_utc(moment: datetime) -> datetime:
    """Telegram dates are UTC; a naive one (a test, an old library) is read as UTC too."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _bare_username(username: str | None) -> str | None:
    name = (username or "").strip().lstrip("@")
    return name or None


# -- which channels are followed ------------------------------------------------------------


@dataclass(frozen=True)
class ChannelRef:
    """A channel as configured (`LIVEBLOG_CHANNELS`): a numeric chat id or a @username."""

    chat_id: int | None = None
    username: str | None = None

    def matches(self, chat_id: int, username: str | None) -> bool:
        """Whether a chat is this channel (usernames compare case-insensitively)."""
        if self.chat_id is not None:
            return self.chat_id == chat_id
        bare = _bare_username(username)
        return bare is not None and self.username is not None and bare.lower() == self.username

    def __str__(self) -> str:
        return f"@{self.username}" if self.username else str(self.chat_id)


def parse_channel_list(value: str) -> list[ChannelRef]:
    """ "@kyivindependent, -1001234567890" → refs; raises `SourceError` naming a bad entry.

    Settings validators should turn the `SourceError` into a ValueError for pydantic.
    """
    refs: list[ChannelRef] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if _CHAT_ID.match(part):
            ref = ChannelRef(chat_id=int(part))
        else:
            match = _USERNAME.match(part)
            if match is None:
                raise SourceError(
                    f"“{part[:40]}” is not a channel; use @username or a numeric chat id "
                    "such as -1001234567890"
                )
            ref = ChannelRef(username=match.group(1).lower())
        if ref not in refs:
            refs.append(ref)
    return refs


@dataclass(frozen=True)
class Channel:
    """A channel whose posts are imported as coverage."""

    chat_id: int
    title: str
    username: str | None
    added: datetime


class Channels:
    """The `channels` table, kept in the coverage's SQLite file like the other bot state."""

    def __init__(self, db: Database) -> None:
        self.db = db
        migrate(db)  # the table is `retrieval.storage.schema`'s

    def add(
        self, chat_id: int, title: str, username: str | None, *, now: datetime | None = None
    ) -> Channel:
        """Follow a channel; adding a known one refreshes its title and username."""
        known = self.get(chat_id)
        added = known.added if known else _aware_utc(now or datetime.now(UTC))
        channel = Channel(
            chat_id, title.strip(), _bare_username(username), added.replace(microsecond=0)
        )
        record = {
            "chat_id": channel.chat_id,
            "title": channel.title,
            "username": channel.username,
            "added": channel.added.isoformat(timespec="seconds"),
        }
        with self.db.conn:
            self.db.table("channels").upsert(record, pk="chat_id")
        return channel

    def get(self, chat_id: int) -> Channel | None:
        rows = builtins.list(self.db.query("SELECT * FROM channels WHERE chat_id = ?", [chat_id]))
        return _channel_from_row(rows[0]) if rows else None

    def remove(self, chat_id: int) -> Channel:
        """Stop importing a channel (its posts stay). Raises `SourceError` for an unknown one."""
        channel = self.get(chat_id)
        if channel is None:
            raise SourceError(f"channel {chat_id} is not followed")
        with self.db.conn:
            self.db.execute("DELETE FROM channels WHERE chat_id = ?", [chat_id])
        return channel

    def list(self) -> builtins.list[Channel]:
        """Followed channels, in the order they were added."""
        rows = self.db.query("SELECT * FROM channels ORDER BY added, chat_id")
        return [_channel_from_row(row) for row in rows]

    def is_followed(self, chat_id: int) -> bool:
        row = self.db.execute("SELECT 1 FROM channels WHERE chat_id = ?", [chat_id]).fetchone()
        return row is not None


def _channel_from_row(row: dict[str, object]) -> Channel:
    return Channel(
        chat_id=int(str(row["chat_id"])),
        title=str(row["title"] or ""),
        username=str(row["username"]) if row["username"] else None,
        added=datetime.fromisoformat(str(row["added"])),
    )
