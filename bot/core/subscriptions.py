"""Daily-digest subscriptions: who gets one, when, and a record that no date gets two.

Kept in the coverage's SQLite file (like `bot.core.state`), so a restart loses nothing.

Scheduling rules are pure functions of a subscription and an injected ``now``:

- `next_run`: the next local HH:MM strictly after ``now``, computed with zoneinfo. On a
  spring-forward day a time inside the gap (02:30 in New York, 03:30 in Kyiv) fires once, shifted
  by the gap (03:30 EDT, 04:30 EEST) — the same instant the pre-change offset gives. On a
  fall-back day an ambiguous time fires once, at its first occurrence (``fold=0``).
- `due_catch_up`: a run missed while the bot was down is sent once at start when it is less
  than `CATCH_UP_LIMIT` (12 h) late and nothing was recorded for its local date.
- `digest_since`: a digest covers what came after the previous digest's window, but never more
  than `MAX_LOOKBACK` (26 h: the longest local day is 25 h, plus slack for a late job). Windows
  overlap by `INGEST_GRACE` (1 h), because a post may reach the store after the digest that its
  publication time belongs to; the sent-post record keeps the overlap from repeating anything.

Delivery protocol (one row per chat and local date, primary key ``(chat_id, local_date)``)::

    select + render            (nothing is written yet)
    claim(chat, date, ...)     INSERT OR IGNORE a row in state "sending", with the window and
                               the post ids, in one transaction; False → someone already did
    send the message
    confirm(chat, date)        state "sent" (or release(chat, date) when sending surely failed)

The window between sending and recording is closed by recording *first*: the claim commits
before the message leaves, so a second run, a second process or a restart finds the row and
sends nothing. A crash after the claim leaves a "sending" row that is never re-sent, and its
window and post ids count as delivered, so the next digest does not repeat them either. That is
at-most-once, chosen on purpose: a duplicate digest lands in a whole group and looks broken;
a digest lost to a crash in that second-long window is followed by the next day's and the posts
stay one /search away. A run with nothing new records an "empty" row (`skip`), so a restart does
not treat the date as missed.

Release only when Telegram surely did not take the message (it refused it: chat not found, bot
blocked — then also `deactivate`). After a timeout or a dropped connection the message may have
arrived, so the claim stays: that is the at-most-once side of the trade.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlite_utils import Database

from retrieval.storage.schema import migrate
from retrieval.storage.transactions import write

DEFAULT_TIME = "08:00"
CATCH_UP_LIMIT = timedelta(hours=12)
MAX_LOOKBACK = timedelta(hours=26)
INGEST_GRACE = timedelta(hours=1)
KEEP_SENT_POSTS = timedelta(days=8)
KEEP_DELIVERIES = timedelta(days=40)

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class SubscriptionError(ValueError):
    """A subscription request that cannot be honoured; the message says how to fix it."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_local_time(text: str) -> str:
    """ "8:00" or "08:00" → "08:00"; anything else is refused with an example."""
    match = _HHMM.match(text.strip())
    if match is None:
        raise SubscriptionError(
            f"“{text[:20]}” is not a time of day; use HH:MM on a 24-hour clock, e.g. 07:30."
        )
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_zone(name: str) -> ZoneInfo:
    """An IANA zone by name; also refuses folders ("Europe") and paths, which zoneinfo raises on."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise SubscriptionError(
            f"I don't know the timezone “{name[:40]}”. Use an IANA name such as "
            "Europe/Kyiv or America/New_York."
        ) from None


@dataclass(frozen=True)
class Subscription:
    """One chat's daily digest. Times are aware; `local_time` is "HH:MM" in `timezone`.

    `last_digest_date` is the latest local date with a recorded run (sent, sending or empty);
    `covered_until` is the end of that run's window; `last_sent_at` is when one was last sent.
    """

    chat_id: int
    chat_title: str
    local_time: str
    timezone: str
    active: bool
    created: datetime
    last_sent_at: datetime | None = None
    last_digest_date: date | None = None
    covered_until: datetime | None = None
    deactivated_reason: str | None = None
    thread_id: int | None = None  # the forum topic it was subscribed in (None: the chat)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def at(self) -> time:
        hours, minutes = self.local_time.split(":")
        return time(int(hours), int(minutes))


@dataclass(frozen=True)
class Delivery:
    """The record of one chat's digest for one local date."""

    chat_id: int
    local_date: date
    state: str  # "sending", "sent" or "empty"
    since: datetime | None
    until: datetime
    post_ids: tuple[str, ...]
    claimed_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class Run:
    """One chat's run for one local date, to be claimed ("sending") or skipped ("empty")."""

    chat_id: int
    local_date: date
    state: str
    post_ids: tuple[str, ...]
    since: datetime | None
    until: datetime


# -- scheduling rules (pure) ------------------------------------------------------------------


def run_at(sub: Subscription, day: date) -> datetime:
    """The instant a subscription fires on a local date, as a real wall time in its zone."""
    zone = sub.zone
    wall = datetime.combine(day, sub.at, tzinfo=zone)  # fold=0: first of two, or pre-gap offset
    return wall.astimezone(UTC).astimezone(zone)


def next_run(sub: Subscription, now: datetime) -> datetime:
    """The next time the digest fires, strictly after ``now`` (aware, in the sub's zone)."""
    moment = _utc(now)
    day = moment.astimezone(sub.zone).date()
    while True:
        run = run_at(sub, day)
        if run.astimezone(UTC) > moment:  # compare in UTC: same-zone comparison ignores fold
            return run
        day += timedelta(days=1)


def previous_run(sub: Subscription, now: datetime) -> datetime:
    """The latest time the digest was due, at or before ``now``."""
    moment = _utc(now)
    day = moment.astimezone(sub.zone).date()
    while True:
        run = run_at(sub, day)
        if run.astimezone(UTC) <= moment:
            return run
        day -= timedelta(days=1)


def due_catch_up(sub: Subscription, now: datetime) -> date | None:
    """The local date whose digest is due now, if any: its time has come, less than
    `CATCH_UP_LIMIT` ago, and nothing is recorded for it (also a run missed while down)."""
    if not sub.active:
        return None
    run = previous_run(sub, now)
    if _utc(now) - run.astimezone(UTC) >= CATCH_UP_LIMIT:
        return None
    if _utc(sub.created) > run.astimezone(UTC):
        return None  # subscribed after that run: nothing was missed
    if sub.last_digest_date is not None and sub.last_digest_date >= run.date():
        return None
    return run.date()


def digest_since(sub: Subscription | None, now: datetime) -> datetime:
    """Where the next digest starts: the previous one's end less `INGEST_GRACE`, at most
    `MAX_LOOKBACK` ago; the last 24 hours for a chat that has had none."""
    if sub is None or sub.covered_until is None:
        return _utc(now) - timedelta(hours=24)
    return max(_utc(sub.covered_until) - INGEST_GRACE, _utc(now) - MAX_LOOKBACK)


# -- persistence ---------------------------------------------------------------------------------


class Subscriptions:
    """Subscriptions and delivery records on the bot's SQLite database."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.clock = clock
        migrate(db)  # the tables are `retrieval.storage.schema`'s

    # -- subscriptions ---------------------------------------------------------------------

    def subscribe(
        self,
        chat_id: int,
        chat_title: str,
        local_time: str = DEFAULT_TIME,
        timezone: str = "UTC",
        *,
        thread_id: int | None = None,
    ) -> Subscription:
        """Start (or change, or resume) a chat's digest; refuses a bad time or zone.

        `thread_id`: the forum topic it was asked in, where the digest then goes."""
        hhmm = parse_local_time(local_time)
        zone = parse_zone(timezone)
        now = _iso(self.clock())
        with write(self.db):
            self.db.execute(
                "INSERT INTO digest_subscriptions "
                "(chat_id, chat_title, local_time, timezone, active, created, updated, thread_id) "
                "VALUES (?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET "
                "chat_title = excluded.chat_title, local_time = excluded.local_time, "
                "timezone = excluded.timezone, active = 1, updated = excluded.updated, "
                "deactivated_reason = NULL, thread_id = excluded.thread_id",
                [chat_id, chat_title, hhmm, zone.key, now, now, thread_id],
            )
        found = self.get(chat_id)
        assert found is not None
        return found

    def unsubscribe(self, chat_id: int) -> bool:
        """Stop a chat's digest (the row goes; sent-post records stay for a /digest)."""
        with write(self.db):
            cursor = self.db.execute(
                "DELETE FROM digest_subscriptions WHERE chat_id = ?", [chat_id]
            )
        return cursor.rowcount > 0

    def get(self, chat_id: int) -> Subscription | None:
        rows = self._query("WHERE s.chat_id = ?", [chat_id])
        return rows[0] if rows else None

    def active(self) -> list[Subscription]:
        """Every active subscription, for scheduling at start."""
        return self._query("WHERE s.active = 1 ORDER BY s.chat_id", [])

    def clear_thread(self, chat_id: int) -> None:
        """The digest's forum topic was deleted: send to the chat (General) from now on."""
        with write(self.db):
            self.db.execute(
                "UPDATE digest_subscriptions SET thread_id = NULL WHERE chat_id = ?", [chat_id]
            )

    def deactivate(self, chat_id: int, reason: str) -> bool:
        """Pause a chat's digest because it cannot receive one (bot removed, blocked, chat gone)."""
        with write(self.db):
            cursor = self.db.execute(
                "UPDATE digest_subscriptions SET active = 0, deactivated_reason = ?, updated = ? "
                "WHERE chat_id = ? AND active = 1",
                [reason, _iso(self.clock()), chat_id],
            )
        return cursor.rowcount > 0

    def migrate(self, old_chat_id: int, new_chat_id: int) -> bool:
        """Move a group's subscription and records to its new supergroup id.

        True when the old id had a subscription (reschedule under the new id). If the new id
        already has its own, that one is kept; delivery records are merged so a date delivered
        under either id is not delivered again.
        """
        with write(self.db):
            taken = self.db.execute(
                "SELECT 1 FROM digest_subscriptions WHERE chat_id = ?", [new_chat_id]
            ).fetchone()
            if taken:
                moved = self.db.execute(
                    "DELETE FROM digest_subscriptions WHERE chat_id = ?", [old_chat_id]
                ).rowcount
            else:
                moved = self.db.execute(
                    "UPDATE digest_subscriptions SET chat_id = ? WHERE chat_id = ?",
                    [new_chat_id, old_chat_id],
                ).rowcount
            for table in ("digest_deliveries", "digest_sent_posts"):
                self.db.execute(
                    f"UPDATE OR IGNORE {table} SET chat_id = ? WHERE chat_id = ?",
                    [new_chat_id, old_chat_id],
                )
                self.db.execute(f"DELETE FROM {table} WHERE chat_id = ?", [old_chat_id])
        return moved > 0

    # -- deliveries ------------------------------------------------------------------------

    def claim(
        self,
        chat_id: int,
        local_date: date,
        *,
        post_ids: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> bool:
        """Reserve a chat's digest for a local date BEFORE sending; False if already taken.

        The post ids count as sent from here on (at-most-once, see the module docstring).
        ``until`` is the end of the digest's window (the ``now`` it was selected at).
        """
        return self._record(chat_id, local_date, "sending", post_ids, since, until)

    def claim_many(self, runs: Sequence[Run]) -> list[bool]:
        """`claim` (or `skip`, for a run without posts) of many runs in one transaction: the
        morning batch pays one commit per hundred digests instead of one each."""
        now = self.clock()
        with write(self.db):
            return [self._insert(run, _iso(now)) for run in runs]

    def prune(self) -> None:
        """Drop records no digest needs any more (a week of sent ids, a month of dates)."""
        now = _utc(self.clock())
        with write(self.db):
            self.db.execute(
                "DELETE FROM digest_sent_posts WHERE sent_at < ?", [_iso(now - KEEP_SENT_POSTS)]
            )
            self.db.execute(
                "DELETE FROM digest_deliveries WHERE local_date < ?",
                [(now.date() - KEEP_DELIVERIES).isoformat()],
            )

    def skip(self, chat_id: int, local_date: date, *, until: datetime | None = None) -> bool:
        """Record a run that had nothing new, so the date is not treated as missed."""
        return self._record(chat_id, local_date, "empty", (), None, until)

    def confirm(self, chat_id: int, local_date: date, *, sent_at: datetime | None = None) -> None:
        """The claimed digest was sent."""
        self.confirm_many([(chat_id, local_date, sent_at)])

    def confirm_many(self, sent: Sequence[tuple[int, date, datetime | None]]) -> None:
        """`confirm` of many sent digests in one transaction."""
        now = self.clock()
        with write(self.db):
            self.db.conn.executemany(
                "UPDATE digest_deliveries SET state = 'sent', sent_at = ? "
                "WHERE chat_id = ? AND local_date = ? AND state = 'sending'",
                [
                    (_iso(at or now), chat_id, local_date.isoformat())
                    for chat_id, local_date, at in sent
                ],
            )

    def release(self, chat_id: int, local_date: date) -> bool:
        """Undo a claim whose message surely did not go out (an error before Telegram took it)."""
        key = [chat_id, local_date.isoformat()]
        with write(self.db):
            row = self.db.execute(
                "SELECT post_ids, claimed_at FROM digest_deliveries "
                "WHERE chat_id = ? AND local_date = ? AND state = 'sending'",
                key,
            ).fetchone()
            if row is None:
                return False
            self.db.execute(
                "DELETE FROM digest_deliveries WHERE chat_id = ? AND local_date = ?", key
            )
            ids = json.loads(row[0])
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self.db.execute(
                    f"DELETE FROM digest_sent_posts WHERE chat_id = ? AND sent_at = ? "
                    f"AND post_id IN ({marks})",
                    [chat_id, row[1], *chunk],
                )
        return True

    def delivery(self, chat_id: int, local_date: date) -> Delivery | None:
        row = self.db.execute(
            "SELECT state, since, until, post_ids, claimed_at, sent_at FROM digest_deliveries "
            "WHERE chat_id = ? AND local_date = ?",
            [chat_id, local_date.isoformat()],
        ).fetchone()
        if row is None:
            return None
        return Delivery(
            chat_id=chat_id,
            local_date=local_date,
            state=row[0],
            since=_parse(row[1]),
            until=_required(row[2]),
            post_ids=tuple(json.loads(row[3])),
            claimed_at=_required(row[4]),
            sent_at=_parse(row[5]),
        )

    def record_sent(
        self, chat_id: int, post_ids: Iterable[str], *, at: datetime | None = None
    ) -> None:
        """Remember posts a chat was sent as its digest, so no digest repeats them."""
        with write(self.db):
            self._remember(chat_id, list(post_ids), _iso(at or self.clock()))

    def record_on_demand(
        self, chat_id: int, post_ids: Iterable[str], *, at: datetime | None = None
    ) -> None:
        """Remember what /digest showed a chat, so /digest repeats none; the scheduled
        digest still includes them (an on-demand look never uses up the daily digest)."""
        sent = _iso(at or self.clock())
        with write(self.db):
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO digest_on_demand_posts (chat_id, post_id, sent_at) "
                "VALUES (?, ?, ?)",
                [(chat_id, post_id, sent) for post_id in post_ids],
            )

    def on_demand_post_ids(self, chat_id: int, *, since: datetime) -> set[str]:
        """Ids /digest already showed a chat that a window starting at ``since`` could hold."""
        start = datetime.combine(_utc(since).date(), time(), tzinfo=UTC)
        rows = self.db.execute(
            "SELECT post_id FROM digest_on_demand_posts WHERE chat_id = ? AND sent_at >= ?",
            [chat_id, _iso(start)],
        ).fetchall()
        return {row[0] for row in rows}

    def sent_post_ids(self, chat_id: int, *, since: datetime) -> set[str]:
        """Ids sent to a chat that a window starting at ``since`` could hold again.

        From the start of ``since``'s UTC day, because date-only posts count for the whole day.
        """
        start = datetime.combine(_utc(since).date(), time(), tzinfo=UTC)
        rows = self.db.execute(
            "SELECT post_id FROM digest_sent_posts WHERE chat_id = ? AND sent_at >= ?",
            [chat_id, _iso(start)],
        ).fetchall()
        return {row[0] for row in rows}

    def sent_post_ids_all(self, *, since: datetime) -> dict[int, set[str]]:
        """`sent_post_ids` for every chat at once (one query for a morning's batch)."""
        start = datetime.combine(_utc(since).date(), time(), tzinfo=UTC)
        found: dict[int, set[str]] = {}
        for chat_id, post_id in self.db.execute(
            "SELECT chat_id, post_id FROM digest_sent_posts WHERE sent_at >= ?", [_iso(start)]
        ):
            found.setdefault(chat_id, set()).add(post_id)
        return found

    # -- internals -------------------------------------------------------------------------

    def _record(
        self,
        chat_id: int,
        local_date: date,
        state: str,
        post_ids: Sequence[str],
        since: datetime | None,
        until: datetime | None,
    ) -> bool:
        now = self.clock()
        with write(self.db):
            run = Run(chat_id, local_date, state, tuple(post_ids), since, until or now)
            if not self._insert(run, _iso(now)):
                return False
            self._prune(chat_id, now, local_date)
        return True

    def _insert(self, run: Run, claimed: str) -> bool:
        """The delivery row and its sent post ids, inside the caller's transaction."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO digest_deliveries "
            "(chat_id, local_date, state, since, until, post_ids, claimed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                run.chat_id,
                run.local_date.isoformat(),
                run.state,
                _iso(run.since) if run.since else None,
                _iso(run.until),
                json.dumps(list(run.post_ids)),
                claimed,
            ],
        )
        if cursor.rowcount != 1:
            return False
        self._remember(run.chat_id, list(run.post_ids), claimed)
        return True

    def _remember(self, chat_id: int, post_ids: list[str], at: str) -> None:
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO digest_sent_posts (chat_id, post_id, sent_at) VALUES (?, ?, ?)",
            [(chat_id, post_id, at) for post_id in post_ids],
        )

    def _prune(self, chat_id: int, now: datetime, today: date) -> None:
        """Keep the records a chat needs (a week of sent ids, a month of dates), not years."""
        self.db.execute(
            "DELETE FROM digest_sent_posts WHERE chat_id = ? AND sent_at < ?",
            [chat_id, _iso(_utc(now) - KEEP_SENT_POSTS)],
        )
        self.db.execute(
            "DELETE FROM digest_deliveries WHERE chat_id = ? AND local_date < ?",
            [chat_id, (today - KEEP_DELIVERIES).isoformat()],
        )

    def _query(self, where: str, params: list[Any]) -> list[Subscription]:
        rows = self.db.execute(
            "SELECT s.chat_id, s.chat_title, s.local_time, s.timezone, s.active, s.created, "
            "s.deactivated_reason, "
            "(SELECT max(sent_at) FROM digest_deliveries d WHERE d.chat_id = s.chat_id), "
            "(SELECT max(local_date) FROM digest_deliveries d WHERE d.chat_id = s.chat_id), "
            "(SELECT max(until) FROM digest_deliveries d WHERE d.chat_id = s.chat_id), "
            "s.thread_id "
            f"FROM digest_subscriptions s {where}",
            params,
        ).fetchall()
        return [
            Subscription(
                chat_id=row[0],
                chat_title=row[1] or "",
                local_time=row[2],
                timezone=row[3],
                active=bool(row[4]),
                created=_required(row[5]),
                deactivated_reason=row[6],
                last_sent_at=_parse(row[7]),
                last_digest_date=date.fromisoformat(row[8]) if row[8] else None,
                covered_until=_parse(row[9]),
                thread_id=row[10],
            )
            for row in rows
        ]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("scheduling needs timezone-aware datetimes")
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    """UTC with a fixed width, so stored times compare as strings."""
    return _utc(moment).isoformat(timespec="microseconds")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _required(text: str) -> datetime:
    return datetime.fromisoformat(text)
