"""Keeping coverage fresh in Telegram: polling sources, channel posts, /sources, /follow alerts.

Part of the Telegram adapter (it imports `telegram`). Fetching and parsing run in a worker
thread so a slow source never blocks answering; storing runs on the loop's thread, which owns
the library. Every newly added post is offered to the chats that follow a matching query.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import Bot, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.core.follows import FollowCommands, Follows, alerts_for
from bot.core.reply import Block, Reply
from bot.telegram.digests import may_manage
from bot.telegram.send import send_reply
from retrieval.channels import ChannelRef, Channels, channel_post_to_parsed
from retrieval.library import Library
from retrieval.models import Post
from retrieval.polling import Sources, apply, download, ingest_new_posts
from retrieval.sources import SourceError

log = logging.getLogger(__name__)

POLL_EVERY_SECONDS = 15
ADMINS_ONLY = "Only the bot's administrators can manage sources."
FOLLOW_ADMINS_ONLY = "Only this group's administrators can change what it follows."
SOURCES_USAGE = (
    "/sources — list; /sources add URL [5m] — poll a live blog or feed; "
    "/sources add @channel — import a channel's posts; /sources remove ID"
)


class FreshCoverage:
    """Sources polled on their intervals, followed channels, and the alerts both trigger."""

    def __init__(
        self,
        library: Library,
        follows: Follows,
        zone_of: Callable[[int], ZoneInfo],
        admins: Iterable[int],
        configured_channels: Iterable[ChannelRef] = (),
    ) -> None:
        self.library = library
        self.sources = Sources(library.store.db)
        self.channels = Channels(library.store.db)
        self.follows = follows
        self.zone_of = zone_of
        self.admins = set(admins)
        self.configured_channels = list(configured_channels)
        self.follow_commands = FollowCommands(library, follows)
        self._polling = False

    # -- polling --------------------------------------------------------------------------

    async def poll_job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Poll every due source, one at a time; a failing source only records its error."""
        if self._polling:  # the previous run is still downloading: never overlap
            return
        self._polling = True
        try:
            changed = False
            for source in self.sources.due(datetime.now(UTC)):
                fetched = await asyncio.to_thread(download, source)
                outcome = apply(self.library, self.sources, fetched, datetime.now(UTC))
                log.info("poll %s", outcome.summary())
                changed = changed or outcome.status == "changed"
                await self.send_alerts(context.bot, outcome.added_posts)
            if changed:
                self.library.save_index()
        finally:
            self._polling = False

    # -- channels -------------------------------------------------------------------------

    def follows_channel(self, chat_id: int, username: str | None) -> bool:
        return any(ref.matches(chat_id, username) for ref in self.configured_channels) or (
            self.channels.is_followed(chat_id)
        )

    async def channel_post(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A post (or an edit) in a followed channel becomes coverage; new posts may alert."""
        message = update.channel_post or update.edited_channel_post
        if message is None or not self.follows_channel(message.chat.id, message.chat.username):
            return
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
            return
        ingested = ingest_new_posts(self.library, [parsed])
        log.info("channel %s: %s", message.chat.id, ingested.report.summary())
        await self.send_alerts(context.bot, ingested.added)

    # -- alerts ---------------------------------------------------------------------------

    async def send_alerts(self, bot: Bot, posts: Iterable[Post]) -> None:
        """One message per (chat, post), claimed before sending so none goes twice."""
        for alert in alerts_for(self.library, posts, self.follows, zone_of=self.zone_of):
            try:
                await send_reply(bot, alert.chat_id, alert.reply)
            except Forbidden:
                log.warning("chat %s blocked the bot; its follows are dropped", alert.chat_id)
                self.follows.forget_chat(alert.chat_id)
            except TelegramError as exc:
                log.warning("alert for chat %s failed: %s", alert.chat_id, exc)
                self.follows.release(alert.chat_id, alert.post.post_id)

    # -- commands -------------------------------------------------------------------------

    async def sources_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply:
        """/sources [add URL [every] | add @channel | remove ID]: administrators only."""
        user = update.effective_user
        if user is None or user.id not in self.admins:
            return _invalid(ADMINS_ONLY)
        args = list(context.args or [])
        try:
            if not args:
                return self._list_sources()
            if args[0] == "add" and len(args) >= 2 and args[1].startswith("@"):
                return await self._add_channel(context.bot, args[1])
            if args[0] == "add" and len(args) in (2, 3):
                source = self.sources.add(args[1], args[2] if len(args) == 3 else "5m")
                return _info(
                    f"Added source #{source.id}: {source.url}, polled every {source.every}."
                )
            if args[0] == "remove" and len(args) == 2 and args[1].lstrip("#").isdigit():
                removed = self.sources.remove(int(args[1].lstrip("#")))
                return _info(f"Removed source #{removed.id}: {removed.url}.")
        except SourceError as exc:
            return _invalid(str(exc))
        return _invalid(SOURCES_USAGE)

    def _list_sources(self) -> Reply:
        lines = []
        for source in self.sources.list():
            ok = source.last_success.strftime("%d %b %H:%M UTC") if source.last_success else "never"
            line = f"#{source.id} {source.url} — every {source.every}, last success {ok}"
            if source.last_error:
                line += f"; last error: {source.last_error}"
            lines.append(line)
        lines += [f"Channel {c.title} (@{c.username or c.chat_id})" for c in self.channels.list()]
        if not lines:
            lines = ["No sources yet.", SOURCES_USAGE]
        return Reply(tuple(Block.of(line) for line in lines), kind="info")

    async def _add_channel(self, bot: Bot, name: str) -> Reply:
        try:
            chat = await bot.get_chat(name)
        except TelegramError as exc:
            return _invalid(f"I can't reach {name}: {exc.message}. Add me to the channel first.")
        channel = self.channels.add(chat.id, chat.title or name, chat.username)
        return _info(f"Following channel {channel.title}: its new posts become coverage.")

    async def follow_command(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, action: str
    ) -> Reply:
        """/follow, /unfollow, /following (in groups, changes are for administrators)."""
        chat = update.effective_chat
        if chat is None:
            return _invalid("That works only in a chat.")
        args = " ".join(context.args or [])
        if action == "following":
            return self.follow_commands.following(chat.id)
        if not await may_manage(update, context.bot):
            return _invalid(FOLLOW_ADMINS_ONLY)
        if action == "follow":
            return self.follow_commands.follow(chat.id, args)
        return self.follow_commands.unfollow(chat.id, args)


def _info(text: str) -> Reply:
    return Reply((Block.of(text),), kind="info")


def _invalid(text: str) -> Reply:
    return Reply((Block.of(text),), kind="invalid", message=text)
