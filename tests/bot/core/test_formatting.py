"""Showing a stored time never fails, whatever the time and the chat's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.formatting import show_time
from retrieval.models import Timestamp

ZONES = ["UTC", "Asia/Kolkata", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Kyiv"]


def test_31_december_9999_is_shown_east_of_utc_instead_of_raising() -> None:
    stamp = Timestamp.of_time(datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    assert show_time(stamp, ZoneInfo("Asia/Kolkata")) == "31 December 9999, 23:59 UTC"


def test_year_1_with_an_offset_is_shown_as_written() -> None:
    stamp = Timestamp.of_time(datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5))))
    assert show_time(stamp, ZoneInfo("America/New_York")) == "1 January 1, 00:30 UTC+05:00"


def test_ordinary_times_still_read_in_the_chats_zone() -> None:
    stamp = Timestamp.parse("2023-05-02T11:05:00+00:00")
    assert show_time(stamp, ZoneInfo("Europe/Kyiv")) == "2 May 2023, 14:05 EEST"
    assert show_time(Timestamp.parse("0001-01-01"), ZoneInfo("UTC")) == "1 January 1"


@given(
    moment=st.datetimes(
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]
        )
    ),
    zone=st.sampled_from(ZONES),
)
def test_any_stored_time_in_any_zone_is_shown(moment: datetime, zone: str) -> None:
    text = show_time(Timestamp.of_time(moment), ZoneInfo(zone))
    assert str(moment.year) in text or str(moment.year + 1) in text or str(moment.year - 1) in text


@pytest.mark.parametrize("day", [date.min, date.max])
def test_any_stored_date_is_shown(day: date) -> None:
    assert str(day.year) in show_time(Timestamp.of_date(day), ZoneInfo("Asia/Tokyo"))
