"""Telegram's command menus, one per scope, generated from the command table."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)
from telegram.error import TelegramError
from telegram.ext import Application

from bot.core.commands import MenuScope, menu

log = logging.getLogger(__name__)

AnyApp = Application[Any, Any, Any, Any, Any, Any]
MENU_SCOPES: list[tuple[Any, MenuScope]] = [
    (BotCommandScopeDefault(), "private"),
    (BotCommandScopeAllPrivateChats(), "private"),
    (BotCommandScopeAllGroupChats(), "groups"),
    (BotCommandScopeAllChatAdministrators(), "group_admins"),
]


async def register_menus(app: AnyApp, admins: Iterable[int]) -> None:
    """Telegram's command menus, one per scope, from the command table."""
    for scope, name in MENU_SCOPES:
        await app.bot.set_my_commands([BotCommand(c, d) for c, d in menu(name)], scope=scope)
    for admin in admins:
        commands = [BotCommand(c, d) for c, d in menu("bot_admins")]
        try:
            await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:  # an operator who never opened a chat with the bot
            log.info("no operator menu for %s yet: %s", admin, exc.message)
