"""A bot people enjoy, end to end on the emulator: onboarding, groups, forum topics, inline
mode, messages that are not questions, and /follow exclusions (issue 15, points 3-8)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.subscriptions import Subscriptions
from retrieval.storage.store import Store
from tests.e2e.bot_process import CONSOLE_SCRIPT, BotProcess
from tests.e2e.emulator import BOT_USERNAME, Emulator, TelegramChat, TelegramUser, utf16_len

NATO = "What did NATO say about fighting vehicles?"
KYIV = ZoneInfo("Europe/Kyiv")


def _post(title: str, body: str, published: str, **more: str) -> dict[str, str]:
    return {"title": title, "body": body, "published": published, "source": "Kyiv Desk", **more}


def import_elsewhere(database: Path, tmp_path: Path, *posts: dict[str, str]) -> None:
    """`liveblog-bot import` as another process, on the same database file."""
    archive = tmp_path / f"import-{datetime.now(UTC).timestamp()}.jsonl"
    archive.write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
    env["LIVEBLOG_DATABASE"] = str(database)
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "import", str(archive)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(posts)} added" in done.stdout


def mention_in_topic(user: TelegramUser, text: str, thread_id: int) -> int:
    mention = f"@{BOT_USERNAME}"
    entities = [{"type": "mention", "offset": 0, "length": utf16_len(mention)}]
    return user.send_message(f"{mention} {text}", entities=entities, thread_id=thread_id)


def _forum(
    emulator: Emulator, tg_group: Callable[..., TelegramChat]
) -> tuple[TelegramChat, TelegramUser]:
    group = tg_group(title="Newsroom", supergroup=True)
    admin = group.member(first_name="Olena")
    emulator.set_chat_member(group.id, admin.id, "administrator")
    return group, admin


# -- 3. onboarding ------------------------------------------------------------------------------


def test_onboarding_description_start_buttons_and_commands_that_ask_for_their_argument(
    start_bot: Callable[..., BotProcess],
    tg_user: Callable[..., TelegramUser],
    emulator: Emulator,
) -> None:
    bot = start_bot(env={"LIVEBLOG_TELEGRAM_SHORT_DESCRIPTION": "Quotes from the live blog."})
    deadline = time.monotonic() + 10
    while not emulator.calls(bot.token, "setMyShortDescription") and time.monotonic() < deadline:
        time.sleep(0.05)
    (short,) = emulator.calls(bot.token, "setMyShortDescription")
    assert short["params"]["short_description"] == "Quotes from the live blog."
    (description,) = emulator.calls(bot.token, "setMyDescription")
    assert "quotes" in description["params"]["description"]

    alice = tg_user()
    alice.send_command("/start")
    (start,) = alice.wait_for_replies(1, timeout=15)
    assert "Russia-Ukraine news" in start.text
    labels = [b["text"] for b in start.buttons]
    assert labels[:2] == [NATO, "What happened in Bakhmut?"]
    assert [row[0]["text"] for row in start.inline_keyboard] == labels  # one button a row
    inline = start.button(text="🔎 Search in any chat")
    assert inline["switch_inline_query"] == ""
    alice.press_button(start, text=NATO)
    (answer,) = alice.wait_for_replies(1, timeout=15)
    assert "98% of the <b>fighting</b> <b>vehicles</b>" in answer.text

    alice.send_command("/search")  # a tap in the command menu sends no argument
    (asked,) = alice.wait_for_replies(1, timeout=15)
    assert asked.text.startswith("What should I search for?")
    assert asked.reply_markup == {"force_reply": True, "selective": True}
    alice.send_message("counteroffensive")
    (listing,) = alice.wait_for_replies(1, timeout=15)
    assert "<b>Results 1–5 of 8</b> for “counteroffensive”" in listing.text
    alice.send_message("counteroffensive")  # asked once: the next message is a question again
    (again,) = alice.wait_for_replies(1, timeout=15)
    assert "Results" not in again.text


def test_a_group_that_adds_the_bot_gets_a_short_how_to(
    start_bot: Callable[..., BotProcess],
    tg_group: Callable[..., TelegramChat],
    emulator: Emulator,
) -> None:
    bot = start_bot()
    group = tg_group(title="Desk", supergroup=True)
    adder = group.member(first_name="Petro")
    emulator.my_chat_member(bot.token, group.as_dict(), adder.as_dict(), new_status="member")
    (welcome,) = group.wait_for_replies(1, timeout=15)
    assert f"Mention @{BOT_USERNAME} with a question" in welcome.text
    assert f"/help@{BOT_USERNAME}" in welcome.text
    # Promoted to administrator later: no second how-to.
    emulator.my_chat_member(
        bot.token, group.as_dict(), adder.as_dict(), old_status="member", new_status="administrator"
    )
    group.assert_no_reply(within=2)


# -- 4. groups ----------------------------------------------------------------------------------


def test_in_groups_help_small_talk_and_the_timezone_of_administrators(
    start_bot: Callable[..., BotProcess],
    tg_group: Callable[..., TelegramChat],
    emulator: Emulator,
) -> None:
    start_bot()
    group, admin = _forum(emulator, tg_group)
    member = group.member(first_name="Bob")
    member.send_command(f"/help@{BOT_USERNAME}")
    (help_text,) = group.wait_for_replies(1, timeout=15)
    assert f"mention @{BOT_USERNAME} with a question" in help_text.text
    assert f"/search@{BOT_USERNAME} WORDS" in help_text.text
    assert f"/timezone@{BOT_USERNAME} [Area/City]" in help_text.text
    assert "(administrators)" in help_text.text
    assert "Inline mode" in help_text.text

    member.reply_to(help_text, "lol thanks")  # no question: no public "nothing matches"
    member.reply_to(help_text, "👍")
    member.reply_to(help_text, "what about Bakhmut?")  # answered, and after the two above
    (answer,) = group.wait_for_replies(1, timeout=15)
    assert "Bakhmut" in answer.text and "Nothing" not in answer.text
    group.assert_no_reply(within=1)

    member.send_command(f"/timezone@{BOT_USERNAME} Europe/Kyiv")
    (refused,) = group.wait_for_replies(1, timeout=15)
    assert refused.text == "Only this group's administrators can use /timezone."
    admin.send_command(f"/timezone@{BOT_USERNAME} Kyiv")
    (guess,) = group.wait_for_replies(1, timeout=15)
    assert "Did you mean Europe/Kyiv?" in guess.text
    admin.send_command(f"/timezone@{BOT_USERNAME} Europe/Kyiv")
    (changed,) = group.wait_for_replies(1, timeout=15)
    assert changed.text.startswith("Times are now shown in Europe/Kyiv")


def _recent_posts_db(tmp_path: Path) -> Path:
    now = datetime.now(UTC)
    database = tmp_path / "recent.db"
    import_elsewhere(
        database,
        tmp_path,
        _post(
            "Air raid alert over Kyiv lifted",
            "The air raid alert over Kyiv was lifted, officials said.",
            (now - timedelta(hours=1)).isoformat(timespec="seconds"),
            coverage="War diary",
        ),
    )
    return database


# -- 4 and 5. /digest on demand and digests in forum topics ----------------------------------


def test_an_on_demand_digest_in_a_topic_leaves_the_daily_digest_whole_and_it_comes_there(
    start_bot: Callable[..., BotProcess],
    tg_group: Callable[..., TelegramChat],
    emulator: Emulator,
    tmp_path: Path,
) -> None:
    database = _recent_posts_db(tmp_path)
    bot = start_bot(database=database)
    group, admin = _forum(emulator, tg_group)
    admin.send_command(f"/digest@{BOT_USERNAME}", thread_id=7)
    (now,) = group.wait_for_replies(1, timeout=15)
    assert "Air raid alert over Kyiv lifted" in now.text
    assert now.thread_id == 7
    admin.send_command(f"/subscribe@{BOT_USERNAME} 08:00 Europe/Kyiv", thread_id=7)
    (subscribed,) = group.wait_for_replies(1, timeout=15)
    assert subscribed.text.startswith("Subscribed") and subscribed.thread_id == 7
    bot.stop()

    # The bot was down across today's digest time (10 minutes ago): it is sent at start.
    store = Store(database)
    thread = Subscriptions(store.db).get(group.id)
    assert thread is not None and thread.thread_id == 7
    missed = (datetime.now(KYIV) - timedelta(minutes=10)).strftime("%H:%M")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    Subscriptions(store.db).unsubscribe(group.id)
    Subscriptions(store.db, clock=lambda: yesterday).subscribe(
        group.id, "Newsroom", missed, "Europe/Kyiv", thread_id=thread.thread_id
    )
    store.close()
    start_bot(database=database)
    (daily,) = group.wait_for_replies(1, timeout=30)
    assert "Air raid alert over Kyiv lifted" in daily.text  # /digest did not use it up
    assert daily.thread_id == 7


# -- 5. forum topics: replies and alerts ---------------------------------------------------------


def test_replies_and_alerts_go_to_the_topic_and_a_deleted_topic_falls_back_to_general(
    start_bot: Callable[..., BotProcess],
    tg_group: Callable[..., TelegramChat],
    emulator: Emulator,
    tmp_path: Path,
) -> None:
    database = tmp_path / "forum.db"
    bot = start_bot(database=database)
    group, admin = _forum(emulator, tg_group)
    mention_in_topic(admin, "what about Bakhmut?", thread_id=3)
    (answer,) = group.wait_for_replies(1, timeout=15)
    assert "Bakhmut" in answer.text and answer.thread_id == 3
    admin.send_command(f"/follow@{BOT_USERNAME} Zaporizhzhia", thread_id=5)
    (following,) = group.wait_for_replies(1, timeout=15)
    assert following.thread_id == 5

    import_elsewhere(
        database,
        tmp_path,
        _post(
            "Zaporizhzhia reactor switched to diesel generators",
            "The Zaporizhzhia nuclear plant runs on diesel generators, the IAEA said.",
            "2023-05-02T18:30:00+00:00",
        ),
    )
    (alert,) = group.wait_for_replies(1, timeout=20)
    assert "diesel generators" in alert.text and alert.thread_id == 5

    emulator.delete_topic(group.id, 5)
    import_elsewhere(
        database,
        tmp_path,
        _post(
            "Zaporizhzhia plant back on the grid",
            "The Zaporizhzhia nuclear plant was reconnected to the grid, the IAEA said.",
            "2023-05-02T20:00:00+00:00",
        ),
    )
    (fallback,) = group.wait_for_replies(1, timeout=20)
    assert "back on the grid" in fallback.text and fallback.thread_id is None
    assert bot.log().count(f"topic 5 of chat {group.id} is gone") == 1


# -- 6. inline mode -------------------------------------------------------------------------------


def test_inline_results_read_well_in_the_users_timezone_complete_the_last_word_and_offer_the_bot(
    start_bot: Callable[..., BotProcess],
    tg_user: Callable[..., TelegramUser],
    tmp_path: Path,
) -> None:
    database = tmp_path / "inline.db"
    start_bot(database=database)
    alice = tg_user()
    alice.send_command("/timezone America/New_York")
    alice.wait_for_replies(1, timeout=15)
    import_elsewhere(
        database,
        tmp_path,
        _post(
            "Zaporizhzhia reactor switched to diesel generators",
            "The Zaporizhzhia nuclear plant runs on diesel generators, the IAEA said.",
            "2023-05-02T18:30:00+00:00",
        ),
    )
    wanted = "Zaporizhzhia reactor switched to diesel generators"
    answer: dict[str, Any] = {}
    deadline = time.monotonic() + 10  # the running bot indexes another process's import in ~2 s
    while time.monotonic() < deadline:
        answer = alice.inline_query("Zaporizhzhia dies")  # "diesel" half typed
        if answer["results"] and answer["results"][0]["title"] == wanted:
            break
        time.sleep(0.2)
    result = answer["results"][0]
    assert result["title"] == "Zaporizhzhia reactor switched to diesel generators"
    assert result["description"].startswith("2 May 2023, 14:30 EDT · Kyiv Desk — ")
    assert "14:30 EDT" in result["input_message_content"]["message_text"]
    assert answer["is_personal"] is True

    sample = alice.inline_query("counteroff")
    assert sample["results"], "the half-typed word is matched as a prefix"
    assert sample["results"][0]["description"].startswith("2 May 2023 · CNN — ")

    nothing = alice.inline_query("xyzzy")
    assert nothing["results"] == []
    assert nothing["button"]["start_parameter"] == "inline"
    assert nothing["button"]["text"]


# -- 7. every other message gets a useful word ------------------------------------------------------


def test_stickers_photos_voice_and_other_scripts_get_a_useful_word(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot()
    alice = tg_user()
    alice.send_media(
        "sticker",
        {
            "file_id": "s1",
            "file_unique_id": "u1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    )
    alice.send_media(
        "photo", [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]
    )
    alice.send_media("voice", {"file_id": "v1", "file_unique_id": "u3", "duration": 2})
    replies = alice.wait_for_replies(3, timeout=15)
    assert all(r.text.startswith("I read text only: ask me about the coverage") for r in replies)
    assert all("/help" in r.text for r in replies)

    alice.send_message("Что происходит в Бахмуте?")
    (hint,) = alice.wait_for_replies(1, timeout=15)
    assert "Cyrillic" in hint.text and "in English" in hint.text


def test_unfollow_offers_buttons_and_an_edited_question_edits_its_answer(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot()
    alice = tg_user()
    alice.send_command("/follow Bakhmut")
    alice.send_command("/follow Wagner")
    alice.wait_for_replies(2, timeout=15)
    alice.send_command("/unfollow")
    (choice,) = alice.wait_for_replies(1, timeout=15)
    assert [b["text"] for b in choice.buttons] == ["Stop: Bakhmut", "Stop: Wagner"]
    alice.press_button(choice, text="Stop: Wagner")
    (stopped,) = alice.wait_for_replies(1, timeout=15)
    assert stopped.text == "Stopped following <b>Wagner</b>."
    alice.send_command("/following")
    (listing,) = alice.wait_for_replies(1, timeout=15)
    assert "Bakhmut" in listing.text and "Wagner" not in listing.text

    asked = alice.send_message("who won the world cup")
    (nothing,) = alice.wait_for_replies(1, timeout=15)
    assert nothing.text.startswith("Nothing in the coverage matches")
    alice.edit_message(asked, NATO)
    edited = alice.chat.wait_for_edit(nothing, timeout=15)
    assert "98% of the <b>fighting</b> <b>vehicles</b>" in edited.text
    alice.chat.assert_no_reply(within=1)


# -- 8. /follow exclusions ----------------------------------------------------------------------------


def test_follow_with_an_excluded_word_alerts_only_on_posts_without_it(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser], tmp_path: Path
) -> None:
    database = tmp_path / "exclude.db"
    start_bot(database=database)
    alice = tg_user()
    alice.send_command("/follow bakhmut -wagner")
    (following,) = alice.wait_for_replies(1, timeout=15)
    assert "Following <b>bakhmut -wagner</b>" in following.text
    import_elsewhere(
        database,
        tmp_path,
        _post(
            "Wagner claims new gains in Bakhmut",
            "Wagner fighters say they advanced in Bakhmut overnight.",
            "2023-05-03T06:00:00+00:00",
        ),
        _post(
            "Bakhmut defenders hold the western road",
            "Ukrainian defenders in Bakhmut kept the western supply road open.",
            "2023-05-03T07:00:00+00:00",
        ),
    )
    (alert,) = alice.wait_for_replies(1, timeout=20)
    assert "Bakhmut defenders hold the western road" in alert.text
    alice.chat.assert_no_reply(within=4)
