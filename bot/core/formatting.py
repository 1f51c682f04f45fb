"""Showing times to people: in the chat's timezone, as precisely as the source knows them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from retrieval.models import Timestamp


def show_time(stamp: Timestamp, zone: ZoneInfo) -> str:
    """ "2 May 2023, 14:05 EEST" for a known time, "2 May 2023" when only the day is known."""
    if isinstance(stamp.value, datetime):
        local = stamp.value.astimezone(zone)
        return f"{local.day} {local:%B %Y, %H:%M} {local.tzname()}"
    day = stamp.value
    return f"{day.day} {day:%B %Y}"
