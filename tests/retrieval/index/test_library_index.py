"""The library's saved index at start: damaged or stale means rebuilt from the store with one
log line, and many missing posts mean a rebuild instead of a long catch-up."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest

import retrieval.library as library_module
import retrieval.text as text_module
from retrieval.library import Library
from retrieval.sources import Parsed
from retrieval.storage.store import Store


def index_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".index")


def generation_dir(db_path: Path) -> Path:
    manifest = json.loads((index_dir(db_path) / "manifest.json").read_text())
    return index_dir(db_path) / manifest["generation"]


def rebuild_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("rebuilding")]


def answers(library: Library) -> list[list[str]]:
    queries = ["Tinder", "fighting vehicles NATO", "drone Kremlin"]
    return [[h.post.post_id for h in library.searcher.search(q, limit=5).hits] for q in queries]


def damage_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x10
    path.write_bytes(bytes(data))


def damage_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("docs.npy", damage_flip),
        ("offsets.npy", damage_flip),
        ("dl.npy", damage_flip),
        ("terms.json", damage_flip),
        ("fwd_terms.npy", damage_truncate),
        ("id_blob.npy", damage_truncate),
    ],
)
def test_a_damaged_saved_index_is_rebuilt_with_one_log_line(
    library: Library, db_path: Path, caplog: pytest.LogCaptureFixture, name: str, damage: object
) -> None:
    want = answers(library)
    library.close()
    damage(generation_dir(db_path) / name)  # type: ignore[operator]
    with caplog.at_level(logging.INFO, logger="retrieval.library"):
        reopened = Library(db_path)
    (line,) = rebuild_lines(caplog)
    assert name in line and "checksum" in line
    assert reopened.index_damage is not None
    assert answers(reopened) == want
    reopened.close()
    caplog.clear()
    again = Library(db_path)  # the rebuilt index was saved whole
    assert again.index_damage is None and answers(again) == want
    again.close()


def test_an_edited_k1_in_the_manifest_is_rebuilt_not_believed(
    library: Library, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    want = answers(library)
    library.close()
    manifest_path = index_dir(db_path) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["k1"] = 0.9
    manifest_path.write_text(json.dumps(manifest))
    with caplog.at_level(logging.INFO, logger="retrieval.library"):
        reopened = Library(db_path)
    assert len(rebuild_lines(caplog)) == 1
    assert reopened.index.k1 == 1.5 and answers(reopened) == want
    reopened.close()


def test_an_index_of_another_analyzer_is_rebuilt(
    library: Library,
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    want = answers(library)
    library.close()
    newer = dict(text_module.analyzer_identity(), tokenizer="99")
    monkeypatch.setattr(library_module, "analyzer_identity", lambda: dict(newer))
    with caplog.at_level(logging.INFO, logger="retrieval.library"):
        reopened = Library(db_path)
    (line,) = rebuild_lines(caplog)
    assert "another text analyzer" in line
    assert reopened.index_damage is None  # stale, not damaged
    assert reopened.index.analyzer == newer and answers(reopened) == want
    reopened.close()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="retrieval.library"):
        Library(db_path).close()  # saved under the new identity: loaded, not rebuilt again
    assert rebuild_lines(caplog) == []


def _missing_posts(library: Library, db_path: Path, sample: Parsed, n: int) -> list[str]:
    """Close the library, then write ``n`` edited posts with no index kept up to date."""
    library.close()
    store = Store(db_path)
    edited = [
        dataclasses.replace(post, body=(f"Zorblat number {i} was seen.",))
        for i, post in enumerate(sample.posts[:n])
    ]
    store.upsert(sample.coverage, edited)
    store.close()
    return [post.post_id for post in edited]


def test_a_few_missing_posts_are_caught_up(
    library: Library, db_path: Path, sample: Parsed, caplog: pytest.LogCaptureFixture
) -> None:
    library.close()
    saved_at = Library(db_path).index.built_at
    edited = _missing_posts(library, db_path, sample, 3)
    with caplog.at_level(logging.INFO, logger="retrieval.library"):
        reopened = Library(db_path)
    assert rebuild_lines(caplog) == []
    assert reopened.index.built_at == saved_at  # the saved index, caught up: not rebuilt
    hits = reopened.searcher.search("Zorblat", limit=10).hits
    assert sorted(h.post.post_id for h in hits) == sorted(edited)
    reopened.close()


def test_more_missing_posts_than_the_threshold_means_a_rebuild(
    library: Library,
    db_path: Path,
    sample: Parsed,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    edited = _missing_posts(library, db_path, sample, 6)
    monkeypatch.setattr(library_module, "CATCH_UP_MIN", 5)
    monkeypatch.setattr(library_module, "CATCH_UP_SHARE", 0.0)
    with caplog.at_level(logging.INFO, logger="retrieval.library"):
        reopened = Library(db_path)
    (line,) = rebuild_lines(caplog)
    assert "more than 5 of 19 posts" in line
    hits = reopened.searcher.search("Zorblat", limit=10).hits
    assert sorted(h.post.post_id for h in hits) == sorted(edited)
    reopened.close()


def test_the_threshold_grows_with_the_store() -> None:
    assert library_module.rebuild_threshold(0) == library_module.CATCH_UP_MIN
    share = library_module.CATCH_UP_SHARE
    assert library_module.rebuild_threshold(1_000_000) == int(1_000_000 * share)
    assert int(1_000_000 * share) > library_module.CATCH_UP_MIN
