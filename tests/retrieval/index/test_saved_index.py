"""A saved index proves itself: damaged bytes, truncated files, edited manifests and arrays
that do not fit together are refused at load (IndexLoadError), never a crash or a wrong answer;
a loaded index no longer needs its files."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from retrieval.index import BM25Index, IndexDamagedError, IndexLoadError, IndexStaleError
from retrieval.index.doc_ids import DocIds
from retrieval.index.persistence import _manifest_crc

Doc = tuple[str, list[str]]
DOCS: list[Doc] = [
    (f"post-{i}", [f"w{(i * 7 + j) % 23}" for j in range(3 + i % 5)] + ["kyiv"] * (i % 3))
    for i in range(60)
]
QUERIES = [["w1", "kyiv"], ["w5"], ["w7", "w8", "w9"]]


def generation_dir(directory: Path) -> Path:
    return directory / json.loads((directory / "manifest.json").read_text())["generation"]


def resign(directory: Path) -> None:
    """Rewrite the manifest's checksums for the files as they are now (so that a test reaches
    the checks behind them)."""
    manifest = json.loads((directory / "manifest.json").read_text())
    gen = directory / manifest["generation"]
    for name in manifest["checksums"]:
        manifest["checksums"][name] = f"{zlib.crc32((gen / name).read_bytes()):08x}"
    manifest["manifest_crc32"] = _manifest_crc(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def saved(tmp_path: Path) -> tuple[BM25Index, Path]:
    index = BM25Index.build(DOCS)
    index.save(tmp_path / "idx")
    return index, tmp_path / "idx"


def flip_byte(path: Path, position: int) -> None:
    """Change one byte, keeping the file's length."""
    data = bytearray(path.read_bytes())
    data[position % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "name", ["docs.npy", "offsets.npy", "dl.npy", "fwd_terms.npy", "terms.json"]
)
def test_a_changed_byte_in_any_saved_file_is_refused(tmp_path: Path, name: str) -> None:
    _, directory = saved(tmp_path)
    path = generation_dir(directory) / name
    flip_byte(path, len(path.read_bytes()) - 3)  # in the data, not the header
    with pytest.raises(IndexDamagedError, match="checksum"):
        BM25Index.load(directory)


def test_an_edited_parameter_in_the_manifest_is_refused(tmp_path: Path) -> None:
    _, directory = saved(tmp_path)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["k1"] = 1.2  # a valid number, but not the one the index was saved with
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexDamagedError, match=r"manifest .* fails its checksum"):
        BM25Index.load(directory)


def test_every_truncated_file_is_refused(tmp_path: Path) -> None:
    index, directory = saved(tmp_path)
    files = sorted(generation_dir(directory).iterdir())
    assert len(files) >= 12  # every array and the term table
    for path in [*files, directory / "manifest.json"]:
        whole = path.read_bytes()
        for keep in (0, len(whole) // 2, len(whole) - 1):
            path.write_bytes(whole[:keep])
            with pytest.raises(IndexLoadError):
                BM25Index.load(directory)
        path.write_bytes(whole)
    loaded = BM25Index.load(directory)
    assert [loaded.top_k(q) for q in QUERIES] == [index.top_k(q) for q in QUERIES]


@pytest.mark.parametrize(
    ("name", "damage", "problem"),
    [
        ("offsets", lambda a: a[::-1].copy(), "monotone"),
        ("docs", lambda a: np.where(a == a.max(), 10**6, a).astype(a.dtype), "do not exist"),
        ("docs", lambda a: np.where(a == a.min(), -1, a).astype(a.dtype), "do not exist"),
        ("fwd_terms", lambda a: np.where(a == a.max(), 10**6, a).astype(a.dtype), "do not exist"),
        ("fwd_offsets", lambda a: np.sort(a)[::-1].copy(), "monotone"),
        ("lay_hi", lambda a: a + 10**6, "impact layers"),
        ("docs", lambda a: a.astype(np.float32), "unexpected types"),
        ("id_starts", lambda a: a.astype(np.float64), "unexpected types"),
        ("lay_bound", lambda a: a.astype(np.float64), "unexpected types"),
    ],
)
def test_arrays_that_would_send_the_kernels_out_of_bounds_are_refused(
    tmp_path: Path, name: str, damage: object, problem: str
) -> None:
    """Behind the checksums (re-signed here), the arrays' own invariants are checked."""
    _, directory = saved(tmp_path)
    path = generation_dir(directory) / f"{name}.npy"
    np.save(path, damage(np.load(path)))  # type: ignore[operator]
    resign(directory)
    with pytest.raises(IndexDamagedError, match=problem):
        BM25Index.load(directory)


@pytest.mark.parametrize(
    ("other_ids", "problem"),
    [
        (["a"], "do not match"),  # one id for two documents
        (["a", "a"], "distinct"),  # a repeated id
    ],
)
def test_loading_mismatched_ids_raises_index_load_error(
    tmp_path: Path, other_ids: list[str], problem: str
) -> None:
    BM25Index.build([("a", ["x"]), ("b", ["y"])]).save(tmp_path)
    for name, values in DocIds.from_ids(other_ids).arrays().items():
        np.save(generation_dir(tmp_path) / f"{name}.npy", values)
    resign(tmp_path)  # checksums that match the new arrays: the invariants must catch them
    with pytest.raises(IndexLoadError, match=problem):
        BM25Index.load(tmp_path)


def test_a_loaded_index_keeps_answering_when_its_files_are_truncated_or_removed(
    tmp_path: Path,
) -> None:
    index, directory = saved(tmp_path)
    loaded = BM25Index.load(directory)
    for path in generation_dir(directory).iterdir():
        path.write_bytes(path.read_bytes()[:10])  # a memory map would SIGBUS on the next read
    assert [loaded.top_k(q) for q in QUERIES] == [index.top_k(q) for q in QUERIES]
    loaded.upsert("post-3", ["w1", "w1", "kyiv"])
    index.upsert("post-3", ["w1", "w1", "kyiv"])
    for path in generation_dir(directory).iterdir():
        path.unlink()
    loaded._merge()  # reads the whole forward index
    index._merge()
    assert [loaded.top_k(q) for q in QUERIES] == [index.top_k(q) for q in QUERIES]
    loaded.save(directory)  # and it can save itself again over the wreck
    assert [BM25Index.load(directory).top_k(q) for q in QUERIES] == [
        index.top_k(q) for q in QUERIES
    ]


def test_an_index_built_by_another_analyzer_is_stale(tmp_path: Path) -> None:
    index = BM25Index.build(DOCS)
    index.analyzer = {"tokenizer": "1", "stemmer": "snowball english, PyStemmer 3.1.0"}
    index.save(tmp_path)
    assert BM25Index.load(tmp_path, analyzer=dict(index.analyzer)).analyzer == index.analyzer
    other = {"tokenizer": "2", "stemmer": "snowball english, PyStemmer 3.1.0"}
    with pytest.raises(IndexStaleError, match="another text analyzer"):
        BM25Index.load(tmp_path, analyzer=other)
    BM25Index.build(DOCS).save(tmp_path)  # saved without an identity: stale for any analyzer
    with pytest.raises(IndexStaleError):
        BM25Index.load(tmp_path, analyzer=other)
