"""Saving and loading the index's arrays: atomic, checksummed, read whole into memory.

A save writes every array as ``.npy`` and the term table as JSON into a fresh generation
folder, then replaces the manifest that names it with one rename, so a reader sees the old
index or the new one, never a mixture. The manifest records a CRC-32 of every file and of its
own content, and the analyzer the terms came from.

A load reads each file whole into memory (no memory map: a file truncated or removed under a
running bot would otherwise end it with SIGBUS), checks its CRC while it is there, and parses
the arrays out of that buffer without a second copy. Any difference (changed bytes, a
truncated file, an edited manifest) raises `IndexDamagedError`; an index written by another
analyzer or format raises `IndexStaleError`. Both are `IndexLoadError`s: rebuild from the store.
CRC-32 (zlib, ~1.9 GB/s here) detects damage, not tampering, which is all a cache needs.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "IndexDamagedError",
    "IndexLoadError",
    "IndexStaleError",
    "Saved",
    "read_manifest",
    "read_saved",
    "write_saved",
]

FORMAT = "liveblog-bm25"
VERSION = 4  # 2: postings in impact layers; 3: ids as arrays; 4: checksums and analyzer
MANIFEST = "manifest.json"
TERMS = "terms.json"
_CHUNK = 1 << 24
_READERS = 4  # files read side by side at load


class IndexLoadError(Exception):
    """A saved index is missing, unreadable, stale or inconsistent; rebuild it from the store."""


class IndexDamagedError(IndexLoadError):
    """A saved index's bytes are not what was saved (changed, truncated, missing files)."""


class IndexStaleError(IndexLoadError):
    """A saved index is intact but was written by another format or analyzer."""


@dataclass
class Saved:
    """What a save wrote: the manifest's fields, the arrays by name and the term table."""

    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray]
    terms: list[str]


class _CrcWriter:
    """A file wrapper that keeps the CRC-32 of everything written through it."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.crc = 0

    def write(self, data: bytes | memoryview) -> int:
        self.crc = zlib.crc32(data, self.crc)
        return self._fh.write(data)


def _crc_hex(crc: int) -> str:
    return f"{crc & 0xFFFFFFFF:08x}"


def _manifest_crc(manifest: Mapping[str, Any]) -> str:
    body = {key: value for key, value in manifest.items() if key != "manifest_crc32"}
    return _crc_hex(zlib.crc32(json.dumps(body, sort_keys=True).encode()))


def write_saved(directory: Path, saved: Saved) -> None:
    """Write ``saved`` under ``directory`` atomically (see the module docstring)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    generation = f"gen-{uuid.uuid4().hex}"
    tmp = directory / f".{generation}.tmp"
    tmp.mkdir()
    checksums: dict[str, str] = {}
    for name, values in saved.arrays.items():
        values = np.ascontiguousarray(values)
        with open(tmp / f"{name}.npy", "wb") as fh:
            writer = _CrcWriter(fh)  # the header through the wrapper, the data straight
            header = np.lib.format.header_data_from_array_1_0(values)
            np.lib.format.write_array_header_1_0(writer, header)  # magic and header
            writer.write(values.view(np.uint8).data)
        checksums[f"{name}.npy"] = _crc_hex(writer.crc)
    terms = json.dumps(saved.terms, ensure_ascii=False).encode()
    _write_bytes(tmp / TERMS, terms)
    checksums[TERMS] = _crc_hex(zlib.crc32(terms))
    _fsync_dir(tmp)
    os.replace(tmp, directory / generation)
    manifest = {"format": FORMAT, "version": VERSION, "generation": generation}
    manifest.update(saved.manifest)
    manifest["checksums"] = checksums
    manifest["manifest_crc32"] = _manifest_crc(manifest)
    _write_bytes(directory / f"{MANIFEST}.tmp", json.dumps(manifest).encode())
    os.replace(directory / f"{MANIFEST}.tmp", directory / MANIFEST)
    _fsync_dir(directory)
    for old in directory.iterdir():
        if old.name.startswith(("gen-", ".gen-")) and old.name != generation:
            shutil.rmtree(old, ignore_errors=True)


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest, checked against its own CRC and for a format this version reads."""
    try:
        manifest = json.loads((Path(directory) / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexLoadError(f"no saved index in {directory}") from exc
    except (OSError, ValueError) as exc:
        raise IndexDamagedError(f"the index manifest in {directory} is unreadable: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexDamagedError(f"{directory} holds no index manifest")
    if manifest.get("version") != VERSION:
        raise IndexStaleError(
            f"the index in {directory} has format {manifest.get('version')}, "
            f"this version reads {VERSION}"
        )
    if manifest.get("manifest_crc32") != _manifest_crc(manifest):
        raise IndexDamagedError(f"the index manifest in {directory} fails its checksum")
    return manifest


def read_saved(
    directory: Path,
    names: Callable[[Mapping[str, Any]], list[str]],
    analyzer: Mapping[str, str] | None = None,
) -> Saved:
    """Read and verify the arrays ``names(manifest)`` and the term table in ``directory``.

    ``analyzer``: the identity the caller's tokens come from; a different one recorded in the
    manifest makes the index stale (checked before any array is read).
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    if analyzer is not None and manifest.get("analyzer") != dict(analyzer):
        raise IndexStaleError(
            f"the index in {directory} was built by another text analyzer "
            f"({manifest.get('analyzer')}, now {dict(analyzer)})"
        )
    checksums = manifest.get("checksums")
    if not isinstance(checksums, dict):
        raise IndexDamagedError(f"the index manifest in {directory} has no checksums")
    gen = directory / str(manifest.get("generation"))
    # One reader thread a file: reads and CRC-32 release the GIL, so start-up at a million
    # posts takes about half as long on two cores.
    with ThreadPoolExecutor(max_workers=_READERS) as pool:
        reading = {
            name: pool.submit(_read_verified, gen / f"{name}.npy", checksums)
            for name in names(manifest)
        }
        reading_terms = pool.submit(_read_verified, gen / TERMS, checksums)
        arrays = {
            name: _parse_npy(future.result(), gen / f"{name}.npy")
            for name, future in reading.items()
        }
        data = reading_terms.result()
    try:
        terms = json.loads(data.tobytes().decode("utf-8"))
    except ValueError as exc:
        raise IndexDamagedError(f"{gen / TERMS} is not JSON: {exc}") from exc
    if not isinstance(terms, list) or not set(map(type, terms)) <= {str}:
        raise IndexDamagedError(f"{gen / TERMS} is not a list of terms")
    return Saved(manifest, arrays, terms)


def _read_verified(path: Path, checksums: Mapping[str, object]) -> npt.NDArray[np.uint8]:
    """The whole file, in memory, if its CRC-32 is the manifest's."""
    want = checksums.get(path.name)
    if not isinstance(want, str):
        raise IndexDamagedError(f"the index manifest has no checksum for {path.name}")
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            # Not bytearray(size): zero-filling first would touch every page twice.
            buffer = np.empty(size, dtype=np.uint8)
            view = memoryview(buffer.data)
            got = 0
            crc = 0
            while got < size:
                n = fh.readinto(view[got : got + _CHUNK])
                if not n:
                    break
                crc = zlib.crc32(view[got : got + n], crc)
                got += n
    except OSError as exc:
        raise IndexDamagedError(f"cannot read {path}: {exc}") from exc
    if got != size or _crc_hex(crc) != want:
        raise IndexDamagedError(f"{path} fails its checksum (changed or truncated)")
    return buffer


def _parse_npy(buffer: npt.NDArray[np.uint8], path: Path) -> np.ndarray:
    """The 1-D array of an ``.npy`` file's bytes, viewing ``buffer`` (writable, no copy)."""
    try:
        head = io.BytesIO(buffer[: 1 << 16].tobytes())
        major, _ = np.lib.format.read_magic(head)
        if major == 1:
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(head)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(head)
        if len(shape) != 1 or fortran or dtype.hasobject:
            raise ValueError(f"shape {shape}, dtype {dtype}")
        return np.frombuffer(buffer, dtype=dtype, count=shape[0], offset=head.tell())
    except ValueError as exc:
        raise IndexDamagedError(f"{path} is not an array this index saved: {exc}") from exc


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
