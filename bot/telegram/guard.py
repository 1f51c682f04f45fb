"""One flood guard in front of every handler (PTB's group −1 pattern).

Every update a user makes the bot work for — a command, a question, a button press, an inline
query — is counted before any handler runs; past the limit the update stops there, with one
polite line per flood. Inline queries have a budget of their own (typing `@bot …` sends one per
keystroke), so they can never lock a user out of the chat.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable

from telegram import Message, Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.core.commands import find
from bot.telegram.send import with_retries

SLOW_DOWN = "You're asking faster than I can read — please slow down and try again in a minute."
INLINE_BUDGET = 5  # inline queries allowed per chat message allowed


class FloodGuard:
    """At most `limit` requests per user in any 60 seconds; past that, no work is done."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._seen: defaultdict[int, deque[float]] = defaultdict(deque)
        self._warned: dict[int, float] = {}

    def allow(self, user_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen[user_id]
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True

    def first_refusal(self, user_id: int, now: float | None = None) -> bool:
        """Whether to tell the user to slow down: once per window, not once per message."""
        now = time.monotonic() if now is None else now
        if now - self._warned.get(user_id, -self.window) < self.window:
            return False
        self._warned[user_id] = now
        return True


class UpdateGuard:
    """The group −1 handler: counts what a user asks of the bot and stops a flood."""

    def __init__(self, limit: int, addressed: Callable[[Message], bool]) -> None:
        self.chat = FloodGuard(limit)
        self.inline = FloodGuard(limit * INLINE_BUDGET)
        self.addressed = addressed

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Count the update; raise ApplicationHandlerStop when its user is flooding."""
        user = update.effective_user
        if user is None or update.channel_post or update.edited_channel_post:
            return
        if update.inline_query is not None:
            if not self.inline.allow(user.id):
                await update.inline_query.answer([], cache_time=5)
                raise ApplicationHandlerStop
            return
        if not self._counts(update):
            return
        if self.chat.allow(user.id):
            return
        message = update.effective_message
        if update.callback_query is not None:
            await update.callback_query.answer(SLOW_DOWN)
        elif message is not None and self.chat.first_refusal(user.id):
            await with_retries(lambda: message.reply_text(SLOW_DOWN))
        raise ApplicationHandlerStop

    def _counts(self, update: Update) -> bool:
        """Button presses and messages the bot will answer count; group chatter does not."""
        if update.callback_query is not None:
            return True
        message = update.message or update.edited_message
        if message is None:
            return False
        text = message.text or ""
        if text.startswith("/"):
            words = text[1:].split(maxsplit=1)
            cmd = find(words[0].split("@", 1)[0]) if words else None
            return cmd is None or cmd.guarded
        return message.chat.type == "private" or self.addressed(message)
