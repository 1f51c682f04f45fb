"""Which posts belong in a digest: new since the last one, never sent before, summaries first.

The rules, in the order they apply:

- **Window.** A post belongs when it was published in ``[since, now]``. A post that only
  carries a date (a plain-text dump gives no times) belongs when its date lies between
  ``since``'s and ``now``'s dates *in UTC*: its time is unknown and is never invented, and UTC
  is the calendar that `Timestamp.sort_key` files dates under. Chat-local dates would need one
  query per timezone for a gain of hours at a day's edge.
- **Exclusion.** Post ids already sent to the chat are dropped.
- **Groups.** Posts are grouped by coverage; groups are ordered by their newest post, posts
  newest first (publication time, then place on the page, as `Store.latest` orders them).
- **Summary posts lead.** A post is a summary when its title matches `SUMMARY_TITLE`: "Here's
  the latest", "Here's what you need to know", "Here's what we know", "What you need to know",
  "key developments", "latest developments", or a title or sentence of it that opens with
  "Catch up". Summaries lead their group, newest first.
- **No repeats.** A summary *covers* a post of its coverage that is not newer than the summary
  (a round-up describes what happened before it) when one paragraph or bullet of the summary
  shares at least `COVER_MIN_SHARED` (3) terms with the post's title *and* more than
  `COVER_MIN_FRACTION` (half) of the title's terms (terms: `retrieval.text.tokenize`, with the
  coverage title's own words removed — "Russia", "Ukraine" are in every post of a
  "Russia-Ukraine news" blog and prove nothing). A covered post is left out when the summary
  is in the window, even if the summary itself was excluded as already sent: the reader has
  then seen the round-up. Summaries never cover each other.

  On the bundled CNN sample these thresholds keep each summary's bullet posts out (Bryansk
  shelling 5/9 terms, ambassador and weather 5/8, train explosion 6/8) and keep posts that merely
  share the story's vocabulary ("As Ukraine prepares counteroffensive…", 2/4) — a missed cover
  costs a line, a false one hides news.

Efficiency: the window is read through the ``sort_key`` index, never the archive. For many
chats at once, `DigestWindow.load` reads the widest window once and `DigestWindow.select`
cuts each chat's selection from it in memory, with the same result as `select_digest`.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime

from retrieval.models import Coverage, Post
from retrieval.storage.store import Store
from retrieval.text import tokenize

SUMMARY_TITLE = re.compile(
    r"\bhere[’']s (?:the latest|what (?:you need to know|we know))"
    r"|\bwhat you need to know\b"
    r"|\b(?:key|latest) developments\b"
    r"|(?:^|[.!?:]\s+)catch(?:ing)? up\b",
    re.IGNORECASE,
)
COVER_MIN_SHARED = 3
COVER_MIN_FRACTION = 0.5

_KEY_FORMAT = "%Y-%m-%dT%H:%M:%S"  # `Timestamp.sort_key`'s format (UTC, second precision)


def is_summary(title: str) -> bool:
    """Whether a title announces a round-up of the story (see `SUMMARY_TITLE`)."""
    return SUMMARY_TITLE.search(title) is not None


def covers(paragraph_terms: AbstractSet[str], title_terms: AbstractSet[str]) -> bool:
    """Whether one summary paragraph tells what a post's title says: most of its terms, ≥ 3."""
    shared = len(title_terms & paragraph_terms)
    return shared >= COVER_MIN_SHARED and shared > COVER_MIN_FRACTION * len(title_terms)


@dataclass(frozen=True)
class DigestGroup:
    """One coverage's posts in a digest: its `summaries` summary posts first, then the rest."""

    coverage: Coverage
    posts: tuple[Post, ...]
    summaries: int = 0


@dataclass(frozen=True)
class DigestSelection:
    """What one chat's digest holds; `covered` maps each left-out post id to its summary's id."""

    since: datetime
    now: datetime
    groups: tuple[DigestGroup, ...]
    covered: Mapping[str, str] = field(default_factory=dict)

    @property
    def posts(self) -> tuple[Post, ...]:
        """Every post in digest order."""
        return tuple(post for group in self.groups for post in group.posts)

    @property
    def post_ids(self) -> tuple[str, ...]:
        return tuple(post.post_id for group in self.groups for post in group.posts)

    def __len__(self) -> int:
        return sum(len(group.posts) for group in self.groups)


@dataclass(frozen=True)
class _Entry:
    post: Post
    key: str
    dated: bool  # date precision: the time of day is unknown
    summary: bool


class DigestWindow:
    """The posts of ``[since, now]`` read once, from which many chats' selections are cut."""

    def __init__(
        self,
        since: datetime,
        now: datetime,
        entries: list[_Entry],
        coverages: Mapping[str, Coverage],
    ) -> None:
        self.since = since
        self.now = now
        self._entries = entries
        self._coverages = coverages
        covered_by = _find_covered(entries, coverages)
        # flat columns for `select`, which runs once per chat and must stay cheap
        self._keys_ascending = [entry.key for entry in reversed(entries)]
        self._ids = [entry.post.post_id for entry in entries]
        self._dated = [entry.dated for entry in entries]
        self._covered_by = [covered_by.get(i, ()) for i in range(len(entries))]
        self._id_set = frozenset(self._ids)
        # Chats of one morning share most windows (the same run time, nothing sent since):
        # each distinct (since, sent ids in the window) is cut once.
        self._selections: dict[tuple[datetime, frozenset[str]], DigestSelection] = {}

    @classmethod
    def load(cls, store: Store, *, since: datetime, now: datetime) -> DigestWindow:
        """Read the window: ids by a range over the ``sort_key`` index, then those posts."""
        since_key, day_key = _since_keys(since)
        now_key = _utc(now).strftime(_KEY_FORMAT)
        ids = store.window_ids(day_key=day_key, since_key=since_key, now_key=now_key)
        found = store.posts(ids)
        entries = []
        for post_id in ids:
            post = found[post_id]
            entries.append(
                _Entry(
                    post=post,
                    key=post.published.sort_key(),
                    dated=post.published.precision == "date",
                    summary=is_summary(post.title),
                )
            )
        coverages = _load_coverages(store, {entry.post.coverage_id for entry in entries})
        return cls(since, now, entries, coverages)

    def __len__(self) -> int:
        return len(self._entries)

    def select(
        self, *, since: datetime | None = None, exclude: AbstractSet[str] = frozenset()
    ) -> DigestSelection:
        """One chat's selection: its own ``since`` (not before the window's) and sent ids."""
        since = self.since if since is None else since
        if _utc(since) < _utc(self.since):
            raise ValueError("a selection cannot start before the window it is cut from")
        key = (since, frozenset(i for i in exclude if i in self._id_set))
        known = self._selections.get(key)
        if known is None:
            known = self._selections[key] = self._cut(since, key[1])
        return known

    def _cut(self, since: datetime, exclude: AbstractSet[str]) -> DigestSelection:
        since_key, day_key = _since_keys(since)
        count = len(self._entries)
        # newest first: entries before `sure` are inside; up to `reach`, only date-only ones are
        sure = count - bisect_left(self._keys_ascending, since_key)
        reach = count - bisect_left(self._keys_ascending, day_key)
        entries, ids, dated, covered_by = self._entries, self._ids, self._dated, self._covered_by
        order: list[str] = []
        parts: dict[str, tuple[list[Post], list[Post]]] = {}
        covered: dict[str, str] = {}
        for index in range(reach):
            if index >= sure and not dated[index]:
                continue
            if ids[index] in exclude:
                continue
            covering = covered_by[index]
            if covering:  # summaries are newer (j < index < reach): inside unless timed and early
                cover = next((j for j in covering if j < sure or dated[j]), None)
                if cover is not None:
                    covered[ids[index]] = ids[cover]
                    continue
            entry = entries[index]
            cid = entry.post.coverage_id
            part = parts.get(cid)
            if part is None:
                order.append(cid)
                part = parts[cid] = ([], [])
            part[0 if entry.summary else 1].append(entry.post)
        groups = tuple(
            DigestGroup(self._coverages[cid], (*parts[cid][0], *parts[cid][1]), len(parts[cid][0]))
            for cid in order
        )
        return DigestSelection(since=since, now=self.now, groups=groups, covered=covered)


def select_digest(
    store: Store, *, since: datetime, now: datetime, exclude: AbstractSet[str]
) -> DigestSelection:
    """The posts one chat's digest holds: new in ``[since, now]``, not in ``exclude``."""
    return DigestWindow.load(store, since=since, now=now).select(exclude=exclude)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("digest times must be timezone-aware")
    return moment.astimezone(UTC)


def _since_keys(since: datetime) -> tuple[str, str]:
    """Sort keys where timed posts and date-only posts start to count."""
    moment = _utc(since)
    return moment.strftime(_KEY_FORMAT), moment.date().isoformat() + "T00:00:00"


def _load_coverages(store: Store, ids: Iterable[str]) -> dict[str, Coverage]:
    wanted = sorted(ids)
    found = store.coverages_by_id(wanted)
    for cid in wanted:  # a post whose coverage row is missing still gets a heading
        found.setdefault(cid, Coverage(coverage_id=cid, title=cid, source=""))
    return found


def _find_covered(
    entries: list[_Entry], coverages: Mapping[str, Coverage]
) -> dict[int, tuple[int, ...]]:
    """For each post index, the indices of the summaries that cover it (newest first)."""
    by_coverage: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        by_coverage.setdefault(entry.post.coverage_id, []).append(index)
    found: dict[int, list[int]] = {}
    for cid, indices in by_coverage.items():
        noise = set(tokenize(coverages[cid].title))
        title_terms: dict[int, set[str]] = {}
        for at, j in enumerate(indices):
            if not entries[j].summary:
                continue
            paragraphs = [set(tokenize(p)) - noise for p in entries[j].post.body]
            for i in indices[at + 1 :]:  # later in newest-first order: not newer than j
                if entries[i].summary:
                    continue
                if i not in title_terms:
                    title_terms[i] = set(tokenize(entries[i].post.title)) - noise
                if any(covers(paragraph, title_terms[i]) for paragraph in paragraphs):
                    found.setdefault(i, []).append(j)
    return {i: tuple(js) for i, js in found.items()}
