"""The one migration list: a fresh database, a schema-3 one as the old code wrote it, failures.

tests/fixtures/storage/schema3.sql is a database written by liveblog-bot before the schema had
one owner (its README says how it was made): the same feed imported from its file and from its
URL, so that coverage and its three posts are there twice, one post in a newer version.
"""

from __future__ import annotations

import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlite_utils import Database

import retrieval.storage.schema as schema
from retrieval.importing import read_location
from retrieval.library import Library
from retrieval.storage.schema import SCHEMA_VERSION, migrate
from retrieval.storage.store import Store, StoreError

ROOT = Path(__file__).parent.parent.parent.parent
SCHEMA3 = ROOT / "tests" / "fixtures" / "storage" / "schema3.sql"
FEED = ROOT / "tests" / "fixtures" / "sources" / "rss_liveblog.xml"
TABLES = {
    "coverages",
    "posts",
    "meta",
    "generations",
    "chat_prefs",
    "search_sessions",
    "digest_subscriptions",
    "digest_deliveries",
    "digest_sent_posts",
    "digest_on_demand_posts",
    "follows",
    "alerts",
    "sources",
    "channels",
    "post_aliases",
}
# the two copies of the election feed's coverage, and the post edited between the imports
FROM_FILE, FROM_URL = "a3e19ac745f7d911", "5700c4fada3f0526"
SEAT_FROM_FILE, SEAT_FROM_URL = "d5a2137392543dc1", "6b75307ef2f14b09"


def schema3_database(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA3.read_text(encoding="utf-8"))
    return path


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_a_fresh_database_gets_every_table_at_the_current_version(db_path: Path) -> None:
    store = Store(db_path)
    assert store.schema_version == SCHEMA_VERSION == len(schema.MIGRATIONS)
    assert set(store.db.table_names()) == TABLES
    store.close()


def test_every_migration_says_what_it_does() -> None:
    for migration in schema.MIGRATIONS:
        assert migration.__doc__, migration.__name__


def test_a_schema_3_database_migrates_without_losing_a_row(db_path: Path) -> None:
    schema3_database(db_path)
    before = {
        table: rows(db_path, f"SELECT count(*) FROM {table}")[0][0]
        for table in TABLES - {"post_aliases", "digest_on_demand_posts"}
    }
    old_ids = {row[0] for row in rows(db_path, "SELECT post_id FROM posts")}
    store = Store(db_path)
    assert store.schema_version == SCHEMA_VERSION
    for table, count in before.items():
        now = store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if table == "posts":
            assert now == count - 3  # the election feed's three posts were there twice
        elif table == "coverages":
            assert now == count - 1
        elif table == "generations":
            assert now == count + 1  # the merge is a write to the posts
        else:
            assert now == count, table
    kept = {row[0] for row in store.db.execute("SELECT post_id FROM posts").fetchall()}
    aliases = dict(store.db.execute("SELECT alias_id, post_id FROM post_aliases").fetchall())
    assert all(old in kept or aliases.get(old) in kept for old in old_ids)  # nothing is lost
    store.close()


def test_duplicates_merge_into_the_first_import_keeping_the_newest_version(db_path: Path) -> None:
    store = Store(schema3_database(db_path))
    (coverage,) = [c for c in store.coverages() if c.coverage.title.startswith("Election")]
    assert coverage.coverage.coverage_id == FROM_FILE
    assert coverage.posts == 3
    seat = store.posts([SEAT_FROM_FILE])[SEAT_FROM_FILE]
    assert seat.body[-1] == "Turnout was 62%, up & rising."  # the URL import's newer version
    assert store.posts([SEAT_FROM_URL]) == {}
    store.close()


def test_records_naming_a_merged_post_name_the_one_that_stays(db_path: Path) -> None:
    """The chat was alerted and sent the URL copy: it must not get the file copy again."""
    store = Store(schema3_database(db_path))
    assert store.db.execute("SELECT post_id FROM alerts").fetchall() == [(SEAT_FROM_FILE,)]
    assert store.db.execute("SELECT post_id FROM digest_sent_posts").fetchall() == [
        (SEAT_FROM_FILE,)
    ]
    (ids,) = store.db.execute("SELECT post_ids FROM digest_deliveries").fetchone()
    assert ids == f'["{SEAT_FROM_FILE}"]'
    store.close()


def test_a_migrated_database_answers_and_reimports_add_nothing(db_path: Path) -> None:
    library = Library(schema3_database(db_path))
    hits = library.searcher.search("turnout", limit=5).hits
    assert [hit.post.post_id for hit in hits] == [SEAT_FROM_FILE]
    report = library.ingest_all(read_location(str(FEED)))
    assert report.added == 0
    assert library.store.count_posts() == 5
    library.close()


def test_two_processes_opening_an_old_database_at_once_migrate_it_once(db_path: Path) -> None:
    """Each opener has its own connection, as two processes would (the bot and an import)."""
    schema3_database(db_path)
    with ThreadPoolExecutor(2) as pool:
        stores = list(pool.map(lambda _: Store(db_path), range(2)))
    assert [store.count_posts() for store in stores] == [5, 5]
    assert all(store.schema_version == SCHEMA_VERSION for store in stores)
    for store in stores:
        store.close()


def test_a_failed_migration_leaves_the_database_at_the_version_before(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(db_path).close()

    def broken(db: Database) -> None:
        """11: creates a table, then fails."""
        db.table("half_done").create({"x": int})
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="disk I/O error"):
        Store(db_path)
    assert rows(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(db_path, "SELECT name FROM sqlite_master WHERE name = 'half_done'") == []


def test_a_database_from_a_newer_version_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer liveblog-bot"):
        Store(db_path)


def test_migrating_a_current_database_runs_nothing(db_path: Path) -> None:
    store = Store(db_path)
    assert migrate(store.db) == 0
    store.close()


CREATES = re.compile(r"\.create\(|create_index\(|create_table\(|CREATE\s+(TABLE|INDEX)", re.I)
POSTS_SQL = re.compile(r"(FROM|INTO|UPDATE|JOIN)\s+posts\b", re.I)


@pytest.mark.parametrize("package", ["retrieval", "bot"])
def test_only_the_storage_room_creates_tables_or_runs_sql_on_posts(package: str) -> None:
    storage = ROOT / "retrieval" / "storage"
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if storage in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        if CREATES.search(text) or POSTS_SQL.search(text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
