"""The library worker: one thread runs the work, in order, and stops cleanly; the lag probe."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from bot.telegram.lag import LoopLagProbe
from bot.telegram.worker import LibraryWorker, WorkerStopped, on_loop


@pytest.fixture
def worker() -> Iterator[LibraryWorker]:
    started = LibraryWorker("test-library")
    started.start()
    yield started
    started.stop()


def test_calls_run_on_the_worker_thread_and_return_their_value(worker: LibraryWorker) -> None:
    async def main() -> tuple[str, int]:
        name = await worker.call(lambda: threading.current_thread().name)
        return name, await worker.call(sum, [1, 2])

    name, total = asyncio.run(main())
    assert name == "test-library"
    assert total == 3


def test_slow_work_does_not_hold_the_callers_loop(worker: LibraryWorker) -> None:
    async def main() -> tuple[int, float]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        probe = LoopLagProbe(interval=0.01)
        probe.start()
        await worker.call(time.sleep, 0.5)  # a blocking step, as a long import is
        ticker.cancel()
        await probe.stop()
        return ticks, probe.worst

    ticks, worst = asyncio.run(main())
    assert ticks >= 20
    assert worst < 0.2


def test_work_is_serialized_never_two_at_once(worker: LibraryWorker) -> None:
    inside = 0
    overlaps = 0

    def step() -> None:
        nonlocal inside, overlaps
        inside += 1
        overlaps += inside > 1
        time.sleep(0.01)
        inside -= 1

    async def main() -> None:
        await asyncio.gather(*(worker.call(step) for _ in range(30)))

    asyncio.run(main())
    assert overlaps == 0


def test_errors_reach_the_caller(worker: LibraryWorker) -> None:
    def broken() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        asyncio.run(worker.call(broken))


def test_a_cancelled_caller_cancels_its_work(worker: LibraryWorker) -> None:
    cancelled = threading.Event()

    async def long_job() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(worker.run(long_job()), 0.1)

    asyncio.run(main())
    assert cancelled.wait(2)


def test_on_loop_runs_a_coroutine_back_on_the_callers_loop(worker: LibraryWorker) -> None:
    async def main() -> None:
        home = asyncio.get_running_loop()

        async def on_home() -> bool:
            return asyncio.get_running_loop() is home

        async def from_worker() -> tuple[bool, bool]:
            here = asyncio.get_running_loop() is home
            return here, await on_loop(home, on_home())

        assert await worker.run(from_worker()) == (False, True)

    asyncio.run(main())


def test_stop_joins_the_thread_and_cancels_what_is_left() -> None:
    worker = LibraryWorker("stopping")
    worker.start()
    started = threading.Event()

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    future = worker.submit(forever())
    assert started.wait(2)
    worker.stop()
    assert not worker.running
    assert future.cancelled()
    assert not [t for t in threading.enumerate() if t.name == "stopping"]
    with pytest.raises(WorkerStopped):
        asyncio.run(worker.call(print))


def test_the_probe_warns_when_the_loop_is_held(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> float:
        probe = LoopLagProbe(interval=0.01, warn=0.1)
        probe.start()
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # the mistake the worker exists to prevent
        await asyncio.sleep(0.05)
        await probe.stop()
        return probe.worst

    with caplog.at_level(logging.INFO, logger="bot.telegram.lag"):
        worst = asyncio.run(main())
    assert worst >= 0.25
    assert "the event loop was held for" in caplog.text
    assert "event loop lag: worst" in caplog.text
