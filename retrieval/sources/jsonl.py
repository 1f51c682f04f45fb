"""JSON Lines archives: one post per line, for bulk imports of coverage kept elsewhere.

Schema — one JSON object per line; blank lines and unknown fields are ignored:

- `id` (string or integer, optional): the post's id, kept as given so that re-importing the
  file updates the same posts; default: derived from the coverage, `title` and `published`.
- `title` (string, required): the post's headline.
- `body` (string or list of strings, required): the text; a string is split into paragraphs
  at blank lines, a list holds one paragraph per item.
- `published` (string, required): ISO 8601, either a date (`2023-05-02`: only the day is
  known) or a date and time with a UTC offset (`2023-05-02T14:05:00+03:00`, `…Z`).
- `source` (string, required): the outlet, e.g. `CNN`.
- `coverage` (string, optional): title of the live blog; default: the source.
- `authors` (list of strings or one string, optional): bylines.
- `url` (string, optional): the post's permalink, http or https.
- `updated` (string, optional): when the post was last edited, written like `published`.

Example line:

    {"id": "cnn-2023-05-02-17", "title": "Kremlin rejects US casualty estimates",
     "body": ["Kremlin spokesman Dmitry Peskov said…", "The White House said…"],
     "published": "2023-05-02T09:12:00+00:00", "source": "CNN",
     "coverage": "Russia-Ukraine news", "authors": ["Jo Shelley"]}

(shown wrapped; in the file it is one line). A line that is not JSON (also one nested too
deeply or holding an unpaired surrogate escape like `\ud800`), lacks a required field, has a
bad or implausible date (before 1900, more than a day ahead) or a field far larger than any
post's is listed in `Parsed.rejected` as "line N: reason" and the rest is imported.
A time without a UTC offset is refused rather than guessed: archives span timezones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from retrieval.models import Coverage, Post, Timestamp, stable_id
from retrieval.sources import Parsed, SourceError, without_quotes
from retrieval.sources.detect import decode
from retrieval.sources.liveblog_html import parse_iso_timestamp, text_to_paragraphs

_REQUIRED = ("title", "body", "published", "source")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _BadLine(ValueError):
    """A line that cannot become a post; the message is the reason."""


@dataclass(frozen=True)
class _Line:
    number: int
    post: Post
    coverage: Coverage


def parse(
    content: str | bytes, *, origin: str | None = None, now: datetime | None = None
) -> Parsed:
    """Every valid line as a Post; `Parsed.coverage` is the coverage of the first one.

    A file may hold posts of several coverages (each post keeps its own `coverage_id`); use
    `parse_all` to get one `Parsed` per coverage.
    """
    lines, rejected = _read(content, origin, now)
    coverages = _coverages(lines)
    notes = []
    if len(coverages) > 1:
        titles = ", ".join(repr(c.title) for c in coverages)
        notes.append(f"the file holds posts of {len(coverages)} coverages: {titles}")
    return Parsed(
        coverage=coverages[0],
        posts=_ordered([line.post for line in lines]),
        rejected=rejected,
        notes=notes,
    )


def parse_all(
    content: str | bytes, *, origin: str | None = None, now: datetime | None = None
) -> list[Parsed]:
    """One `Parsed` per coverage in the file, in order of first appearance.

    The rejected lines are reported once, on the first. Times are judged at `now` (default:
    the current time; see `Post.implausible`).
    """
    lines, rejected = _read(content, origin, now)
    results = []
    for n, coverage in enumerate(_coverages(lines)):
        posts = [line.post for line in lines if line.coverage.coverage_id == coverage.coverage_id]
        results.append(
            Parsed(coverage=coverage, posts=_ordered(posts), rejected=rejected if n == 0 else [])
        )
    return results


def _read(
    content: str | bytes, origin: str | None, now: datetime | None
) -> tuple[list[_Line], list[str]]:
    where = origin or "the JSON Lines file"
    moment = now or datetime.now(UTC)
    text = decode(content, None, what=where) if isinstance(content, bytes) else content
    clean = _encodable(text)  # text handed in as str may hold lone surrogates itself
    lines: list[_Line] = []
    rejected: list[str] = []
    first_line_of: dict[str, int] = {}
    # Split on "\n" only: str.splitlines() would also split inside JSON strings at U+2028.
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.strip().lstrip("\ufeff")
        if not raw:
            continue
        try:
            if not clean and not _encodable(raw):
                raise _BadLine("holds an unpaired surrogate, not text")
            line = _line(number, raw)
            reason = line.post.implausible(moment)
            if reason:
                raise _BadLine(reason)
        except _BadLine as exc:
            rejected.append(f"line {number}: {exc}")
            continue
        seen = first_line_of.get(line.post.post_id)
        if seen is not None:
            rejected.append(f"line {number}: same id as line {seen}")
            continue
        first_line_of[line.post.post_id] = number
        lines.append(line)
    if not lines:
        if not rejected:
            raise SourceError(f"{where} is empty")
        more = f" (and {len(rejected) - 1} more bad lines)" if len(rejected) > 1 else ""
        raise SourceError(f"{where} has no valid line: {without_quotes(rejected[0])}{more}")
    return lines, rejected


def _line(number: int, raw: str) -> _Line:
    try:
        record = json.loads(raw)
    except ValueError as exc:
        raise _BadLine(f"not JSON ({' '.join(str(exc).split())[:120]})") from None
    except RecursionError:
        raise _BadLine("nested too deeply to be a post") from None
    if not isinstance(record, dict):
        raise _BadLine(f"a JSON {type(record).__name__}, not an object")
    if _SURROGATE_ESCAPE.search(raw):
        try:
            # JSON may escape lone surrogates ("\ud800"), which no database or chat can hold.
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise _BadLine("holds an unpaired surrogate escape (like \\ud800), not text") from None
    missing = [name for name in _REQUIRED if record.get(name) in (None, "", [])]
    if missing:
        raise _BadLine(f"missing {', '.join(repr(m) for m in missing)}")

    title = " ".join(_string(record, "title").split())
    source = " ".join(_string(record, "source").split())
    coverage_title = " ".join(_string(record, "coverage", required=False).split()) or source
    body = _body(record["body"])
    published = _date(record, "published")
    updated = _date(record, "updated") if record.get("updated") not in (None, "") else None
    coverage = Coverage(
        coverage_id=stable_id(source, coverage_title), title=coverage_title, source=source
    )
    ident = record.get("id")
    if isinstance(ident, bool) or not isinstance(ident, (str, int, type(None))):
        raise _BadLine("'id' must be a string or an integer")
    post_id = str(ident).strip() if ident is not None else ""
    if not post_id:
        post_id = stable_id(coverage.coverage_id, title, published.isoformat())
    post = Post(
        post_id=post_id,
        coverage_id=coverage.coverage_id,
        title=title,
        body=body,
        published=published,
        source=source,
        authors=_authors(record.get("authors")),
        url=_url(record.get("url")),
        updated=updated if updated != published else None,
    )
    return _Line(number, post, coverage)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _string(record: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = record.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _BadLine(f"{name!r} must be a string")
    return value


def _body(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        paragraphs = text_to_paragraphs(value)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        paragraphs = tuple(p for item in value for p in text_to_paragraphs(item))
    else:
        raise _BadLine("'body' must be a string or a list of strings")
    if not paragraphs:
        raise _BadLine("'body' is blank")
    return paragraphs


def _date(record: dict[str, Any], name: str) -> Timestamp:
    value = record.get(name)
    if not isinstance(value, str):
        raise _BadLine(f"{name!r} must be an ISO 8601 string")
    try:
        stamp, naive = parse_iso_timestamp(value)
    except (ValueError, OverflowError):
        raise _BadLine(f"bad date in {name!r}: {value[:40]!r}") from None
    if naive:
        raise _BadLine(f"{name!r} has a time without a UTC offset: {value[:40]!r}")
    return stamp


def _authors(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise _BadLine("'authors' must be a string or a list of strings")
    names: list[str] = []
    for author in value:
        name = " ".join(author.split())
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _url(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _BadLine("'url' must be a string")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _BadLine(f"'url' is not an http(s) URL: {value[:60]!r}")
    return value.strip()


def _coverages(lines: list[_Line]) -> list[Coverage]:
    found: dict[str, Coverage] = {}
    for line in lines:
        found.setdefault(line.coverage.coverage_id, line.coverage)
    return list(found.values())


def _ordered(posts: list[Post]) -> list[Post]:
    """Newest first, positions counted within each coverage (0 = newest)."""
    ordered = sorted(posts, key=lambda p: p.published.sort_key(), reverse=True)
    counters: dict[str, int] = {}
    result = []
    for post in ordered:
        position = counters.get(post.coverage_id, 0)
        counters[post.coverage_id] = position + 1
        result.append(replace(post, position=position))
    return result
