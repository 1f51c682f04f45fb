"""A newsroom names the outlet per source: `sources add --outlet`, `import --outlet`,
`/sources add URL as NAME`. The name is stored with the source (a real SQLite file), given to
every post polled from it (over HTTP from 127.0.0.1) and shown where sources are listed."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from bot.core.chat import NoDirectory
from bot.core.sources import SourcesCommands
from retrieval.channels import Channels
from retrieval.importing import parse_content
from retrieval.library import Library
from retrieval.polling import Sources, poll
from retrieval.sources import SourceError
from tests.bot.test_cli import run

REAL = Path(__file__).parent.parent / "fixtures" / "real"
SOURCES = Path(__file__).parent.parent / "fixtures" / "sources"
EXPRESS = REAL / "express_live_2024-07-18.html"  # names itself "Express"
T0 = datetime(2024, 7, 18, 12, 0, tzinfo=UTC)


def serve_express(httpserver: HTTPServer) -> str:
    httpserver.expect_request("/live").respond_with_data(
        EXPRESS.read_bytes(), content_type="text/html; charset=utf-8"
    )
    return httpserver.url_for("/live")


def stored_sources(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT DISTINCT source FROM posts WHERE source LIKE '%Express%'")
        return {row[0] for row in rows}


def test_polled_posts_carry_the_outlet_set_for_their_source(
    httpserver: HTTPServer, library: Library, db_path: Path
) -> None:
    sources = Sources(library.store.db)
    source = sources.add(serve_express(httpserver), outlet="  Daily   Express ", now=T0)
    assert source.outlet == "Daily Express"

    outcome = poll(library, source, T0)

    assert outcome.status == "changed", outcome.error
    assert {p.source for p in outcome.added_posts} == {"Daily Express"}
    assert len(outcome.added_posts) == 9
    assert stored_sources(db_path) == {"Daily Express"}
    # Read back from the table, as the running bot and `sources list` read it.
    assert [s.outlet for s in Sources(library.store.db).list()] == ["Daily Express"]


def test_a_source_without_an_outlet_keeps_the_pages_name(
    httpserver: HTTPServer, library: Library
) -> None:
    source = Sources(library.store.db).add(serve_express(httpserver), now=T0)
    assert source.outlet is None
    outcome = poll(library, source, T0)
    assert {p.source for p in outcome.added_posts} == {"Express"}


@pytest.mark.parametrize("name", ["rss_liveblog.xml", "atom_liveblog.atom", "archive.jsonl"])
def test_the_outlet_applies_to_every_format_and_every_coverage(name: str) -> None:
    parsed = parse_content((SOURCES / name).read_bytes(), origin=name, outlet="The Gazette")
    assert parsed and all(p.coverage.source == "The Gazette" for p in parsed)
    assert {post.source for p in parsed for post in p.posts} == {"The Gazette"}


@pytest.mark.parametrize("outlet", ["x" * 81, " -- "])
def test_outlet_names_that_are_no_names_are_refused(library: Library, outlet: str) -> None:
    sources = Sources(library.store.db)
    with pytest.raises(SourceError):
        sources.add("https://example.com/live", outlet=outlet)
    assert sources.list() == []


def test_chat_operators_add_a_source_with_its_outlet_and_see_it_listed(library: Library) -> None:
    commands = SourcesCommands(Sources(library.store.db), Channels(library.store.db), NoDirectory())
    added = asyncio.run(
        commands.run("add https://example.com/live 10m as The Daily Express", from_chat=False)
    )
    text = " ".join(block.text for block in added.blocks)
    assert "as The Daily Express" in text and "every 10m" in text
    (source,) = commands.sources.list()
    assert (source.outlet, source.every) == ("The Daily Express", "10m")
    listing = " ".join(block.text for block in commands.listing().blocks)
    assert "https://example.com/live as The Daily Express" in listing
    refused = asyncio.run(commands.run("add https://example.com/other as", from_chat=False))
    assert refused.kind == "invalid"


def test_the_cli_stores_lists_and_applies_the_outlet(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    db = tmp_path / "liveblog.db"
    url = serve_express(httpserver)
    added = run("sources", "add", url, "--every", "1h", "--outlet", "Daily Express", db=db)
    assert added.returncode == 0, added.stderr
    assert f"{url} as Daily Express, every 1h" in added.stdout
    listed = run("sources", "list", db=db)
    assert f"#1 {url} as Daily Express every 1h" in listed.stdout

    imported = run("import", str(EXPRESS), "--outlet", "Sunday Express", db=db)
    assert imported.returncode == 0, imported.stderr
    assert "9 added" in imported.stdout
    latest = json.loads(run("latest", "3", "--json", db=db).stdout)
    assert {hit["source"] for hit in latest["results"]} == {"Sunday Express"}
    assert stored_sources(db) == {"Sunday Express"}
