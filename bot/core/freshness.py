"""Keeping coverage fresh: the one poll loop, another process's imports, and their alerts.

Both surfaces run this: the Telegram adapter from its JobQueue, the terminal chat between
questions. Whatever new posts arrive — from a polled source, a channel, or a
`liveblog-bot import` in another process — go through the same `alerts_for`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.follows import Alert, Follows, alerts_for
from retrieval.library import Library
from retrieval.models import Post
from retrieval.polling import Sources, poll_due

POLL_EVERY_SECONDS = 15
REFRESH_EVERY_SECONDS = 2


class Freshness:
    """New posts in, alerts out — for the chats `delivers_to` says this surface can reach."""

    def __init__(
        self,
        library: Library,
        follows: Follows,
        zone_of: Callable[[int], ZoneInfo],
        delivers_to: Callable[[int], bool],
        *,
        allow_private_sources: bool = False,
    ) -> None:
        self.allow_private_sources = allow_private_sources
        self.library = library
        self.follows = follows
        self.zone_of = zone_of
        self.delivers_to = delivers_to
        self.sources = Sources(library.store.db)

    def refresh(self) -> list[Alert]:
        """Index what another process stored since the last look; alerts for its new posts."""
        return self.alerts(self.library.refresh())

    async def poll(self, now: datetime | None = None) -> list[Alert]:
        """Poll the due sources (side by side); alerts for the posts they added."""
        outcomes = await poll_due(
            self.library,
            self.sources,
            now or datetime.now(UTC),
            allow_private=self.allow_private_sources,
        )
        added = [post for outcome in outcomes for post in outcome.added_posts]
        if any(outcome.status == "changed" for outcome in outcomes):
            self.library.save_index()
        return self.alerts(added)

    def alerts(self, new_posts: Iterable[Post]) -> list[Alert]:
        """The alerts new posts earn, each (chat, post) claimed so none goes twice."""
        posts = list(new_posts)
        if not posts:
            return []
        return alerts_for(
            self.library, posts, self.follows, zone_of=self.zone_of, delivers_to=self.delivers_to
        )
