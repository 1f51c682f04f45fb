"""Reading coverage from where it lives (a file or a URL) into `Parsed`, refusing bad input.

The format is decided by the content itself, with the file name or the server's content type
as hints (`retrieval.sources.detect`); `fmt` overrides both.

A local file gets the limits a URL gets: at most `max_bytes` (10 MB unless the caller says
otherwise), and only regular files: a FIFO would block the import forever and a device such as
/dev/zero never ends, so both are refused before a byte is read. Whatever the importer, a post
whose time is not a plausible publication time (`Post.implausible`) is rejected with its
reason rather than stored.
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.models import Post
from retrieval.sources import Parsed, SourceError, plaintext
from retrieval.sources.detect import decode, detect_format
from retrieval.sources.formats import Format

if TYPE_CHECKING:
    from retrieval.sources.fetch import AddressRule

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # the same limit as a fetched URL's

SAMPLE_NAME = "cnn-russia-ukraine-2023-05-02.txt"


def bundled_sample() -> bytes:
    """The sample coverage shipped inside the package, so a fresh install has something to ask."""
    return (resources.files("retrieval") / "data" / SAMPLE_NAME).read_bytes()


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def read_location(
    location: str,
    fmt: Format | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_address: AddressRule | None = None,
    outlet: str | None = None,
) -> list[Parsed]:
    """Parse the coverage at a path or URL; every failure is a `SourceError` with one line.

    `allow_address` limits which addresses a URL may lead to (see `retrieval.sources.fetch`);
    None, for the operator's own commands, allows any. `outlet` names the outlet instead of
    the name the content gives (see `parse_content`).
    """
    if is_url(location):
        from retrieval.sources.fetch import fetch  # httpx is only needed for URLs

        result = fetch(location, max_bytes=max_bytes, allow_address=allow_address)
        return parse_content(
            result.content,
            origin=result.final_url,
            content_type=result.content_type,
            charset=result.charset,
            fmt=fmt,
            outlet=outlet,
        )
    if "://" in location:
        raise SourceError(f"only http:// and https:// URLs can be imported, not {location}")
    path = Path(location).expanduser()
    content = read_file(path, location, max_bytes=max_bytes)
    return parse_content(content, origin=str(path), fmt=fmt, outlet=outlet)


def read_file(path: Path, shown: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; anything else is a `SourceError`.

    Opened without blocking and checked on the open descriptor, so a FIFO (or a file swapped
    for one after a check by name) is refused at once instead of waiting for a writer.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise SourceError(f"no such file: {shown}") from None
    except IsADirectoryError:
        raise SourceError(f"{shown} is a folder; give a coverage file") from None
    except OSError as exc:
        raise SourceError(f"cannot read {shown}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        kind = _not_a_file(info.st_mode)
        if kind:
            raise SourceError(f"{shown} is {kind}, not a coverage file; refused")
        too_large = f"{shown} is larger than {_size(max_bytes)}; refused"
        if info.st_size > max_bytes:
            raise SourceError(too_large)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        received = 0
        while chunk := os.read(fd, min(1024 * 1024, max_bytes + 1 - received) or 1):
            received += len(chunk)
            if received > max_bytes:  # the file grew, or reports no size (/proc)
                raise SourceError(too_large)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise SourceError(f"cannot read {shown}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _not_a_file(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(count: int) -> str:
    mib = 1024 * 1024
    return f"{count // mib} MB" if count % mib == 0 else f"{count:,} bytes"


def parse_content(
    content: bytes,
    *,
    origin: str | None = None,
    content_type: str | None = None,
    charset: str | None = None,
    fmt: Format | None = None,
    now: datetime | None = None,
    outlet: str | None = None,
) -> list[Parsed]:
    """Detect the format (unless given) and hand the content to its importer.

    Most sources hold one coverage; a JSON Lines archive may hold several, one `Parsed` each.
    Posts with implausible times at `now` (default: the current time) are rejected. `outlet`
    (a newsroom's setting for a source, "The Mirror") replaces the outlet name the content
    gives, on the coverage and on every post.
    """
    moment = now or datetime.now(UTC)
    try:
        parsed = _parse(content, origin, content_type, charset, fmt, moment, outlet)
    except RecursionError:  # e.g. JSON-LD nested 100,000 deep: one line, never a traceback
        raise SourceError(f"{name_of(origin)} is nested too deeply to read") from None
    return [_plausible(with_outlet(one, outlet), moment) for one in parsed]


def with_outlet(parsed: Parsed, outlet: str | None) -> Parsed:
    """`parsed` credited to `outlet` (None: as it came)."""
    if not outlet:
        return parsed
    return replace(
        parsed,
        coverage=replace(parsed.coverage, source=outlet),
        posts=[replace(post, source=outlet) for post in parsed.posts],
    )


def name_of(origin: str | None) -> str:
    return origin or "the content"


def _plausible(parsed: Parsed, now: datetime) -> Parsed:
    """`parsed` without the posts whose times cannot be real, each rejected with its reason."""
    kept = []
    rejected = list(parsed.rejected)
    for number, post in enumerate(parsed.posts, start=1):
        reason = post.implausible(now) or _unstorable(post)
        if reason:
            rejected.append(f"post {number}: {reason}")
        else:
            kept.append(post)
    if len(kept) == len(parsed.posts):
        return parsed
    if not kept:
        raise SourceError(f"no post has a plausible time: {rejected[-1]}")
    return replace(parsed, posts=kept, rejected=rejected)


def _unstorable(post: Post) -> str | None:
    """A lone surrogate (from a JSON "\\ud800" escape) can be neither stored nor sent."""
    try:
        "\x1f".join((post.title, *post.body, *post.authors, post.source, post.url or "")).encode()
    except UnicodeEncodeError:
        return "holds a lone surrogate, not text"
    return None


def _parse(
    content: bytes,
    origin: str | None,
    content_type: str | None,
    charset: str | None,
    fmt: Format | None,
    now: datetime,
    outlet: str | None = None,
) -> list[Parsed]:
    if not content.strip():
        raise SourceError("the file is empty")
    name = Path(origin).name if origin and not is_url(origin) else None
    fmt = fmt or detect_format(content, content_type, name)
    url = origin if origin and is_url(origin) else None
    # Importers load their parsers (lxml, trafilatura, feedparser) only when they are needed,
    # so the CLI starts quickly for the plain-text sample.
    if fmt == "liveblog_html":
        from retrieval.sources import liveblog_html

        return [liveblog_html.parse(content, url=url, outlet=outlet)]
    if fmt == "feed":
        from retrieval.sources import feed

        return [feed.parse(content, url=url, now=now)]
    if fmt == "jsonl":
        from retrieval.sources import jsonl

        text = decode(content, charset, what=name or "the content")
        return jsonl.parse_all(text, origin=origin, now=now)
    return [plaintext.parse(decode(content, charset, what=name or "the content"), origin=origin)]
