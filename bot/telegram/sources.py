"""Keeping coverage fresh in Telegram: the poll and refresh jobs, channel posts, alert delivery.

What is polled and which alerts new posts earn is the core's (`bot.core.freshness`); this
module runs it from the JobQueue, turns channel posts into coverage, and sends the alerts
through the shared delivery policy. The polls, imports and alert matching run on the library
worker; the alerts leave from PTB's loop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from telegram import Bot, Message, Update
from telegram.ext import Application, ContextTypes

from bot.core.claims import AlertClaim
from bot.core.follows import Alert
from bot.core.freshness import POLL_EVERY_SECONDS, REFRESH_EVERY_SECONDS, Freshness
from bot.telegram.delivery import deliver
from bot.telegram.worker import LibraryWorker
from retrieval.channels import ChannelRef, Channels, channel_post_to_parsed
from retrieval.polling import ingest_new_posts
from retrieval.sources import SourceError

log = logging.getLogger(__name__)

AnyApp = Application[Any, Any, Any, Any, Any, Any]


class FreshCoverage:
    """The jobs that bring new posts in, and the channel-post handler."""

    def __init__(
        self,
        freshness: Freshness,
        worker: LibraryWorker,
        configured_channels: Iterable[ChannelRef] = (),
    ) -> None:
        self.freshness = freshness
        self.worker = worker
        self.channels = Channels(freshness.library.store.db)
        self.configured_channels = list(configured_channels)
        self._polling = False
        self._refreshing = False

    def start(self, app: AnyApp) -> None:
        if app.job_queue is None:
            raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
        # A run may wait for the worker past the next one's start; that one skips itself
        # quietly (our flags) instead of APScheduler warning that it skipped it. Once the
        # Application is stopping (it waits for running jobs), new runs start nothing.
        overlap = {"max_instances": 2}
        app.job_queue.run_repeating(
            self.poll_job, interval=POLL_EVERY_SECONDS, first=1, job_kwargs=overlap
        )
        app.job_queue.run_repeating(
            self.refresh_job, interval=REFRESH_EVERY_SECONDS, first=1, job_kwargs=overlap
        )

    async def poll_job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Poll the due sources side by side; a run still downloading makes the next skip."""
        if self._polling or not context.application.running:
            return
        self._polling = True
        try:
            await self.send_alerts(context.bot, await self.worker.run(self.freshness.poll()))
        finally:
            self._polling = False

    async def refresh_job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Pick up what another process imported (questions see it within seconds)."""
        if self._refreshing or not context.application.running:
            return
        self._refreshing = True
        try:
            await self.send_alerts(context.bot, await self.worker.call(self.freshness.refresh))
        finally:
            self._refreshing = False

    def follows_channel(self, chat_id: int, username: str | None) -> bool:
        return any(ref.matches(chat_id, username) for ref in self.configured_channels) or (
            self.channels.is_followed(chat_id)
        )

    async def channel_post(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A post (or an edit) in a followed channel becomes coverage; new posts may alert."""
        message = update.channel_post or update.edited_channel_post
        if message is not None:
            await self.send_alerts(context.bot, await self.worker.call(self.ingest, message))

    def ingest(self, message: Message) -> list[Alert]:
        """On the worker: store a followed channel's post; the alerts its new posts earn."""
        if not self.follows_channel(message.chat.id, message.chat.username):
            return []
        try:
            parsed = channel_post_to_parsed(
                message.chat.id,
                message.chat.title or "",
                message.chat.username,
                message.message_id,
                message.text or message.caption or "",
                message.date,
                message.author_signature,
                message.edit_date,
            )
        except SourceError as exc:
            log.info("channel post skipped: %s", exc)
            return []
        ingested = ingest_new_posts(self.freshness.library, [parsed])
        log.info("channel %s: %s", message.chat.id, ingested.report.summary())
        return self.freshness.alerts(ingested.added)

    async def send_alerts(self, bot: Bot, alerts: Iterable[Alert]) -> None:
        """One message per (chat, post), each already claimed; the delivery policy records it."""
        for alert in alerts:
            claim = AlertClaim(alert, self.freshness.follows)
            await deliver(bot, claim, records=self.worker.call)
