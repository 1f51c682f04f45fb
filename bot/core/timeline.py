"""/timeline WORDS: how a story unfolded — the matching posts in time order, oldest first.

The posts are the searcher's hits (the same judgement as answers and /search), the most
relevant `TIMELINE_MAX` of them, then put in publication order and grouped by day in the chat's
timezone; each line is the time, the linked title and a one-sentence gist. Paged like /search,
with ◀ ▶ buttons carrying a cursor of their own ("t:token:page").
"""

from __future__ import annotations

import re
from datetime import date, datetime

from bot.core.answers import (
    ChatPrefs,
    SearchSessions,
    check_query,
    gist,
    nothing,
    page_buttons,
    result_items,
)
from bot.core.reply import Block, Reply, Span, invalid
from retrieval.library import Library
from retrieval.models import Post
from retrieval.search import Hit

TIMELINE_PAGE = 10
TIMELINE_MAX = 100
CURSOR_PREFIX = "t"
CURSOR = re.compile(rf"^{CURSOR_PREFIX}:([A-Za-z0-9_-]{{1,24}}):(\d{{1,4}})$")


class Timelines:
    """Timeline pages over one library; queries behind page buttons kept in `sessions`."""

    def __init__(self, library: Library, sessions: SearchSessions) -> None:
        self.library = library
        self.sessions = sessions

    def timeline(
        self, query: str, prefs: ChatPrefs, page: int = 1, *, token: str | None = None
    ) -> Reply:
        """One page of the timeline of `query`."""
        if not query.strip():
            return invalid("Tell me which story to follow, e.g. /timeline counteroffensive")
        problem = check_query(query, what="timeline")
        if problem:
            return problem
        result = self.library.searcher.search(query, limit=TIMELINE_MAX)
        if not result.hits:
            return nothing(query)
        hits = sorted(result.hits, key=_chronological)
        pages = -(-len(hits) // TIMELINE_PAGE)
        if page > pages:
            return invalid(f"The timeline of “{query}” has only {pages} pages.")
        first = (page - 1) * TIMELINE_PAGE
        shown = hits[first : first + TIMELINE_PAGE]
        blocks = [
            Block.of(
                Span(f"Timeline of “{query}”", "bold"),
                f" · posts {first + 1}–{first + len(shown)} of {len(hits)}, oldest first",
            )
        ]
        day: date | None = None
        for hit in shown:
            local = _local_day(hit.post, prefs)
            if local != day:
                blocks.append(Block.of(Span(f"{local.day} {local:%B %Y}", "bold")))
                day = local
            blocks.append(_line(hit.post, prefs))
        buttons = page_buttons(CURSOR_PREFIX, self.sessions, query, token, page, pages)
        return Reply(
            tuple(blocks), query=query, results=result_items(tuple(shown)), buttons=buttons
        )

    def page(self, cursor: str, prefs: ChatPrefs) -> Reply:
        """The page a timeline's ◀ ▶ button points to."""
        match = CURSOR.match(cursor)
        query = self.sessions.recall(match.group(1)) if match else None
        if match is None or query is None:
            return invalid("This timeline has expired — ask for it again.")
        return self.timeline(query, prefs, max(int(match.group(2)), 1), token=match.group(1))


def _chronological(hit: Hit) -> tuple[str, int]:
    # Within one page the top post is the newest, so a higher position is older.
    return hit.post.published.sort_key(), -hit.post.position


def _local_day(post: Post, prefs: ChatPrefs) -> date:
    value = post.published.value
    if isinstance(value, datetime):
        try:
            return value.astimezone(prefs.timezone).date()
        except OverflowError:  # a time at the edge of the calendar: its own day will do
            return value.date()
    return value


def _line(post: Post, prefs: ChatPrefs) -> Block:
    value = post.published.value
    clock = ""
    if isinstance(value, datetime):
        try:
            clock = f"{value.astimezone(prefs.timezone):%H:%M} · "
        except OverflowError:
            clock = f"{value:%H:%M} UTC · "
    return Block.of(clock, Span(post.title, "bold", post.url), " — ", Span(gist(post), "italic"))
