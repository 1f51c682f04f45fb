"""The SQLite store and the library that keeps the index in step with it."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

import retrieval.library as library_module
import retrieval.storage.store as store_module
from retrieval.library import Library
from retrieval.sources import Parsed
from retrieval.storage.store import Store, StoreError


def test_database_is_in_wal_mode(library: Library) -> None:
    assert library.store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reimporting_the_same_coverage_adds_nothing(library: Library, sample: Parsed) -> None:
    report = library.ingest(sample)
    assert (report.added, report.updated, report.unchanged) == (0, 0, 19)
    assert library.store.count_posts() == 19
    assert len(library.index) == 19


def test_first_import_counts_every_post_as_added(db_path: Path, sample: Parsed) -> None:
    lib = Library(db_path)
    report = lib.ingest(sample)
    assert (report.added, report.updated, report.unchanged) == (19, 0, 0)
    lib.close()


def test_an_edited_post_replaces_the_old_version_in_store_and_index(
    library: Library, sample: Parsed
) -> None:
    tinder = sample.posts[2]
    edited = dataclasses.replace(
        tinder, body=(*tinder.body, "Bumble said it would also leave the Russian market.")
    )
    posts = [edited if p.post_id == tinder.post_id else p for p in sample.posts]
    report = library.ingest(Parsed(sample.coverage, posts))
    assert (report.added, report.updated, report.unchanged) == (0, 1, 18)
    assert library.store.count_posts() == 19
    stored = library.store.posts([tinder.post_id])[tinder.post_id]
    assert stored.body[-1].startswith("Bumble said")
    hits = library.searcher.search("Bumble", limit=3).hits
    assert [hit.post.post_id for hit in hits] == [tinder.post_id]


def test_index_is_rebuilt_from_the_store_at_start(library: Library, db_path: Path) -> None:
    library.close()
    reopened = Library(db_path)
    assert len(reopened.index) == 19
    assert reopened.searcher.search("Tinder", limit=1).hits[0].post.title.startswith("Owner of")
    reopened.close()


def test_latest_is_newest_first_by_page_position(library: Library) -> None:
    latest = library.store.latest(3)
    assert [p.position for p in latest] == [0, 1, 2]


def test_a_database_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "liveblog.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the database"):
        Store(bad)


def test_a_failed_import_leaves_stored_posts_untouched(library: Library, sample: Parsed) -> None:
    broken = dataclasses.replace(sample.posts[0], body=("changed",))
    library.store.db.execute(
        "CREATE TRIGGER refuse BEFORE UPDATE ON posts BEGIN SELECT RAISE(ABORT, 'no'); END"
    )
    generation = library.store.generation()
    with pytest.raises(sqlite3.IntegrityError):
        library.ingest(Parsed(sample.coverage, [broken, *sample.posts[1:]]))
    stored = library.store.posts([sample.posts[0].post_id])[sample.posts[0].post_id]
    assert stored.body == sample.posts[0].body
    assert library.store.generation() == generation  # the whole import rolled back
    assert library.store.generation_token(generation + 1) is None


def test_the_index_is_saved_beside_the_database_and_loaded_when_current(
    library: Library, db_path: Path, sample: Parsed
) -> None:
    library.close()
    saved = db_path.with_name(db_path.name + ".index")
    assert (saved / "library.json").exists()
    reopened = Library(db_path)
    assert reopened.index.built_at == Library(db_path).index.built_at  # loaded, not rebuilt
    assert reopened.searcher.search("Tinder", limit=1).hits[0].post.title.startswith("Owner")
    reopened.close()


def test_a_stale_saved_index_is_brought_up_to_date_not_rebuilt(
    library: Library, db_path: Path, sample: Parsed
) -> None:
    library.close()
    saved_at = Library(db_path).index.built_at
    # Another process writes to the store while no index is kept up to date.
    store = Store(db_path)
    tinder = sample.posts[2]
    store.upsert(sample.coverage, [dataclasses.replace(tinder, body=("Bumble is leaving too.",))])
    store.close()
    reopened = Library(db_path)
    assert reopened.index.built_at == saved_at  # the saved index, caught up
    hits = reopened.searcher.search("Bumble", limit=3).hits
    assert [hit.post.post_id for hit in hits] == [tinder.post_id]
    reopened.close()


def test_an_index_saved_on_another_branch_of_a_restored_database_is_rebuilt(
    library: Library, db_path: Path, sample: Parsed, tmp_path: Path
) -> None:
    """A backup restored and written to again can reach the generation number a saved index
    was stamped with while holding other posts: the generation's token tells them apart."""
    library.close()
    backup = tmp_path / "backup.db"
    Store(db_path).db.conn.execute(f"VACUUM INTO '{backup}'")
    tinder = sample.posts[2]
    gone = Library(db_path)  # this branch: the Tinder post becomes a Bumble post, saved
    gone.ingest(dataclasses.replace(sample, posts=(dataclasses.replace(tinder, body=("Bumble",)),)))
    gone.close()
    generation = json.loads((db_path.with_name("liveblog.db.index") / "library.json").read_text())
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    backup.rename(db_path)  # restored; another edit brings it to the same generation number
    store = Store(db_path)
    store.upsert(sample.coverage, [dataclasses.replace(tinder, body=("Zorblat stays.",))])
    assert store.generation() == generation["generation"]
    store.close()
    reopened = Library(db_path)
    assert not reopened.searcher.search("Bumble", limit=3).hits
    hits = reopened.searcher.search("Zorblat", limit=3).hits
    assert [hit.post.post_id for hit in hits] == [tinder.post_id]
    reopened.close()


def test_posts_another_process_writes_are_indexed_at_the_next_import(
    library: Library, db_path: Path, sample: Parsed
) -> None:
    tinder, other = sample.posts[2], sample.posts[5]
    store = Store(db_path)  # e.g. `liveblog-bot import` while the bot runs
    store.upsert(sample.coverage, [dataclasses.replace(tinder, body=("Bumble is leaving too.",))])
    store.close()
    assert not library.searcher.search("Bumble", limit=3).hits  # not yet seen
    library.ingest(
        dataclasses.replace(sample, posts=(dataclasses.replace(other, body=("Grindr",)),))
    )
    assert [h.post.post_id for h in library.searcher.search("Bumble", limit=3).hits] == [
        tinder.post_id
    ]
    assert [h.post.post_id for h in library.searcher.search("Grindr", limit=3).hits] == [
        other.post_id
    ]


def test_a_schema_2_database_is_migrated_and_its_index_rebuilt(
    library: Library, db_path: Path, sample: Parsed
) -> None:
    library.close()
    db = sqlite3.connect(db_path)
    db.execute("DROP INDEX idx_posts_generation")
    db.execute("ALTER TABLE posts DROP COLUMN generation")
    db.execute("DROP TABLE generations")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    reopened = Library(db_path)
    assert reopened.store.schema_version == store_module.SCHEMA_VERSION
    assert len(reopened.index) == 19
    assert reopened.searcher.search("Tinder", limit=1).hits[0].post.title.startswith("Owner")
    tinder = sample.posts[2]
    reopened.ingest(
        dataclasses.replace(sample, posts=(dataclasses.replace(tinder, body=("Bumble",)),))
    )
    assert [h.post.post_id for h in reopened.searcher.search("Bumble", limit=3).hits] == [
        tinder.post_id
    ]
    reopened.close()


def test_a_large_index_is_saved_at_most_every_interval_and_always_on_close(
    library: Library, db_path: Path, sample: Parsed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saving writes the whole index, so a large one is not saved after every import; one
    that missed the latest posts is rebuilt from the store, so no answer is ever lost."""
    monkeypatch.setattr(library_module, "LARGE_INDEX", 10)  # the sample's 19 posts are "large"
    tinder = sample.posts[2]
    edited = dataclasses.replace(tinder, body=("Bumble is leaving too.",))
    library.ingest(dataclasses.replace(sample, posts=(edited,)))
    assert library.save_index() is False  # saved when the library opened, moments ago
    monkeypatch.setattr(library_module, "SAVE_INTERVAL_S", 0.0)
    assert library.save_index() is True
    assert library.save_index() is False  # nothing changed since
    monkeypatch.setattr(library_module, "SAVE_INTERVAL_S", 3600.0)
    library.ingest(dataclasses.replace(sample, posts=(tinder,)))  # edited back, not saved
    assert library.save_index() is False
    reopened = Library(db_path)  # as after a crash: the saved index is one import behind,
    # brought up to date from the store
    hits = reopened.searcher.search("Tinder", limit=1).hits
    assert [hit.post.post_id for hit in hits] == [tinder.post_id]
    assert not reopened.searcher.search("Bumble", limit=1).hits
    reopened.close()
    library.close()  # forced: the index is current again for the next start
    built_at = Library(db_path).index.built_at
    assert Library(db_path).index.built_at == built_at  # loaded, not rebuilt


def test_a_small_index_is_saved_after_every_import(
    library: Library, db_path: Path, sample: Parsed
) -> None:
    tinder = sample.posts[2]
    library.ingest(dataclasses.replace(sample, posts=(dataclasses.replace(tinder, body=("X",)),)))
    assert library.save_index() is True


def test_only_the_latest_generation_tokens_are_kept(
    db_path: Path, sample: Parsed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "KEPT_TOKENS", 3)
    store = Store(db_path)
    tinder = sample.posts[2]
    for n in range(6):
        store.upsert(sample.coverage, [dataclasses.replace(tinder, body=(f"edit {n}",))])
    assert store.generation() == 6
    kept = [g for g in range(7) if store.generation_token(g) is not None]
    assert kept == [4, 5, 6]
    store.close()
