"""Digest subscriptions: validation, DST-correct scheduling, catch-up, one digest per local date."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.subscriptions import (
    INGEST_GRACE,
    MAX_LOOKBACK,
    Subscription,
    SubscriptionError,
    Subscriptions,
    digest_since,
    due_catch_up,
    next_run,
)
from retrieval.storage.store import Store

KYIV = ZoneInfo("Europe/Kyiv")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2024, 5, 1, 12, tzinfo=UTC))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


@pytest.fixture
def subs(path: Path, clock: Clock) -> Iterator[Subscriptions]:
    store = Store(path)
    yield Subscriptions(store.db, clock=clock)
    store.close()


def reopen(path: Path, clock: Clock) -> Subscriptions:
    """What a restarted bot sees: new objects on the same file."""
    return Subscriptions(Store(path).db, clock=clock)


def sub(local_time: str, zone: str, **changes: object) -> Subscription:
    base = Subscription(
        chat_id=1,
        chat_title="Group",
        local_time=local_time,
        timezone=zone,
        active=True,
        created=LONG_AGO,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# -- subscribing -------------------------------------------------------------------------------


def test_subscribing_defaults_to_eight_oclock_and_normalises_the_time(subs: Subscriptions) -> None:
    assert subs.subscribe(1, "Group").local_time == "08:00"
    assert subs.subscribe(1, "Group", "7:05", "Europe/Kyiv").local_time == "07:05"


@pytest.mark.parametrize("bad", ["24:00", "12:60", "noon", "1230", "", "-1:00"])
def test_a_time_that_is_not_hh_mm_is_refused(subs: Subscriptions, bad: str) -> None:
    with pytest.raises(SubscriptionError, match="HH:MM"):
        subs.subscribe(1, "Group", bad, "UTC")


@pytest.mark.parametrize("bad", ["Mars/Olympus", "Europe", "../../etc/passwd", "europe/kyiv", ""])
def test_a_name_that_is_not_an_iana_zone_is_refused(subs: Subscriptions, bad: str) -> None:
    with pytest.raises(SubscriptionError, match="timezone"):
        subs.subscribe(1, "Group", "08:00", bad)
    assert subs.get(1) is None


def test_resubscribing_changes_time_and_zone_but_keeps_the_start_date(
    subs: Subscriptions, clock: Clock
) -> None:
    first = subs.subscribe(1, "Group", "08:00", "UTC")
    clock.now += timedelta(days=3)
    again = subs.subscribe(1, "Renamed group", "06:30", "Asia/Kolkata")
    assert (again.local_time, again.timezone, again.chat_title) == (
        "06:30",
        "Asia/Kolkata",
        "Renamed group",
    )
    assert again.created == first.created
    assert [s.chat_id for s in subs.active()] == [1]


def test_unsubscribing_removes_the_subscription_once(subs: Subscriptions) -> None:
    subs.subscribe(1, "Group")
    assert subs.unsubscribe(1)
    assert subs.get(1) is None
    assert not subs.unsubscribe(1)


def test_a_deactivated_chat_is_not_scheduled_until_it_subscribes_again(
    subs: Subscriptions, clock: Clock
) -> None:
    subs.subscribe(1, "Group")
    subs.subscribe(2, "Other")
    assert subs.deactivate(1, "bot was removed from the group")
    paused = subs.get(1)
    assert paused is not None and not paused.active
    assert paused.deactivated_reason == "bot was removed from the group"
    assert [s.chat_id for s in subs.active()] == [2]
    assert due_catch_up(paused, clock.now) is None
    assert not subs.deactivate(1, "again")
    resumed = subs.subscribe(1, "Group")
    assert resumed.active and resumed.deactivated_reason is None


def test_a_group_that_became_a_supergroup_keeps_its_subscription_and_history(
    subs: Subscriptions, clock: Clock
) -> None:
    subs.subscribe(-100, "Group", "09:15", "Europe/Kyiv")
    today = date(2024, 5, 1)
    assert subs.claim(-100, today, post_ids=["p1"])
    subs.confirm(-100, today)
    assert subs.migrate(-100, -1001234)
    assert subs.get(-100) is None
    moved = subs.get(-1001234)
    assert moved is not None
    assert (moved.local_time, moved.timezone, moved.last_digest_date) == (
        "09:15",
        "Europe/Kyiv",
        today,
    )
    assert not subs.claim(-1001234, today)  # already delivered under the old id
    assert subs.sent_post_ids(-1001234, since=clock.now) == {"p1"}
    assert subs.sent_post_ids(-100, since=clock.now) == set()


def test_migrating_onto_a_chat_that_already_subscribed_keeps_that_subscription(
    subs: Subscriptions,
) -> None:
    subs.subscribe(-100, "Old group", "09:15", "UTC")
    subs.subscribe(-1001234, "Supergroup", "07:00", "UTC")
    assert subs.migrate(-100, -1001234)
    kept = subs.get(-1001234)
    assert kept is not None and kept.local_time == "07:00"
    assert subs.get(-100) is None
    assert not subs.migrate(-100, -1001234)  # nothing left to move


# -- scheduling --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        (
            "Europe/Kyiv",
            datetime(2024, 5, 1, 4, 59, tzinfo=UTC),
            datetime(2024, 5, 1, 5, tzinfo=UTC),
        ),
        (
            "Europe/Kyiv",
            datetime(2024, 5, 1, 5, 0, tzinfo=UTC),
            datetime(2024, 5, 2, 5, tzinfo=UTC),
        ),
        (
            "America/New_York",
            datetime(2024, 5, 1, 5, tzinfo=UTC),
            datetime(2024, 5, 1, 12, tzinfo=UTC),
        ),
        (
            "Asia/Kolkata",
            datetime(2024, 5, 1, 3, tzinfo=UTC),
            datetime(2024, 5, 2, 2, 30, tzinfo=UTC),
        ),
    ],
)
def test_the_next_run_is_the_next_local_eight_oclock(
    zone: str, now: datetime, expected: datetime
) -> None:
    run = next_run(sub("08:00", zone), now)
    assert run == expected
    assert run.tzinfo == ZoneInfo(zone) and (run.hour, run.minute) == (8, 0)


def test_a_time_skipped_by_spring_forward_still_fires_once_that_day() -> None:
    # New York skips 02:00–03:00 on 10 March 2024; Kyiv skips 03:00–04:00 on 31 March 2024
    ny = next_run(sub("02:30", "America/New_York"), datetime(2024, 3, 10, 5, tzinfo=UTC))
    assert ny.astimezone(UTC) == datetime(2024, 3, 10, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert (ny.date(), ny.hour, ny.minute, ny.tzname()) == (date(2024, 3, 10), 3, 30, "EDT")
    kyiv = next_run(sub("03:30", "Europe/Kyiv"), datetime(2024, 3, 30, 23, tzinfo=UTC))
    assert kyiv.astimezone(UTC) == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)  # 04:30 EEST
    after = next_run(sub("03:30", "Europe/Kyiv"), kyiv)
    assert after.astimezone(UTC) == datetime(2024, 4, 1, 0, 30, tzinfo=UTC)  # 03:30 EEST


def test_a_time_repeated_by_fall_back_fires_once_at_its_first_occurrence() -> None:
    nightly = sub("01:30", "America/New_York")
    first = next_run(nightly, datetime(2024, 11, 3, 4, tzinfo=UTC))
    assert first.astimezone(UTC) == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = next_run(nightly, first)
    assert second.astimezone(UTC) == datetime(2024, 11, 4, 6, 30, tzinfo=UTC)  # next day, EST
    # an hour later it is 01:30 again on the wall clock (EST), and still not time
    assert next_run(nightly, datetime(2024, 11, 3, 6, 30, tzinfo=UTC)) == second
    # the same given as New York wall time: 01:15 EST comes after 01:30 EDT
    assert next_run(nightly, datetime(2024, 11, 3, 1, 15, fold=1, tzinfo=NEW_YORK)) == second


@pytest.mark.parametrize(
    ("zone", "local_time", "start"),
    [
        ("Europe/Kyiv", "03:30", datetime(2024, 3, 20, tzinfo=UTC)),
        ("Europe/Kyiv", "03:30", datetime(2024, 10, 20, tzinfo=UTC)),
        ("America/New_York", "02:30", datetime(2024, 3, 1, tzinfo=UTC)),
        ("America/New_York", "01:30", datetime(2024, 10, 25, tzinfo=UTC)),
        ("Asia/Kolkata", "00:00", datetime(2024, 3, 1, tzinfo=UTC)),
    ],
)
def test_a_scheduler_following_next_run_fires_once_every_local_day_across_dst(
    zone: str, local_time: str, start: datetime
) -> None:
    daily = sub(local_time, zone)
    now, dates = start, []
    for _ in range(30):
        now = next_run(daily, now)
        dates.append(now.date())
    assert dates == [dates[0] + timedelta(days=n) for n in range(30)]


def test_a_digest_missed_less_than_twelve_hours_ago_is_caught_up_once() -> None:
    daily = sub("08:00", "Europe/Kyiv")  # 05:00 UTC in May
    missed = datetime(2024, 5, 1, 5, tzinfo=UTC)
    assert due_catch_up(daily, missed + timedelta(hours=11, minutes=59)) == date(2024, 5, 1)
    assert due_catch_up(daily, missed + timedelta(hours=12)) is None
    assert due_catch_up(daily, missed + timedelta(hours=13)) is None
    done = replace(daily, last_digest_date=date(2024, 5, 1))
    assert due_catch_up(done, missed + timedelta(hours=1)) is None


def test_a_chat_that_subscribed_after_the_run_has_nothing_to_catch_up() -> None:
    daily = sub("08:00", "Europe/Kyiv", created=datetime(2024, 5, 1, 6, tzinfo=UTC))
    assert due_catch_up(daily, datetime(2024, 5, 1, 7, tzinfo=UTC)) is None


def test_catch_up_reports_the_local_date_of_the_missed_run() -> None:
    # 23:30 in Kolkata on 1 May is 18:00 UTC; at 02:00 UTC on 2 May the run is 8 h late
    late = sub("23:30", "Asia/Kolkata")
    assert due_catch_up(late, datetime(2024, 5, 2, 2, tzinfo=UTC)) == date(2024, 5, 1)


def test_a_digest_starts_an_hour_before_the_last_one_ended_but_not_more_than_26_hours_back() -> (
    None
):
    now = datetime(2024, 5, 2, 5, tzinfo=UTC)
    assert digest_since(None, now) == now - timedelta(hours=24)
    assert digest_since(sub("08:00", "UTC"), now) == now - timedelta(hours=24)
    recent = sub("08:00", "UTC", covered_until=now - timedelta(hours=20))
    assert digest_since(recent, now) == now - timedelta(hours=20) - INGEST_GRACE
    stale = sub("08:00", "UTC", covered_until=now - timedelta(days=5))
    assert digest_since(stale, now) == now - MAX_LOOKBACK


# -- one digest per chat and local date ----------------------------------------------------------


def test_a_date_can_be_claimed_once_even_after_a_restart(
    subs: Subscriptions, path: Path, clock: Clock
) -> None:
    subs.subscribe(1, "Group", "08:00", "Europe/Kyiv")
    day = date(2024, 5, 1)
    assert subs.claim(1, day, post_ids=["a", "b"], until=clock.now)
    assert not subs.claim(1, day)
    subs.confirm(1, day)
    restarted = reopen(path, clock)
    assert not restarted.claim(1, day)
    record = restarted.delivery(1, day)
    assert record is not None and record.state == "sent" and record.post_ids == ("a", "b")
    again = restarted.get(1)
    assert again is not None and again.last_sent_at == clock.now
    assert restarted.claim(1, day + timedelta(days=1))


def test_a_crash_between_claim_and_confirm_sends_nothing_twice(
    subs: Subscriptions, path: Path, clock: Clock
) -> None:
    subs.subscribe(1, "Group", "08:00", "Europe/Kyiv")
    clock.now = datetime(2024, 5, 1, 5, tzinfo=UTC)
    day = date(2024, 5, 1)
    assert subs.claim(1, day, post_ids=["a"], until=clock.now)
    # the process dies here, before confirm; it restarts an hour later
    clock.now += timedelta(hours=1)
    restarted = reopen(path, clock)
    after = restarted.get(1)
    assert after is not None
    assert due_catch_up(after, clock.now) is None
    assert not restarted.claim(1, day)
    record = restarted.delivery(1, day)
    assert record is not None and record.state == "sending"
    # the claimed window and posts count as delivered: the next digest repeats neither
    assert after.covered_until == datetime(2024, 5, 1, 5, tzinfo=UTC)
    assert restarted.sent_post_ids(1, since=clock.now) == {"a"}


def test_two_processes_racing_for_the_same_date_get_one_claim(path: Path, clock: Clock) -> None:
    one, two = reopen(path, clock), reopen(path, clock)
    one.subscribe(1, "Group")
    results = [one.claim(1, date(2024, 5, 1)), two.claim(1, date(2024, 5, 1))]
    assert results == [True, False]


def test_releasing_a_failed_send_frees_the_date_and_its_posts(
    subs: Subscriptions, clock: Clock
) -> None:
    subs.subscribe(1, "Group")
    day = date(2024, 5, 1)
    subs.record_sent(1, ["manual"])  # sent earlier by /digest: must survive the release
    assert subs.claim(1, day, post_ids=["a", "b"])
    assert subs.release(1, day)
    assert subs.delivery(1, day) is None
    assert subs.sent_post_ids(1, since=clock.now) == {"manual"}
    assert subs.claim(1, day)
    subs.confirm(1, day)
    assert not subs.release(1, day)  # a sent digest cannot be taken back


def test_an_empty_run_is_recorded_so_it_is_not_caught_up(subs: Subscriptions, clock: Clock) -> None:
    subs.subscribe(1, "Group", "08:00", "UTC")
    day = date(2024, 5, 1)
    assert subs.skip(1, day, until=clock.now)
    recorded = subs.get(1)
    assert recorded is not None and recorded.last_digest_date == day
    assert recorded.last_sent_at is None
    assert not subs.claim(1, day)


def test_sent_ids_are_remembered_from_the_start_of_sinces_utc_day(
    subs: Subscriptions, clock: Clock
) -> None:
    subs.record_sent(1, ["yesterday"], at=datetime(2024, 4, 30, 23, tzinfo=UTC))
    subs.record_sent(1, ["early"], at=datetime(2024, 5, 1, 0, 30, tzinfo=UTC))
    subs.record_sent(2, ["other chat"], at=datetime(2024, 5, 1, 1, tzinfo=UTC))
    since = datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert subs.sent_post_ids(1, since=since) == {"early"}
    assert subs.sent_post_ids_all(since=since) == {1: {"early"}, 2: {"other chat"}}


def test_old_records_are_pruned_when_a_new_digest_is_claimed(
    subs: Subscriptions, clock: Clock
) -> None:
    subs.record_sent(1, ["old"], at=clock.now - timedelta(days=30))
    assert subs.claim(1, date(2024, 3, 1))
    assert subs.claim(1, date(2024, 5, 1), post_ids=["new"])
    assert subs.sent_post_ids(1, since=clock.now - timedelta(days=60)) == {"new"}
    assert subs.delivery(1, date(2024, 3, 1)) is None
