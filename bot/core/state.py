"""Per-chat state the bot keeps beside the coverage: chosen timezones and live search lists.

Kept in the same SQLite file through sqlite-utils, so a restart keeps a chat's timezone and
its ◀ ▶ buttons keep working for a day.
"""

from __future__ import annotations

import secrets
import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlite_utils import Database

from retrieval.storage.schema import migrate

SEARCH_TTL_SECONDS = 24 * 3600


class ChatState:
    """Chat preferences and search sessions (implements the answer core's `SearchSessions`)."""

    def __init__(self, db: Database, default_timezone: str = "UTC") -> None:
        self.db = db
        self.default_timezone = default_timezone
        migrate(db)  # the tables are `retrieval.storage.schema`'s

    def timezone(self, chat_id: int) -> ZoneInfo:
        row = self.db.execute(
            "SELECT timezone FROM chat_prefs WHERE chat_id = ?", [chat_id]
        ).fetchone()
        try:
            return ZoneInfo(row[0] if row else self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return ZoneInfo("UTC")

    def set_timezone(self, chat_id: int, zone: str) -> ZoneInfo:
        """Persist a chat's timezone; raises ValueError for a name that is not an IANA zone."""
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(zone) from None
        with self.db.conn:
            self.db.table("chat_prefs").upsert({"chat_id": chat_id, "timezone": zone}, pk="chat_id")
        return tz

    def remember(self, query: str) -> str:
        token = secrets.token_urlsafe(6)
        now = time.time()
        with self.db.conn:
            self.db.execute(
                "DELETE FROM search_sessions WHERE created < ?", [now - SEARCH_TTL_SECONDS]
            )
            self.db.table("search_sessions").insert(
                {"token": token, "query": query, "created": now}
            )
        return token

    def recall(self, token: str) -> str | None:
        row = self.db.execute(
            "SELECT query FROM search_sessions WHERE token = ? AND created >= ?",
            [token, time.time() - SEARCH_TTL_SECONDS],
        ).fetchone()
        return str(row[0]) if row else None
