"""The one shape every source produces: a `Coverage` (a live blog) and its `Post`s."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

Precision = Literal["date", "time"]

# Times a reader can be shown: news is not older than 1900, and a post "published" more than a
# day ahead is a broken or hostile clock (a day covers every timezone's idea of "today").
EARLIEST_YEAR = 1900
FUTURE_SLACK = timedelta(days=1)
# Far beyond any real headline or live-blog update; a field this big is damage or an attack.
MAX_TITLE_CHARS = 2_000
MAX_BODY_CHARS = 1_000_000
MAX_AUTHORS = 100


@dataclass(frozen=True)
class Timestamp:
    """A publication time that says how much of it is known.

    A plain-text page may give only the day; inventing a time of day would mislead readers,
    so a date-precision timestamp keeps only the date.
    """

    value: datetime | date
    precision: Precision

    def __post_init__(self) -> None:
        if self.precision == "time":
            if not isinstance(self.value, datetime) or self.value.tzinfo is None:
                raise ValueError("a time-precision timestamp needs a timezone-aware datetime")
        elif isinstance(self.value, datetime):
            raise ValueError("a date-precision timestamp holds a date, not a datetime")

    @classmethod
    def of_date(cls, day: date) -> Timestamp:
        return cls(day, "date")

    @classmethod
    def of_time(cls, moment: datetime) -> Timestamp:
        return cls(moment, "time")

    def isoformat(self) -> str:
        """ISO 8601: full timestamp with offset, or the date alone when only that is known."""
        return self.value.isoformat()

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Inverse of `isoformat`."""
        if "T" in text:
            return cls.of_time(datetime.fromisoformat(text))
        return cls.of_date(date.fromisoformat(text))

    @property
    def day(self) -> date:
        return self.value.date() if isinstance(self.value, datetime) else self.value

    def sort_key(self) -> str:
        """A string that orders timestamps in time (a date sorts at the start of its day).

        Never raises: a time whose UTC instant falls outside years 1-9999 (31 Dec 9999 at
        +05:00 is still in 9999 locally) sorts at the edge of the calendar.
        """
        if isinstance(self.value, datetime):
            try:
                utc = self.value.astimezone(UTC)
            except OverflowError:
                return "0001-01-01T00:00:00" if self.value.year == 1 else "9999-12-31T23:59:59"
            return utc.replace(tzinfo=None, microsecond=0).isoformat()
        return self.value.isoformat() + "T00:00:00"

    def implausible(self, now: datetime) -> str | None:
        """Why this time cannot be a real publication time at `now`, or None when it can.

        Before 1900, or more than a day after `now` (a time-aware `now`, usually the import's).
        """
        if self.day.year < EARLIEST_YEAR:
            return f"{self.isoformat()} is before {EARLIEST_YEAR}"
        limit = now + FUTURE_SLACK
        if isinstance(self.value, datetime):
            if self.sort_key() > Timestamp.of_time(limit).sort_key():
                return f"{self.isoformat()} is more than a day in the future"
        elif self.value > limit.date():
            return f"{self.isoformat()} is more than a day in the future"
        return None


@dataclass(frozen=True)
class Coverage:
    """A live blog: one story followed over time by one outlet."""

    coverage_id: str
    title: str
    source: str
    url: str | None = None
    summary: tuple[str, ...] = ()
    started: Timestamp | None = None


def post_text(title: str, body: Iterable[str], captions: Iterable[str]) -> str:
    """The text the index ranks a post by (`Post.text`), also for readers that skip the
    `Post` (a rebuild reads only ids and texts)."""
    return "\n\n".join((title, *body, *captions))


@dataclass(frozen=True)
class Post:
    """One live-blog entry. `position` is its place on the page (0 = top = newest).

    `captions` are the post's photo and video captions: searchable and quotable (marked as
    captions), but not the post's own text, so they never join `body`.
    """

    post_id: str
    coverage_id: str
    title: str
    body: tuple[str, ...]
    published: Timestamp
    source: str
    authors: tuple[str, ...] = ()
    url: str | None = None
    position: int = 0
    updated: Timestamp | None = None
    captions: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def text(self) -> str:
        """Title, body and captions as one text, the unit the index ranks."""
        return post_text(self.title, self.body, self.captions)

    def implausible(self, now: datetime) -> str | None:
        """Why this post cannot be real coverage: a time `Timestamp.implausible` refuses, or a
        field far larger than any real post's."""
        if len(self.title) > MAX_TITLE_CHARS:
            return f"the title is longer than {MAX_TITLE_CHARS:,} characters"
        if sum(len(p) for p in self.body) > MAX_BODY_CHARS:
            return f"the body is longer than {MAX_BODY_CHARS:,} characters"
        if len(self.authors) > MAX_AUTHORS:
            return f"more than {MAX_AUTHORS} authors"
        for name, stamp in (("published", self.published), ("updated", self.updated)):
            reason = stamp.implausible(now) if stamp is not None else None
            if reason:
                return f"{name} {reason}"
        return None

    def content_hash(self) -> str:
        """Fingerprint of what a reader sees; a change means the post was edited at the source."""
        parts = [self.title, *self.body, self.published.isoformat(), *self.authors, self.url or ""]
        if self.captions:  # posts without captions keep the fingerprint they always had
            parts += ["captions", *self.captions]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def stable_id(*parts: str) -> str:
    """A short id derived from identifying fields, so re-importing yields the same id."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
