"""Sending to Telegram robustly: retries for transient failures, replies for jobs.

Part of the Telegram adapter. Rate limits themselves are AIORateLimiter's; this handles what it
passes on (a RetryAfter past its retries, timeouts, dropped connections).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.core.reply import Reply
from bot.telegram.messages import keyboard
from bot.telegram.render import render_messages

log = logging.getLogger(__name__)
SEND_ATTEMPTS = 4
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def with_retries(send: Callable[[], Awaitable[Any]]) -> Any:
    """Send, retrying timeouts and network errors with backoff; honour RetryAfter."""
    delay = 0.5
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await send()
        except RetryAfter as exc:
            if attempt == SEND_ATTEMPTS:
                raise
            wait = exc.retry_after
            await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else wait)
        except (TimedOut, NetworkError) as exc:
            if attempt == SEND_ATTEMPTS or isinstance(exc, BadRequest):
                raise
            log.warning("send failed (%s); retrying in %.1fs", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay *= 2
    return None


async def send_reply(bot: Bot, chat_id: int, reply: Reply, *, thread_id: int | None = None) -> None:
    """Send a reply to a chat (to a forum topic with `thread_id`) as HTML messages, for jobs
    that answer no update (digests, alerts). Failures propagate: the caller decides what a
    refusal means for its records."""
    for text in render_messages(reply):
        await bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            message_thread_id=thread_id,
        )


async def edit_to(message: Message, reply: Reply) -> None:
    """Show `reply` in place of a message the bot sent (a ◀ ▶ page, an edited question's
    answer); an edit to the same text is no error."""
    try:
        await message.edit_text(
            render_messages(reply)[0],
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=keyboard(reply),
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


def topic_gone(exc: BadRequest) -> bool:
    """Telegram's answer when a message goes to a forum topic that was deleted."""
    return "thread not found" in exc.message.lower()
