"""The source registry and the poller, against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from retrieval.library import Library
from retrieval.polling import (
    PollOutcome,
    Source,
    Sources,
    apply,
    backoff_seconds,
    download,
    format_interval,
    ingest_new_posts,
    parse_interval,
    poll,
    poll_due,
)
from retrieval.sources import SourceError
from retrieval.sources.fetch import FetchResult

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sources"
T0 = datetime(2024, 7, 4, 12, 0, tzinfo=UTC)
STAMP = "Thu, 04 Jul 2024 11:00:00 GMT"


@dataclass
class Page:
    """What the test site serves at one path; a matching If-None-Match gets a 304."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200

    def respond(self, request: Request) -> Response:
        headers = {}
        if self.etag:
            headers["ETag"] = self.etag
        if self.last_modified:
            headers["Last-Modified"] = self.last_modified
        if self.status != 200:
            return Response(b"error page", status=self.status, content_type="text/html")
        if self.etag and request.headers.get("If-None-Match") == self.etag:
            return Response(b"", status=304, headers=headers)
        return Response(self.body, content_type=self.content_type, headers=headers)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def serve(httpserver: HTTPServer, path: str, page: Page) -> str:
    httpserver.expect_request(path).respond_with_handler(page.respond)
    return httpserver.url_for(path)


def requests_to(httpserver: HTTPServer, path: str) -> list[Request]:
    return [request for request, _ in httpserver.log if request.path == path]


@pytest.fixture
def sources(library: Library) -> Sources:
    return Sources(library.store.db)


def titles(outcome: PollOutcome) -> set[str]:
    return {post.title for post in outcome.added_posts}


# --- the registry ------------------------------------------------------------------------------


def test_added_source_is_due_at_once_with_defaults(sources: Sources) -> None:
    source = sources.add("https://example.com/live", now=T0)
    assert (source.id, source.url, source.format) == (1, "https://example.com/live", None)
    assert (source.every_seconds, source.every) == (300, "5m")
    assert (source.added, source.next_due) == (T0, T0)
    assert (source.etag, source.last_success, source.last_error) == (None, None, None)
    assert source.consecutive_failures == 0
    assert sources.due(T0) == [source]
    assert sources.due(T0 - timedelta(seconds=1)) == []


def test_registry_survives_reopening_the_database(db_path: Path) -> None:
    first = Library(db_path)
    Sources(first.store.db).add("https://example.com/feed.xml", "1h", fmt="feed", now=T0)
    first.close()
    again = Library(db_path)
    try:
        (source,) = Sources(again.store.db).list()
        assert (source.url, source.every, source.format) == (
            "https://example.com/feed.xml",
            "1h",
            "feed",
        )
    finally:
        again.close()


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("2d", 172800), ("90", 90)]
)
def test_intervals_are_read_in_seconds_minutes_hours_and_days(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("10s", "too often; the shortest interval is 30s"),
        ("0m", "too often"),
        ("5x", "is not an interval"),
        ("", "is not an interval"),
        ("-5m", "is not an interval"),
        ("8d", "too rare"),
    ],
)
def test_bad_intervals_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        parse_interval(text)


def test_intervals_are_shown_in_their_largest_whole_unit() -> None:
    assert [format_interval(s) for s in (30, 90, 300, 3600, 5400, 86400)] == [
        "30s",
        "90s",
        "5m",
        "1h",
        "90m",
        "1d",
    ]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/feed.xml", "only http:// and https:// URLs"),
        ("example.com/live", "only http:// and https:// URLs"),
        ("https://", "has no host name"),
        ("https://example.com/a b", "contains spaces"),
        ("http://example.com:port/", "is not a valid URL"),
        ("", "give the URL"),
    ],
)
def test_bad_urls_are_refused_and_nothing_is_stored(
    sources: Sources, url: str, reason: str
) -> None:
    with pytest.raises(SourceError, match=reason):
        sources.add(url)
    assert sources.list() == []


def test_adding_a_known_url_again_names_the_existing_source(sources: Sources) -> None:
    sources.add("https://example.com/live")
    with pytest.raises(SourceError, match=r"https://example.com/live is already source #1"):
        sources.add("  https://example.com/live ", "1h")
    assert len(sources.list()) == 1


def test_unknown_format_is_refused(sources: Sources) -> None:
    with pytest.raises(SourceError, match="unknown format 'pdf'; use one of liveblog_html"):
        sources.add("https://example.com/live", fmt="pdf")


def test_removing_a_source_stops_polling_it_and_unknown_ids_are_refused(
    sources: Sources,
) -> None:
    keep = sources.add("https://example.com/a", now=T0)
    gone = sources.add("https://example.com/b", now=T0)
    assert sources.remove(gone.id) == gone
    assert sources.list() == [keep]
    assert sources.due(T0) == [keep]
    with pytest.raises(SourceError, match="there is no source #2"):
        sources.remove(gone.id)


def test_backoff_doubles_per_failure_up_to_an_hour_but_never_below_the_interval() -> None:
    assert [backoff_seconds(300, n) for n in range(6)] == [300, 600, 1200, 2400, 3600, 3600]
    assert backoff_seconds(30, 1000) == 3600
    assert backoff_seconds(6 * 3600, 3) == 6 * 3600


# --- polling -----------------------------------------------------------------------------------


def test_first_poll_adds_every_post_and_records_the_validators(
    httpserver: HTTPServer, library: Library, sources: Sources
) -> None:
    before = library.store.count_posts()
    url = serve(
        httpserver, "/live", Page(fixture("liveblog_v1.html"), etag='"v1"', last_modified=STAMP)
    )
    outcome = poll(library, sources.add(url, now=T0), T0)

    assert outcome.status == "changed"
    assert outcome.report is not None and outcome.report.summary().startswith("3 added, 0 updated")
    assert titles(outcome) == {
        "Amendment on library hours",
        "Public comment opens",
        "Council convenes",
    }
    assert library.store.count_posts() == before + 3
    assert library.searcher.search("library hours amendment", limit=1).hits[0].post.title == (
        "Amendment on library hours"
    )
    state = outcome.source
    assert (state.etag, state.last_modified) == ('"v1"', STAMP)
    assert (state.last_success, state.next_due) == (T0, T0 + timedelta(minutes=5))
    assert state.last_report == "3 added, 0 updated, 0 unchanged, 0 rejected"
    assert (state.last_error, state.consecutive_failures) == (None, 0)
    assert sources.list() == [state]


def test_repoll_answered_304_changes_nothing_and_sends_the_validators(
    httpserver: HTTPServer, library: Library, sources: Sources
) -> None:
    url = serve(
        httpserver, "/live", Page(fixture("liveblog_v1.html"), etag='"v1"', last_modified=STAMP)
    )
    first = poll(library, sources.add(url, now=T0), T0)
    count = library.store.count_posts()
    later = T0 + timedelta(minutes=5)

    second = poll(library, first.source, later)

    assert second.status == "not_modified"
    assert (second.report, second.added_posts, second.error) == (None, (), None)
    assert library.store.count_posts() == count
    sent = requests_to(httpserver, "/live")[-1].headers
    assert sent.get("If-None-Match") == '"v1"'
    assert sent.get("If-Modified-Since") == STAMP
    state = second.source
    assert (state.last_success, state.next_due) == (later, later + timedelta(minutes=5))
    assert state.last_report == first.source.last_report  # a 304 imports nothing new
    assert state.etag == '"v1"'


def test_edited_page_updates_one_post_and_adds_one(
    httpserver: HTTPServer, library: Library, sources: Sources
) -> None:
    page = Page(fixture("liveblog_v1.html"), etag='"v1"')
    url = serve(httpserver, "/live", page)
    first = poll(library, sources.add(url, now=T0), T0)
    count = library.store.count_posts()
    page.body, page.etag = fixture("liveblog_v2.html"), '"v2"'

    second = poll(library, first.source, T0 + timedelta(minutes=5))

    assert second.status == "changed"
    assert second.report is not None
    assert (second.report.added, second.report.updated, second.report.unchanged) == (1, 1, 2)
    assert titles(second) == {"Budget approved"}  # the edit is not "new"
    assert library.store.count_posts() == count + 1
    assert second.source.etag == '"v2"'
    hit = library.searcher.search("amendment passed", limit=1).hits[0]
    assert hit.post.body[-1] == "Update: the amendment passed 6-3."


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors_are_recorded_with_growing_backoff_and_nothing_stored_is_lost(
    httpserver: HTTPServer, library: Library, sources: Sources, status: int
) -> None:
    page = Page(fixture("liveblog_v1.html"), etag='"v1"')
    url = serve(httpserver, "/live", page)
    ok = poll(library, sources.add(url, now=T0), T0)
    count = library.store.count_posts()
    page.status = status

    waits = []
    state = ok.source
    for n in range(1, 6):
        now = T0 + timedelta(hours=n)
        outcome = poll(library, state, now)
        state = outcome.source
        assert outcome.status == "failed"
        assert outcome.error is not None and f"answered HTTP {status}" in outcome.error
        assert (state.last_error, state.consecutive_failures) == (outcome.error, n)
        waits.append((state.next_due - now).total_seconds())

    assert waits == [600, 1200, 2400, 3600, 3600]
    assert library.store.count_posts() == count
    assert library.searcher.search("library hours", limit=1).total >= 1
    assert (state.etag, state.last_success) == ('"v1"', T0)  # kept from the last good poll
    assert state.last_report == ok.source.last_report

    page.status = 200
    recovered = poll(library, state, T0 + timedelta(hours=6))
    assert recovered.status == "not_modified"
    assert (recovered.source.consecutive_failures, recovered.source.last_error) == (0, None)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections (the kernel does) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/live"


def test_timeout_is_recorded_as_a_failure_not_raised(
    silent_server: str, library: Library, sources: Sources
) -> None:
    count = library.store.count_posts()
    outcome = poll(library, sources.add(silent_server, "1m", now=T0), T0, timeout=0.3)
    assert outcome.status == "failed"
    assert outcome.error == f"{silent_server} did not answer within 0.3 s"
    assert outcome.source.consecutive_failures == 1
    assert outcome.source.next_due == T0 + timedelta(minutes=2)
    assert library.store.count_posts() == count


def test_unreadable_content_is_a_failure_and_keeps_the_old_validators_for_a_full_retry(
    httpserver: HTTPServer, library: Library, sources: Sources
) -> None:
    page = Page(fixture("liveblog_v1.html"), etag='"v1"')
    url = serve(httpserver, "/live", page)
    ok = poll(library, sources.add(url, now=T0), T0)
    page.body, page.etag = b"   \n", '"broken"'

    outcome = poll(library, ok.source, T0 + timedelta(minutes=5))

    assert (outcome.status, outcome.error) == ("failed", "the file is empty")
    assert outcome.source.etag == '"v1"'  # not '"broken"': the next poll downloads again


def test_unexpected_errors_are_recorded_not_raised(library: Library, sources: Sources) -> None:
    def exploding(url: str, **_: Any) -> FetchResult:
        raise RuntimeError("importer bug")

    source = sources.add("https://example.com/live", now=T0)
    outcome = poll(library, source, T0, fetcher=exploding)
    assert outcome.status == "failed"
    assert outcome.error == "internal error: RuntimeError: importer bug"
    assert outcome.source.consecutive_failures == 1


def test_one_failing_source_does_not_stop_another_in_poll_due(
    httpserver: HTTPServer, library: Library, sources: Sources
) -> None:
    broken = sources.add(serve(httpserver, "/broken", Page(b"", status=500)), now=T0)
    feed = sources.add(
        serve(
            httpserver,
            "/feed.xml",
            Page(fixture("rss_liveblog.xml"), content_type="application/rss+xml"),
        ),
        now=T0,
    )

    outcomes = sorted(asyncio.run(poll_due(library, sources, T0)), key=lambda o: o.source.id)

    assert [(o.source.id, o.status) for o in outcomes] == [
        (broken.id, "failed"),
        (feed.id, "changed"),
    ]
    assert titles(outcomes[1]) == {
        "First seat declared",
        "Polls have closed",
        "Welcome to our live coverage",
    }
    assert sources.due(T0) == []
    assert [s.id for s in sources.due(T0 + timedelta(minutes=5))] == [feed.id]
    # the most overdue first: the feed was due at +5 min, the broken source at +10 min
    assert [s.id for s in sources.due(T0 + timedelta(minutes=10))] == [feed.id, broken.id]


def test_a_hanging_source_is_recorded_and_the_others_are_still_polled(
    silent_server: str, httpserver: HTTPServer, library: Library, sources: Sources
) -> None:
    hanging = sources.add(silent_server, now=T0)
    page = sources.add(serve(httpserver, "/live", Page(fixture("liveblog_v1.html"))), now=T0)
    outcomes = asyncio.run(poll_due(library, sources, T0, timeout=0.3))
    # the page is stored as soon as it arrives, before the hanging source times out
    assert [(o.source.id, o.status) for o in outcomes] == [
        (page.id, "changed"),
        (hanging.id, "failed"),
    ]


def test_download_touches_no_database_and_apply_stores_and_records_it(
    httpserver: HTTPServer, library: Library, sources: Sources
) -> None:
    source = sources.add(serve(httpserver, "/live", Page(fixture("liveblog_v1.html"))), now=T0)
    count = library.store.count_posts()

    fetched = download(source)

    assert fetched.error is None and len(fetched.parsed) == 1
    assert library.store.count_posts() == count
    assert sources.list() == [source]  # nothing recorded yet
    outcome = apply(library, sources, fetched, T0)
    assert (outcome.status, len(outcome.added_posts)) == ("changed", 3)
    assert sources.list() == [outcome.source]
    assert outcome.source.last_success == T0


def test_poll_due_polls_only_sources_that_are_due(
    httpserver: HTTPServer, library: Library, sources: Sources
) -> None:
    url = serve(httpserver, "/live", Page(fixture("liveblog_v1.html")))
    sources.add(url, now=T0 + timedelta(minutes=1))
    assert asyncio.run(poll_due(library, sources, T0)) == []
    assert requests_to(httpserver, "/live") == []


def test_a_source_removed_during_a_poll_is_not_recreated(
    httpserver: HTTPServer, library: Library, sources: Sources
) -> None:
    url = serve(httpserver, "/live", Page(fixture("liveblog_v1.html")))
    source = sources.add(url, now=T0)
    sources.remove(source.id)
    outcome = poll(library, source, T0)
    assert outcome.status == "changed"
    assert sources.list() == []


def test_ingest_new_posts_tells_added_posts_from_edits(db_path: Path) -> None:
    from retrieval.importing import parse_content

    library = Library(db_path)
    try:
        v1 = parse_content(fixture("liveblog_v1.html"), origin="https://example.com/live")
        v2 = parse_content(fixture("liveblog_v2.html"), origin="https://example.com/live")
        first = ingest_new_posts(library, v1)
        assert len(first.added) == 3
        second = ingest_new_posts(library, v2)
        assert [p.title for p in second.added] == ["Budget approved"]
        assert len(second.report.changed_posts) == 2
        assert ingest_new_posts(library, v2).added == ()
    finally:
        library.close()


def test_source_rows_read_back_as_the_dataclass(sources: Sources) -> None:
    source = sources.add("http://example.com/live", "30s", fmt="plaintext", now=T0)
    assert isinstance(source, Source)
    assert sources.get(source.id) == source
    assert sources.get(99) is None
    assert sources.next_due() == T0


def test_a_source_added_from_a_chat_never_reaches_an_internal_address(
    httpserver: HTTPServer, library: Library, sources: Sources
) -> None:
    url = serve(httpserver, "/live", Page(fixture("liveblog_v1.html")))
    from_chat = sources.add(url, now=T0, from_chat=True)  # 127.0.0.1: loopback
    (outcome,) = asyncio.run(poll_due(library, sources, T0))
    assert (outcome.source.id, outcome.status) == (from_chat.id, "failed")
    assert requests_to(httpserver, "/live") == []  # never asked
    assert "refused for sources added from a chat" in (outcome.source.last_error or "")


def test_the_operators_sources_and_allowed_private_ones_are_read(
    httpserver: HTTPServer, library: Library, sources: Sources
) -> None:
    url = serve(httpserver, "/live", Page(fixture("liveblog_v1.html")))
    sources.add(url, now=T0, from_chat=True)
    (allowed,) = asyncio.run(poll_due(library, sources, T0, allow_private=True))
    assert allowed.status == "changed"
    operator = sources.add(url + "?feed", now=T0)
    (read,) = asyncio.run(poll_due(library, sources, T0))
    assert (read.source.id, read.status) == (operator.id, "unchanged")
