"""Fixtures for end-to-end tests: one Telegram emulator per session, a bot token per test.

Nothing here skips: without Node.js or `npm ci --prefix tests/e2e/emulator` the `emulator`
fixture fails with a message that says what to install.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.bot_process import BotProcess
from tests.e2e.emulator import Emulator, TelegramChat, TelegramUser, new_bot_token


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """The emulator, started once: a fresh token per test keeps tests apart on it."""
    with Emulator() as emu:
        yield emu


@pytest.fixture
def bot_token() -> str:
    """A token no other test uses, so no test sees another's updates or messages."""
    return new_bot_token()


@pytest.fixture
def tg_user(emulator: Emulator, bot_token: str) -> Callable[..., TelegramUser]:
    """Make users in private chats with the bot of `bot_token`: tg_user(first_name="Ann")."""

    def make(
        *, first_name: str | None = None, username: str | None = None, user_id: int | None = None
    ) -> TelegramUser:
        return emulator.user(bot_token, first_name=first_name, username=username, user_id=user_id)

    return make


@pytest.fixture
def tg_group(emulator: Emulator, bot_token: str) -> Callable[..., TelegramChat]:
    """Make groups with the bot of `bot_token`: tg_group(title="Desk", supergroup=True)."""

    def make(
        *, title: str | None = None, supergroup: bool = False, chat_id: int | None = None
    ) -> TelegramChat:
        return emulator.group(bot_token, title=title, supergroup=supergroup, chat_id=chat_id)

    return make


@pytest.fixture
def start_bot(
    emulator: Emulator, bot_token: str, tmp_path: Path
) -> Iterator[Callable[..., BotProcess]]:
    """Start `liveblog-bot run` for this test's token: start_bot(env={...}, database=path)."""
    started: list[BotProcess] = []

    def start(*, env: dict[str, str] | None = None, database: Path | None = None) -> BotProcess:
        bot = BotProcess(emulator, bot_token, database or tmp_path / "bot.db", env)
        started.append(bot)
        return bot.start()

    yield start
    for bot in started:
        bot.close()
