"""Updates processed side by side, each chat's in order: no user can slow another.

PTB handles updates one at a time by default, so a user whose chat Telegram rate-limits (429)
held up everyone behind them. This processor runs up to `MAX_CONCURRENT` updates at once while
keeping each chat's updates in arrival order (an answer never overtakes the question before
it). A chat that has `BACKLOG` updates waiting already is flooding: further ones are dropped
before they take a slot, so one chat can never fill the pool.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

MAX_CONCURRENT = 256
BACKLOG = 8


def chat_key(update: object) -> int | None:
    """What must stay in order: the chat, or the user for updates without one (inline)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


class PerChatProcessor(BaseUpdateProcessor):
    """Concurrent across chats, sequential within one."""

    def __init__(self, max_concurrent: int = MAX_CONCURRENT, backlog: int = BACKLOG) -> None:
        super().__init__(max_concurrent)
        self.backlog = backlog
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            await coroutine
            return
        if self._waiting.get(key, 0) >= self.backlog:
            log.info("chat %s is flooding: an update was dropped", key)
            if asyncio.iscoroutine(coroutine):
                coroutine.close()
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._locks.pop(key, None)

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""
