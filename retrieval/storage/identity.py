"""Which stored coverage and post an import is: one identity however the coverage arrived.

A page or feed saved to a file, fetched from its URL, or polled as a source is one coverage.
Importers derive coverage ids (and from them post ids) from whatever they were given, so ids
alone differ between those ways in; the canonical URL does not. `canonical_url` normalises it
with courlan (trafilatura's URL library): scheme and host lowercased, the default port, dot
segments and tracking parameters (``utm_*``, ``fbclid``…) dropped, the query sorted, then the
fragment dropped and a trailing slash normalised, so every spelling of one page meets.

Posts of one coverage that arrived under two coverage ids are matched on what the reader sees
(`PostKey`): the permalink when no other post of the coverage shares it, else headline and
publication time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from courlan import normalize_url


def canonical_url(url: str | None, *, keep_fragment: bool = False) -> str | None:
    """The normalised form of an http(s) URL, or None for anything else (a path, a blank).

    ``keep_fragment`` keeps ``#…``: it names one post of a live blog, never a coverage.
    """
    if not url or not url.strip():
        return None
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        normal = urlsplit(normalize_url(parts, strict=False, trailing_slash=False))
    except ValueError:  # a port that is not a number, a broken IPv6 literal
        return None
    path = normal.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    fragment = normal.fragment if keep_fragment else ""
    return urlunsplit((normal.scheme, normal.netloc, path, normal.query, fragment))


def coverage_identity(url: str | None, coverage_id: str) -> str:
    """What makes two coverages one: the canonical URL, else (no URL) the importer's id."""
    canonical = canonical_url(url)
    return f"url:{canonical}" if canonical else f"id:{coverage_id}"


@dataclass(frozen=True)
class PostFace:
    """What a reader sees of a post, enough to recognise it under another id."""

    post_id: str
    url: str | None
    title: str
    published: str  # ISO 8601 as stored


@dataclass(frozen=True)
class PostKey:
    """How a post is recognised within its coverage."""

    kind: str  # "url" or "title"
    value: tuple[str, ...]


def post_keys(
    faces: Sequence[PostFace], shared: AbstractSet[str] = frozenset()
) -> list[list[PostKey]]:
    """Each post's keys, surest first: its permalink if no other post here has it (nor is it
    in ``shared``, the URLs known to be shared), then its headline and time (a feed whose
    every entry links to the blog page has no usable URL)."""
    urls = [canonical_url(face.url, keep_fragment=True) for face in faces]
    counts = Counter(u for u in urls if u)
    keys = []
    for face, url in zip(faces, urls, strict=True):
        usable = url and counts[url] == 1 and face.url not in shared
        mine = [PostKey("url", (url,))] if url and usable else []
        mine.append(PostKey("title", (" ".join(face.title.split()).casefold(), face.published)))
        keys.append(mine)
    return keys


def match_posts(
    incoming: Sequence[PostFace],
    stored: Iterable[PostFace],
    shared: AbstractSet[str] = frozenset(),
) -> dict[str, str]:
    """Incoming post id → the stored post it is, for posts that arrived under another id.

    Each stored post is matched at most once, by the surest key first; posts with the same id
    on both sides are left out (they need no matching). ``stored`` may be only the candidates
    (the stored posts sharing a time or a URL with an incoming one); ``shared`` then names the
    stored URLs that more posts of the coverage have.
    """
    stored = [face for face in stored]
    by_key: dict[PostKey, str] = {}
    for face, keys in zip(stored, post_keys(stored, shared), strict=True):
        for key in keys:
            by_key.setdefault(key, face.post_id)
    stored_ids = {face.post_id for face in stored}
    taken = {face.post_id for face in incoming} & stored_ids
    found: dict[str, str] = {}
    incoming_keys = post_keys(incoming)
    for kind in ("url", "title"):
        for face, keys in zip(incoming, incoming_keys, strict=True):
            if face.post_id in found or face.post_id in stored_ids:
                continue
            for key in keys:
                target = by_key.get(key) if key.kind == kind else None
                if target is not None and target not in taken:
                    found[face.post_id] = target
                    taken.add(target)
                    break
    return found
