"""HTTP fetching for polling live blogs and feeds, with httpx.

Polling runs unattended, so every way a server can misbehave (hangs, redirect loops, huge or
endless bodies, error pages) ends in a `SourceError` with one line, and conditional requests
(ETag, Last-Modified) let an unchanged page cost a 304 instead of a download.

A source added by a chat user must not turn the bot into a way to read the machine's own
network: given an `allow_address` rule, every hop (the first URL and each redirect) has its
host name resolved and every address checked before it is asked, and the address actually
connected to is checked again before the answer is read (a name may resolve differently the
second time). Messages never quote what a server sent, only its status.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal
from urllib.parse import urlsplit

import httpx

from retrieval.sources import SourceError

MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_USER_AGENT = "liveblog-bot/0.1 (live-blog poller)"
_ACCEPT = (
    "text/html, application/xhtml+xml, application/rss+xml, application/atom+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, application/x-ndjson;q=0.9, text/plain;q=0.8, "
    "*/*;q=0.5"
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Whether a fetch may reach an address; None (the operator's own commands) allows every one.
AddressRule = Callable[[IPAddress], bool]


def address_kind(address: IPAddress) -> str | None:
    """What makes an address internal ("a loopback address"…), or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for test, kind in (
        (address.is_loopback, "a loopback"),
        (address.is_link_local, "a link-local"),
        (address.is_multicast, "a multicast"),
        (address.is_unspecified, "an unspecified"),
        (address.is_private, "a private"),
        (address.is_reserved, "a reserved"),
        (not address.is_global, "a non-public"),
    ):
        if test:
            return f"{kind} address"
    return None


def public_only(address: IPAddress) -> bool:
    """The rule for sources added from a chat: public internet addresses only."""
    return address_kind(address) is None


@dataclass(frozen=True)
class FetchResult:
    """One answer of a server. `content` is empty when the page is unchanged (`not_modified`).

    `etag` and `last_modified` are what to send next time; `charset` is the declared one
    (a hint only: see `retrieval.sources.detect.decode`).
    """

    status: Literal["ok", "not_modified"]
    content: bytes
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None
    final_url: str


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = 20,
    max_bytes: int = DEFAULT_MAX_BYTES,
    user_agent: str = DEFAULT_USER_AGENT,
    allow_address: AddressRule | None = None,
) -> FetchResult:
    """GET `url` (http/https only), following at most 5 redirects, reading at most `max_bytes`.

    `timeout` bounds connecting, each read, and the whole download. With `allow_address`,
    every hop's addresses must pass it (see the module docstring). Raises `SourceError`.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SourceError(f"only http and https URLs can be fetched, not {url[:200]!r}")
    headers = {"User-Agent": user_agent, "Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + timeout
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), headers=headers) as client:
            request = client.build_request("GET", url)
            for _hop in range(MAX_REDIRECTS + 1):
                if allow_address is not None:
                    _check_host(request.url, allow_address, url)
                response = client.send(request, stream=True, follow_redirects=False)
                try:
                    if allow_address is not None:
                        _check_peer(response, allow_address, url)
                    following = response.next_request
                    if following is None:
                        return _read(
                            response, url, etag, last_modified, max_bytes, deadline, timeout
                        )
                finally:
                    response.close()
                if following.url.scheme not in ("http", "https"):
                    raise SourceError(f"{url} redirects to an unsupported URL")
                request = following
            raise SourceError(f"{url} redirects more than {MAX_REDIRECTS} times")
    except httpx.TimeoutException:
        raise SourceError(f"{url} did not answer within {timeout:g} s") from None
    except httpx.UnsupportedProtocol:
        raise SourceError(f"{url} redirects to an unsupported URL") from None
    except httpx.InvalidURL as exc:
        raise SourceError(f"{url} is not a valid URL: {_one_line(exc)}") from None
    except httpx.ConnectError as exc:
        raise SourceError(f"cannot connect to {parts.netloc}: {_one_line(exc)}") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"fetching {url} failed: {_one_line(exc)}") from None


def check_destination(url: str, allow_address: AddressRule) -> None:
    """Refuse `url` now if its host resolves to an address the rule refuses (no request is
    made), so a chat user adding an internal URL hears so at once; polls check every hop."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise SourceError(f"{url[:200]} is not a valid URL: {_one_line(exc)}") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise SourceError(f"only http and https URLs can be fetched, not {url[:200]!r}")
    _check_host(target, allow_address, url)


def _check_host(target: httpx.URL, allow: AddressRule, url: str) -> None:
    """Resolve the hop's host and refuse it if any of its addresses is not allowed."""
    host = target.host
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, target.port or 443, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError):
            raise SourceError(f"cannot resolve the host name {host[:100]!r}") from None
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    for address in sorted(addresses, key=str):
        _refuse_unless_allowed(address, allow, url, host)


def _check_peer(response: httpx.Response, allow: AddressRule, url: str) -> None:
    """The address actually connected to must pass too (DNS may answer differently twice)."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    except ValueError:
        return
    _refuse_unless_allowed(address, allow, url, response.url.host)


def _refuse_unless_allowed(address: IPAddress, allow: AddressRule, url: str, host: str) -> None:
    if allow(address):
        return
    kind = address_kind(address) or "an address sources may not reach"
    where = host if host == str(address) else f"{host} ({address})"
    raise SourceError(f"{url} leads to {where}, {kind}; refused for sources added from a chat")


def _read(
    response: httpx.Response,
    url: str,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    deadline: float,
    timeout: float,
) -> FetchResult:
    final_url = str(response.url)
    if response.status_code == 304:
        return FetchResult(
            status="not_modified",
            content=b"",
            content_type=_media_type(response),
            charset=response.charset_encoding,
            etag=response.headers.get("etag") or etag,
            last_modified=response.headers.get("last-modified") or last_modified,
            final_url=final_url,
        )
    if response.status_code >= 400:
        # The standard phrase, not the server's: nothing a server sends is echoed.
        raise SourceError(
            f"{url} answered HTTP {response.status_code} {_phrase(response)}".rstrip()
        )
    if not 200 <= response.status_code < 300:
        raise SourceError(f"{url} answered HTTP {response.status_code} without a page")
    too_large = f"{url} is larger than {_size(max_bytes)}; refused"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise SourceError(too_large)
    chunks: list[bytes] = []
    received = 0
    for chunk in response.iter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise SourceError(too_large)
        if time.monotonic() > deadline:
            raise SourceError(f"{url} did not finish sending within {timeout:g} s")
        chunks.append(chunk)
    return FetchResult(
        status="ok",
        content=b"".join(chunks),
        content_type=_media_type(response),
        charset=response.charset_encoding,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        final_url=final_url,
    )


def _phrase(response: httpx.Response) -> str:
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return ""


def _media_type(response: httpx.Response) -> str | None:
    value = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return value or None


def _size(count: int) -> str:
    mib = 1024 * 1024
    return f"{count // mib} MB" if count % mib == 0 else f"{count:,} bytes"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
