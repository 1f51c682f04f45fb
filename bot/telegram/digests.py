"""Daily digests in Telegram: one JobQueue job a minute delivers the batch that is due.

The batch is `DigestService.due` (what `benchmarks/bench_digest.py` measures); each digest goes
out through the shared delivery policy (`bot.telegram.delivery`). Nothing is scheduled per chat,
so a subscription made a second ago is picked up by the next minute's run, and a restart
rebuilds nothing: the first run at start sends what was missed (< 12 hours late) once.

The batch is prepared and claimed on the library worker; the messages leave from PTB's loop.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.core.claims import DigestClaim
from bot.core.digests import DigestService
from bot.telegram.delivery import deliver
from bot.telegram.worker import LibraryWorker

log = logging.getLogger(__name__)

AnyApp = Application[Any, Any, Any, Any, Any, Any]


class DigestJobs:
    """The minute job: every due digest, one batch, one message per chat."""

    def __init__(self, service: DigestService, worker: LibraryWorker) -> None:
        self.service = service
        self.worker = worker
        self._running = False

    def start(self, app: AnyApp) -> None:
        """Run at once (missed digests), then on every minute boundary."""
        if app.job_queue is None:
            raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
        now = datetime.now(UTC)
        app.job_queue.run_once(self.run, when=1, name="digests:start")
        app.job_queue.run_repeating(
            self.run,
            interval=60,
            first=60.5 - now.second - now.microsecond / 1e6,
            name="digests",
            job_kwargs={"max_instances": 2},  # a run still sending: the next skips quietly
        )

    async def run(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Deliver the batch that is due; a run still sending makes the next one skip, and so
        does a stopping Application."""
        if self._running or not context.application.running:
            return
        self._running = True
        try:
            sent = 0
            for out in await self.worker.call(self.service.due):
                claim = DigestClaim(out, self.service, self.service.subscriptions)
                if await deliver(context.bot, claim, records=self.worker.call) == "sent":
                    sent += 1
            if sent:
                log.info("delivered %d digests", sent)
        finally:
            self._running = False
