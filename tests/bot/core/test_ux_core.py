"""The core behind issue 15's flows: exclusions in follows, forum topics kept with follows,
inline completion and readable descriptions, commands that ask, and other scripts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.core.answers import Answers, ChatPrefs
from bot.core.chat import Chat
from bot.core.dispatch import CommandCore
from bot.core.follows import Follows, alerts_for, split_exclusions
from bot.core.state import ChatState
from retrieval.channels import channel_post_to_parsed
from retrieval.library import Library
from retrieval.polling import ingest_new_posts

POSTED = datetime(2023, 5, 3, 9, 0, tzinfo=UTC)


def _channel_post(library: Library, message_id: int, text: str) -> None:
    parsed = channel_post_to_parsed(
        -1001,
        "Kyiv Desk",
        "kyivdesk",
        message_id,
        text,
        POSTED + timedelta(minutes=message_id),
        None,
        None,
    )
    ingest_new_posts(library, [parsed])


def test_split_exclusions_tokenizes_the_excluded_words_like_the_posts() -> None:
    assert split_exclusions("Bakhmut -Wagner's -group") == (
        "Bakhmut",
        frozenset({"wagner", "group"}),
    )
    assert split_exclusions("counter-offensive") == ("counter-offensive", frozenset())


def test_a_follow_with_an_excluded_word_skips_the_posts_that_mention_it(library: Library) -> None:
    follows = Follows(library.store.db)
    follows.add(7, "bakhmut -wagner", thread_id=42)
    wagner = channel_post_to_parsed(
        -1001,
        "Kyiv Desk",
        "kyivdesk",
        1,
        "Wagner claims gains in Bakhmut\n\nWagner fighters say they advanced in Bakhmut.",
        POSTED,
        None,
        None,
    )
    road = channel_post_to_parsed(
        -1001,
        "Kyiv Desk",
        "kyivdesk",
        2,
        "Bakhmut defenders hold the road\n\nDefenders in Bakhmut kept the supply road open.",
        POSTED + timedelta(minutes=1),
        None,
        None,
    )
    added = ingest_new_posts(library, [wagner, road]).added
    alerts = alerts_for(library, added, follows)
    assert [a.post.title for a in alerts] == ["Bakhmut defenders hold the road"]
    assert alerts[0].thread_id == 42  # the forum topic it was followed in


def test_a_deleted_topic_sends_that_topics_follows_to_the_chat(library: Library) -> None:
    follows = Follows(library.store.db)
    follows.add(7, "Bakhmut", thread_id=42)
    follows.add(7, "Wagner", thread_id=43)
    follows.clear_thread(7, 42)
    assert {f.query: f.thread_id for f in follows.for_chat(7)} == {"Bakhmut": None, "Wagner": 43}


def test_inline_completes_the_half_typed_last_word_only(library: Library) -> None:
    answers = Answers(library)
    assert answers.complete("counteroff") != "counteroff"
    assert answers.inline("counteroff", "", ChatPrefs()).items
    assert answers.complete("bakh") == "bakhmut"
    assert answers.complete("bakh ") == "bakh "  # a finished word is left alone
    assert answers.complete("war") == "war"  # a word of the coverage is not stretched
    assert answers.complete("xyzzy") == "xyzzy"


def test_inline_descriptions_start_with_a_readable_time_in_the_users_zone(
    library: Library,
) -> None:
    _channel_post(library, 5, "Zaporizhzhia on diesel\n\nThe Zaporizhzhia plant runs on diesel.")
    answers = Answers(library)
    item = answers.inline("Zaporizhzhia diesel", "", ChatPrefs(ZoneInfo("Europe/Kyiv"))).items[0]
    assert item.description.startswith("3 May 2023, 12:05 EEST · Kyiv Desk — ")
    assert "12:05 EEST" in item.message.text


def _core(library: Library, tmp_path: Path) -> CommandCore:
    state = ChatState(library.store.db, "UTC")
    return CommandCore(library, state, examples=("What did NATO say about fighting vehicles?",))


def test_a_command_without_its_words_asks_and_takes_the_users_next_message(
    library: Library, tmp_path: Path
) -> None:
    core = _core(library, tmp_path)
    alice, bob = Chat(-5, "telegram", "group", user_id=1), Chat(-5, "telegram", "group", user_id=2)
    asked = asyncio.run(core.dispatch(alice, "search", ""))
    assert asked.asks and asked.text.startswith("What should I search for?")
    other = asyncio.run(core.handle(bob, "counteroffensive"))  # Bob was not asked
    assert other.buttons == () and "Results" not in other.text
    listing = asyncio.run(core.handle(alice, "counteroffensive"))
    assert listing.text.startswith("Results 1–5 of 8")


def test_a_question_in_another_script_learns_the_coverage_is_in_english(
    library: Library, tmp_path: Path
) -> None:
    core = _core(library, tmp_path)
    reply = asyncio.run(core.handle(Chat(1, "telegram"), "Що відбувається в Бахмуті?"))
    assert reply.kind == "empty"
    assert reply.text.startswith("Your question is in Cyrillic script, but the coverage I hold")
    assert "in English" in reply.text
    latin = asyncio.run(core.handle(Chat(1, "telegram"), "who won the world cup"))
    assert latin.text.startswith("Nothing in the coverage matches")
