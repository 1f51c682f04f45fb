"""The Telegram adapter: python-telegram-bot handlers generated from the command table.

Each update becomes a plain `Chat` plus text for the command core (`bot.core.dispatch`), and
the core's `Reply` is rendered as Telegram HTML. Everything a user is told comes from the core;
this package only maps, renders, guards and delivers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.core.chat import TERMINAL_CHAT_ID, Chat
from bot.core.commands import Command, MenuScope, menu, on_surface
from bot.core.dispatch import CommandCore
from bot.core.freshness import Freshness
from bot.core.reply import Reply
from bot.core.state import ChatState
from bot.settings import ConfigError, Settings
from bot.telegram.chats import TelegramDirectory, chat_of
from bot.telegram.concurrency import PerChatProcessor
from bot.telegram.digests import DigestJobs
from bot.telegram.guard import UpdateGuard
from bot.telegram.ratelimit import PerChatRateLimiter
from bot.telegram.render import render_messages
from bot.telegram.send import NO_PREVIEW, with_retries
from bot.telegram.sources import FreshCoverage
from retrieval.channels import parse_channel_list
from retrieval.library import Library

log = logging.getLogger(__name__)

SOMETHING_WRONG = "Sorry, something went wrong on my side. Please try again."
AnyApp = Application[Any, Any, Any, Any, Any, Any]
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
MENU_SCOPES: list[tuple[Any, MenuScope]] = [
    (BotCommandScopeDefault(), "private"),
    (BotCommandScopeAllPrivateChats(), "private"),
    (BotCommandScopeAllGroupChats(), "groups"),
    (BotCommandScopeAllChatAdministrators(), "group_admins"),
]


class TelegramBot:
    """Handlers over one command core."""

    def __init__(self, core: CommandCore, admins: Iterable[int]) -> None:
        self.core = core
        self.admins = frozenset(admins)

    def command_handler(self, command: Command) -> Handler:
        """The handler of one table entry: build the chat, run the command, reply."""

        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            chat = await chat_of(update, context.bot, self.admins, command)
            if chat is not None:
                args = " ".join(context.args or [])
                await self.reply(update, await self.core.dispatch(chat, command.name, args))

        handle.__doc__ = f"/{command.name}: {command.help}."
        return handle

    async def question(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text in a private chat, or a mention/reply in a group: answer with quotes."""
        message = update.effective_message
        chat = await chat_of(update, context.bot, self.admins)
        if message is None or message.text is None or chat is None:
            return
        text = _strip_mention(message.text, context.bot.username)
        await self.reply(update, await self.core.handle(chat, text))

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command the table has not given Telegram: the core says what to do instead."""
        message = update.effective_message
        chat = await chat_of(update, context.bot, self.admins)
        if message is None or message.text is None or chat is None:
            return
        name = message.text.split()[0][1:].split("@", 1)[0]
        await self.reply(update, await self.core.dispatch(chat, name, ""))

    async def page(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A ◀ ▶ press: edit the list in place, or say it expired."""
        query = update.callback_query
        chat = await chat_of(update, context.bot, self.admins)
        if query is None or chat is None:
            return
        reply = self.core.press(chat, query.data or "")
        if reply.kind == "invalid":
            await query.answer(reply.message or "This list has expired — search again.")
            return
        await query.answer()
        if query.message is None or not isinstance(query.message, Message):
            return
        try:
            await query.message.edit_text(
                render_messages(reply)[0],
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
        user = inline_query.from_user
        prefs = self.core.prefs(Chat(user.id, "telegram"))  # the user's own /timezone
        answer = self.core.answers.inline(inline_query.query, inline_query.offset, prefs)
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

    async def reply(self, update: Update, reply: Reply) -> None:
        """Send the reply as HTML messages under the user's message (buttons on the last)."""
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


async def register_menus(app: AnyApp, admins: Iterable[int]) -> None:
    """Telegram's command menus, one per scope, from the command table."""
    for scope, name in MENU_SCOPES:
        await app.bot.set_my_commands([BotCommand(c, d) for c, d in menu(name)], scope=scope)
    for admin in admins:
        commands = [BotCommand(c, d) for c, d in menu("bot_admins")]
        try:
            await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:  # an operator who never opened a chat with the bot
            log.info("no operator menu for %s yet: %s", admin, exc.message)


def build_application(settings: Settings, library: Library) -> AnyApp:
    """Assemble the Application: guard, handlers from the table, jobs, menus at start."""
    if settings.telegram_token is None:
        raise ConfigError("LIVEBLOG_TELEGRAM_TOKEN: required to run the Telegram bot")
    token = settings.telegram_token.get_secret_value()
    addressed = _AddressedToBot()

    async def post_init(app: AnyApp) -> None:
        me = await app.bot.get_me()
        addressed.username, addressed.bot_id = me.username, me.id
        await register_menus(app, settings.admins)
        digests.start(app)
        fresh.start(app)
        log.info("bot @%s ready", me.username)

    root = settings.telegram_api_url
    app = (
        Application.builder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .rate_limiter(PerChatRateLimiter())
        .concurrent_updates(PerChatProcessor())
        .post_init(post_init)
        .build()
    )
    state = ChatState(library.store.db, settings.timezone)
    core = CommandCore(
        library,
        state,
        directory=TelegramDirectory(app.bot),
        allow_private_sources=settings.allow_private_sources,
    )
    bot = TelegramBot(core, settings.admins)
    digests = DigestJobs(core.digests)
    fresh = FreshCoverage(
        Freshness(
            library,
            core.follows,
            state.timezone,
            lambda chat: chat != TERMINAL_CHAT_ID,
            allow_private_sources=settings.allow_private_sources,
        ),
        parse_channel_list(settings.channels),
    )
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    guard = UpdateGuard(settings.flood_limit, addressed.filter)
    app.add_handler(TypeHandler(Update, guard), group=-1)
    for command in on_surface("telegram"):
        app.add_handler(CommandHandler(command.name, bot.command_handler(command)))
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
