"""The command table: every command declared once, and what is generated from it.

A handler of `bot.core.dispatch.CommandCore` is declared with `@command(...)`: its name,
arguments, help line, menu description, audience, surfaces and whether the flood guard counts
it. From that one declaration come `/help` (per surface and chat kind), Telegram's command
menus (per scope), the Telegram handlers and the terminal's dispatch; a parity test checks the
README against it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from bot.core.chat import SURFACES, Chat, Surface

Audience = Literal["everyone", "chat_admins", "bot_admins"]
"""everyone; chat_admins: in groups only the group's administrators (anyone in a private
chat); bot_admins: only the bot's operators (LIVEBLOG_ADMINS, or the person at the terminal)."""

MenuScope = Literal["private", "groups", "group_admins", "bot_admins"]


@dataclass(frozen=True)
class Command:
    """One command as every surface sees it."""

    name: str
    args: str
    help: str
    menu: str
    audience: Audience
    surfaces: frozenset[Surface]
    guarded: bool
    elsewhere: str
    handler: str
    asks: str = ""
    """Sent without its argument (a tap in the menu), the command asks this and takes the
    user's next message as the argument."""

    def usage(self, chat: Chat | None = None) -> str:
        """ "/search WORDS", or "/search@Bot WORDS" in a group, where Telegram needs the name."""
        name = f"/{self.name}"
        if chat is not None and chat.is_group and chat.bot_username:
            name += f"@{chat.bot_username}"
        return f"{name} {self.args}".strip()

    def allowed(self, chat: Chat) -> bool:
        if self.audience == "bot_admins":
            return chat.is_bot_admin
        if self.audience == "chat_admins":
            return chat.may_manage
        return True


_TABLE: dict[str, Command] = {}
_Handler = TypeVar("_Handler", bound=Callable[..., Awaitable[Any]])


def command(
    name: str,
    *,
    args: str = "",
    help: str,
    menu: str = "",
    audience: Audience = "everyone",
    surfaces: tuple[Surface, ...] = SURFACES,
    guarded: bool = True,
    elsewhere: str = "",
    asks: str = "",
) -> Callable[[_Handler], _Handler]:
    """Declare the decorated method as the handler of /`name` (once: a second is an error)."""

    def register(handler: _Handler) -> _Handler:
        if name in _TABLE:
            raise ValueError(f"/{name} is declared twice")
        _TABLE[name] = Command(
            name=name,
            args=args,
            help=help,
            menu=menu or help,
            audience=audience,
            surfaces=frozenset(surfaces),
            guarded=guarded,
            elsewhere=elsewhere,
            handler=handler.__name__,
            asks=asks,
        )
        return handler

    return register


def commands() -> tuple[Command, ...]:
    """Every declared command, in declaration order (the order /help and menus show)."""
    import bot.core.dispatch  # noqa: F401  (the declarations live beside their handlers)

    return tuple(_TABLE.values())


def find(name: str) -> Command | None:
    commands()
    return _TABLE.get(name.lower())


def on_surface(surface: Surface) -> tuple[Command, ...]:
    return tuple(c for c in commands() if surface in c.surfaces)


def help_lines(chat: Chat) -> list[str]:
    """/help for this chat: the commands that work here, in the form that works here."""
    lines = []
    if chat.surface == "terminal":
        lines.append(
            "Ask me anything about the coverage in plain words, for example "
            "“What did NATO say about fighting vehicles?”."
        )
    elif chat.is_group:
        mention = f"@{chat.bot_username}" if chat.bot_username else "me"
        lines.append(
            f"In this group, mention {mention} with a question (“{mention} what happened in "
            "Bakhmut?”) or reply to one of my messages; commands need my name, as below."
        )
    else:
        lines.append(
            "Ask me anything about the coverage in plain words, for example "
            "“What did NATO say about fighting vehicles?”."
        )
    for cmd in on_surface(chat.surface):
        if cmd.audience == "bot_admins" and not chat.is_bot_admin:
            continue
        note = " (administrators)" if cmd.audience == "chat_admins" and chat.is_group else ""
        lines.append(f"{cmd.usage(chat)} — {cmd.help}{note}")
    if chat.surface == "telegram" and chat.bot_username:
        lines.append(
            f"Inline mode, in any chat: type @{chat.bot_username} and a few words, then pick a "
            "post to share it there (times in your /timezone)."
        )
    return lines


def menu(scope: MenuScope) -> list[tuple[str, str]]:
    """(command, description) pairs of Telegram's menu for one scope.

    Members of a group see what they may use; its administrators, people in private chats and
    the bot's operators see more. The terminal has no menu.
    """
    shown = []
    for cmd in on_surface("telegram"):
        if cmd.audience == "bot_admins" and scope != "bot_admins":
            continue
        if cmd.audience == "chat_admins" and scope == "groups":
            continue
        shown.append((cmd.name, cmd.menu[:256]))
    return shown
