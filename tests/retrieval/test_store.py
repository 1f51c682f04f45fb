"""The SQLite store and the library that keeps the index in step with it."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

import retrieval.library as library_module
from retrieval.library import Library
from retrieval.sources import Parsed
from retrieval.store import Store, StoreError


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
    with pytest.raises(sqlite3.IntegrityError):
        library.ingest(Parsed(sample.coverage, [broken, *sample.posts[1:]]))
    stored = library.store.posts([sample.posts[0].post_id])[sample.posts[0].post_id]
    assert stored.body == sample.posts[0].body


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


def test_a_stale_saved_index_is_rebuilt_from_the_store(
    library: Library, db_path: Path, sample: Parsed
) -> None:
    library.close()
    # Another process writes to the store while no index is kept up to date.
    store = Store(db_path)
    tinder = sample.posts[2]
    store.upsert(sample.coverage, [dataclasses.replace(tinder, body=("Bumble is leaving too.",))])
    store.close()
    reopened = Library(db_path)
    hits = reopened.searcher.search("Bumble", limit=3).hits
    assert [hit.post.post_id for hit in hits] == [tinder.post_id]
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
    reopened = Library(db_path)  # as after a crash: the saved index is one import behind
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
