"""Fetching against real HTTP servers on 127.0.0.1: answers, refusals and misbehaving servers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from retrieval.sources import SourceError, feed
from retrieval.sources.detect import decode, detect_format
from retrieval.sources.fetch import fetch

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sources"
UA = "liveblog-bot-test/1.0"
MB = 1024 * 1024


def fetch_error(url: str, **options: float) -> str:
    """The one-line message of the SourceError that fetching `url` raises."""
    with pytest.raises(SourceError) as error:
        fetch(url, user_agent=UA, **options)  # type: ignore[arg-type]
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_ok_answer_carries_content_type_charset_validators_and_final_url(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/live", headers={"User-Agent": UA}).respond_with_data(
        "<html>hi</html>",
        content_type="text/html; charset=utf-8",
        headers={"ETag": '"v1"', "Last-Modified": "Tue, 02 May 2023 10:00:00 GMT"},
    )
    result = fetch(httpserver.url_for("/live"), etag=None, last_modified=None, user_agent=UA)
    assert result.status == "ok"
    assert result.content == b"<html>hi</html>"
    assert result.content_type == "text/html"
    assert result.charset == "utf-8"
    assert result.etag == '"v1"'
    assert result.last_modified == "Tue, 02 May 2023 10:00:00 GMT"
    assert result.final_url == httpserver.url_for("/live")


def test_matching_etag_gets_not_modified_without_content(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/live", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304, headers={"ETag": '"v1"'}
    )
    httpserver.expect_request("/live").respond_with_data("fresh", headers={"ETag": '"v1"'})
    first = fetch(httpserver.url_for("/live"), etag=None, last_modified=None, user_agent=UA)
    second = fetch(httpserver.url_for("/live"), etag=first.etag, last_modified=None, user_agent=UA)
    assert (first.status, first.content) == ("ok", b"fresh")
    assert (second.status, second.content, second.etag) == ("not_modified", b"", '"v1"')


def test_last_modified_is_sent_back_as_if_modified_since(httpserver: HTTPServer) -> None:
    stamp = "Tue, 02 May 2023 10:00:00 GMT"
    httpserver.expect_request("/feed", headers={"If-Modified-Since": stamp}).respond_with_data(
        "", status=304
    )
    result = fetch(httpserver.url_for("/feed"), etag=None, last_modified=stamp, user_agent=UA)
    assert result.status == "not_modified"
    assert result.last_modified == stamp  # kept for the next poll when the 304 omits it


@pytest.mark.parametrize(("status", "reason"), [(404, "NOT FOUND"), (500, "INTERNAL SERVER")])
def test_http_errors_are_source_errors_naming_the_status(
    httpserver: HTTPServer, status: int, reason: str
) -> None:
    httpserver.expect_request("/gone").respond_with_data("nope", status=status)
    message = fetch_error(httpserver.url_for("/gone"))
    assert f"answered HTTP {status}" in message
    assert reason in message.upper()


def redirect_chain(httpserver: HTTPServer, hops: int) -> str:
    for n in range(hops):
        httpserver.expect_request(f"/hop{n}").respond_with_data(
            "", status=302, headers={"Location": httpserver.url_for(f"/hop{n + 1}")}
        )
    httpserver.expect_request(f"/hop{hops}").respond_with_data("arrived")
    return httpserver.url_for("/hop0")


def test_five_redirects_are_followed(httpserver: HTTPServer) -> None:
    result = fetch(redirect_chain(httpserver, 5), user_agent=UA)
    assert result.content == b"arrived"
    assert result.final_url == httpserver.url_for("/hop5")


def test_a_sixth_redirect_is_refused(httpserver: HTTPServer) -> None:
    assert "redirects more than 5 times" in fetch_error(redirect_chain(httpserver, 6))


def test_redirect_to_a_non_http_url_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/sneaky").respond_with_data(
        "", status=301, headers={"Location": "file:///etc/passwd"}
    )
    assert "unsupported URL" in fetch_error(httpserver.url_for("/sneaky"))


def test_body_announced_larger_than_the_cap_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * (20 * MB))
    message = fetch_error(httpserver.url_for("/big"))
    assert message.endswith("is larger than 10 MB; refused")


def test_streamed_body_without_length_is_cut_off_past_the_cap(httpserver: HTTPServer) -> None:
    sent: list[int] = []

    def endless(_: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(20):  # 20 MB if nobody stops reading
                sent.append(MB)
                yield b"y" * MB

        return Response(chunks(), content_type="text/html")

    httpserver.expect_request("/stream").respond_with_handler(endless)
    message = fetch_error(httpserver.url_for("/stream"))
    assert "larger than 10 MB" in message
    assert len(sent) < 20


def test_smaller_cap_is_named_in_bytes(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/page").respond_with_data(b"z" * 5000)
    assert "larger than 1,000 bytes" in fetch_error(httpserver.url_for("/page"), max_bytes=1000)


def test_feed_served_as_html_is_still_detected_and_parsed(httpserver: HTTPServer) -> None:
    rss = (FIXTURES / "rss_liveblog.xml").read_bytes()
    httpserver.expect_request("/feed").respond_with_data(rss, content_type="text/html")
    result = fetch(httpserver.url_for("/feed"), user_agent=UA)
    assert result.content_type == "text/html"
    assert detect_format(result.content, result.content_type, result.final_url) == "feed"
    assert len(feed.parse(result.content, url=result.final_url).posts) == 3


def test_utf8_page_declared_as_latin1_is_still_decoded(httpserver: HTTPServer) -> None:
    text = "<html><body>Zelensky’s “counteroffensive” — Київ</body></html>"
    httpserver.expect_request("/live").respond_with_data(
        text.encode("utf-8"), content_type="text/html; charset=iso-8859-1"
    )
    result = fetch(httpserver.url_for("/live"), user_agent=UA)
    assert result.charset == "iso-8859-1"
    assert decode(result.content, result.charset) == text


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections (the kernel does) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/live"


def test_server_that_never_answers_times_out(silent_server: str) -> None:
    started = time.monotonic()
    message = fetch_error(silent_server, timeout=0.5)
    assert message == f"{silent_server} did not answer within 0.5 s"
    assert time.monotonic() - started < 3


def test_server_that_trickles_past_the_timeout_is_cut_off(httpserver: HTTPServer) -> None:
    def trickle(_: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(8):
                time.sleep(0.15)
                yield b"."

        return Response(chunks(), content_type="text/plain")

    httpserver.expect_request("/slow").respond_with_handler(trickle)
    message = fetch_error(httpserver.url_for("/slow"), timeout=0.5)
    assert "did not finish sending within 0.5 s" in message


def test_closed_port_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert fetch_error(f"http://127.0.0.1:{port}/").startswith(
        f"cannot connect to 127.0.0.1:{port}"
    )


@pytest.mark.parametrize(
    "url", ["ftp://example.com/feed.xml", "file:///etc/passwd", "example.com/live", "http://"]
)
def test_only_http_and_https_urls_are_fetched(url: str) -> None:
    assert fetch_error(url).startswith("only http and https URLs can be fetched")
