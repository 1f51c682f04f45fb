"""One coverage, one identity: a feed or page from a file, from its URL or polled is stored once.

The feeds and pages are the fixtures of tests/fixtures/sources, served by a real HTTP server
on 127.0.0.1 for the URL imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from retrieval.importing import read_location
from retrieval.library import Library
from retrieval.polling import Sources, ingest_new_posts, poll
from retrieval.storage.identity import canonical_url, coverage_identity
from retrieval.storage.store import ImportReport

FIXTURES = Path(__file__).parent.parent.parent / "fixtures" / "sources"
FEED = FIXTURES / "rss_liveblog.xml"
ATOM = FIXTURES / "atom_liveblog.atom"
PAGE = FIXTURES / "liveblog_v1.html"
NOW = datetime(2024, 7, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def empty(db_path: Path) -> Iterator[Library]:
    lib = Library(db_path, persist_index=False)
    yield lib
    lib.close()


def serve(httpserver: HTTPServer, path: str, body: bytes, content_type: str) -> str:
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    return httpserver.url_for(path)


def ingest(library: Library, location: str) -> ImportReport:
    return library.ingest_all(read_location(location))


def counts(report: ImportReport) -> tuple[int, int, int]:
    return report.added, report.updated, report.unchanged


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://WWW.Example.COM/live/blog", "https://www.example.com/live/blog"),
        ("https://www.example.com:443/live/blog", "https://www.example.com/live/blog"),
        ("http://www.example.com:80/live/blog", "http://www.example.com/live/blog"),
        ("http://www.example.com:8080/live/blog", "http://www.example.com:8080/live/blog"),
        ("https://www.example.com/live/blog/", "https://www.example.com/live/blog"),
        ("https://www.example.com/live/blog#post-3", "https://www.example.com/live/blog"),
        ("https://www.example.com", "https://www.example.com/"),
        ("https://www.example.com/", "https://www.example.com/"),
        (
            "https://www.example.com/live/blog/?utm_source=x&utm_medium=rss&fbclid=1",
            "https://www.example.com/live/blog",
        ),
        ("https://www.example.com/feed?b=2&a=1", "https://www.example.com/feed?a=1&b=2"),
        ("/home/me/saved/feed.xml", None),
        ("ftp://www.example.com/feed.xml", None),
        ("http://www.example.com:port/", None),
        ("", None),
    ],
)
def test_every_spelling_of_a_url_has_one_canonical_form(url: str, canonical: str | None) -> None:
    assert canonical_url(url) == canonical


def test_a_post_permalink_keeps_the_fragment_that_names_the_post() -> None:
    assert (
        canonical_url("https://www.Example.com/live/blog/#post-3", keep_fragment=True)
        == "https://www.example.com/live/blog#post-3"
    )


def test_a_coverage_without_a_url_is_known_by_its_id() -> None:
    assert coverage_identity(None, "abc") == "id:abc"
    assert coverage_identity("https://x.example/a/", "abc") == "url:https://x.example/a"


def test_a_feed_imported_from_its_file_and_then_its_url_is_stored_once(
    empty: Library, httpserver: HTTPServer
) -> None:
    first = ingest(empty, str(ATOM))
    url = serve(httpserver, "/live/earthquake.atom", ATOM.read_bytes(), "application/atom+xml")
    second = ingest(empty, url)
    assert first.added == 3
    assert counts(second) == (0, 0, 3)
    assert empty.store.count_posts() == 3
    assert len(empty.store.coverages()) == 1
    assert len(empty.index) == 3


def test_a_feed_imported_from_its_url_and_then_its_file_is_stored_once(
    empty: Library, httpserver: HTTPServer
) -> None:
    url = serve(httpserver, "/live/earthquake.atom", ATOM.read_bytes(), "application/atom+xml")
    assert counts(ingest(empty, url)) == (3, 0, 0)
    assert counts(ingest(empty, str(ATOM))) == (0, 0, 3)
    assert counts(ingest(empty, url)) == (0, 0, 3)  # the matches are remembered
    assert empty.store.count_posts() == 3


def test_an_rss_feed_from_its_file_and_its_url_adds_no_post_the_second_time(
    empty: Library, httpserver: HTTPServer
) -> None:
    """One entry's link is relative: from the file it resolves against the feed's own link,
    from 127.0.0.1 against the server's address, so that post reads as edited, not as new."""
    assert ingest(empty, str(FEED)).added == 3
    url = serve(httpserver, "/live/feed.xml", FEED.read_bytes(), "application/rss+xml")
    assert ingest(empty, url).added == 0
    assert ingest(empty, str(FEED)).added == 0
    assert empty.store.count_posts() == 3
    assert len(empty.store.coverages()) == 1


def test_a_page_imported_from_its_file_and_then_its_url_is_stored_once(
    empty: Library, httpserver: HTTPServer
) -> None:
    first = ingest(empty, str(PAGE))
    url = serve(httpserver, "/live/budget-vote/", PAGE.read_bytes(), "text/html; charset=utf-8")
    second = ingest(empty, url)
    assert first.added > 0
    assert counts(second) == (0, 0, first.added)
    assert empty.store.count_posts() == first.added


def test_a_polled_source_adds_nothing_a_file_import_already_stored_and_alerts_none(
    empty: Library, httpserver: HTTPServer
) -> None:
    ingest(empty, str(FEED))
    url = serve(httpserver, "/live/feed.xml", FEED.read_bytes(), "application/rss+xml")
    sources = Sources(empty.store.db)
    outcome = poll(empty, sources.add(url, "15m", now=NOW), NOW, registry=sources)
    assert outcome.status != "failed", outcome.summary()
    assert outcome.added_posts == ()  # no /follow alert for posts the chat may have had
    assert empty.store.count_posts() == 3


def test_an_edit_that_arrives_the_other_way_replaces_the_stored_post(
    empty: Library, httpserver: HTTPServer
) -> None:
    ingest(empty, str(FEED))
    stored = {post.title: post for post in empty.store.latest(10)}
    edited = FEED.read_bytes().replace(b"Turnout was 61%", b"Turnout was 62%")
    url = serve(httpserver, "/live/feed.xml", edited, "application/rss+xml")
    report = ingest_new_posts(empty, read_location(url))
    assert report.report.added == 0
    assert "First seat declared" in {post.title for post in report.report.changed_posts}
    assert report.added == ()
    seat = stored["First seat declared"]
    assert empty.store.posts([seat.post_id])[seat.post_id].body[-1] == "Turnout was 62%, up & rising."
    hits = empty.searcher.search("turnout", limit=5).hits
    assert [hit.post.post_id for hit in hits] == [seat.post_id]


def test_different_feeds_stay_different_coverages(empty: Library) -> None:
    ingest(empty, str(FEED))
    ingest(empty, str(ATOM))
    assert len(empty.store.coverages()) == 2
