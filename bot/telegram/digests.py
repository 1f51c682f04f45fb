"""Daily digests in Telegram: the commands' permission checks, the JobQueue jobs, delivery.

Part of the Telegram adapter (it imports `telegram`); what goes in a digest and when it is due
come from `bot.core.digests` and `bot.core.subscriptions`. PTB does not persist jobs, so every start
rebuilds them from SQLite and sends a missed digest once if it is less than 12 hours late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from telegram import Bot, ChatMember, Update
from telegram.constants import ChatType
from telegram.error import ChatMigrated, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.ext import Application, ContextTypes, Job

from bot.core.answers import ChatPrefs
from bot.core.digests import (
    DigestService,
    Outgoing,
    subscribe_command,
    subscription_command,
    unsubscribe_command,
)
from bot.core.reply import Block, Reply
from bot.core.subscriptions import Subscriptions, due_catch_up, next_run
from bot.telegram.send import send_reply

log = logging.getLogger(__name__)

ADMIN_STATUSES = {ChatMember.ADMINISTRATOR, ChatMember.OWNER}
ADMINS_ONLY = "Only this group's administrators can change its daily digest."
AnyApp = Application[Any, Any, Any, Any, Any, Any]


class DigestJobs:
    """One daily job per subscribed chat, in that chat's timezone."""

    def __init__(self, service: DigestService, subscriptions: Subscriptions) -> None:
        self.service = service
        self.subscriptions = subscriptions
        self._moved: dict[int, int] = {}  # old chat id -> new, for rescheduling after a migration

    # -- scheduling -----------------------------------------------------------------------

    def restore(self, app: AnyApp, now: datetime | None = None) -> None:
        """At start: send missed digests (< 12 h late) once, then schedule every chat."""
        now = now or datetime.now(UTC)
        for sub in self.subscriptions.active():
            missed = due_catch_up(sub, now)
            if missed is not None:
                log.info("chat %s missed its digest of %s; sending it now", sub.chat_id, missed)
                self._queue(app, sub.chat_id, missed, when=0, name=f"catch-up:{sub.chat_id}")
            self.schedule(app, sub.chat_id, now)

    def schedule(self, app: AnyApp, chat_id: int, now: datetime | None = None) -> None:
        """(Re)schedule a chat's next digest; an inactive or absent subscription gets none."""
        self.cancel(app, chat_id)
        sub = self.subscriptions.get(chat_id)
        if sub is None or not sub.active:
            return
        run = next_run(sub, now or datetime.now(UTC))
        self._queue(app, chat_id, run.date(), when=run)

    def cancel(self, app: AnyApp, chat_id: int) -> None:
        if app.job_queue is None:
            return
        for job in app.job_queue.get_jobs_by_name(_job_name(chat_id)):
            job.schedule_removal()

    def _queue(
        self, app: AnyApp, chat_id: int, day: date, when: datetime | float, name: str = ""
    ) -> None:
        if app.job_queue is None:
            raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
        app.job_queue.run_once(
            self._run, when=when, chat_id=chat_id, data=day, name=name or _job_name(chat_id)
        )

    async def _run(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The job: claim, send, record; then schedule tomorrow's."""
        job: Job[Any] | None = context.job
        if job is None or job.chat_id is None or not isinstance(job.data, date):
            return
        chat_id, day = job.chat_id, job.data
        try:
            out = self.service.scheduled(chat_id, day)
            if out is not None:
                await self.deliver(context.bot, out)
        finally:
            if job.name == _job_name(chat_id) or chat_id in self._moved:
                self.schedule(context.application, self._moved.pop(chat_id, chat_id))

    # -- delivery -------------------------------------------------------------------------

    async def deliver(self, bot: Bot, out: Outgoing) -> bool:
        """Send one digest. One chat's failure is logged and never stops the others."""
        for _ in range(2):  # a second pass only after the group became a supergroup
            try:
                await send_reply(bot, out.chat_id, out.reply)
            except ChatMigrated as exc:
                log.info("chat %s moved to %s; sending there", out.chat_id, exc.new_chat_id)
                self._moved[out.chat_id] = exc.new_chat_id
                out = self.service.moved(out, exc.new_chat_id)
                continue
            except Forbidden as exc:
                log.warning("chat %s refused the digest (%s); unsubscribed", out.chat_id, exc)
                self.service.failed(out)
                self.subscriptions.deactivate(out.chat_id, f"Telegram refused: {exc.message}")
                return False
            except TimedOut:
                # The message may have arrived: keep the claim (at most once) and move on.
                log.warning("digest for chat %s timed out; left for the next run", out.chat_id)
                return False
            except NetworkError as exc:
                log.warning(
                    "digest for chat %s failed (%s); left for the next run", out.chat_id, exc
                )
                self.service.failed(out)
                return False
            except TelegramError as exc:
                log.error("digest for chat %s was refused: %s", out.chat_id, exc)
                self.service.failed(out)
                return False
            self.service.sent(out)
            return True
        return False


def _job_name(chat_id: int) -> str:
    return f"digest:{chat_id}"


async def may_manage(update: Update, bot: Bot) -> bool:
    """In groups only administrators (anonymous ones too) may subscribe or unsubscribe."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    if chat is None or chat.type == ChatType.PRIVATE:
        return True
    if message is not None and message.sender_chat is not None:
        # An anonymous administrator posts as the group itself.
        return message.sender_chat.id == chat.id
    if user is None:
        return False
    member = await bot.get_chat_member(chat.id, user.id)
    return member.status in ADMIN_STATUSES


async def channel_target(bot: Bot, user_id: int, name: str) -> tuple[int, str] | str:
    """(id, title) of a channel the user and the bot may post digests to, or why not."""
    try:
        channel = await bot.get_chat(name)
        if channel.type != ChatType.CHANNEL:
            return f"{name} is not a channel."
        member = await bot.get_chat_member(channel.id, user_id)
        if member.status not in ADMIN_STATUSES:
            return f"Only an administrator of {name} can subscribe it."
        me = await bot.get_chat_member(channel.id, bot.id)
        if me.status not in ADMIN_STATUSES or not getattr(me, "can_post_messages", True):
            return f"Make me an administrator of {name} who may post messages, then try again."
    except TelegramError as exc:
        return f"I can't reach {name}: {exc.message}"
    return channel.id, channel.title or name


class DigestCommands:
    """/subscribe, /unsubscribe, /subscription, /digest."""

    def __init__(self, jobs: DigestJobs, prefs_of: Callable[[int], ChatPrefs]) -> None:
        self.jobs = jobs
        self.subscriptions = jobs.subscriptions
        self.prefs_of = prefs_of

    async def subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply:
        """Subscribe this chat (or a channel, from a private chat) to a daily digest."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None:
            return _refuse("Use /subscribe in a chat.")
        args = list(context.args or [])
        prefs: ChatPrefs = self.prefs_of(chat.id)
        target_id, title = chat.id, chat.title or chat.full_name or str(chat.id)
        if args and args[0].startswith("@"):
            if chat.type != ChatType.PRIVATE or user is None:
                return _refuse("Subscribe a channel from a private chat with me.")
            found = await channel_target(context.bot, user.id, args.pop(0))
            if isinstance(found, str):
                return _refuse(found)
            target_id, title = found
        elif not await may_manage(update, context.bot):
            return _refuse(ADMINS_ONLY)
        reply = subscribe_command(self.subscriptions, target_id, title, " ".join(args), prefs)
        if reply.kind != "invalid":
            self.jobs.schedule(context.application, target_id)
        return reply

    async def unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply:
        """Stop this chat's digest (administrators only in groups)."""
        chat = update.effective_chat
        if chat is None:
            return _refuse("Use /unsubscribe in a chat.")
        if not await may_manage(update, context.bot):
            return _refuse(ADMINS_ONLY)
        reply = unsubscribe_command(self.subscriptions, chat.id)
        self.jobs.cancel(context.application, chat.id)
        return reply

    async def subscription(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply:
        """Show the chat's digest time, timezone and next delivery."""
        chat = update.effective_chat
        return subscription_command(self.subscriptions, chat.id) if chat else _refuse("")

    def digest(self, chat_id: int) -> Outgoing:
        """Today's digest now, in any chat (it does not use up the scheduled one); the caller
        sends it and then reports it with `service.sent`."""
        return self.jobs.service.on_demand(chat_id, self.prefs_of(chat_id).timezone)


def _refuse(text: str) -> Reply:
    return Reply((Block.of(text or "That works only in a chat."),), kind="invalid", message=text)
