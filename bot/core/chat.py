"""The plain chat a command comes from: what the core needs to know, with no transport types.

Every surface builds one: the Telegram adapter from an update (it alone can tell whether a
user administers a group), the terminal chat once for its own chat. The core never sees a
python-telegram-bot object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Surface = Literal["telegram", "terminal"]
ChatKind = Literal["private", "group", "supergroup", "channel"]
SURFACES: tuple[Surface, ...] = ("telegram", "terminal")

TERMINAL_CHAT_ID = 0
"""The terminal chat's id in the database: no Telegram chat has id 0, so its timezone,
follows and digest records never mix with a Telegram chat's."""


@dataclass(frozen=True)
class Chat:
    """Who is asking, where.

    `may_manage`: the user may change this chat's settings (always in a private chat; in a
    group only its administrators). `is_bot_admin`: the user is one of the bot's operators
    (LIVEBLOG_ADMINS, or the person at the terminal), who may manage sources.
    """

    id: int
    surface: Surface
    kind: ChatKind = "private"
    user_id: int | None = None
    may_manage: bool = True
    is_bot_admin: bool = False
    title: str = ""
    bot_username: str | None = None
    thread_id: int | None = None  # the forum topic it was written in (None: the chat itself)

    @property
    def is_group(self) -> bool:
        return self.kind in ("group", "supergroup")


def terminal_chat() -> Chat:
    """The one chat of the terminal: its user manages it and operates the bot."""
    return Chat(TERMINAL_CHAT_ID, "terminal", title="terminal", may_manage=True, is_bot_admin=True)


@dataclass(frozen=True)
class ChannelInfo:
    """A Telegram channel as the directory found it."""

    id: int
    title: str
    username: str | None = None


class Directory(Protocol):
    """What only the transport can look up: channels by name, and rights in them."""

    async def channel(self, name: str) -> ChannelInfo | str:
        """The channel called `name` (@username), or why it cannot be reached."""
        ...

    async def channel_for_digests(self, name: str, user_id: int) -> ChannelInfo | str:
        """The channel, if both the user and the bot may post to it; else why not."""
        ...


class NoDirectory:
    """The terminal's directory: channels live in Telegram."""

    async def channel(self, name: str) -> ChannelInfo | str:
        return f"{name} is a Telegram channel: add it from Telegram, where I can reach it."

    async def channel_for_digests(self, name: str, user_id: int) -> ChannelInfo | str:
        return (
            f"{name} is a Telegram channel: subscribe it from a private chat with me in Telegram."
        )
