"""What the adapter reads in a message and puts under a reply: whether a group message is
meant for the bot, whether a reply to it is small talk, the mention taken out, the keyboard."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ChatType
from telegram.ext import filters

from bot.core.reply import Reply


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons, a row per `Button.row` (◀ ▶ side by side, choices stacked)."""
    if not reply.buttons:
        return None
    rows: dict[int, list[InlineKeyboardButton]] = {}
    for b in reply.buttons:
        if b.switch_inline is not None:
            button = InlineKeyboardButton(b.label, switch_inline_query=b.switch_inline)
        else:
            button = InlineKeyboardButton(b.label, callback_data=b.cursor)
        rows.setdefault(b.row, []).append(button)
    return InlineKeyboardMarkup([rows[row] for row in sorted(rows)])


def small_talk_in_group(message: Message, text: str, username: str | None) -> bool:
    """A group reply to the bot that is no question ("lol thanks", "👍"): stays unanswered
    when nothing matches. A mention or a question mark is a question; so is a private chat."""
    if message.chat.type == ChatType.PRIVATE or "?" in text:
        return False
    return not (username and f"@{username.lower()}" in (message.text or "").lower())


def strip_mention(text: str, username: str | None) -> str:
    """The text without the bot's @name (a group question is "@Bot what happened?")."""
    if username:
        text = text.replace(f"@{username}", " ").replace(f"@{username.lower()}", " ")
    return " ".join(text.split())


class AddressedToBot(filters.MessageFilter):
    """Group messages meant for the bot: they mention it, or reply to one of its messages."""

    def __init__(self) -> None:
        super().__init__(name="addressed_to_bot")
        self.username: str | None = None
        self.bot_id: int | None = None

    def filter(self, message: Message) -> bool:
        text = (message.text or "").lower()
        if self.username and f"@{self.username.lower()}" in text:
            return True
        replied = message.reply_to_message
        return bool(
            replied and replied.from_user and self.bot_id and replied.from_user.id == self.bot_id
        )
