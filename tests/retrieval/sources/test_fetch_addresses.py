"""Sources added from a chat never reach the machine's own network, at any redirect hop.

Every server here listens on loopback, so "public" is simulated: the rule under test allows
127.0.0.1 (standing in for a public host) and refuses every other address, and the redirect
target listens on 127.0.0.2 (also loopback on Linux), which plays the internal service.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlite_utils import Database

from retrieval.importing import read_location
from retrieval.polling import Sources, download
from retrieval.sources import SourceError
from retrieval.sources.fetch import (
    IPAddress,
    address_kind,
    check_destination,
    fetch,
    public_only,
)

STAND_IN_PUBLIC = ipaddress.ip_address("127.0.0.1")
SECRET = "internal-admin-token-do-not-show"


def only_the_stand_in(address: IPAddress) -> bool:
    return address == STAND_IN_PUBLIC


@pytest.fixture
def internal() -> Iterator[HTTPServer]:
    """The service a hostile source wants read: it answers with a secret."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.expect_request("/admin").respond_with_data(SECRET, content_type="text/plain")
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def refusal(url: str, rule: object) -> str:
    with pytest.raises(SourceError) as error:
        fetch(url, allow_address=rule)  # type: ignore[arg-type]
    return str(error.value)


def test_a_redirect_to_an_internal_address_is_refused_before_it_is_asked(
    httpserver: HTTPServer, internal: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "", status=302, headers={"Location": internal.url_for("/admin")}
    )
    message = refusal(httpserver.url_for("/feed"), only_the_stand_in)
    assert "leads to 127.0.0.2, a loopback address" in message
    assert SECRET not in message
    assert internal.log == []  # the internal service was never asked


def test_a_later_hop_is_checked_too(httpserver: HTTPServer, internal: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=301, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data(
        "", status=307, headers={"Location": internal.url_for("/admin")}
    )
    assert "loopback" in refusal(httpserver.url_for("/a"), only_the_stand_in)
    assert internal.log == []


def test_redirects_among_allowed_addresses_are_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("<rss/>", content_type="application/xml")
    result = fetch(httpserver.url_for("/a"), allow_address=only_the_stand_in)
    assert (result.content, result.final_url) == (b"<rss/>", httpserver.url_for("/b"))


def test_a_host_name_is_resolved_and_its_addresses_checked(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data("<rss/>")
    url = httpserver.url_for("/feed").replace("127.0.0.1", "localhost")
    message = refusal(url, public_only)
    assert "leads to localhost (127.0.0.1), a loopback address" in message
    assert httpserver.log == []


def test_public_only_refuses_loopback_at_the_first_hop(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(SECRET)
    message = refusal(httpserver.url_for("/feed"), public_only)
    assert "loopback" in message and "refused for sources added from a chat" in message
    assert httpserver.log == []


def test_the_operators_own_fetch_reads_any_address(internal: HTTPServer) -> None:
    assert fetch(internal.url_for("/admin")).content == SECRET.encode()


def test_read_location_passes_the_rule_on(internal: HTTPServer) -> None:
    with pytest.raises(SourceError, match="loopback"):
        read_location(internal.url_for("/admin"), allow_address=public_only)


def test_an_error_status_is_named_without_the_servers_own_words(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        SECRET, status=500, headers={"X-Reason": SECRET}
    )
    message = refusal(httpserver.url_for("/feed"), None)
    assert message.endswith("answered HTTP 500 Internal Server Error")
    assert SECRET not in message


def test_a_body_that_is_not_coverage_is_refused_without_quoting_it(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        SECRET + "\nmore internal text", content_type="text/plain"
    )
    with pytest.raises(SourceError) as error:
        read_location(httpserver.url_for("/feed"))
    assert SECRET not in str(error.value)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),  # cloud metadata services
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped IPv6
        ("100.64.0.1", "a non-public address"),  # carrier-grade NAT
        ("fd00::1", "a private address"),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_which_addresses_count_as_internal(address: str, kind: str | None) -> None:
    parsed = ipaddress.ip_address(address)
    assert address_kind(parsed) == kind
    assert public_only(parsed) is (kind is None)


def test_the_address_actually_connected_to_is_checked_again(httpserver: HTTPServer) -> None:
    """A name that resolves to a public address for the check and an internal one for the
    connection (DNS rebinding) is caught on the connection: the answer is never read."""
    answers = iter([True, False])  # the check by name passes, the connected peer does not

    def rebinding(address: IPAddress) -> bool:
        return next(answers)

    httpserver.expect_request("/feed").respond_with_data(SECRET)
    message = refusal(httpserver.url_for("/feed"), rebinding)
    assert "(127.0.0.1), a loopback address" in message and SECRET not in message


def test_a_polled_source_under_the_chat_rule_records_the_refusal_not_the_answer(
    tmp_path: Path, httpserver: HTTPServer, internal: HTTPServer
) -> None:
    httpserver.expect_request("/live").respond_with_data(
        "", status=302, headers={"Location": internal.url_for("/admin")}
    )
    registry = Sources(Database(tmp_path / "sources.db"))
    source = registry.add(httpserver.url_for("/live"), "5m")
    fetched = download(source, allow_address=only_the_stand_in)
    assert fetched.result is None and fetched.error is not None
    assert "leads to 127.0.0.2, a loopback address" in fetched.error
    assert SECRET not in fetched.error and internal.log == []


def test_an_internal_url_can_be_refused_when_it_is_added_without_asking_it(
    internal: HTTPServer,
) -> None:
    with pytest.raises(SourceError, match=r"leads to 127\.0\.0\.2, a loopback address"):
        check_destination(internal.url_for("/admin"), public_only)
    assert internal.log == []
    check_destination(internal.url_for("/admin"), lambda address: True)  # allowed: no error
