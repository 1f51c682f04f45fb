"""Reading coverage from where it lives (a file or a URL) into `Parsed`, refusing bad input.

The format is decided by the content itself, with the file name or the server's content type
as hints (`retrieval.sources.detect`); `fmt` overrides both.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from retrieval.sources import Parsed, SourceError, plaintext
from retrieval.sources.detect import Format, decode, detect_format

SAMPLE_NAME = "cnn-russia-ukraine-2023-05-02.txt"
FORMATS: tuple[Format, ...] = ("liveblog_html", "feed", "jsonl", "plaintext")


def bundled_sample() -> bytes:
    """The sample coverage shipped inside the package, so a fresh install has something to ask."""
    return (resources.files("retrieval") / "data" / SAMPLE_NAME).read_bytes()


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def read_location(location: str, fmt: Format | None = None) -> list[Parsed]:
    """Parse the coverage at a path or URL; every failure is a `SourceError` with one line."""
    if is_url(location):
        from retrieval.sources.fetch import fetch  # httpx is only needed for URLs

        result = fetch(location)
        return parse_content(
            result.content,
            origin=result.final_url,
            content_type=result.content_type,
            charset=result.charset,
            fmt=fmt,
        )
    if "://" in location:
        raise SourceError(f"only http:// and https:// URLs can be imported, not {location}")
    path = Path(location).expanduser()
    if not path.exists():
        raise SourceError(f"no such file: {location}")
    if path.is_dir():
        raise SourceError(f"{location} is a folder; give a coverage file")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {location}: {exc.strerror or exc}") from None
    return parse_content(content, origin=str(path), fmt=fmt)


def parse_content(
    content: bytes,
    *,
    origin: str | None = None,
    content_type: str | None = None,
    charset: str | None = None,
    fmt: Format | None = None,
) -> list[Parsed]:
    """Detect the format (unless given) and hand the content to its importer.

    Most sources hold one coverage; a JSON Lines archive may hold several, one `Parsed` each.
    """
    if not content.strip():
        raise SourceError("the file is empty")
    name = Path(origin).name if origin and not is_url(origin) else None
    fmt = fmt or detect_format(content, content_type, name)
    url = origin if origin and is_url(origin) else None
    # Importers load their parsers (lxml, trafilatura, feedparser) only when they are needed,
    # so the CLI starts quickly for the plain-text sample.
    if fmt == "liveblog_html":
        from retrieval.sources import liveblog_html

        return [liveblog_html.parse(content, url=url)]
    if fmt == "feed":
        from retrieval.sources import feed

        return [feed.parse(content, url=url)]
    if fmt == "jsonl":
        from retrieval.sources import jsonl

        return jsonl.parse_all(decode(content, charset, what=name or "the content"), origin=origin)
    return [plaintext.parse(decode(content, charset, what=name or "the content"), origin=origin)]
