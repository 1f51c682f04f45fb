"""Shared fixtures: the bundled sample and a real database file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.importing import bundled_sample, parse_content
from retrieval.library import Library
from retrieval.sources import Parsed


@pytest.fixture(scope="session")
def sample_text() -> str:
    return bundled_sample().decode("utf-8")


@pytest.fixture(scope="session")
def sample() -> Parsed:
    (parsed,) = parse_content(bundled_sample(), origin="bundled sample")
    return parsed


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "liveblog.db"


@pytest.fixture
def library(db_path: Path, sample: Parsed) -> Iterator[Library]:
    """A library on a fresh database file, holding the sample coverage."""
    lib = Library(db_path)
    lib.ingest(sample)
    yield lib
    lib.close()
