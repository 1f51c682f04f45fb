"""What a delivery tells its records: the claim protocol digests and alerts share.

Both are claimed in SQLite before the message leaves (at most once). The transport's delivery
policy then reports one outcome per message through a `Claim`: sent, surely not sent, the chat
is gone, or the group moved. The rule of which failure means which lives with the transport
(`bot.telegram.delivery`), written once for both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from bot.core.digests import DigestService, Outgoing
from bot.core.follows import Alert, Follows
from bot.core.reply import Reply
from bot.core.subscriptions import Subscriptions


class Claim(Protocol):
    """One claimed message and how to record what became of it."""

    @property
    def chat_id(self) -> int:
        """Where it goes (changes when the group moves)."""

    @property
    def thread_id(self) -> int | None:
        """The forum topic it goes to (None: the chat itself, or General)."""

    @property
    def reply(self) -> Reply:
        """The message."""

    @property
    def what(self) -> str:
        """ "digest" or "alert", for the log."""

    def confirm(self) -> None:
        """The chat has the message."""

    def release(self) -> None:
        """The message surely did not arrive: a later run may send it again."""

    def gone(self, reason: str) -> str:
        """The chat refuses the bot (blocked, kicked, deleted): stop delivering there; says
        what was stopped, for the log."""

    def moved(self, new_chat_id: int) -> None:
        """The group became a supergroup: records and the message follow it."""

    def thread_gone(self) -> None:
        """The forum topic was deleted: this message and later ones go to General."""


@dataclass
class DigestClaim:
    """A scheduled digest (or a catch-up) claimed for its chat and local date."""

    out: Outgoing
    service: DigestService
    subscriptions: Subscriptions
    what: str = "digest"

    @property
    def chat_id(self) -> int:
        return self.out.chat_id

    @property
    def thread_id(self) -> int | None:
        return self.out.thread_id

    @property
    def reply(self) -> Reply:
        return self.out.reply

    def confirm(self) -> None:
        self.service.sent(self.out)

    def release(self) -> None:
        self.service.failed(self.out)

    def gone(self, reason: str) -> str:
        self.service.failed(self.out)
        self.subscriptions.deactivate(self.out.chat_id, reason)
        return "unsubscribed"

    def moved(self, new_chat_id: int) -> None:
        self.out = self.service.moved(self.out, new_chat_id)

    def thread_gone(self) -> None:
        self.subscriptions.clear_thread(self.out.chat_id)
        self.out = replace(self.out, thread_id=None)


@dataclass
class AlertClaim:
    """One new post for one following chat, claimed in the `alerts` table."""

    alert: Alert
    follows: Follows
    chat_id: int = 0
    what: str = "alert"
    thread_id: int | None = None

    def __post_init__(self) -> None:
        self.chat_id = self.alert.chat_id
        self.thread_id = self.alert.thread_id

    @property
    def reply(self) -> Reply:
        return self.alert.reply

    def confirm(self) -> None:
        """The claim was recorded before sending; nothing more to write."""

    def release(self) -> None:
        self.follows.release(self.chat_id, self.alert.post.post_id)

    def gone(self, reason: str) -> str:
        self.follows.forget_chat(self.chat_id)
        return "its follows are dropped"

    def moved(self, new_chat_id: int) -> None:
        self.follows.move_chat(self.chat_id, new_chat_id)
        self.chat_id = new_chat_id

    def thread_gone(self) -> None:
        if self.thread_id is not None:
            self.follows.clear_thread(self.chat_id, self.thread_id)
        self.thread_id = None
