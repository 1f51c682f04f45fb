"""Coverage storage: SQLite through sqlite-utils, one file, WAL mode.

Posts are keyed by their stable id, so importing the same source twice changes nothing and
an edited post replaces its old version. Every import runs in one transaction: bad input
leaves what was stored before untouched.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from retrieval.models import Coverage, Post, Timestamp

SCHEMA_VERSION = 4
#: Tokens of this many latest generations are kept (a poll that brings posts is one).
KEPT_TOKENS = 100_000


class StoreError(Exception):
    """The database cannot be opened or used; the message says which file and why."""


@dataclass
class ImportReport:
    """What one import changed, and which posts the index must (re)read."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    changed_posts: list[Post] = field(default_factory=list)

    def merge(self, other: ImportReport) -> None:
        """Add another report's counts and findings to this one (several files or chunks)."""
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected.extend(r for r in other.rejected if r not in self.rejected)
        self.notes.extend(n for n in other.notes if n not in self.notes)
        self.changed_posts.extend(other.changed_posts)

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected"
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
            self.db.enable_wal()
            self._migrate()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from exc

    def close(self) -> None:
        self.db.conn.close()

    def _migrate(self) -> None:
        """Create the schema, or bring an older one up to date."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer liveblog-bot (schema {version})")
        if version < 1:
            with self.db.conn:
                self.db.table("coverages").create(
                    {
                        "coverage_id": str,
                        "title": str,
                        "source": str,
                        "url": str,
                        "summary": str,
                        "started": str,
                        "imported_at": str,
                    },
                    pk="coverage_id",
                    if_not_exists=True,
                )
                self.db.table("posts").create(
                    {
                        "post_id": str,
                        "coverage_id": str,
                        "title": str,
                        "body": str,
                        "published": str,
                        "sort_key": str,
                        "source": str,
                        "authors": str,
                        "url": str,
                        "position": int,
                        "updated": str,
                        "content_hash": str,
                        "ingested_at": str,
                    },
                    pk="post_id",
                    foreign_keys=[("coverage_id", "coverages", "coverage_id")],
                    if_not_exists=True,
                )
                self.db.table("posts").create_index(
                    ["sort_key", "coverage_id", "position"], if_not_exists=True
                )
                self.db.execute("PRAGMA user_version = 1")
        if version < 2:
            with self.db.conn:
                # A counter bumped by every write to posts, so a saved index can tell whether
                # it still matches the store it was built from.
                self.db.table("meta").create(
                    {"key": str, "value": str}, pk="key", if_not_exists=True
                )
                self.db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0')"
                )
                self.db.execute("PRAGMA user_version = 2")
        if version < 3:
            with self.db.conn:
                # Each post remembers the generation that last wrote it, and each generation
                # gets a random token: a saved index stamped (generation, token) can be brought
                # up to date by re-indexing only the posts written since, and only when the
                # store still has that generation's token (not after a restore from a backup
                # that went another way since).
                if "generation" not in self.db.table("posts").columns_dict:
                    self.db.execute(
                        "ALTER TABLE posts ADD COLUMN generation INTEGER NOT NULL DEFAULT 0"
                    )
                self.db.table("posts").create_index(["generation"], if_not_exists=True)
                self.db.table("generations").create(
                    {"generation": int, "token": str}, pk="generation", if_not_exists=True
                )
                self.db.execute(
                    "INSERT OR IGNORE INTO generations (generation, token) VALUES (?, ?)",
                    [self.generation(), secrets.token_hex(8)],
                )
                self.db.execute("PRAGMA user_version = 3")
        if version < 4:
            with self.db.conn:
                # Photo captions: searchable and quotable, kept apart from the body (JSON list).
                if "captions" not in self.db.table("posts").columns_dict:
                    self.db.execute("ALTER TABLE posts ADD COLUMN captions TEXT")
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    # -- writing ------------------------------------------------------------------------

    def upsert(self, coverage: Coverage, posts: Iterable[Post]) -> ImportReport:
        """Store a coverage and its posts in one transaction; count what changed."""
        posts = list(posts)
        report = ImportReport()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        ids = [p.post_id for p in posts]
        known: dict[str, str] = {}
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT post_id, content_hash FROM posts WHERE post_id IN ({marks})", chunk
            ).fetchall():
                known[row[0]] = row[1]
        records = []
        for post in posts:
            digest = post.content_hash()
            previous = known.get(post.post_id)
            if previous == digest:
                report.unchanged += 1
                continue
            if previous is None:
                report.added += 1
            else:
                report.updated += 1
            report.changed_posts.append(post)
            records.append(_post_record(post, digest, now))
        with self.db.conn:
            self.db.table("coverages").upsert(_coverage_record(coverage, now), pk="coverage_id")
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

    # -- reading ------------------------------------------------------------------------

    def count_posts(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM posts").fetchone()[0])

    def is_empty(self) -> bool:
        return self.count_posts() == 0

    def posts(self, post_ids: Iterable[str]) -> dict[str, Post]:
        """Posts by id (missing ids are simply absent)."""
        found: dict[str, Post] = {}
        for chunk in _chunks(list(post_ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(f"SELECT * FROM posts WHERE post_id IN ({marks})", chunk):
                post = _post_from_row(row)
                found[post.post_id] = post
        return found

    def iter_posts(self) -> Iterator[Post]:
        """Every post, in a stable order (the order the index is built in)."""
        for row in self.db.query("SELECT * FROM posts ORDER BY rowid"):
            yield _post_from_row(row)

    def posts_since(self, generation: int) -> Iterator[Post]:
        """Posts written after ``generation``, in the order `iter_posts` gives them."""
        rows = self.db.query(
            "SELECT * FROM posts WHERE generation > ? ORDER BY rowid", [generation]
        )
        for row in rows:
            yield _post_from_row(row)

    def latest(self, limit: int, offset: int = 0) -> list[Post]:
        """Newest first: by publication time, then by place on the page (top is newest)."""
        rows = self.db.query(
            "SELECT * FROM posts ORDER BY sort_key DESC, coverage_id, position LIMIT ? OFFSET ?",
            [limit, offset],
        )
        return [_post_from_row(row) for row in rows]

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
                    coverage=_coverage_from_row(row),
                    posts=int(count),
                    first=Timestamp.parse(first_last[0]) if first_last[0] else None,
                    last=Timestamp.parse(first_last[1]) if first_last[1] else None,
                )
            )
        return infos


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _post_record(post: Post, digest: str, now: str) -> dict[str, Any]:
    return {
        "post_id": post.post_id,
        "coverage_id": post.coverage_id,
        "title": post.title,
        "body": json.dumps(list(post.body), ensure_ascii=False),
        "published": post.published.isoformat(),
        "sort_key": post.published.sort_key(),
        "source": post.source,
        "authors": json.dumps(list(post.authors), ensure_ascii=False),
        "url": post.url,
        "position": post.position,
        "updated": post.updated.isoformat() if post.updated else None,
        "captions": json.dumps(list(post.captions), ensure_ascii=False) if post.captions else None,
        "content_hash": digest,
        "ingested_at": now,
    }


def _post_from_row(row: dict[str, Any]) -> Post:
    return Post(
        post_id=row["post_id"],
        coverage_id=row["coverage_id"],
        title=row["title"],
        body=tuple(json.loads(row["body"])),
        published=Timestamp.parse(row["published"]),
        source=row["source"],
        authors=tuple(json.loads(row["authors"] or "[]")),
        url=row["url"],
        position=row["position"],
        updated=Timestamp.parse(row["updated"]) if row["updated"] else None,
        captions=tuple(json.loads(row.get("captions") or "[]")),
    )


def _coverage_record(coverage: Coverage, now: str) -> dict[str, Any]:
    return {
        "coverage_id": coverage.coverage_id,
        "title": coverage.title,
        "source": coverage.source,
        "url": coverage.url,
        "summary": json.dumps(list(coverage.summary), ensure_ascii=False),
        "started": coverage.started.isoformat() if coverage.started else None,
        "imported_at": now,
    }


def _coverage_from_row(row: dict[str, Any]) -> Coverage:
    return Coverage(
        coverage_id=row["coverage_id"],
        title=row["title"],
        source=row["source"],
        url=row["url"],
        summary=tuple(json.loads(row["summary"] or "[]")),
        started=Timestamp.parse(row["started"]) if row["started"] else None,
    )
