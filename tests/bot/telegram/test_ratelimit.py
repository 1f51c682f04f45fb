"""Per-chat pacing: a group's 20 messages a minute are for messages, not for "typing…"."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.telegram.ratelimit import PerChatRateLimiter

GROUP = -100123


async def _ok(*args: Any, **kwargs: Any) -> bool:
    return True


async def _send(limiter: PerChatRateLimiter, endpoint: str) -> float:
    start = time.monotonic()
    await limiter.process_request(_ok, (), {}, endpoint, {"chat_id": GROUP}, None)
    return time.monotonic() - start


def test_typing_in_a_group_takes_none_of_its_message_allowance() -> None:
    async def main() -> tuple[float, float]:
        limiter = PerChatRateLimiter(group_per_minute=1)
        await _send(limiter, "sendMessage")  # the minute's one message
        typing = await _send(limiter, "sendChatAction")
        try:
            await asyncio.wait_for(_send(limiter, "sendMessage"), 0.3)
        except TimeoutError:
            held = float("inf")
        else:
            held = 0.0
        return typing, held

    typing, second_message = asyncio.run(main())
    assert typing < 0.1
    assert second_message == float("inf")  # the next message still waits for its slot
