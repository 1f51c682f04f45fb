"""From a Telegram update to the core's plain `Chat`, and the lookups only Telegram can make.

The adapter supplies the permission check (is this user an administrator of this group?) and
asks Telegram only when the command's audience needs it; everything else is the core's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from telegram import Bot, ChatMember, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.core.chat import ChannelInfo, Chat, ChatKind
from bot.core.commands import Command
from bot.telegram.worker import on_loop

ADMIN_STATUSES = {ChatMember.ADMINISTRATOR, ChatMember.OWNER}
_KINDS: dict[str, ChatKind] = {
    ChatType.PRIVATE: "private",
    ChatType.GROUP: "group",
    ChatType.SUPERGROUP: "supergroup",
    ChatType.CHANNEL: "channel",
}


async def may_manage(update: Update, bot: Bot) -> bool:
    """In groups only administrators (anonymous ones too) may change the chat's settings."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    if chat is None or chat.type == ChatType.PRIVATE:
        return True
    if message is not None and message.sender_chat is not None:
        # An anonymous administrator posts as the group itself.
        return message.sender_chat.id == chat.id
    if user is None:
        return False
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    return member.status in ADMIN_STATUSES


async def chat_of(
    update: Update, bot: Bot, admins: Iterable[int], command: Command | None = None
) -> Chat | None:
    """The plain chat of an update; asks Telegram for rights only when `command` needs them."""
    tg_chat, user = update.effective_chat, update.effective_user
    if tg_chat is None:
        return None
    manage = True
    if command is not None and command.audience == "chat_admins":
        manage = await may_manage(update, bot)
    return Chat(
        id=tg_chat.id,
        surface="telegram",
        kind=_KINDS.get(tg_chat.type, "private"),
        user_id=user.id if user else None,
        may_manage=manage,
        is_bot_admin=user is not None and user.id in set(admins),
        title=tg_chat.title or tg_chat.full_name or str(tg_chat.id),
        bot_username=bot.username if bot.username else None,
        thread_id=_topic_of(update),
    )


def _topic_of(update: Update) -> int | None:
    """The forum topic an update came from (None outside forum topics)."""
    message = update.effective_message
    if message is None or not getattr(message, "is_topic_message", False):
        return None
    return message.message_thread_id


class TelegramDirectory:
    """Channels looked up through the Bot API (the core's `Directory`).

    The core asks from the library worker; the Bot API client belongs to PTB's loop (`home`,
    set when the Application starts), so each lookup runs there.
    """

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.home: asyncio.AbstractEventLoop | None = None

    async def channel(self, name: str) -> ChannelInfo | str:
        return await on_loop(self.home, self._channel(name))

    async def channel_for_digests(self, name: str, user_id: int) -> ChannelInfo | str:
        return await on_loop(self.home, self._channel_for_digests(name, user_id))

    async def _channel(self, name: str) -> ChannelInfo | str:
        try:
            chat = await self.bot.get_chat(name)
        except TelegramError as exc:
            return f"I can't reach {name}: {exc.message}. Add me to the channel first."
        return ChannelInfo(chat.id, chat.title or name, chat.username)

    async def _channel_for_digests(self, name: str, user_id: int) -> ChannelInfo | str:
        try:
            channel = await self.bot.get_chat(name)
            if channel.type != ChatType.CHANNEL:
                return f"{name} is not a channel."
            member = await self.bot.get_chat_member(channel.id, user_id)
            if member.status not in ADMIN_STATUSES:
                return f"Only an administrator of {name} can subscribe it."
            me = await self.bot.get_chat_member(channel.id, self.bot.id)
            if me.status not in ADMIN_STATUSES or not getattr(me, "can_post_messages", True):
                return f"Make me an administrator of {name} who may post messages, then try again."
        except TelegramError as exc:
            return f"I can't reach {name}: {exc.message}"
        return ChannelInfo(channel.id, channel.title or name, channel.username)
