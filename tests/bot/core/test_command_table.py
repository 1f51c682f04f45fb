"""The command table is the one list: /help, Telegram's menus and handlers, the terminal's
dispatch and the README all agree with it."""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path

import pytest
from telegram.ext import CommandHandler

from bot.core.chat import Chat, terminal_chat
from bot.core.commands import commands, help_lines, menu, on_surface
from bot.core.dispatch import CommandCore
from bot.core.state import ChatState
from bot.settings import Settings
from bot.telegram.app import build_application
from retrieval.library import Library

README = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
TOKEN = "123456:TEST-token-not-used"


@pytest.fixture
def core(library: Library) -> CommandCore:
    return CommandCore(library, ChatState(library.store.db))


def run(core: CommandCore, chat: Chat, text: str) -> str:
    return asyncio.run(core.handle(chat, text)).text


def test_every_command_has_an_async_handler_of_the_core() -> None:
    for cmd in commands():
        handler = getattr(CommandCore, cmd.handler)
        assert inspect.iscoroutinefunction(handler), cmd.name
        assert cmd.help and cmd.menu and cmd.surfaces, cmd.name


def test_telegram_registers_a_handler_for_exactly_the_telegram_commands(
    library: Library,
) -> None:
    app = build_application(Settings(telegram_token=TOKEN, database=library.store.path), library)
    registered = {
        name
        for group in app.handlers.values()
        for handler in group
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    }
    assert registered == {c.name for c in on_surface("telegram")}


@pytest.mark.parametrize("cmd", on_surface("terminal"), ids=lambda c: c.name)
def test_every_terminal_command_runs_in_the_terminal(core: CommandCore, cmd: object) -> None:
    name = cmd.name  # type: ignore[attr-defined]
    text = run(core, terminal_chat(), f"/{name}")
    assert "I don't know" not in text
    assert "does not work here" not in text


def test_help_lists_what_works_on_each_surface_and_nothing_else() -> None:
    for surface in ("telegram", "terminal"):
        chat = Chat(1, surface, is_bot_admin=True)  # type: ignore[arg-type]
        listed = {m.group(1) for line in help_lines(chat) for m in [re.match(r"/(\w+)", line)] if m}
        assert listed == {c.name for c in on_surface(surface)}  # type: ignore[arg-type]


def test_group_help_shows_the_forms_that_work_in_groups() -> None:
    group = Chat(-100, "telegram", kind="supergroup", bot_username="LiveBot")
    lines = help_lines(group)
    assert "@LiveBot" in lines[0] and "reply" in lines[0]
    assert "/search@LiveBot WORDS — a ranked list of matching posts, 5 a page" in lines
    assert not any(line.startswith("/sources") for line in lines)  # operators only
    assert any("(administrators)" in line for line in lines if line.startswith("/subscribe"))


def test_group_members_menu_leaves_out_what_only_administrators_may_do() -> None:
    members = {name for name, _ in menu("groups")}
    admins = {name for name, _ in menu("group_admins")}
    assert "search" in members and "timeline" in members
    assert {"subscribe", "timezone", "follow"} <= admins - members
    assert "sources" not in admins and "sources" in {n for n, _ in menu("bot_admins")}
    assert "next" not in admins  # the terminal's paging commands are not Telegram's


def test_the_readme_lists_every_command_and_every_cli_command() -> None:
    from bot.cli import build_parser

    for cmd in commands():
        assert f"`/{cmd.name}" in README, f"/{cmd.name} is missing from the README"
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    for name in subparsers.choices:  # type: ignore[union-attr]
        assert f"| `{name}" in README, f"liveblog-bot {name} is missing from the README"
