"""HTTP fetching for polling live blogs and feeds, with httpx.

Polling runs unattended, so every way a server can misbehave (hangs, redirect loops, huge or
endless bodies, error pages) ends in a `SourceError` with one line, and conditional requests
(ETag, Last-Modified) let an unchanged page cost a 304 instead of a download.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

from retrieval.sources import SourceError

MAX_REDIRECTS = 5
DEFAULT_USER_AGENT = "liveblog-bot/0.1 (live-blog poller)"
_ACCEPT = (
    "text/html, application/xhtml+xml, application/rss+xml, application/atom+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, application/x-ndjson;q=0.9, text/plain;q=0.8, "
    "*/*;q=0.5"
)


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
    max_bytes: int = 10 * 1024 * 1024,
    user_agent: str = DEFAULT_USER_AGENT,
) -> FetchResult:
    """GET `url` (http/https only), following at most 5 redirects, reading at most `max_bytes`.

    `timeout` bounds connecting, each read, and the whole download. Raises `SourceError`.
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
        with (
            httpx.Client(
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                timeout=httpx.Timeout(timeout),
                headers=headers,
            ) as client,
            client.stream("GET", url) as response,
        ):
            return _read(response, url, etag, last_modified, max_bytes, deadline, timeout)
    except httpx.TimeoutException:
        raise SourceError(f"{url} did not answer within {timeout:g} s") from None
    except httpx.TooManyRedirects:
        raise SourceError(f"{url} redirects more than {MAX_REDIRECTS} times") from None
    except httpx.UnsupportedProtocol as exc:
        raise SourceError(f"{url} redirects to an unsupported URL: {_one_line(exc)}") from None
    except httpx.InvalidURL as exc:
        raise SourceError(f"{url} is not a valid URL: {_one_line(exc)}") from None
    except httpx.ConnectError as exc:
        raise SourceError(f"cannot connect to {parts.netloc}: {_one_line(exc)}") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"fetching {url} failed: {_one_line(exc)}") from None


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
        reason = response.reason_phrase or ""
        raise SourceError(f"{url} answered HTTP {response.status_code} {reason}".rstrip())
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


def _media_type(response: httpx.Response) -> str | None:
    value = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return value or None


def _size(count: int) -> str:
    mib = 1024 * 1024
    return f"{count // mib} MB" if count % mib == 0 else f"{count:,} bytes"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
