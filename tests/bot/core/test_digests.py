"""The digest as a reply (within Telegram's limits), its delivery run and the digest commands."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.answers import ChatPrefs
from bot.core.digests import (
    DigestRenderer,
    DigestService,
    render_digest,
    subscribe_command,
    subscription_command,
    unsubscribe_command,
)
from bot.core.message_size import MAX_CHARS, MAX_ENTITIES, entity_count, text_length
from bot.core.reply import Reply, Span
from bot.core.subscriptions import Subscriptions
from bot.telegram.render import render_messages
from retrieval.digest import select_digest
from retrieval.models import Coverage, Post, Timestamp
from retrieval.sources import Parsed
from retrieval.storage.store import Store

KYIV = ZoneInfo("Europe/Kyiv")
NEWS = Coverage("news", "Russia-Ukraine news", "CNN", url="https://example.com/live")
DAY = datetime(2023, 5, 2, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "bot.db")
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(DAY + timedelta(hours=20))


@pytest.fixture
def subs(store: Store, clock: Clock) -> Subscriptions:
    return Subscriptions(store.db, clock=clock)


@pytest.fixture
def service(store: Store, subs: Subscriptions) -> DigestService:
    return DigestService(store, subs)


def timed(
    post_id: str, title: str, at: datetime, body: str = "Officials said it happened today."
) -> Post:
    return Post(
        post_id,
        NEWS.coverage_id,
        title,
        (body,),
        Timestamp.of_time(at),
        NEWS.source,
        url=f"https://example.com/{post_id}",
    )


def spans(reply: Reply) -> list[Span]:
    """All spans with the separators render_telegram puts between blocks."""
    out: list[Span] = []
    for n, block in enumerate(reply.blocks):
        if n:
            out.append(Span("\n" if block.joined else "\n\n"))
        out.extend(block.spans)
    return out


def assert_one_telegram_message(reply: Reply) -> None:
    assert text_length(spans(reply)) <= MAX_CHARS
    assert entity_count(spans(reply)) <= MAX_ENTITIES
    assert len(render_messages(reply)) == 1


# -- rendering --------------------------------------------------------------------------------


def test_a_digest_has_a_heading_per_coverage_then_time_linked_title_and_gist(
    store: Store, sample: Parsed
) -> None:
    store.upsert(sample.coverage, sample.posts)
    selection = select_digest(store, since=DAY, now=DAY + timedelta(hours=23), exclude=set())
    reply = render_digest(selection, ChatPrefs(KYIV), scheduled=True)
    assert reply is not None
    header, heading, first = reply.blocks[:3]
    assert header.text.startswith("Daily digest · 8 new posts since 2 May 2023, 03:00 EEST")
    assert heading.spans[0] == Span("Russia-Ukraine news", "bold", None)
    assert heading.text == "Russia-Ukraine news · CNN"
    assert first.joined
    assert first.spans[0].text == "2 May 2023 · "  # only the date is known
    assert first.spans[1].text.endswith("Here's the latest")
    assert first.spans[3] == Span("Ukraine’s counteroffensive appears imminent.", "italic")
    assert [item.post_id for item in reply.results] == list(selection.post_ids)
    assert_one_telegram_message(reply)


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("Europe/Kyiv", "2 May 2023, 14:05 EEST"),
        ("America/New_York", "2 May 2023, 07:05 EDT"),
        ("Asia/Kolkata", "2 May 2023, 16:35 IST"),
    ],
)
def test_post_times_are_shown_in_the_chats_timezone(store: Store, zone: str, shown: str) -> None:
    store.upsert(NEWS, [timed("p", "Blast in Bryansk", DAY + timedelta(hours=11, minutes=5))])
    selection = select_digest(store, since=DAY, now=DAY + timedelta(hours=20), exclude=set())
    reply = render_digest(selection, ChatPrefs(ZoneInfo(zone)), scheduled=True)
    assert reply is not None
    line = reply.blocks[-1]
    assert line.spans[0].text == f"{shown} · "
    assert line.spans[1] == Span("Blast in Bryansk", "bold", "https://example.com/p")


def test_nothing_new_sends_nothing_on_schedule_and_says_so_on_demand(store: Store) -> None:
    selection = select_digest(
        store, since=DAY + timedelta(hours=8), now=DAY + timedelta(hours=20), exclude=set()
    )
    assert render_digest(selection, ChatPrefs(KYIV), scheduled=True) is None
    reply = render_digest(selection, ChatPrefs(KYIV), scheduled=False)
    assert reply is not None and reply.kind == "empty"
    assert reply.text == "No new posts since 2 May 2023, 11:00 EEST."


def test_a_long_digest_is_cut_to_one_message_with_a_count_of_the_rest(store: Store) -> None:
    body = "Officials said " + "the situation on the front line remained tense and fluid " * 4
    posts = [
        timed(
            f"p{i:03d}",
            f"Update {i}: " + "shelling reported near the border " * 3,
            DAY + timedelta(minutes=i),
            body,
        )
        for i in range(200)
    ]
    store.upsert(NEWS, posts)
    selection = select_digest(store, since=DAY, now=DAY + timedelta(hours=20), exclude=set())
    reply = render_digest(selection, ChatPrefs(KYIV), scheduled=True)
    assert reply is not None
    assert_one_telegram_message(reply)
    shown = len(reply.results)
    assert 0 < shown < 200
    assert reply.blocks[-1].text == f"…and {200 - shown} more — /search"
    # the newest come first, and the cut leaves no room for one more post
    assert reply.results[0].post_id == "p199"
    assert text_length(spans(reply)) > MAX_CHARS - 700


def test_many_short_posts_are_cut_by_telegrams_entity_limit(store: Store) -> None:
    posts = [
        timed(f"p{i:03d}", f"Item {i}", DAY + timedelta(minutes=i), "Short.") for i in range(80)
    ]
    store.upsert(NEWS, posts)
    selection = select_digest(store, since=DAY, now=DAY + timedelta(hours=20), exclude=set())
    reply = render_digest(selection, ChatPrefs(KYIV), scheduled=True)
    assert reply is not None
    assert_one_telegram_message(reply)
    assert text_length(spans(reply)) < MAX_CHARS // 2  # characters were not the limit
    assert entity_count(spans(reply)) > MAX_ENTITIES - 5
    assert reply.blocks[-1].text == f"…and {80 - len(reply.results)} more — /search"


def test_a_digest_that_fits_has_no_more_line(store: Store) -> None:
    store.upsert(NEWS, [timed(f"p{i}", f"Item {i}", DAY + timedelta(hours=i)) for i in range(3)])
    selection = select_digest(store, since=DAY, now=DAY + timedelta(hours=20), exclude=set())
    reply = DigestRenderer().render(selection, KYIV, scheduled=False)
    assert reply is not None
    assert len(reply.results) == 3
    assert "more — /search" not in reply.text
    assert reply.blocks[0].text.startswith("Digest · 3 new posts since")


# -- delivery ---------------------------------------------------------------------------------


def test_a_scheduled_digest_is_claimed_once_per_local_date(
    store: Store, subs: Subscriptions, service: DigestService, clock: Clock
) -> None:
    store.upsert(NEWS, [timed("a", "First news", DAY + timedelta(hours=10))])
    subs.subscribe(1, "Group", "08:00", "Europe/Kyiv")
    day = date(2023, 5, 2)
    out = service.scheduled(1, day)
    assert out is not None and out.post_ids == ("a",) and out.local_date == day
    assert service.scheduled(1, day) is None  # claimed: a second run sends nothing
    service.sent(out)
    record = subs.delivery(1, day)
    assert record is not None and record.state == "sent"
    # a restarted service on the same file agrees
    again = DigestService(Store(store.path), Subscriptions(Store(store.path).db, clock=clock))
    assert again.scheduled(1, day) is None


def test_the_next_digest_holds_only_what_is_new(
    store: Store, subs: Subscriptions, service: DigestService, clock: Clock
) -> None:
    store.upsert(NEWS, [timed("a", "First news", DAY + timedelta(hours=10))])
    subs.subscribe(1, "Group", "08:00", "UTC")
    first = service.scheduled(1, date(2023, 5, 2))
    assert first is not None
    service.sent(first)
    clock.now += timedelta(days=1)
    store.upsert(NEWS, [timed("b", "Second news", clock.now - timedelta(hours=2))])
    second = service.scheduled(1, date(2023, 5, 3))
    assert second is not None and second.post_ids == ("b",)


def test_a_run_with_nothing_new_sends_nothing_and_is_recorded(
    subs: Subscriptions, service: DigestService
) -> None:
    subs.subscribe(1, "Group", "08:00", "UTC")
    assert service.scheduled(1, date(2023, 5, 2)) is None
    record = subs.delivery(1, date(2023, 5, 2))
    assert record is not None and record.state == "empty"


def test_a_failed_send_frees_the_date_for_another_try(
    store: Store, subs: Subscriptions, service: DigestService
) -> None:
    store.upsert(NEWS, [timed("a", "First news", DAY + timedelta(hours=10))])
    subs.subscribe(1, "Group", "08:00", "UTC")
    out = service.scheduled(1, date(2023, 5, 2))
    assert out is not None
    service.failed(out)
    retry = service.scheduled(1, date(2023, 5, 2))
    assert retry is not None and retry.post_ids == ("a",)


def test_a_digest_claimed_before_the_group_moved_is_confirmed_under_the_new_id(
    store: Store, subs: Subscriptions, service: DigestService
) -> None:
    store.upsert(NEWS, [timed("a", "First news", DAY + timedelta(hours=10))])
    subs.subscribe(-100, "Group", "08:00", "UTC")
    out = service.scheduled(-100, date(2023, 5, 2))
    assert out is not None
    moved = service.moved(out, -1001234)  # Telegram answered "chat migrated" to the send
    assert moved.chat_id == -1001234 and moved.post_ids == out.post_ids
    service.sent(moved)
    record = subs.delivery(-1001234, date(2023, 5, 2))
    assert record is not None and record.state == "sent"
    assert service.scheduled(-1001234, date(2023, 5, 2)) is None


def test_unsubscribed_and_paused_chats_get_no_scheduled_digest(
    store: Store, subs: Subscriptions, service: DigestService
) -> None:
    store.upsert(NEWS, [timed("a", "First news", DAY + timedelta(hours=10))])
    subs.subscribe(1, "Group")
    subs.deactivate(1, "blocked")
    assert service.scheduled(1, date(2023, 5, 2)) is None
    assert service.scheduled(2, date(2023, 5, 2)) is None


def test_a_morning_batch_gives_each_chat_its_own_unsent_posts_in_its_own_zone(
    store: Store, subs: Subscriptions, service: DigestService, clock: Clock
) -> None:
    store.upsert(NEWS, [timed(f"p{i}", f"News {i}", DAY + timedelta(hours=i)) for i in range(12)])
    zones = ["Europe/Kyiv", "America/New_York", "Asia/Kolkata"]
    for chat in range(30):
        subs.subscribe(chat, f"Group {chat}", "08:00", zones[chat % 3])
    subs.record_sent(0, ["p11", "p10"], at=DAY + timedelta(hours=12))
    day = date(2023, 5, 2)
    outs = list(service.scheduled_batch([(chat, day) for chat in range(30)]))
    assert len(outs) == 30
    by_chat = {out.chat_id: out for out in outs}
    assert by_chat[0].post_ids[:2] == ("p9", "p8")
    assert by_chat[1].post_ids[:2] == ("p11", "p10")
    assert "EDT" in by_chat[1].reply.blocks[2].text and "IST" in by_chat[2].reply.blocks[2].text
    assert list(service.scheduled_batch([(chat, day) for chat in range(30)])) == []


def test_digest_on_demand_finds_late_posts_skips_sent_ones_and_never_uses_up_the_daily_one(
    store: Store, subs: Subscriptions, service: DigestService, clock: Clock
) -> None:
    store.upsert(NEWS, [timed("a", "First news", DAY + timedelta(hours=10))])
    subs.subscribe(1, "Group", "08:00", "UTC")
    scheduled = service.scheduled(1, date(2023, 5, 2))
    assert scheduled is not None
    service.sent(scheduled)
    # published before the scheduled digest went out, but stored after it
    store.upsert(NEWS, [timed("b", "Second news", clock.now - timedelta(minutes=5))])
    clock.now += timedelta(minutes=1)
    now = service.on_demand(1, KYIV)
    assert now.post_ids == ("b",) and now.local_date is None
    service.sent(now)
    clock.now += timedelta(minutes=1)
    empty = service.on_demand(1, KYIV)
    assert empty.reply.kind == "empty"
    assert empty.reply.text == "No new posts since 2 May 2023, 22:00 EEST."
    # /digest does not use up the daily digest: tomorrow's still brings what /digest showed
    clock.now += timedelta(hours=12)
    tomorrow = service.scheduled(1, date(2023, 5, 3))
    assert tomorrow is not None and tomorrow.post_ids == ("b",)
    service.sent(tomorrow)
    # …and once the daily digest sent it, /digest does not show it again either
    assert service.on_demand(1, KYIV).reply.kind == "empty"


# -- commands ---------------------------------------------------------------------------------


def test_subscribe_defaults_to_eight_in_the_chats_timezone(subs: Subscriptions) -> None:
    reply = subscribe_command(subs, 1, "Group", "", ChatPrefs(KYIV))
    assert reply.kind == "info"
    assert reply.text.startswith(
        "Subscribed: a digest of new posts every day at 08:00 (Europe/Kyiv)."
    )
    assert "The next one comes 3 May 2023, 08:00 EEST." in reply.text


def test_subscribe_takes_a_time_and_a_zone_in_either_order(subs: Subscriptions) -> None:
    reply = subscribe_command(subs, 1, "Group", "Asia/Kolkata 6:30", ChatPrefs(KYIV))
    sub = subs.get(1)
    assert sub is not None and (sub.local_time, sub.timezone) == ("06:30", "Asia/Kolkata")
    assert "3 May 2023, 06:30 IST" in reply.text
    assert subscribe_command(subs, 1, "Group", "07:00", ChatPrefs(KYIV)).text.startswith("Updated")


@pytest.mark.parametrize("args", ["25:00", "Mars/Olympus", "08:00 09:00", "Europe/Kyiv UTC"])
def test_subscribe_refuses_what_it_cannot_schedule(subs: Subscriptions, args: str) -> None:
    reply = subscribe_command(subs, 1, "Group", args, ChatPrefs(KYIV))
    assert reply.kind == "invalid"
    assert "/subscribe [HH:MM] [Area/City]" in reply.text
    assert subs.get(1) is None


def test_subscription_shows_time_zone_next_delivery_and_pauses(subs: Subscriptions) -> None:
    assert "no daily digest" in subscription_command(subs, 1).text
    subscribe_command(subs, 1, "Group", "21:15 America/New_York", ChatPrefs(KYIV))
    shown = subscription_command(subs, 1).text
    assert shown == "Daily digest at 21:15 (America/New_York). Next: 2 May 2023, 21:15 EDT."
    subs.deactivate(1, "bot was blocked")
    assert "Paused (bot was blocked)" in subscription_command(subs, 1).text


def test_unsubscribe_stops_the_digest(subs: Subscriptions) -> None:
    subscribe_command(subs, 1, "Group", "", ChatPrefs(KYIV))
    assert unsubscribe_command(subs, 1).text.startswith("Unsubscribed")
    assert subs.get(1) is None
    assert "no daily digest" in unsubscribe_command(subs, 1).text
