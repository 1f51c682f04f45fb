"""Showing times to people: in the chat's timezone, as precisely as the source knows them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from retrieval.models import Timestamp


def show_time(stamp: Timestamp, zone: ZoneInfo) -> str:
    """ "2 May 2023, 14:05 EEST" for a known time, "2 May 2023" when only the day is known.

    Never raises: a stored time whose local form falls outside years 1-9999 (31 Dec 9999 east
    of UTC) is shown in UTC, or failing that as the source wrote it, rather than breaking every
    answer that cites it.
    """
    if isinstance(stamp.value, datetime):
        local = _local(stamp.value, zone)
        return f"{local.day} {local:%B} {local.year}, {local:%H:%M} {local.tzname() or ''}".rstrip()
    day = stamp.value
    return f"{day.day} {day:%B} {day.year}"


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    for target in (zone, UTC):
        try:
            return moment.astimezone(target)
        except (OverflowError, ValueError):
            continue
    return moment
