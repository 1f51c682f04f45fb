"""Daily digests end to end: the bot process, its JobQueue and SQLite, on the emulator."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.subscriptions import Subscriptions
from retrieval.storage.store import Store
from tests.e2e.bot_process import BotProcess
from tests.e2e.emulator import Emulator, TelegramChat, TelegramUser

KYIV = ZoneInfo("Europe/Kyiv")


@pytest.fixture
def fresh_db(tmp_path: Path) -> Path:
    """A database holding the sample plus posts from the last hours (and one too old)."""
    now = datetime.now(UTC)
    posts = [
        ("Air raid alert over Kyiv lifted", now - timedelta(hours=1)),
        ("Grain corridor talks resume in Istanbul", now - timedelta(hours=3)),
        ("Week-old story about railway repairs", now - timedelta(days=7)),
    ]
    archive = tmp_path / "fresh.jsonl"
    archive.write_text(
        "".join(
            json.dumps(
                {
                    "title": title,
                    "body": f"{title}. Officials confirmed the report on the record.",
                    "published": when.isoformat(timespec="seconds"),
                    "source": "Kyiv Desk",
                    "coverage": "War diary",
                }
            )
            + "\n"
            for title, when in posts
        )
    )
    db = tmp_path / "digest.db"
    for source in (archive,):
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "import", str(source)],
            env={"LIVEBLOG_DATABASE": str(db), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    return db


def _admin_group(
    emulator: Emulator, tg_group: Callable[..., TelegramChat], token: str
) -> tuple[TelegramChat, int]:
    group = tg_group(title="Kyiv desk", supergroup=True)
    admin = group.member(first_name="Olena")
    emulator.set_chat_member(group.id, admin.id, "administrator")
    return group, admin.id


def _subscribed_yesterday(database: Path, chat_id: int, minutes_ago: int) -> None:
    """The state a bot stopped across its digest time leaves on disk: subscribed yesterday
    for a Kyiv time that passed `minutes_ago` minutes ago, nothing delivered today."""
    missed = (datetime.now(KYIV) - timedelta(minutes=minutes_ago)).strftime("%H:%M")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    store = Store(database)
    Subscriptions(store.db, clock=lambda: yesterday).subscribe(
        chat_id, "Kyiv desk", missed, "Europe/Kyiv"
    )
    store.close()


def _restart_sends_nothing_more(
    bot: BotProcess, start_bot: Callable[..., BotProcess], database: Path, group: TelegramChat
) -> None:
    """Stop and start the bot again: the digest already delivered must not come a second time."""
    bot.stop()
    start_bot(database=database)
    time.sleep(3)  # a restarted bot sends any catch-up digest at once; none must come
    assert len([m for m in group.history() if "War diary" in m.text]) == 1


def _digests(chat: TelegramChat, within: float) -> list[str]:
    """Digest messages that arrive in the chat within `within` seconds."""
    deadline = time.monotonic() + within
    found: list[str] = []
    while time.monotonic() < deadline:
        found = [m.text for m in chat.history() if "War diary" in m.text]
        if found:
            break
        time.sleep(0.5)
    return found


def test_a_group_admin_subscribes_and_exactly_one_digest_arrives_on_time(
    start_bot: Callable[..., BotProcess],
    tg_group: Callable[..., TelegramChat],
    emulator: Emulator,
    bot_token: str,
    fresh_db: Path,
) -> None:
    bot = start_bot(database=fresh_db)
    group, admin_id = _admin_group(emulator, tg_group, bot_token)
    admin = group.member(user_id=admin_id, first_name="Olena")
    stranger = group.member(first_name="Petro")

    stranger.send_command("/subscribe 08:00")
    (refusal,) = group.wait_for_replies(1, timeout=10)
    assert "Only this group's administrators" in refusal.text

    now = datetime.now(KYIV)
    at = (now + timedelta(minutes=1 if now.second < 45 else 2)).strftime("%H:%M")
    admin.send_command(f"/subscribe {at} Europe/Kyiv")
    (confirmed,) = group.wait_for_replies(1, timeout=10)
    assert f"every day at {at} (Europe/Kyiv)" in confirmed.text

    digests = _digests(group, within=150)
    assert len(digests) == 1
    digest = digests[0]
    assert "Air raid alert over Kyiv lifted" in digest
    assert "Grain corridor talks resume" in digest
    assert "Week-old story" not in digest
    assert digest.index("Air raid alert") < digest.index("Grain corridor")  # newest first

    _restart_sends_nothing_more(bot, start_bot, fresh_db, group)


def test_a_digest_missed_while_the_bot_was_down_is_sent_once_at_start(
    start_bot: Callable[..., BotProcess],
    tg_group: Callable[..., TelegramChat],
    emulator: Emulator,
    bot_token: str,
    fresh_db: Path,
) -> None:
    group, _ = _admin_group(emulator, tg_group, bot_token)
    _subscribed_yesterday(fresh_db, group.id, minutes_ago=10)

    bot = start_bot(database=fresh_db)
    digests = _digests(group, within=20)
    assert len(digests) == 1
    assert "Air raid alert over Kyiv lifted" in digests[0]
    _restart_sends_nothing_more(bot, start_bot, fresh_db, group)


def test_a_chat_that_blocked_the_bot_is_unsubscribed(
    start_bot: Callable[..., BotProcess],
    tg_group: Callable[..., TelegramChat],
    emulator: Emulator,
    bot_token: str,
    fresh_db: Path,
) -> None:
    group, _ = _admin_group(emulator, tg_group, bot_token)
    _subscribed_yesterday(fresh_db, group.id, minutes_ago=5)
    emulator.block(group.id)

    bot = start_bot(database=fresh_db)
    deadline = time.monotonic() + 20
    while not [c for c in emulator.calls(bot_token, "sendMessage") if c["status"] == 403]:
        assert time.monotonic() < deadline, "the bot never tried to send the digest"
        time.sleep(0.2)
    bot.stop()
    store = Store(fresh_db)
    sub = Subscriptions(store.db).get(group.id)
    store.close()
    assert sub is not None
    assert not sub.active
    assert "blocked" in (sub.deactivated_reason or "")
    assert "unsubscribed" in bot.log()


def test_digest_on_demand_lists_new_posts_and_then_says_nothing_new(
    start_bot: Callable[..., BotProcess],
    tg_group: Callable[..., TelegramChat],
    emulator: Emulator,
    bot_token: str,
    fresh_db: Path,
) -> None:
    start_bot(database=fresh_db)
    group, _ = _admin_group(emulator, tg_group, bot_token)
    member = group.member(first_name="Ira")
    member.send_command("/digest")
    (digest,) = group.wait_for_replies(1, timeout=10)
    assert "Air raid alert over Kyiv lifted" in digest.text
    member.send_command("/digest")
    (again,) = group.wait_for_replies(1, timeout=10)
    assert "No new posts since" in again.text
    member.send_command("/subscription")
    (none,) = group.wait_for_replies(1, timeout=10)
    assert "no daily digest" in none.text


def test_a_channel_admin_subscribes_the_channel_from_a_private_chat(
    start_bot: Callable[..., BotProcess],
    tg_user: Callable[..., TelegramUser],
    emulator: Emulator,
    bot_token: str,
    fresh_db: Path,
) -> None:
    channel = {"id": -1002223334445, "type": "channel", "title": "Desk", "username": "deskdigest"}
    emulator.register_chat(channel)
    start_bot(database=fresh_db)
    editor, outsider = tg_user(first_name="Editor"), tg_user(first_name="Outsider")
    emulator.set_chat_member(channel["id"], editor.id, "administrator")

    outsider.send_command("/subscribe @deskdigest 08:00")
    (refused,) = outsider.wait_for_replies(1, timeout=10)
    assert "Only an administrator of @deskdigest" in refused.text

    editor.send_command("/subscribe @deskdigest 08:00")
    (not_yet,) = editor.wait_for_replies(1, timeout=10)
    assert "Make me an administrator of @deskdigest" in not_yet.text

    emulator.set_chat_member(channel["id"], 666, "administrator", can_post_messages=True)
    editor.send_command("/subscribe @deskdigest 08:00 Europe/Kyiv")
    (done,) = editor.wait_for_replies(1, timeout=10)
    assert "every day at 08:00 (Europe/Kyiv)" in done.text
    store = Store(fresh_db)
    sub = Subscriptions(store.db).get(channel["id"])
    store.close()
    assert sub is not None and sub.active and sub.chat_title == "Desk"
