"""The Telegram adapter: python-telegram-bot handlers over the answer core.

It maps updates to `Answers` calls and renders the `Reply` as HTML; everything a user is told
comes from the answer core. The adapter is this package (`bot.telegram`): digest jobs,
sources and alerts, sending, rendering and the webhook server beside this module.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.core.answers import Answers, ChatPrefs
from bot.core.digests import DigestService
from bot.core.follows import Follows
from bot.core.reply import Reply
from bot.core.state import ChatState
from bot.core.subscriptions import Subscriptions
from bot.settings import ConfigError, Settings
from bot.telegram.digests import DigestCommands, DigestJobs
from bot.telegram.render import render_messages
from bot.telegram.send import NO_PREVIEW, with_retries
from bot.telegram.sources import POLL_EVERY_SECONDS, FreshCoverage
from retrieval.channels import parse_channel_list
from retrieval.library import Library

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("search", "Ranked list of posts matching words"),
    BotCommand("latest", "The newest posts: /latest 5"),
    BotCommand("digest", "What is new since the last digest"),
    BotCommand("subscribe", "Daily digest here: /subscribe 08:00 Europe/Kyiv"),
    BotCommand("unsubscribe", "Stop the daily digest"),
    BotCommand("subscription", "When the next digest comes"),
    BotCommand("follow", "Alert this chat about new posts: /follow Bakhmut"),
    BotCommand("unfollow", "Stop an alert: /unfollow Bakhmut"),
    BotCommand("following", "What this chat follows"),
    BotCommand("timezone", "Show times in your timezone: /timezone Europe/Kyiv"),
    BotCommand("start", "What coverage is loaded"),
    BotCommand("help", "What I can do"),
]
SLOW_DOWN = "You're asking faster than I can read — please slow down and try again in a minute."
SOMETHING_WRONG = "Sorry, something went wrong on my side. Please try again."


class FloodGuard:
    """At most `limit` requests per user in any 60 seconds; past that, no work is done."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._seen: defaultdict[int, deque[float]] = defaultdict(deque)

    def allow(self, user_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen[user_id]
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True


class TelegramBot:
    """Handlers sharing one answer core, chat state and flood guard."""

    def __init__(
        self,
        answers: Answers,
        state: ChatState,
        guard: FloodGuard,
        digests: DigestCommands,
        fresh: FreshCoverage,
    ) -> None:
        self.answers = answers
        self.state = state
        self.guard = guard
        self.digests = digests
        self.fresh = fresh

    def prefs(self, chat_id: int | None) -> ChatPrefs:
        if chat_id is None:
            return ChatPrefs(self.state.timezone(0))
        return ChatPrefs(self.state.timezone(chat_id))

    # -- handlers ---------------------------------------------------------------------------

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Say what coverage is loaded."""
        await self._reply(update, self.answers.start(self._prefs(update)))

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List the commands."""
        await self._reply(update, self.answers.help())

    async def search(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A ranked list with page buttons."""
        if await self._flooded(update):
            return
        query = " ".join(context.args or [])
        await self._reply(update, self.answers.search(query, self._prefs(update)))

    async def latest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The newest posts."""
        if await self._flooded(update):
            return
        args = " ".join(context.args or [])
        await self._reply(update, self.answers.latest_command(args, self._prefs(update)))

    async def timezone(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show or set the chat's timezone (persisted)."""
        chat = update.effective_chat
        if chat is None:
            return
        args = " ".join(context.args or [])

        def save(zone: str) -> None:
            self.state.set_timezone(chat.id, zone)

        await self._reply(update, self.answers.timezone(args, self._prefs(update), save))

    async def subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Start or change the chat's daily digest (administrators only in groups)."""
        await self._reply(update, await self.digests.subscribe(update, context))

    async def unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stop the chat's daily digest."""
        await self._reply(update, await self.digests.unsubscribe(update, context))

    async def subscription(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show the chat's digest settings."""
        await self._reply(update, await self.digests.subscription(update, context))

    async def digest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The digest now: what is new since this chat's last one."""
        chat = update.effective_chat
        if chat is None or await self._flooded(update):
            return
        out = self.digests.digest(chat.id)
        await self._reply(update, out.reply)
        self.digests.jobs.service.sent(out)

    async def sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List, add or remove polled sources and channels (LIVEBLOG_ADMINS only)."""
        await self._reply(update, await self.fresh.sources_command(update, context))

    async def follow(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Alert this chat when a new post matches a query."""
        await self._reply(update, await self.fresh.follow_command(update, context, "follow"))

    async def unfollow(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stop one of this chat's alerts."""
        await self._reply(update, await self.fresh.follow_command(update, context, "unfollow"))

    async def following(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List this chat's alerts."""
        await self._reply(update, await self.fresh.follow_command(update, context, "following"))

    async def question(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text in a private chat, or a mention/reply in a group: answer with quotes."""
        message = update.effective_message
        if message is None or message.text is None or await self._flooded(update):
            return
        text = _strip_mention(message.text, context.bot.username)
        await self._reply(update, self.answers.ask(text, self._prefs(update)))

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An unknown command: point to /help."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        await self._reply(update, self.answers.handle(message.text.split()[0], self._prefs(update)))

    async def page(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A ◀ ▶ press: edit the list in place, or say it expired."""
        query = update.callback_query
        if query is None:
            return
        reply = self.answers.page(query.data or "", self._prefs(update))
        if reply.kind == "invalid":
            await query.answer(reply.message or "This list has expired — search again.")
            return
        await query.answer()
        if query.message is None or not isinstance(query.message, Message):
            return
        text = render_messages(reply)[0]
        try:
            await query.message.edit_text(
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=_keyboard(reply),
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise

    async def inline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Inline mode: hits (or the latest posts) as articles, 10 at a time."""
        inline_query = update.inline_query
        if inline_query is None:
            return
        if not self.guard.allow(inline_query.from_user.id):
            await inline_query.answer([], cache_time=5)
            return
        answer = self.answers.inline(inline_query.query, inline_query.offset, self.prefs(None))
        results = [
            InlineQueryResultArticle(
                id=item.result.post_id,
                title=item.result.title[:256],
                description=f"{item.result.published_at} · {item.result.source} — "
                f"{item.result.excerpt}"[:512],
                url=item.result.url,
                input_message_content=InputTextMessageContent(
                    render_messages(item.message)[0],
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                ),
            )
            for item in answer.items
        ]
        await inline_query.answer(results, next_offset=answer.next_offset, cache_time=30)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failing update and the exception; tell the user; keep running."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed", update_id, exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(update.effective_chat.id, SOMETHING_WRONG)
            except Exception:  # telling the user is best effort
                log.warning("could not tell chat %s about the error", update.effective_chat.id)

    # -- helpers ----------------------------------------------------------------------------

    def _prefs(self, update: Update) -> ChatPrefs:
        chat = update.effective_chat
        return self.prefs(chat.id if chat else None)

    async def _flooded(self, update: Update) -> bool:
        user = update.effective_user
        if user is None or self.guard.allow(user.id):
            return False
        message = update.effective_message
        if message is not None:
            await with_retries(lambda: message.reply_text(SLOW_DOWN))
        return True

    async def _reply(self, update: Update, reply: Reply) -> None:
        message = update.effective_message
        if message is None:
            return
        chunks = render_messages(reply)
        for n, chunk in enumerate(chunks):
            markup = _keyboard(reply) if n == len(chunks) - 1 else None

            def send(
                chunk: str = chunk, markup: InlineKeyboardMarkup | None = markup
            ) -> Awaitable[Any]:
                return message.reply_text(
                    chunk,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                    reply_markup=markup,
                    do_quote=message.chat.type != ChatType.PRIVATE,
                )

            await with_retries(send)


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.cursor) for b in reply.buttons]]
    )


def _strip_mention(text: str, username: str | None) -> str:
    if username:
        text = text.replace(f"@{username}", " ").replace(f"@{username.lower()}", " ")
    return " ".join(text.split())


class _AddressedToBot(filters.MessageFilter):
    """Group messages meant for the bot: they mention it, or reply to one of its messages."""

    def __init__(self) -> None:
        super().__init__(name="addressed_to_bot")
        self.username: str | None = None
        self.bot_id: int | None = None

    def filter(self, message: Message) -> bool:
        text = (message.text or "").lower()
        if self.username and f"@{self.username.lower()}" in text:
            return True
        replied = message.reply_to_message
        return bool(
            replied and replied.from_user and self.bot_id and replied.from_user.id == self.bot_id
        )


def build_application(
    settings: Settings, library: Library
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Assemble the Application: handlers, error handler, rate limiter, commands at start."""
    if settings.telegram_token is None:
        raise ConfigError("LIVEBLOG_TELEGRAM_TOKEN: required to run the Telegram bot")
    token = settings.telegram_token.get_secret_value()
    state = ChatState(library.store.db, settings.timezone)
    subscriptions = Subscriptions(library.store.db)
    jobs = DigestJobs(DigestService(library.store, subscriptions), subscriptions)

    def prefs_of(chat_id: int) -> ChatPrefs:
        return ChatPrefs(state.timezone(chat_id))

    fresh = FreshCoverage(
        library,
        Follows(library.store.db),
        state.timezone,
        settings.admins,
        parse_channel_list(settings.channels),
    )
    bot = TelegramBot(
        Answers(library, state),
        state,
        FloodGuard(settings.flood_limit),
        DigestCommands(jobs, prefs_of),
        fresh,
    )
    addressed = _AddressedToBot()

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        me = await app.bot.get_me()
        addressed.username, addressed.bot_id = me.username, me.id
        await app.bot.set_my_commands(COMMANDS)
        jobs.restore(app)
        if app.job_queue is not None:
            app.job_queue.run_repeating(fresh.poll_job, interval=POLL_EVERY_SECONDS, first=1)
        log.info("bot @%s ready", me.username)

    root = settings.telegram_api_url
    app = (
        Application.builder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .rate_limiter(AIORateLimiter(max_retries=3))
        .post_init(post_init)
        .build()
    )
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    # Every command is a method of the same name; /sources is for admins, so not advertised.
    for command in [c.command for c in COMMANDS] + ["sources"]:
        app.add_handler(CommandHandler(command, getattr(bot, command)))
    channel_posts = filters.UpdateType.CHANNEL_POST | filters.UpdateType.EDITED_CHANNEL_POST
    app.add_handler(MessageHandler(channel_posts, fresh.channel_post))
    app.add_handler(CallbackQueryHandler(bot.page))
    app.add_handler(InlineQueryHandler(bot.inline))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & private, bot.question))
    app.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & groups & addressed, bot.question)
    )
    app.add_handler(MessageHandler(filters.COMMAND & (private | (groups & addressed)), bot.unknown))
    app.add_error_handler(bot.on_error)
    return app


def run_bot(settings: Settings, library: Library) -> None:
    """Serve until SIGINT/SIGTERM: long polling, or a webhook when its URL is configured."""
    app = build_application(settings, library)
    if settings.telegram_webhook_url:
        if settings.telegram_webhook_secret is None:
            raise ConfigError("LIVEBLOG_TELEGRAM_WEBHOOK_SECRET: required in webhook mode")
        # Our own ASGI server, not PTB's run_webhook: it adds /healthz and request limits.
        from bot.telegram.webhook import run_webhook

        run_webhook(app, settings)
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    log.info("stopped")
