"""The Telegram bot end to end: `liveblog-bot run` as its own process, users on the emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.e2e.bot_process import BotProcess
from tests.e2e.emulator import BOT_USERNAME, Emulator, TelegramChat, TelegramUser

NATO = "What did NATO say about fighting vehicles?"


def test_start_describes_the_coverage_and_commands_are_registered(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser], emulator: Emulator
) -> None:
    bot = start_bot()
    alice = tg_user(first_name="Alice")
    alice.send_command("/start")
    (reply,) = alice.wait_for_replies(1, timeout=10)
    assert "Russia-Ukraine news" in reply.text
    assert "19 posts" in reply.text
    menus = {
        json.loads(call["params"].get("scope", '{"type": "default"}'))["type"]: {
            c["command"] for c in json.loads(call["params"]["commands"])
        }
        for call in emulator.calls(bot.token, "setMyCommands")
    }
    assert {"search", "timeline", "latest", "timezone", "start", "help"} <= menus["default"]
    assert {"search", "timeline", "latest", "help"} <= menus["all_group_chats"]
    assert "subscribe" not in menus["all_group_chats"]  # members see what members may do
    assert "subscribe" in menus["all_chat_administrators"]
    assert not any("sources" in names for names in menus.values())  # no operator here


def test_a_question_in_a_private_chat_is_answered_with_the_cited_post(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot()
    alice = tg_user()
    alice.send_message(NATO)
    (reply,) = alice.wait_for_replies(1, timeout=10)
    assert reply.parse_mode == "HTML"
    first_hit = reply.text.split("\n\n")[0]
    assert "Ukrainian soldier says troops are ready" in first_hit
    assert "98% of the <b>fighting</b> <b>vehicles</b>" in first_hit
    assert "2 May 2023 · CNN" in first_hit
    assert reply.raw["link_preview_options"] == {"is_disabled": True}


def test_a_question_the_coverage_cannot_answer_gets_an_honest_nothing(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot()
    alice = tg_user()
    alice.send_message("who won the world cup")
    (reply,) = alice.wait_for_replies(1, timeout=10)
    assert reply.text.startswith("Nothing in the coverage matches")
    assert "/latest" in reply.text


def test_search_pages_by_editing_the_message_in_place(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot()
    alice = tg_user()
    alice.send_command("/search counteroffensive")
    (listing,) = alice.wait_for_replies(1, timeout=10)
    assert "Results 1–5 of 8" in listing.text
    assert [b["text"] for b in listing.buttons] == ["▶"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in listing.buttons)
    alice.press_button(listing, text="▶")
    page_two = alice.chat.wait_for_edit(listing, timeout=10)
    assert page_two.message_id == listing.message_id
    assert "Results 6–8 of 8" in page_two.text
    assert [b["text"] for b in page_two.buttons] == ["◀"]
    alice.chat.assert_no_reply(within=0.5)


def test_a_forged_cursor_says_the_list_expired_and_the_bot_keeps_going(
    start_bot: Callable[..., BotProcess],
    tg_user: Callable[..., TelegramUser],
    emulator: Emulator,
) -> None:
    bot = start_bot()
    alice = tg_user()
    alice.send_command("/search counteroffensive")
    (listing,) = alice.wait_for_replies(1, timeout=10)
    # A client can send any callback data for a message; craft one the bot never issued.
    emulator.post(
        "/sendCallback",
        {
            "botToken": bot.token,
            "from": alice.as_dict(),
            "message": listing.to_telegram(),
            "data": "s:forged:9",
        },
    )
    _wait_for(lambda: emulator.calls(bot.token, "answerCallbackQuery"))
    (answered,) = emulator.calls(bot.token, "answerCallbackQuery")
    assert answered["params"]["text"] == "This list has expired — search again."
    assert "Results 1–5" in alice.chat.current(listing.message_id).text
    alice.send_command("/latest 1")
    assert alice.wait_for_replies(1, timeout=10)


def test_latest_lists_the_requested_number_of_posts(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot()
    alice = tg_user()
    alice.send_command("/latest 3")
    (reply,) = alice.wait_for_replies(1, timeout=10)
    assert "The 3 newest posts" in reply.text
    assert reply.text.count("2 May 2023 · ") == 3
    assert "Ukrainians say they're ready" in reply.text


def test_timezone_changes_how_times_are_shown_and_persists(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser], tmp_path: Path
) -> None:
    database = tmp_path / "timed.db"
    archive = tmp_path / "timed.jsonl"
    archive.write_text(
        json.dumps(
            {
                "title": "Drone attack on Odesa port overnight",
                "body": "Air defences shot down eleven drones over the Odesa port, officials said.",
                "published": "2023-05-02T11:05:00+00:00",
                "source": "Kyiv Independent",
                "coverage": "War diary",
                "url": "https://example.org/war-diary/odesa",
            }
        )
        + "\n"
    )
    imported = subprocess.run(
        [sys.executable, "-m", "bot.cli", "import", str(archive)],
        env={"LIVEBLOG_DATABASE": str(database), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    bot = start_bot(database=database)
    alice = tg_user()
    alice.send_message("drones Odesa port")
    (before,) = alice.wait_for_replies(1, timeout=10)
    assert "2 May 2023, 11:05 UTC" in before.text
    assert '<a href="https://example.org/war-diary/odesa">' in before.text
    alice.send_command("/timezone Europe/Kyiv")
    (confirmed,) = alice.wait_for_replies(1, timeout=10)
    assert "Europe/Kyiv" in confirmed.text
    alice.send_message("drones Odesa port")
    (after,) = alice.wait_for_replies(1, timeout=10)
    assert "2 May 2023, 14:05 EEST" in after.text
    bot.stop()
    start_bot(database=database)
    alice.send_message("drones Odesa port")
    (restarted,) = alice.wait_for_replies(1, timeout=10)
    assert "2 May 2023, 14:05 EEST" in restarted.text
    alice.send_command("/timezone Mars/Olympus")
    (refused,) = alice.wait_for_replies(1, timeout=10)
    assert "I don't know the timezone" in refused.text


def test_in_groups_the_bot_answers_commands_mentions_and_replies_only(
    start_bot: Callable[..., BotProcess], tg_group: Callable[..., TelegramChat]
) -> None:
    start_bot()
    group = tg_group(title="News desk", supergroup=True)
    bob = group.member(first_name="Bob")
    bob.send_command(f"/search@{BOT_USERNAME} counteroffensive")
    (listing,) = group.wait_for_replies(1, timeout=10)
    assert "Results 1–5" in listing.text
    bob.send_message("lunch at noon, anyone?")
    group.assert_no_reply(within=1.0)
    bob.mention_bot("is Tinder leaving Russia?")
    (answer,) = group.wait_for_replies(1, timeout=10)
    assert "Owner of dating app Tinder" in answer.text
    bob.reply_to(answer, "what did NATO say about fighting vehicles")
    (follow_up,) = group.wait_for_replies(1, timeout=10)
    assert "98% of the" in follow_up.text
    bob.send_command("/search@SomeOtherBot counteroffensive")
    group.assert_no_reply(within=1.0)


def test_inline_mode_returns_articles_and_pages_with_next_offset(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot()
    alice = tg_user()
    answer = alice.inline_query("Tinder")
    results = answer["results"]
    assert 1 <= len(results) <= 10
    first = results[0]
    assert first["type"] == "article"
    assert first["title"].startswith("Owner of dating app Tinder")
    assert "CNN" in first["description"]
    assert first["input_message_content"]["parse_mode"] == "HTML"
    latest = alice.inline_query("")
    assert len(latest["results"]) == 10
    assert latest["next_offset"] == "10"
    more = alice.inline_query("", offset="10")
    assert len(more["results"]) == 9
    assert not {r["id"] for r in more["results"]} & {r["id"] for r in latest["results"]}


def test_a_5000_character_message_gets_a_polite_refusal(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot()
    alice = tg_user()
    alice.send_message("Ukraine " * 624 + "Ukraine!")
    (reply,) = alice.wait_for_replies(1, timeout=10)
    assert "5,000 characters" in reply.text


def test_unknown_commands_point_to_help(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot()
    alice = tg_user()
    alice.send_command("/frobnicate")
    (reply,) = alice.wait_for_replies(1, timeout=10)
    assert "/help" in reply.text


def test_the_flood_guard_slows_down_a_user_without_doing_the_work(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot(env={"LIVEBLOG_FLOOD_LIMIT": "3"})
    alice, bob = tg_user(), tg_user()
    for _ in range(4):
        alice.send_message("Tinder")
    replies = alice.wait_for_replies(4, timeout=15)
    assert sum("Owner of dating app Tinder" in r.text for r in replies) == 3
    assert "slow down" in replies[3].text
    bob.send_message("Tinder")
    (other,) = bob.wait_for_replies(1, timeout=10)
    assert "Owner of dating app Tinder" in other.text


def test_rate_limits_are_honoured_and_the_answer_still_arrives(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser], emulator: Emulator
) -> None:
    bot = start_bot()
    alice = tg_user()
    emulator.flood("sendMessage", token=bot.token, retry_after=1, times=1)
    alice.send_message(NATO)
    (reply,) = alice.wait_for_replies(1, timeout=15)
    assert "98% of the" in reply.text
    statuses = [c["status"] for c in emulator.calls(bot.token, "sendMessage")]
    assert statuses[:2] == [429, 200]


def test_the_token_never_appears_in_logs_and_sigterm_stops_cleanly(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    for log_format in ("text", "json"):
        bot = start_bot(
            env={"LIVEBLOG_LOG_LEVEL": "DEBUG", "LIVEBLOG_LOG_FORMAT": log_format},
            database=Path(f"{bot_db_dir()}/{log_format}.db"),
        )
        alice = tg_user()
        alice.send_message(NATO)
        alice.wait_for_replies(1, timeout=10)
        alice.send_command("/search counteroffensive")
        alice.wait_for_replies(1, timeout=10)
        assert bot.stop() == 0
        log = bot.log()
        assert "getUpdates" in log  # the run did log its requests, at DEBUG
        assert bot.token not in log
        assert bot.token.split(":")[1] not in log
        assert "Traceback" not in log
        if log_format == "json":
            lines = [line for line in log.splitlines() if line.strip()]
            assert all(json.loads(line)["level"] for line in lines)


def bot_db_dir() -> str:
    import tempfile

    return tempfile.mkdtemp()


def _wait_for(condition: Callable[[], object], timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the bot")
        time.sleep(0.05)
