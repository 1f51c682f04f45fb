"""Coverage kept fresh, end to end: channel posts, /follow alerts and polled sources."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.e2e.bot_process import BotProcess
from tests.e2e.emulator import Emulator, TelegramUser

CHANNEL = {"id": -1001987654321, "title": "Kyiv Desk Live", "username": "kyivdesklive"}
FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"


def _wait(condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the bot"
        time.sleep(0.1)


def test_channel_posts_become_coverage_and_alert_followers_once(
    start_bot: Callable[..., BotProcess],
    tg_user: Callable[..., TelegramUser],
    emulator: Emulator,
    bot_token: str,
) -> None:
    start_bot(env={"LIVEBLOG_CHANNELS": "@kyivdesklive"})
    alice = tg_user()
    alice.send_command("/follow Odesa drones")
    (confirmed,) = alice.wait_for_replies(1, timeout=10)
    assert "Odesa drones" in confirmed.text

    emulator.channel_post(
        bot_token,
        CHANNEL,
        101,
        "Drones hit the Odesa port overnight\n\nAir defences downed eleven drones over Odesa.",
        author_signature="Olena K.",
    )
    (alert,) = alice.wait_for_replies(1, timeout=15)
    assert "Drones hit the Odesa port overnight" in alert.text
    assert "Kyiv Desk Live" in alert.text
    assert "by Olena K." in alert.text
    assert "https://t.me/kyivdesklive/101" in alert.text
    assert "/unfollow" in alert.text

    # An edit replaces the post but never alerts again; an unrelated post alerts nobody.
    emulator.channel_post(
        bot_token,
        CHANNEL,
        101,
        "Drones hit the Odesa port overnight\n\nAir defences downed twelve drones over Odesa.",
        edit_date=int(time.time()),
    )
    emulator.channel_post(bot_token, CHANNEL, 102, "Parliament passes the budget on time")
    alice.chat.assert_no_reply(within=2.0)
    alice.send_message("how many drones over Odesa")
    (answer,) = alice.wait_for_replies(1, timeout=10)
    assert "twelve <b>drones</b>" in answer.text
    assert "eleven" not in answer.text

    # Posts of channels nobody configured are ignored.
    stranger = {"id": -1001111111111, "title": "Elsewhere", "username": "elsewhere"}
    emulator.channel_post(bot_token, stranger, 7, "Odesa drones story from elsewhere")
    alice.chat.assert_no_reply(within=2.0)


def test_an_admin_adds_a_feed_that_is_polled_and_alerts_a_follower(
    start_bot: Callable[..., BotProcess],
    tg_user: Callable[..., TelegramUser],
    httpserver: HTTPServer,
) -> None:
    feed = (FIXTURES / "rss_liveblog.xml").read_bytes()
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed, content_type="application/rss+xml"
    )
    admin = tg_user(first_name="Admin")
    # The feed is served on 127.0.0.1: only a deployment that allows private sources reads it.
    start_bot(env={"LIVEBLOG_ADMINS": str(admin.id), "LIVEBLOG_ALLOW_PRIVATE_SOURCES": "true"})
    reader = tg_user(first_name="Reader")

    reader.send_command(f"/sources add {httpserver.url_for('/feed.xml')}")
    (refused,) = reader.wait_for_replies(1, timeout=10)
    assert "Only the bot's administrators" in refused.text

    reader.send_command("/follow seat declared")
    reader.wait_for_replies(1, timeout=10)
    admin.send_command(f"/sources add {httpserver.url_for('/feed.xml')} 30s")
    (added,) = admin.wait_for_replies(1, timeout=10)
    assert "Added source #1" in added.text

    (alert,) = reader.wait_for_replies(1, timeout=30)  # the poller runs every 15 s
    assert "First seat declared" in alert.text
    assert len(httpserver.log) >= 1
    admin.send_command("/sources")
    (listing,) = admin.wait_for_replies(1, timeout=10)
    assert "every 30s" in listing.text
    assert "last success never" not in listing.text


def test_by_default_a_source_added_from_telegram_may_not_reach_an_internal_address(
    start_bot: Callable[..., BotProcess],
    tg_user: Callable[..., TelegramUser],
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("<rss/>")
    admin = tg_user(first_name="Admin")
    start_bot(env={"LIVEBLOG_ADMINS": str(admin.id)})
    admin.send_command(f"/sources add {httpserver.url_for('/feed.xml')}")
    (refused,) = admin.wait_for_replies(1, timeout=10)
    assert "loopback" in refused.text
    assert "<rss" not in refused.text
    assert len(httpserver.log) == 0  # never asked


def test_follows_are_listed_refused_twice_and_removed(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot()
    alice = tg_user()
    alice.send_command("/follow Bakhmut")
    alice.send_command("/follow Bakhmut")
    first, duplicate = alice.wait_for_replies(2, timeout=10)
    assert "Bakhmut" in first.text
    assert "already" in duplicate.text.lower()
    alice.send_command("/following")
    (listing,) = alice.wait_for_replies(1, timeout=10)
    assert "Bakhmut" in listing.text
    alice.send_command("/unfollow Bakhmut")
    (gone,) = alice.wait_for_replies(1, timeout=10)
    assert "Bakhmut" in gone.text
    alice.send_command("/following")
    (empty,) = alice.wait_for_replies(1, timeout=10)
    assert "Bakhmut" not in empty.text
