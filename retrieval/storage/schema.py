"""The one owner of the database schema: every table, in one ordered list of migrations.

Each migration is a small function that brings the database from the version before it to
its own (its place in `MIGRATIONS`, counted from 1). The database's ``PRAGMA user_version``
says how far it got. Each migration runs in one transaction that also sets the version, with
the write lock taken first and the version read again inside it, so a crash leaves the
database at the previous version and two processes starting at once migrate it once.

Migrations 1-3 are the post tables as they were; 4-8 the bot's tables, which their modules
created on first use until schema 3 (a database of schema 3 may have them already, so they are
created only if missing); 9-10 give coverages one identity (`retrieval.storage.identity`) and
merge the coverages that arrived twice; 11 keeps forum topics with digests and follows, and
/digest's own record. Never change a migration a release has run: add one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from retrieval.storage.errors import StoreError
from retrieval.storage.merge import merge_duplicate_coverages
from retrieval.storage.transactions import write

Migration = Callable[[Database], None]


def coverages_and_posts(db: Database) -> None:
    """1: coverages and their posts, keyed by the importers' stable ids; newest-first index."""
    db.table("coverages").create(
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
    db.table("posts").create(
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
    db.table("posts").create_index(["sort_key", "coverage_id", "position"], if_not_exists=True)


def generation_counter(db: Database) -> None:
    """2: a counter bumped by every write to posts, so a saved index can tell it is stale."""
    db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0')")


def post_generations(db: Database) -> None:
    """3: each post remembers the generation that wrote it, each generation a random token.

    A saved index stamped (generation, token) is caught up by re-indexing only the posts
    written since, and only while the store still has that token (not after a restore from a
    backup that went another way since).
    """
    if "generation" not in db.table("posts").columns_dict:
        db.execute("ALTER TABLE posts ADD COLUMN generation INTEGER NOT NULL DEFAULT 0")
    db.table("posts").create_index(["generation"], if_not_exists=True)
    db.table("generations").create(
        {"generation": int, "token": str}, pk="generation", if_not_exists=True
    )
    db.execute(
        "INSERT OR IGNORE INTO generations (generation, token) "
        "SELECT CAST(value AS INTEGER), ? FROM meta WHERE key = 'generation'",
        [secrets.token_hex(8)],
    )


def chat_state(db: Database) -> None:
    """4: a chat's timezone, and the queries behind live ◀ ▶ search buttons (`bot.core.state`)."""
    db.table("chat_prefs").create(
        {"chat_id": int, "timezone": str}, pk="chat_id", if_not_exists=True
    )
    db.table("search_sessions").create(
        {"token": str, "query": str, "created": float}, pk="token", if_not_exists=True
    )


def digest_records(db: Database) -> None:
    """5: digest subscriptions, one delivery row per (chat, local date), and the posts sent."""
    db.table("digest_subscriptions").create(
        {
            "chat_id": int,
            "chat_title": str,
            "local_time": str,
            "timezone": str,
            "active": int,
            "created": str,
            "updated": str,
            "deactivated_reason": str,
        },
        pk="chat_id",
        if_not_exists=True,
    )
    db.table("digest_deliveries").create(
        {
            "chat_id": int,
            "local_date": str,
            "state": str,
            "since": str,
            "until": str,
            "post_ids": str,
            "claimed_at": str,
            "sent_at": str,
        },
        pk=("chat_id", "local_date"),
        if_not_exists=True,
    )
    db.table("digest_sent_posts").create(
        {"chat_id": int, "post_id": str, "sent_at": str},
        pk=("chat_id", "post_id"),
        if_not_exists=True,
    )
    db.table("digest_sent_posts").create_index(["chat_id", "sent_at"], if_not_exists=True)


def follows_and_alerts(db: Database) -> None:
    """6: a chat's standing queries, and each (chat, post) alert recorded before it is sent."""
    db.table("follows").create(
        {"chat_id": int, "query": str, "created": str},
        pk=("chat_id", "query"),
        if_not_exists=True,
    )
    db.table("alerts").create(
        {"chat_id": int, "post_id": str, "sent": str},
        pk=("chat_id", "post_id"),
        if_not_exists=True,
    )


def polled_sources(db: Database) -> None:
    """7: the URLs the running bot polls, with their validators and how the last polls went."""
    db.table("sources").create(
        {
            "id": int,
            "url": str,
            "format": str,
            "every_seconds": int,
            "added": str,
            "etag": str,
            "last_modified": str,
            "last_success": str,
            "last_error": str,
            "consecutive_failures": int,
            "next_due": str,
            "last_report": str,
        },
        pk="id",
        not_null={"url", "every_seconds", "added", "consecutive_failures", "next_due"},
        defaults={"consecutive_failures": 0},
        if_not_exists=True,
    )
    db.table("sources").create_index(["url"], unique=True, if_not_exists=True)
    db.table("sources").create_index(["next_due"], if_not_exists=True)


def channels(db: Database) -> None:
    """8: the Telegram channels whose posts are coverage."""
    db.table("channels").create(
        {"chat_id": int, "title": str, "username": str, "added": str},
        pk="chat_id",
        if_not_exists=True,
    )


def post_aliases(db: Database) -> None:
    """9: ids a post also arrived under (its coverage came another way in), and the stored id.

    An import whose post ids differ only because its coverage id differed finds its posts here
    at once; merged duplicates leave their ids here, so nothing that named them is lost.
    """
    db.table("post_aliases").create(
        {"alias_id": str, "post_id": str}, pk="alias_id", if_not_exists=True
    )
    db.table("post_aliases").create_index(["post_id"], if_not_exists=True)
    # the stored posts an import's posts may be, found by permalink (by time: the sort key)
    db.table("posts").create_index(["coverage_id", "url"], if_not_exists=True)


def coverage_identity(db: Database) -> None:
    """10: each coverage's identity (canonical URL, else its id), unique; duplicates merged.

    A page or feed imported from a file and from its URL was stored twice until now: the
    copies are merged into the first-imported coverage, each post once, its newest version kept.
    """
    if "identity" not in db.table("coverages").columns_dict:
        db.execute("ALTER TABLE coverages ADD COLUMN identity TEXT")
    merge_duplicate_coverages(db)
    db.table("coverages").create_index(["identity"], unique=True, if_not_exists=True)


def post_captions(db: Database) -> None:
    """11: a post's photo captions (JSON list): searchable and quotable, apart from its body."""
    if "captions" not in db.table("posts").columns_dict:
        db.execute("ALTER TABLE posts ADD COLUMN captions TEXT")


def source_origin(db: Database) -> None:
    """12: whether a polled source was added from a chat: only those are kept to public
    addresses (an operator's own `liveblog-bot sources add` may read any)."""
    if "added_from_chat" not in db.table("sources").columns_dict:
        db.execute("ALTER TABLE sources ADD COLUMN added_from_chat INTEGER NOT NULL DEFAULT 0")


def forum_topics_and_digests_on_demand(db: Database) -> None:
    """13: the forum topic a digest or a follow was set up in (digests and alerts go there),
    and what /digest showed each chat, kept apart so it never uses up the daily digest."""
    for table in ("digest_subscriptions", "follows"):
        if "thread_id" not in db.table(table).columns_dict:
            db.execute(f"ALTER TABLE {table} ADD COLUMN thread_id INTEGER")
    db.table("digest_on_demand_posts").create(
        {"chat_id": int, "post_id": str, "sent_at": str},
        pk=("chat_id", "post_id"),
        if_not_exists=True,
    )


def source_outlet(db: Database) -> None:
    """14: the outlet name a newsroom set for a polled source ("The Mirror"), given to every
    post imported from it instead of the name the page gives; NULL keeps the page's."""
    if "outlet" not in db.table("sources").columns_dict:
        db.execute("ALTER TABLE sources ADD COLUMN outlet TEXT")


MIGRATIONS: tuple[Migration, ...] = (
    coverages_and_posts,
    generation_counter,
    post_generations,
    chat_state,
    digest_records,
    follows_and_alerts,
    polled_sources,
    channels,
    post_aliases,
    coverage_identity,
    post_captions,
    source_origin,
    forum_topics_and_digests_on_demand,
    source_outlet,
)
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: Database, where: Path | str = "the database") -> int:
    """Bring the database up to `SCHEMA_VERSION`; returns how many migrations ran.

    Refuses (`StoreError`) a database written by a newer liveblog-bot.
    """
    version = user_version(db)
    if version > SCHEMA_VERSION:
        raise StoreError(f"{where} was written by a newer liveblog-bot (schema {version})")
    ran = 0
    for number, migration in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        with write(db):
            if user_version(db) >= number:  # another process got there first
                continue
            migration(db)
            db.execute(f"PRAGMA user_version = {number}")
            ran += 1
    return ran
