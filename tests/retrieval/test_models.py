"""Which times are plausible publication times, and ordering that never overflows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from retrieval.models import Post, Timestamp

NOW = datetime(2024, 7, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        (Timestamp.of_date(date(1899, 12, 31)), "1899-12-31 is before 1900"),
        (
            Timestamp.of_time(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))),
            "0001-01-01T00:00:00+05:00 is before 1900",
        ),
        (
            Timestamp.of_time(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=5)))),
            "9999-12-31T23:59:00+05:00 is more than a day in the future",
        ),
        (Timestamp.of_date(date(2024, 7, 7)), "2024-07-07 is more than a day in the future"),
        (
            Timestamp.of_time(NOW + timedelta(days=1, seconds=1)),
            "2024-07-06T12:00:01+00:00 is more than a day in the future",
        ),
        (Timestamp.of_time(NOW + timedelta(hours=23)), None),
        (Timestamp.of_date(date(2024, 7, 6)), None),
        (Timestamp.of_date(date(1900, 1, 1)), None),
    ],
)
def test_implausible_times_say_why(stamp: Timestamp, reason: str | None) -> None:
    assert stamp.implausible(NOW) == reason


def test_sort_keys_of_calendar_edges_never_overflow_and_still_order() -> None:
    first = Timestamp.of_time(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))
    last = Timestamp.of_time(datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))))
    normal = Timestamp.parse("2023-05-02T09:12:00+03:00")
    assert first.sort_key() < normal.sort_key() < last.sort_key()
    assert normal.sort_key() == "2023-05-02T06:12:00"


def test_a_post_with_a_giant_title_is_implausible() -> None:
    post = Post("p", "c", "x" * 2001, ("body",), Timestamp.of_date(date(2024, 1, 1)), "CNN")
    assert post.implausible(NOW) == "the title is longer than 2,000 characters"
