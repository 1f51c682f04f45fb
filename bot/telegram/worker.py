"""The library's own thread: every core call of the running bot, one at a time, off PTB's loop.

The index and the store's single SQLite connection are not safe for a reader beside a writer,
and a long answer, page, import or index merge would hold python-telegram-bot's event loop so
that no other update is received, guarded or sent meanwhile. So the library has one owner: a
thread running a private asyncio loop. The adapter awaits `worker.call(fn, *args)` (a plain
function) or `worker.run(coro)` (a core coroutine) from PTB's loop; the work runs there, in
order, and PTB's loop keeps receiving and sending while it does.

Coroutines on the worker interleave only where they await (a poll's downloads run in threads
of the worker's executor; a Bot API lookup hops back to PTB's loop with `on_loop`); every
synchronous library call runs to its end before the next begins, so nothing in `retrieval/`
needs a lock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")


class WorkerStopped(RuntimeError):
    """The worker is not running (not started yet, or stopped)."""


class LibraryWorker:
    """One thread, one asyncio loop, the library's only user."""

    def __init__(self, name: str = "library") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread and its loop (returns once the loop runs)."""
        if self.running:
            return
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                _wind_down(loop)

        self._loop = loop
        self._thread = threading.Thread(target=serve, name=self.name, daemon=True)
        self._thread.start()
        ready.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish: work still on the worker is cancelled, its executor joined, the thread too."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the library worker did not stop within %g s", timeout)
                return
        self._loop = self._thread = None

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule `coro` on the worker from any thread."""
        loop = self._loop
        if loop is None or not self.running:
            coro.close()
            raise WorkerStopped("the library worker is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a core coroutine that runs on the worker (the caller's loop stays free)."""
        if self.on_worker():
            return await coro
        return await asyncio.wrap_future(self.submit(coro))

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Await a plain (synchronous) library or core call made on the worker."""

        async def call() -> T:
            return fn(*args, **kwargs)

        return await self.run(call())

    def on_worker(self) -> bool:
        """Whether the caller runs on the worker's own thread."""
        return self._thread is not None and threading.current_thread() is self._thread


async def on_loop(loop: asyncio.AbstractEventLoop | None, coro: Coroutine[Any, Any, T]) -> T:
    """Await `coro` on `loop` (PTB's, for Bot API calls the core makes from the worker)."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:  # pragma: no cover - always called from a coroutine
        running = None
    if loop is None or loop is running:
        return await coro
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


def _wind_down(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left, let it finish, join the executor's threads, close the loop."""
    try:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
