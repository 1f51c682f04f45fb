"""The command core as each surface calls it: a plain chat and a line of text in, a reply out."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.chat import Chat, terminal_chat
from bot.core.dispatch import CommandCore
from bot.core.state import ChatState
from retrieval.library import Library


@pytest.fixture
def core(library: Library) -> CommandCore:
    return CommandCore(library, ChatState(library.store.db))


def say(core: CommandCore, chat: Chat, text: str) -> str:
    return asyncio.run(core.handle(chat, text)).text


def test_unknown_commands_point_to_help(core: CommandCore) -> None:
    assert "/help" in say(core, terminal_chat(), "/frobnicate")


def test_the_terminal_remembers_its_timezone_across_restarts(library: Library) -> None:
    chat = terminal_chat()
    first = CommandCore(library, ChatState(library.store.db))
    assert "Europe/Kyiv" in say(first, chat, "/timezone Europe/Kyiv")
    again = CommandCore(library, ChatState(library.store.db))
    assert "Times are shown in Europe/Kyiv" in say(again, chat, "/timezone")


def test_a_city_alone_is_matched_to_its_zone(core: CommandCore) -> None:
    assert "Did you mean Europe/Kyiv?" in say(core, terminal_chat(), "/timezone Kyiv")


def test_follows_work_in_the_terminal(core: CommandCore) -> None:
    chat = terminal_chat()
    assert "Following" in say(core, chat, "/follow Wagner")
    assert "1. Wagner" in say(core, chat, "/following")
    assert "Stopped following" in say(core, chat, "/unfollow")
    assert "follows nothing" in say(core, chat, "/following")


def test_subscribe_in_the_terminal_says_digests_are_for_telegram(core: CommandCore) -> None:
    text = say(core, terminal_chat(), "/subscribe 08:00")
    assert "Telegram" in text and "/digest" in text
    assert core.subscriptions.get(terminal_chat().id) is None


def test_group_members_cannot_change_the_groups_settings(core: CommandCore) -> None:
    member = Chat(-100, "telegram", kind="supergroup", user_id=5, may_manage=False)
    assert "administrators" in say(core, member, "/timezone Europe/Kyiv")
    assert core.state.timezone(-100).key == "UTC"
    assert "administrators" in say(core, member, "/follow Wagner")
    assert "administrators" in say(core, member, "/subscribe 08:00")
    assert "follows nothing" in say(core, member, "/following")  # reading is for everyone


def test_sources_are_for_operators_only(core: CommandCore) -> None:
    stranger = Chat(7, "telegram", user_id=7)
    assert "administrators" in say(core, stranger, "/sources")
    operator = Chat(8, "telegram", user_id=8, is_bot_admin=True)
    assert "No sources yet" in say(core, operator, "/sources")


def test_next_and_prev_page_through_the_last_search_in_the_terminal(core: CommandCore) -> None:
    chat = terminal_chat()
    first = say(core, chat, "/search counteroffensive")
    assert first.startswith("Results 1–5 of 8")
    assert say(core, chat, "/next").startswith("Results 6–8 of 8")
    assert say(core, chat, "/prev").startswith("Results 1–5 of 8")


def test_terminal_paging_commands_say_what_to_do_in_telegram(core: CommandCore) -> None:
    assert "▶ button" in say(core, Chat(3, "telegram"), "/next")


def test_a_page_far_past_the_last_answers_at_once(core: CommandCore) -> None:
    chat = terminal_chat()
    say(core, chat, "/search counteroffensive")
    token = core._buttons[chat.id][0].cursor.split(":")[1]
    reply = core.press(chat, f"s:{token}:9999")
    assert reply.kind == "invalid" and "only 2 pages" in reply.text


def test_a_source_added_from_telegram_must_be_public_the_operators_need_not(
    core: CommandCore,
) -> None:
    operator_in_telegram = Chat(8, "telegram", user_id=8, is_bot_admin=True)
    refused = say(core, operator_in_telegram, "/sources add http://127.0.0.1:9/feed.xml")
    assert "loopback" in refused
    assert core.sources.sources.list() == []
    added = say(core, terminal_chat(), "/sources add http://127.0.0.1:9/feed.xml")
    assert added.startswith("Added source #1")
    (source,) = core.sources.sources.list()
    assert not source.from_chat
