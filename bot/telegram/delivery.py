"""The delivery policy for messages nobody asked for at that moment: digests and alerts.

Each is claimed in SQLite before it is sent (`bot.core.claims`); this decides, once for both,
what a failure means for the claim:

- sent → confirm;
- the request surely never reached Telegram (connection refused, connect or pool timeout) →
  try again with backoff, and release the claim if it never gets through;
- it may have reached Telegram (read timeout, dropped connection mid-answer) → keep the claim,
  log it: at most once, because a duplicate digest in a group looks broken;
- Telegram refused it (bad request) → release; the chat refuses the bot (blocked, kicked) →
  `gone`; the group became a supergroup → `moved`, then send there.

The sending happens on PTB's loop; what the claim records (SQLite) goes through `records`, which
the running bot points at its library worker (`bot.telegram.worker`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Literal, Protocol, TypeVar

import httpx
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.core.claims import Claim
from bot.telegram.send import send_reply, topic_gone

log = logging.getLogger(__name__)

Outcome = Literal["sent", "unknown", "failed", "refused", "gone"]
RETRY_DELAYS = (1.0, 4.0, 15.0)
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
T = TypeVar("T")


class Records(Protocol):
    """Runs one of the claim's records (a call into the store) where the store lives."""

    def __call__(self, record: Callable[[], T], /) -> Awaitable[T]: ...


async def here(record: Callable[[], T]) -> T:
    """Record on the caller's thread (tests, and callers that own the store themselves)."""
    return record()


def never_reached_telegram(exc: BaseException) -> bool:
    """Whether the request surely did not reach Telegram (so sending again cannot duplicate)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _NEVER_SENT) or "Pool timeout" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def deliver(
    bot: Bot,
    claim: Claim,
    *,
    delays: Sequence[float] = RETRY_DELAYS,
    records: Records = here,
) -> Outcome:
    """Send one claimed message and record what became of it (through `records`). Never raises."""
    attempt = 0
    while True:
        try:
            await send_reply(bot, claim.chat_id, claim.reply, thread_id=claim.thread_id)
        except ChatMigrated as exc:
            log.info(
                "chat %s moved to %s; sending the %s there",
                claim.chat_id,
                exc.new_chat_id,
                claim.what,
            )
            await records(partial(claim.moved, exc.new_chat_id))
            continue
        except Forbidden as exc:
            stopped = await records(partial(claim.gone, f"Telegram refused: {exc.message}"))
            log.warning(
                "chat %s refused the %s (%s); %s", claim.chat_id, claim.what, exc.message, stopped
            )
            return "gone"
        except RetryAfter as exc:
            wait = exc.retry_after
            await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else wait)
            continue
        except BadRequest as exc:
            if claim.thread_id is not None and topic_gone(exc):
                log.warning(
                    "topic %s of chat %s is gone; the %s and later ones go to General",
                    claim.thread_id,
                    claim.chat_id,
                    claim.what,
                )
                await records(claim.thread_gone)
                continue
            log.error("the %s for chat %s was refused: %s", claim.what, claim.chat_id, exc.message)
            await records(claim.release)
            return "refused"
        except NetworkError as exc:  # TimedOut included
            if not never_reached_telegram(exc):
                log.warning(
                    "the %s for chat %s may have arrived (%s); kept as sent",
                    claim.what,
                    claim.chat_id,
                    exc.message,
                )
                return "unknown"
            if attempt >= len(delays):
                log.warning(
                    "the %s for chat %s could not reach Telegram (%s); left for a later run",
                    claim.what,
                    claim.chat_id,
                    exc.message,
                )
                await records(claim.release)
                return "failed"
            await asyncio.sleep(delays[attempt])
            attempt += 1
            continue
        except TelegramError as exc:
            log.error("the %s for chat %s failed: %s", claim.what, claim.chat_id, exc.message)
            await records(claim.release)
            return "refused"
        await records(claim.confirm)
        return "sent"
