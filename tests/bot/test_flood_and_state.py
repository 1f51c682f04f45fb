"""The per-user flood guard and the chat state kept in SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.state import ChatState
from bot.telegram.guard import FloodGuard
from retrieval.storage.store import Store


def test_flood_guard_allows_the_limit_then_refuses_until_the_window_passes() -> None:
    guard = FloodGuard(limit=20, window=60)
    assert all(guard.allow(7, now=float(i)) for i in range(20))
    assert not guard.allow(7, now=30.0)
    assert guard.allow(8, now=30.0)  # other users are not slowed down
    assert guard.allow(7, now=60.5)  # the first request left the window


def test_a_chats_timezone_survives_a_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    ChatState(store.db).set_timezone(42, "Europe/Kyiv")
    store.close()
    reopened = ChatState(Store(tmp_path / "db.sqlite").db, default_timezone="UTC")
    assert reopened.timezone(42).key == "Europe/Kyiv"
    assert reopened.timezone(43).key == "UTC"


def test_an_unknown_timezone_is_refused(tmp_path: Path) -> None:
    state = ChatState(Store(tmp_path / "db.sqlite").db)
    with pytest.raises(ValueError):
        state.set_timezone(1, "Mars/Olympus")


def test_search_sessions_survive_a_restart_and_unknown_tokens_are_none(tmp_path: Path) -> None:
    state = ChatState(Store(tmp_path / "db.sqlite").db)
    token = state.remember("counteroffensive")
    again = ChatState(Store(tmp_path / "db.sqlite").db)
    assert again.recall(token) == "counteroffensive"
    assert again.recall("nope") is None
