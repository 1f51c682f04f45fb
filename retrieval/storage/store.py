"""Coverage storage: SQLite through sqlite-utils, one file, WAL mode.

Posts are keyed by their stable id, so importing the same source twice changes nothing and
an edited post replaces its old version. A coverage is found by its identity (its canonical
URL, `retrieval.storage.identity`), so a page or feed imported from a file, from its URL or
polled as a source is one coverage and its posts are stored once, under the ids they were
first stored with. Every import runs in one transaction: bad input leaves what was stored
before untouched. The schema is `retrieval.storage.schema`'s; every SQL statement on the
coverage tables is in this room.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from retrieval.models import Coverage, Post, Timestamp
from retrieval.storage.errors import StoreError
from retrieval.storage.identity import PostFace, coverage_identity, match_posts
from retrieval.storage.records import (
    coverage_from_row,
    coverage_record,
    post_from_row,
    post_record,
    text_from_row,
)
from retrieval.storage.schema import SCHEMA_VERSION, migrate, user_version
from retrieval.storage.transactions import write

__all__ = [
    "SCHEMA_VERSION",
    "CoverageInfo",
    "ImportReport",
    "Store",
    "StoreError",
    "count_posts_in",
]

#: Tokens of this many latest generations are kept (a poll that brings posts is one).
KEPT_TOKENS = 100_000


@dataclass
class ImportReport:
    """What one import changed, and which posts the index must (re)read.

    `changed_posts` are the added and updated posts as stored (under the ids the store keeps,
    which may differ from the importer's when the coverage came another way in before);
    `added_ids` says which of them are new to the store.
    """

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    changed_posts: list[Post] = field(default_factory=list)
    added_ids: set[str] = field(default_factory=set)
    skipped: dict[str, int] = field(default_factory=dict)  # left out on purpose, by reason

    def merge(self, other: ImportReport) -> None:
        """Add another report's counts and findings to this one (several files or chunks)."""
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected.extend(r for r in other.rejected if r not in self.rejected)
        self.notes.extend(n for n in other.notes if n not in self.notes)
        self.changed_posts.extend(other.changed_posts)
        self.added_ids |= other.added_ids
        self.count_skipped(other.skipped)

    def count_skipped(self, skipped: dict[str, int]) -> None:
        for reason, count in skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    def summary(self) -> str:
        skipped = "".join(f", {n} skipped: {why}" for why, n in self.skipped.items())
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected{skipped}"
        )


@dataclass(frozen=True)
class CoverageInfo:
    """A coverage with the span and count of its stored posts (for /start and stats)."""

    coverage: Coverage
    posts: int
    first: Timestamp | None
    last: Timestamp | None


class Store:
    """The coverage database. Open one per process; it is safe to read while another writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
            self.db = Database(conn)
            _enable_wal(self.db)
            migrate(self.db, path)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from exc

    def close(self) -> None:
        self.db.conn.close()

    def generation(self) -> int:
        """Changes with every write to the posts: a saved index built at another one is stale."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def generation_token(self, generation: int) -> str | None:
        """The random token of a generation of this database's history (None if unknown)."""
        row = self.db.execute(
            "SELECT token FROM generations WHERE generation = ?", [generation]
        ).fetchone()
        return str(row[0]) if row else None

    @property
    def schema_version(self) -> int:
        return user_version(self.db)

    # -- writing ------------------------------------------------------------------------

    def upsert(self, coverage: Coverage, posts: Iterable[Post]) -> ImportReport:
        """Store a coverage and its posts in one transaction; count what changed.

        The coverage is the stored one with the same identity when there is one; its posts
        are then stored under the ids that coverage's posts already have.
        """
        posts = list(posts)
        report = ImportReport()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        identity = coverage_identity(coverage.url, coverage.coverage_id)
        with write(self.db):
            row = self.db.execute(
                "SELECT coverage_id FROM coverages WHERE identity = ?", [identity]
            ).fetchone()
            stored_id = str(row[0]) if row else coverage.coverage_id
            known = self._hashes(p.post_id for p in posts)
            posts = self._as_stored(posts, coverage.coverage_id, stored_id, known)
            records = []
            for post in posts:
                digest = post.content_hash()
                previous = known.get(post.post_id)
                if previous == digest:
                    report.unchanged += 1
                    continue
                if previous is None:
                    report.added += 1
                    report.added_ids.add(post.post_id)
                else:
                    report.updated += 1
                report.changed_posts.append(post)
                records.append(post_record(post, digest, now))
            self._save_coverage(replace(coverage, coverage_id=stored_id), identity, now)
            if records:
                generation = self.generation() + 1
                self.db.execute(
                    "UPDATE meta SET value = ? WHERE key = 'generation'", [str(generation)]
                )
                self.db.execute(
                    "INSERT OR REPLACE INTO generations (generation, token) VALUES (?, ?)",
                    [generation, secrets.token_hex(8)],
                )
                self.db.execute(  # an index saved that long ago is rebuilt, not caught up
                    "DELETE FROM generations WHERE generation <= ?", [generation - KEPT_TOKENS]
                )
                for record in records:
                    record["generation"] = generation
                self.db.table("posts").upsert_all(records, pk="post_id")
        return report

    def _hashes(self, post_ids: Iterable[str]) -> dict[str, str]:
        """Content hashes of the stored posts among these ids."""
        known: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(post_ids)), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT post_id, content_hash FROM posts WHERE post_id IN ({marks})", chunk
            ).fetchall():
                known[row[0]] = row[1]
        return known

    def _as_stored(
        self, posts: list[Post], incoming_id: str, stored_id: str, known: dict[str, str]
    ) -> list[Post]:
        """The posts under the ids the store keeps them by (``known`` gains their hashes).

        A post id the store has is itself; an id recorded as an alias is the post it names;
        when the coverage arrived under another id than it is stored by, the others are
        matched to its stored posts by what a reader sees, and the match is remembered.
        """
        targets = self._aliases(p.post_id for p in posts if p.post_id not in known)
        if stored_id != incoming_id:
            claimed = set(known) | set(targets.values())
            loose = [p for p in posts if p.post_id not in known and p.post_id not in targets]
            stored, shared = self._candidates(stored_id, loose)
            stored = [f for f in stored if f.post_id not in claimed]
            if loose and stored:
                found = match_posts([_face(p) for p in loose], stored, shared)
                self.db.conn.executemany(
                    "INSERT OR IGNORE INTO post_aliases (alias_id, post_id) VALUES (?, ?)",
                    list(found.items()),
                )
                targets.update(found)
        if targets:
            known.update(self._hashes(targets.values()))
        if not targets and stored_id == incoming_id:
            return posts
        return [
            replace(
                post,
                post_id=targets.get(post.post_id, post.post_id),
                coverage_id=stored_id if post.coverage_id == incoming_id else post.coverage_id,
            )
            for post in posts
        ]

    def _candidates(self, coverage_id: str, posts: list[Post]) -> tuple[list[PostFace], set[str]]:
        """The stored posts of a coverage that share a time or a permalink with these, and
        which of those permalinks more than one stored post has (both through indexes)."""
        found: dict[str, PostFace] = {}
        sort_keys = sorted({post.published.sort_key() for post in posts})
        urls = sorted({post.url for post in posts if post.url})
        for column, values in (("sort_key", sort_keys), ("url", urls)):
            for chunk in _chunks(values, 500):
                marks = ",".join("?" * len(chunk))
                for row in self.db.execute(
                    "SELECT post_id, url, title, published FROM posts "
                    f"WHERE coverage_id = ? AND {column} IN ({marks})",
                    [coverage_id, *chunk],
                ).fetchall():
                    found[row[0]] = PostFace(row[0], row[1], row[2] or "", row[3] or "")
        shared: set[str] = set()
        for chunk in _chunks(sorted({f.url for f in found.values() if f.url}), 500):
            marks = ",".join("?" * len(chunk))
            shared.update(
                row[0]
                for row in self.db.execute(
                    f"SELECT url FROM posts WHERE coverage_id = ? AND url IN ({marks}) "
                    "GROUP BY url HAVING count(*) > 1",
                    [coverage_id, *chunk],
                ).fetchall()
            )
        return list(found.values()), shared

    def _aliases(self, post_ids: Iterable[str]) -> dict[str, str]:
        """Alias id → stored post id, for the ids among these that are aliases."""
        found: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(post_ids)), 500):
            marks = ",".join("?" * len(chunk))
            for alias, post_id in self.db.execute(
                f"SELECT alias_id, post_id FROM post_aliases WHERE alias_id IN ({marks})", chunk
            ).fetchall():
                found[alias] = post_id
        return found

    def _save_coverage(self, coverage: Coverage, identity: str, now: str) -> None:
        """Insert or refresh a coverage row; a coverage seen without a URL keeps its URL."""
        row = self.db.execute(
            "SELECT url, identity FROM coverages WHERE coverage_id = ?", [coverage.coverage_id]
        ).fetchone()
        if row and coverage.url is None and row[0]:
            coverage, identity = replace(coverage, url=row[0]), row[1] or identity
        self.db.table("coverages").upsert(
            coverage_record(coverage, identity, now), pk="coverage_id"
        )

    # -- reading ------------------------------------------------------------------------

    def count_posts(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM posts").fetchone()[0])

    def is_empty(self) -> bool:
        return self.count_posts() == 0

    def count_since(self, generation: int, limit: int) -> int:
        """Posts written after ``generation``, counted up to ``limit`` (by the generation
        index: what start-up weighs before choosing between catching up and rebuilding)."""
        row = self.db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM posts WHERE generation > ? LIMIT ?)",
            [generation, limit],
        ).fetchone()
        return int(row[0])

    def posts(self, post_ids: Iterable[str]) -> dict[str, Post]:
        """Posts by id (missing ids are simply absent)."""
        found: dict[str, Post] = {}
        for chunk in _chunks(list(post_ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(f"SELECT * FROM posts WHERE post_id IN ({marks})", chunk):
                post = post_from_row(row)
                found[post.post_id] = post
        return found

    def known_ids(self, post_ids: Iterable[str]) -> set[str]:
        """The ids among these that the store holds."""
        return set(self._hashes(post_ids))

    def iter_posts(self) -> Iterator[Post]:
        """Every post, in a stable order (the order the index is built in)."""
        for row in self.db.query("SELECT * FROM posts ORDER BY rowid"):
            yield post_from_row(row)

    def texts(self, since: int | None = None) -> Iterator[tuple[str, str]]:
        """(post id, `Post.text`) of every post, or of those written after generation
        ``since``, in `iter_posts`' order: what (re)indexing needs, several times cheaper
        than whole posts."""
        where, params = ("WHERE generation > ?", [since]) if since is not None else ("", [])
        cursor = self.db.execute(
            f"SELECT post_id, title, body, captions FROM posts {where} ORDER BY rowid", params
        )
        for post_id, title, body, captions in cursor:
            yield post_id, text_from_row(title, body, captions)

    def posts_since(self, generation: int) -> Iterator[Post]:
        """Posts written after ``generation``, in the order `iter_posts` gives them."""
        rows = self.db.query(
            "SELECT * FROM posts WHERE generation > ? ORDER BY rowid", [generation]
        )
        for row in rows:
            yield post_from_row(row)

    def latest(self, limit: int, offset: int = 0) -> list[Post]:
        """Newest first: by publication time, then by place on the page (top is newest)."""
        rows = self.db.query(
            "SELECT * FROM posts ORDER BY sort_key DESC, coverage_id, position LIMIT ? OFFSET ?",
            [limit, offset],
        )
        return [post_from_row(row) for row in rows]

    def window_ids(self, *, day_key: str, since_key: str, now_key: str) -> list[str]:
        """Ids of the posts a digest window holds, newest first, by a range over the sort key.

        Timed posts count from ``since_key``; date-only posts (their sort key is the start of
        their day) from ``day_key``, the start of ``since_key``'s day. Keys are `sort_key`s.
        """
        rows = self.db.execute(
            "SELECT post_id FROM posts WHERE sort_key >= ? AND sort_key <= ? "
            "AND (sort_key >= ? OR instr(published, 'T') = 0) "
            "ORDER BY sort_key DESC, coverage_id, position",
            [day_key, now_key, since_key],
        ).fetchall()
        return [row[0] for row in rows]

    def coverages_by_id(self, coverage_ids: Iterable[str]) -> dict[str, Coverage]:
        """Coverages by id (missing ids are simply absent)."""
        found: dict[str, Coverage] = {}
        for chunk in _chunks(sorted(set(coverage_ids)), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(
                f"SELECT * FROM coverages WHERE coverage_id IN ({marks})", chunk
            ):
                found[row["coverage_id"]] = coverage_from_row(row)
        return found

    def coverages(self) -> list[CoverageInfo]:
        infos = []
        for row in self.db.query("SELECT * FROM coverages ORDER BY imported_at"):
            count = self.db.execute(
                "SELECT count(*) FROM posts WHERE coverage_id = ?", [row["coverage_id"]]
            ).fetchone()[0]
            first_last = self.db.execute(
                "SELECT (SELECT published FROM posts WHERE coverage_id = ?1 "
                "ORDER BY sort_key, position DESC LIMIT 1), "
                "(SELECT published FROM posts WHERE coverage_id = ?1 "
                "ORDER BY sort_key DESC, position LIMIT 1)",
                [row["coverage_id"]],
            ).fetchone()
            infos.append(
                CoverageInfo(
                    coverage=coverage_from_row(row),
                    posts=int(count),
                    first=Timestamp.parse(first_last[0]) if first_last[0] else None,
                    last=Timestamp.parse(first_last[1]) if first_last[1] else None,
                )
            )
        return infos


def count_posts_in(conn: sqlite3.Connection) -> int:
    """Posts in a database opened elsewhere (read-only, unmigrated: `check` and `backup`)."""
    try:
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])
    except sqlite3.OperationalError:  # a database that never stored a post
        return 0


def _enable_wal(db: Database, patience: float = 30.0) -> None:
    """WAL mode, waiting out another opener: switching a new file to WAL needs it alone, and
    SQLite answers "database is locked" at once (no busy wait) while another reads it."""
    deadline = time.monotonic() + patience
    while True:
        try:
            db.enable_wal()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _face(post: Post) -> PostFace:
    return PostFace(post.post_id, post.url, post.title, post.published.isoformat())
