"""Sources polled for fresh coverage: a registry in SQLite and a poller that never raises.

A live blog is worth following only while it is fresh, so the bot re-reads each registered URL
every few minutes. Polling runs unattended, which shapes everything here:

- Conditional requests: the stored ETag / Last-Modified go back to the server, so an unchanged
  page costs a 304 and no parsing.
- Failures are data, not exceptions: a dead or broken source gets its error recorded and its
  next poll pushed back (`every` × 2^failures, at most `MAX_BACKOFF`, never sooner than
  `every`), and the poller moves on; one bad source never holds up the others.
- Validators are saved only after the new content is stored, so a failed import is retried with
  a full download rather than skipped by a 304.

The registry lives in the coverage's SQLite file (like `bot.core.state`), so the CLI's
`sources add|list|remove` and the running bot see the same table.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from sqlite_utils import Database

from retrieval.importing import parse_content
from retrieval.library import Library
from retrieval.models import Post
from retrieval.sources import Parsed, SourceError
from retrieval.sources.fetch import AddressRule, FetchResult, fetch, public_only
from retrieval.sources.formats import Format
from retrieval.storage.schema import migrate
from retrieval.storage.store import ImportReport
from retrieval.storage.transactions import write

log = logging.getLogger(__name__)

DEFAULT_EVERY = "5m"
MIN_EVERY_SECONDS = 30
MAX_EVERY_SECONDS = 7 * 24 * 3600
MAX_BACKOFF_SECONDS = 3600
MAX_URL_LENGTH = 2000
MAX_OUTLET_LENGTH = 80
FETCH_TIMEOUT = 20.0
POLL_WORKERS = 4

_INTERVAL = re.compile(r"^\s*(\d{1,7})\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

PollStatus = Literal["changed", "unchanged", "not_modified", "failed"]
Fetcher = Callable[..., FetchResult]


@dataclass(frozen=True)
class Source:
    """A registered URL and what the last polls of it found.

    `format` forces an importer (None: detect from the content); `next_due` is when the poller
    should read it next; `last_report` is the last import's summary ("2 added, 1 updated, …");
    `outlet` is the outlet name the newsroom set for it (None: the name the page gives).
    """

    id: int
    url: str
    format: Format | None
    every_seconds: int
    added: datetime
    etag: str | None
    last_modified: str | None
    last_success: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_due: datetime
    last_report: str | None
    from_chat: bool = False
    outlet: str | None = None

    @property
    def every(self) -> str:
        """The interval as a person would type it ("5m")."""
        return format_interval(self.every_seconds)


@dataclass(frozen=True)
class Ingested:
    """An import's report and, of its changed posts, those that are new (not edits)."""

    report: ImportReport
    added: tuple[Post, ...]


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of one source did; `source` is the registry row after the poll.

    `added_posts` are the posts new to the store (the candidates for follow alerts);
    edits appear in `report.changed_posts` only.
    """

    source: Source
    status: PollStatus
    report: ImportReport | None = None
    added_posts: tuple[Post, ...] = ()
    error: str | None = None

    def summary(self) -> str:
        """One line for logs and the CLI."""
        if self.status == "failed":
            return f"#{self.source.id} {self.source.url}: failed: {self.error}"
        if self.status == "not_modified":
            return f"#{self.source.id} {self.source.url}: not modified"
        done = self.report.summary() if self.report else "imported"
        return f"#{self.source.id} {self.source.url}: {done}"


# -- input validation -----------------------------------------------------------------------


def parse_interval(text: str) -> int:
    """ "30s", "5m", "1h", "1d" (or bare seconds) → seconds; at least 30 s, at most 7 days."""
    match = _INTERVAL.match(text)
    if match is None:
        raise SourceError(
            f"“{text[:20]}” is not an interval; use a number with s, m, h or d, e.g. 30s, 5m, 1h"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds < MIN_EVERY_SECONDS:
        raise SourceError(
            f"polling every {text.strip()} is too often; the shortest interval is 30s"
        )
    if seconds > MAX_EVERY_SECONDS:
        raise SourceError(f"polling every {text.strip()} is too rare; the longest interval is 7d")
    return seconds


def format_interval(seconds: int) -> str:
    """The largest whole unit: 300 → "5m", 90 → "90s"."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def check_url(url: str) -> str:
    """An http(s) URL with a host, trimmed; anything else is refused with the reason."""
    url = url.strip()
    if not url:
        raise SourceError("give the URL of a live blog or feed, e.g. https://example.com/live")
    if len(url) > MAX_URL_LENGTH:
        raise SourceError(f"that URL is {len(url):,} characters long; the limit is 2,000")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise SourceError(f"{url[:200]} is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise SourceError(f"only http:// and https:// URLs can be polled, not {url[:200]}")
    if not parts.hostname:
        raise SourceError(f"{url[:200]} has no host name")
    if any(ch.isspace() for ch in url):
        raise SourceError(f"{url[:200]} contains spaces; paste the URL exactly")
    return url


def check_outlet(outlet: str | None) -> str | None:
    """An outlet name as readers know it ("The Mirror"), one line of at most 80 characters;
    None or blank: the name the content gives."""
    if outlet is None:
        return None
    name = " ".join(outlet.split())
    if not name:
        return None
    if len(name) > MAX_OUTLET_LENGTH:
        raise SourceError(
            f"that outlet name is {len(name)} characters long; the limit is {MAX_OUTLET_LENGTH}"
        )
    if not any(ch.isalnum() for ch in name):
        raise SourceError(f"{name[:40]!r} is no outlet name; give it as readers know it")
    return name


def check_format(fmt: str | None) -> Format | None:
    """An importer name (see `retrieval.sources.formats.FORMATS`) or None for detection."""
    if fmt is None:
        return None
    names: tuple[str, ...] = get_args(Format)
    if fmt not in names:
        raise SourceError(f"unknown format {fmt[:40]!r}; use one of {', '.join(names)}")
    return fmt  # type: ignore[return-value]  # narrowed by the membership test


# -- the registry ---------------------------------------------------------------------------


class Sources:
    """The `sources` table: which URLs to poll, how often, and how the last polls went."""

    def __init__(self, db: Database) -> None:
        self.db = db
        migrate(db)  # the table is `retrieval.storage.schema`'s

    def add(
        self,
        url: str,
        every: str = DEFAULT_EVERY,
        *,
        fmt: str | None = None,
        now: datetime | None = None,
        from_chat: bool = False,
        outlet: str | None = None,
    ) -> Source:
        """Register a URL, due at once. Raises `SourceError` for bad input or a known URL.

        `from_chat`: added by a chat user, not the operator: polled under `public_only`
        (see `poll_due`). `outlet`: the name every post polled from it is credited to."""
        url = check_url(url)
        seconds = parse_interval(every)
        format_ = check_format(fmt)
        outlet = check_outlet(outlet)
        moment = _utc(now)
        try:
            with write(self.db):
                cursor = self.db.execute(
                    "INSERT INTO sources (url, format, every_seconds, added, consecutive_failures,"
                    " next_due, added_from_chat, outlet) VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
                    [url, format_, seconds, _iso(moment), _iso(moment), int(from_chat), outlet],
                )
                new_id = cursor.lastrowid
        except sqlite3.IntegrityError:  # the unique index on url: also safe between processes
            known = self.db.execute("SELECT id FROM sources WHERE url = ?", [url]).fetchone()
            raise SourceError(
                f"{url[:200]} is already source #{known[0] if known else '?'}"
            ) from None
        assert new_id is not None
        source = self.get(new_id)
        assert source is not None
        return source

    def get(self, source_id: int) -> Source | None:
        rows = builtins.list(self.db.query("SELECT * FROM sources WHERE id = ?", [source_id]))
        return _source_from_row(rows[0]) if rows else None

    def list(self) -> builtins.list[Source]:
        """Every source, in the order they were added."""
        return [_source_from_row(row) for row in self.db.query("SELECT * FROM sources ORDER BY id")]

    def remove(self, source_id: int) -> Source:
        """Stop polling a source (its posts stay). Raises `SourceError` for an unknown id."""
        source = self.get(source_id)
        if source is None:
            raise SourceError(f"there is no source #{source_id}; `sources list` shows them")
        with write(self.db):
            self.db.execute("DELETE FROM sources WHERE id = ?", [source_id])
        return source

    def due(self, now: datetime) -> builtins.list[Source]:
        """Sources whose next poll is at or before `now`, the most overdue first."""
        rows = self.db.query(
            "SELECT * FROM sources WHERE next_due <= ? ORDER BY next_due, id", [_iso(_utc(now))]
        )
        return [_source_from_row(row) for row in rows]

    def next_due(self) -> datetime | None:
        """When the earliest source is due (for scheduling the next poll run), None if none."""
        row = self.db.execute("SELECT min(next_due) FROM sources").fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    # -- what polls record -------------------------------------------------------------------

    def record_success(
        self,
        source: Source,
        now: datetime,
        *,
        etag: str | None,
        last_modified: str | None,
        report: str | None,
    ) -> Source:
        """A poll worked (or found the page unchanged): reset the backoff, keep the validators.

        `report` None keeps the previous summary (a 304 imports nothing to summarise).
        """
        moment = _utc(now)
        values: dict[str, Any] = {
            "etag": etag,
            "last_modified": last_modified,
            "last_success": _iso(moment),
            "last_error": None,
            "consecutive_failures": 0,
            "next_due": _iso(moment + timedelta(seconds=source.every_seconds)),
        }
        if report is not None:
            values["last_report"] = report
        return self._update(source, values)

    def record_failure(self, source: Source, now: datetime, error: str) -> Source:
        """A poll failed: remember why and wait longer before the next try."""
        current = self.get(source.id) or source  # the count as stored, not as it was read
        failures = current.consecutive_failures + 1
        delay = backoff_seconds(source.every_seconds, failures)
        values: dict[str, Any] = {
            "last_error": error,
            "consecutive_failures": failures,
            "next_due": _iso(_utc(now) + timedelta(seconds=delay)),
        }
        return self._update(source, values)

    def _update(self, source: Source, values: dict[str, Any]) -> Source:
        # Plain UPDATE: the row may have been removed meanwhile (`sources remove` during a poll),
        # and then there is simply nothing to record.
        columns = ", ".join(f"{name} = ?" for name in values)
        with write(self.db):
            self.db.execute(
                f"UPDATE sources SET {columns} WHERE id = ?", [*values.values(), source.id]
            )
        return self.get(source.id) or source


def backoff_seconds(every_seconds: int, failures: int) -> int:
    """Seconds to wait after `failures` failures in a row: every × 2^failures, capped at 1 h.

    A source polled less often than hourly is never polled more often because it fails.
    """
    if failures <= 0:
        return every_seconds
    grown = every_seconds << min(failures, 20)
    return max(every_seconds, min(grown, MAX_BACKOFF_SECONDS))


# -- polling --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    """What fetching and parsing one source gave, before anything is stored.

    `result` None with `error` set: the fetch or the parse failed. `parsed` is empty for a 304.
    """

    source: Source
    result: FetchResult | None
    parsed: tuple[Parsed, ...] = ()
    error: str | None = None


def download(
    source: Source,
    *,
    timeout: float = FETCH_TIMEOUT,
    fetcher: Fetcher = fetch,
    allow_address: AddressRule | None = None,
) -> Download:
    """Fetch (conditionally) and parse one source. Touches no database and never raises.

    The slow half of a poll (network, HTML parsing): an asyncio caller runs it in a worker
    thread (`asyncio.to_thread(download, source)`), then `apply`s the result on the thread
    that owns the library. Only `SourceError` is expected; anything else is an importer bug,
    logged with its traceback and reported like any failure, so the poller lives on.
    `allow_address` limits where the fetch may lead (`fetch.public_only` for a source added
    from a chat); None lets the operator's own sources reach any address.
    """
    try:
        limits = {"allow_address": allow_address} if allow_address is not None else {}
        result = fetcher(
            source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            timeout=timeout,
            **limits,
        )
        if result.status == "not_modified":
            return Download(source, result)
        parsed = parse_content(
            result.content,
            origin=result.final_url,
            content_type=result.content_type,
            charset=result.charset,
            fmt=source.format,
            outlet=source.outlet,
        )
    except SourceError as exc:
        return Download(source, None, error=str(exc))
    except Exception as exc:  # a bug must not stop polling the other sources
        log.exception("polling source #%s %s failed unexpectedly", source.id, source.url)
        return Download(source, None, error=f"internal error: {type(exc).__name__}: {exc}")
    return Download(source, result, tuple(parsed))


def apply(library: Library, registry: Sources, fetched: Download, now: datetime) -> PollOutcome:
    """Store what `download` found and record how the poll went. Never raises for the source.

    Validators (ETag, Last-Modified) are saved only once the content is stored, so a failed
    import is retried with a full download instead of being skipped by a 304.
    """
    source, result = fetched.source, fetched.result
    if result is None:
        return _failed(registry, source, now, fetched.error or "unknown error")
    if result.status == "not_modified":
        state = registry.record_success(
            source, now, etag=result.etag, last_modified=result.last_modified, report=None
        )
        return PollOutcome(state, "not_modified")
    try:
        ingested = ingest_new_posts(library, fetched.parsed)
    except Exception as exc:  # e.g. the disk is full: record it, keep polling the others
        log.exception("storing source #%s %s failed", source.id, source.url)
        return _failed(registry, source, now, f"internal error: {type(exc).__name__}: {exc}")
    report = ingested.report
    state = registry.record_success(
        source, now, etag=result.etag, last_modified=result.last_modified, report=report.summary()
    )
    status: PollStatus = "changed" if report.changed_posts else "unchanged"
    return PollOutcome(state, status, report, ingested.added)


def poll(
    library: Library,
    source: Source,
    now: datetime,
    *,
    registry: Sources | None = None,
    timeout: float = FETCH_TIMEOUT,
    fetcher: Fetcher = fetch,
) -> PollOutcome:
    """Fetch one source (conditionally), import what changed, record how it went. Never raises.

    `download` then `apply` in one call, for the CLI and synchronous callers.
    """
    sources = registry or Sources(library.store.db)
    return apply(library, sources, download(source, timeout=timeout, fetcher=fetcher), now)


async def poll_due(
    library: Library,
    sources: Sources,
    now: datetime,
    *,
    timeout: float = FETCH_TIMEOUT,
    fetcher: Fetcher = fetch,
    workers: int = POLL_WORKERS,
    allow_private: bool = False,
) -> builtins.list[PollOutcome]:
    """Poll every source that is due: the one poll loop the bot and the terminal chat run.

    A source added from a chat reaches only public addresses, on every redirect hop, unless
    `allow_private` (LIVEBLOG_ALLOW_PRIVATE_SOURCES); the operator's own may reach any.

    Downloads run side by side in worker threads (at most `workers` at once); each is stored
    and recorded here, on the caller's thread, as soon as it arrives, so a source that hangs
    until its timeout never delays the others. Outcomes come in the order they arrived.
    """
    due = sources.due(now)
    if not due:
        return []
    slots = asyncio.Semaphore(max(1, workers))

    async def fetch_one(source: Source) -> Download:
        async with slots:
            rule = public_only if source.from_chat and not allow_private else None
            return await asyncio.to_thread(
                download, source, timeout=timeout, fetcher=fetcher, allow_address=rule
            )

    outcomes = []
    for arriving in asyncio.as_completed([fetch_one(source) for source in due]):
        outcome = apply(library, sources, await arriving, now)
        if outcome.status == "failed":
            log.warning("%s", outcome.summary())
        else:
            log.info("%s", outcome.summary())
        outcomes.append(outcome)
    return outcomes


def ingest_new_posts(library: Library, parsed: Sequence[Parsed]) -> Ingested:
    """`library.ingest_all`, also telling which changed posts were not stored before.

    `ImportReport` lists added and updated posts together; alerts must go out for new posts
    only, never for edits, so only those its `added_ids` names are kept.
    """
    report = library.ingest_all(builtins.list(parsed))
    added: dict[str, Post] = {}
    for post in report.changed_posts:
        if post.post_id in report.added_ids:
            added[post.post_id] = post  # a post listed twice in one import counts once
    return Ingested(report, tuple(added.values()))


def _failed(sources: Sources, source: Source, now: datetime, error: str) -> PollOutcome:
    message = " ".join(error.split())[:500] or "unknown error"
    state = sources.record_failure(source, now, message)
    return PollOutcome(state, "failed", error=message)


# -- rows -----------------------------------------------------------------------------------


def _utc(moment: datetime | None) -> datetime:
    """Aware UTC, to the second (stored times compare as text, so they share one format)."""
    if moment is None:
        moment = datetime.now(UTC)
    elif moment.tzinfo is None:
        raise ValueError("times given to the source registry must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _source_from_row(row: dict[str, Any]) -> Source:
    return Source(
        id=int(row["id"]),
        url=row["url"],
        format=check_format(row["format"]),
        every_seconds=int(row["every_seconds"]),
        added=datetime.fromisoformat(row["added"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_success=_when(row["last_success"]),
        last_error=row["last_error"],
        consecutive_failures=int(row["consecutive_failures"] or 0),
        next_due=datetime.fromisoformat(row["next_due"]),
        last_report=row["last_report"],
        from_chat=bool(row.get("added_from_chat")),
        outlet=row.get("outlet"),
    )
