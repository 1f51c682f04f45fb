"""How long PTB's event loop was held: a probe that wakes every tenth of a second.

While the loop is free, a sleep of 100 ms ends after about 100 ms; whatever it overshoots is
time some callback held the loop, so no update was received, guarded or sent. The probe logs a
warning when that exceeds `WARN_SECONDS`, and the worst it saw when the bot stops — the number
an operator (and the end-to-end test) reads to know the library work stays off the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.1
WARN_SECONDS = 0.5


class LoopLagProbe:
    """A task on the loop it measures; `start` from a coroutine, `stop` before the loop ends."""

    def __init__(self, interval: float = INTERVAL_SECONDS, warn: float = WARN_SECONDS) -> None:
        self.interval = interval
        self.warn = warn
        self.worst = 0.0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None
        self._started = 0.0

    def start(self) -> None:
        if self._task is None:
            self._started = time.monotonic()
            self._task = asyncio.get_running_loop().create_task(self._probe(), name="loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        log.info(
            "event loop lag: worst %.0f ms in %d samples over %.0f s",
            self.worst * 1000,
            self.samples,
            time.monotonic() - self._started,
        )

    async def _probe(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval)
            lag = max(0.0, time.monotonic() - before - self.interval)
            self.samples += 1
            self.worst = max(self.worst, lag)
            if lag > self.warn:
                log.warning("the event loop was held for %.0f ms", lag * 1000)
