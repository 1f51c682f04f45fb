"""Sending survives Telegram's transient failures: timeouts and network errors are retried."""

from __future__ import annotations

import asyncio

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.telegram.send import with_retries


def flaky(failures: list[Exception]) -> tuple[list[int], object]:
    """A send that fails with the given errors, in order, then succeeds."""
    calls: list[int] = []

    async def send() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "sent"

    return calls, send


def test_timeouts_and_network_errors_are_retried_until_the_message_goes_out() -> None:
    calls, send = flaky([TimedOut(), NetworkError("connection reset")])
    assert asyncio.run(with_retries(send)) == "sent"  # type: ignore[arg-type]
    assert len(calls) == 3


def test_retry_after_is_waited_out_then_sent() -> None:
    calls, send = flaky([RetryAfter(0)])
    assert asyncio.run(with_retries(send)) == "sent"  # type: ignore[arg-type]
    assert len(calls) == 2


def test_a_bad_request_is_not_retried() -> None:
    calls, send = flaky([BadRequest("message is too long")])
    with pytest.raises(BadRequest):
        asyncio.run(with_retries(send))  # type: ignore[arg-type]
    assert len(calls) == 1


def test_a_network_that_stays_down_gives_up_after_four_attempts() -> None:
    calls, send = flaky([NetworkError("down")] * 10)
    with pytest.raises(NetworkError):
        asyncio.run(with_retries(send))  # type: ignore[arg-type]
    assert len(calls) == 4
