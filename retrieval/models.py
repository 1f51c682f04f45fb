"""The one shape every source produces: a `Coverage` (a live blog) and its `Post`s."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

Precision = Literal["date", "time"]


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
        """A string that orders timestamps in time (a date sorts at the start of its day)."""
        if isinstance(self.value, datetime):
            return self.value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return self.value.isoformat() + "T00:00:00"


@dataclass(frozen=True)
class Coverage:
    """A live blog: one story followed over time by one outlet."""

    coverage_id: str
    title: str
    source: str
    url: str | None = None
    summary: tuple[str, ...] = ()
    started: Timestamp | None = None


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
        return "\n\n".join((self.title, *self.body, *self.captions))

    def content_hash(self) -> str:
        """Fingerprint of what a reader sees; a change means the post was edited at the source."""
        parts = [self.title, *self.body, self.published.isoformat(), *self.authors, self.url or ""]
        if self.captions:  # posts without captions keep the fingerprint they always had
            parts += ["captions", *self.captions]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def stable_id(*parts: str) -> str:
    """A short id derived from identifying fields, so re-importing yields the same id."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
