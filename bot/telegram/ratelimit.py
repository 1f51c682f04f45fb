"""Telegram's send limits kept per chat: a 429 for one chat never holds up another.

PTB's AIORateLimiter pauses *every* request when Telegram answers 429 for one of them, so one
chat that is sent to too fast (Telegram allows about one message a second per chat) delayed
all the others. This limiter keeps the overall pace (30 requests a second) and groups' pace
(20 messages a minute), and when Telegram says "retry after N" for a chat it pauses that chat
alone; a 429 for a request that names no chat pauses everything, as it should.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


class PerChatRateLimiter(BaseRateLimiter[int]):
    """Overall and group pacing, and retry-after pauses per chat."""

    def __init__(
        self, *, per_second: float = 30, group_per_minute: float = 20, max_retries: int = 3
    ) -> None:
        self.max_retries = max_retries
        self._overall = AsyncLimiter(per_second, 1)
        self._group_rate = group_per_minute
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._paused_until: dict[int | str | None, float] = {}

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        chat = data.get("chat_id")
        chat_id: int | str | None = chat if isinstance(chat, int | str) else None
        attempt = 0
        while True:
            await self._wait_out_pauses(chat_id)
            try:
                if chat_id is None:
                    return await callback(*args, **kwargs)
                # "typing…" is no message: it takes none of a group's 20 a minute.
                group = _UNLIMITED if endpoint == "sendChatAction" else self._group_limiter(chat_id)
                async with self._overall, group:
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= self.max_retries:
                    raise
                attempt += 1
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                log.info("Telegram asks to wait %.1f s for chat %s", seconds, chat_id)
                self._paused_until[chat_id] = time.monotonic() + seconds + 0.1

    async def _wait_out_pauses(self, chat_id: int | str | None) -> None:
        """Sleep while this chat (or everything) is paused by a retry-after."""
        while True:
            now = time.monotonic()
            until = max(self._paused_until.get(chat_id, 0.0), self._paused_until.get(None, 0.0))
            if until <= now:
                return
            await asyncio.sleep(until - now)

    def _group_limiter(self, chat_id: int | str) -> AsyncLimiter:
        """Groups (negative ids, @names) get their own 20-a-minute pace; others pass."""
        if isinstance(chat_id, int) and chat_id > 0:
            return _UNLIMITED
        limiter = self._groups.get(chat_id)
        if limiter is None:
            limiter = self._groups[chat_id] = AsyncLimiter(self._group_rate, 60)
        return limiter


_UNLIMITED = AsyncLimiter(10**9, 1)
