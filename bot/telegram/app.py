"""The Telegram adapter: python-telegram-bot handlers generated from the command table.

Each update becomes a plain `Chat` plus text for the command core (`bot.core.dispatch`), and
the core's `Reply` is rendered as Telegram HTML. Everything a user is told comes from the core;
this package only maps, renders, guards and delivers. The core runs on the library worker
(`bot.telegram.worker`): a handler hands it the work and awaits the reply, and PTB's loop goes on
receiving and sending meanwhile; a chat whose answer takes a while sees "typing…".
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

from telegram import (
    Bot,
    ChatMember,
    ForceReply,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.core.answers import InlineAnswer
from bot.core.chat import TERMINAL_CHAT_ID, Chat
from bot.core.commands import Command, find, on_surface
from bot.core.dispatch import CommandCore
from bot.core.freshness import Freshness
from bot.core.reply import Reply
from bot.core.state import ChatState
from bot.settings import ConfigError, Settings
from bot.telegram.chats import TelegramDirectory, chat_of
from bot.telegram.concurrency import PerChatProcessor
from bot.telegram.digests import DigestJobs
from bot.telegram.guard import UpdateGuard
from bot.telegram.lag import LoopLagProbe
from bot.telegram.menus import register_menus
from bot.telegram.messages import AddressedToBot, keyboard, small_talk_in_group, strip_mention
from bot.telegram.polling import WatchedRequest, revoked_error
from bot.telegram.ratelimit import PerChatRateLimiter
from bot.telegram.render import render_messages
from bot.telegram.send import NO_PREVIEW, edit_to, send_reply, with_retries
from bot.telegram.sources import FreshCoverage
from bot.telegram.worker import LibraryWorker
from retrieval.channels import parse_channel_list
from retrieval.library import Library

log = logging.getLogger(__name__)

SOMETHING_WRONG = "Sorry, something went wrong on my side. Please try again."
NOTHING_INLINE = "Nothing matches — ask me in a chat"
ANSWERS_KEPT = 2000  # questions whose answer an edit of the question may still replace
TYPING_AFTER = 1.0  # seconds an answer may take before the chat sees "typing…"
TYPING_AGAIN = 4.5  # Telegram shows it for 5 seconds or until the bot's next message
JOINED = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR}
OUTSIDE = {ChatMember.LEFT, ChatMember.BANNED}
AnyApp = Application[Any, Any, Any, Any, Any, Any]
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
T = TypeVar("T")


class TelegramBot:
    """Handlers over one command core, which runs on the library worker."""

    def __init__(self, core: CommandCore, admins: Iterable[int], worker: LibraryWorker) -> None:
        self.core = core
        self.admins = frozenset(admins)
        self.worker = worker
        self._typing_now: set[asyncio.Future[None]] = set()  # kept until done (not collected)
        # (chat id, the user's message id) → the bot's first message answering it, so an
        # edited question edits that answer instead of getting a second one.
        self._answers: OrderedDict[tuple[int, int], Message] = OrderedDict()

    def command_handler(self, command: Command) -> Handler:
        """The handler of one table entry: build the chat, run the command, reply."""

        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            chat = await chat_of(update, context.bot, self.admins, command)
            if chat is not None:
                args = " ".join(context.args or [])
                reply = await self.work(
                    update, context.bot, self.core.dispatch(chat, command.name, args)
                )
                await self.reply(update, reply)

        handle.__doc__ = f"/{command.name}: {command.help}."
        return handle

    async def question(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text in a private chat, or a mention/reply in a group: answer with quotes."""
        message = update.effective_message
        chat = await chat_of(update, context.bot, self.admins)
        if message is None or message.text is None or chat is None:
            return
        text = strip_mention(message.text, context.bot.username)
        answering, reply = await self.work(update, context.bot, self._answer(chat, text))
        if (
            reply.kind == "empty"
            and not answering
            and small_talk_in_group(message, text, context.bot.username)
        ):
            return  # "lol thanks" to the bot: no public "nothing matches"
        sent = await self.reply(update, reply)
        if sent:
            self._answers[(message.chat_id, message.message_id)] = sent[0]
            while len(self._answers) > ANSWERS_KEPT:
                self._answers.popitem(last=False)

    async def _answer(self, chat: Chat, text: str) -> tuple[bool, Reply]:
        """On the worker: whether the text answers a command's question (not chatter), and
        the reply."""
        answering = self.core.waiting(chat)
        return answering, await self.core.handle(chat, text)

    async def work(self, update: Update, bot: Bot, job: Coroutine[Any, Any, T]) -> T:
        """Run core work on the worker; if it takes a while, the chat sees "typing…"."""
        future = asyncio.ensure_future(self.worker.run(job))
        chat = update.effective_chat
        try:
            delay = TYPING_AFTER
            while chat is not None:
                done, _ = await asyncio.wait({future}, timeout=delay)
                if done:
                    break
                # Beside the work, never in its way (a chat paused by a 429 may hold it).
                typing = asyncio.ensure_future(self._typing(bot, chat.id, update))
                self._typing_now.add(typing)
                typing.add_done_callback(self._typing_now.discard)
                delay = TYPING_AGAIN
            return await future
        finally:
            future.cancel()  # the handler was cancelled (shutdown): so is its work

    @staticmethod
    async def _typing(bot: Bot, chat_id: int, update: Update) -> None:
        message = update.effective_message
        topic = message.message_thread_id if message and message.is_topic_message else None
        try:
            await bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=topic)
        except TelegramError as exc:  # a courtesy: the answer matters, not the action
            log.debug("typing in chat %s: %s", chat_id, exc)

    async def edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited question: edit the answer it got, in place (nothing new is sent)."""
        message = update.edited_message
        if message is None or message.text is None or message.text.startswith("/"):
            return
        answer = self._answers.get((message.chat_id, message.message_id))
        chat = await chat_of(update, context.bot, self.admins)
        if answer is None or chat is None:
            return
        text = strip_mention(message.text, context.bot.username)
        reply = await self.work(update, context.bot, self.core.handle(chat, text))
        await edit_to(answer, reply)

    async def media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A sticker, photo, voice message…: one line on what the bot can do."""
        chat = await chat_of(update, context.bot, self.admins)
        if chat is not None:
            await self.reply(update, await self.worker.call(self.core.media_hint, chat))

    async def joined(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Added to a group: a short how-to, once."""
        change = update.my_chat_member
        if change is None or change.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
            return
        if change.old_chat_member.status not in OUTSIDE:
            return
        if change.new_chat_member.status not in JOINED:
            return
        chat = await chat_of(update, context.bot, self.admins)
        if chat is None:
            return
        reply = await self.worker.call(self.core.welcome, chat)
        await with_retries(lambda: send_reply(context.bot, change.chat.id, reply))

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command the table has not given Telegram: the core says what to do instead."""
        message = update.effective_message
        chat = await chat_of(update, context.bot, self.admins)
        if message is None or message.text is None or chat is None:
            return
        name = message.text.split()[0][1:].split("@", 1)[0]
        await self.reply(
            update, await self.work(update, context.bot, self.core.dispatch(chat, name, ""))
        )

    async def page(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A ◀ ▶ press: edit the list in place, or say it expired."""
        query = update.callback_query
        chat = await chat_of(update, context.bot, self.admins)
        if query is None or chat is None:
            return
        typed = self.core.typed(query.data or "")
        if typed is not None:  # an example question, "/unfollow 2": as if the user typed it
            await self.press_typed(update, context, typed)
            return
        reply = await self.worker.call(self.core.press, chat, query.data or "")
        if reply.kind == "invalid":
            await query.answer(reply.message or "This list has expired — search again.")
            return
        await query.answer()
        if query.message is None or not isinstance(query.message, Message):
            return
        await edit_to(query.message, reply)

    async def press_typed(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str
    ) -> None:
        """A button that types for the user: run it with the rights the command needs."""
        query = update.callback_query
        if query is None:
            return
        command = find(text[1:].split()[0].split("@", 1)[0]) if text.startswith("/") else None
        chat = await chat_of(update, context.bot, self.admins, command)
        if chat is None:
            return
        reply = await self.work(update, context.bot, self.core.handle(chat, text))
        if reply.kind == "invalid" and reply.message and len(reply.message) <= 200:
            await query.answer(reply.message)
            return
        await query.answer()
        if query.message is not None and isinstance(query.message, Message):
            await self.send(query.message, reply, quote=False)

    async def inline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Inline mode: hits (or the latest posts) as articles, 10 at a time."""
        inline_query = update.inline_query
        if inline_query is None:
            return
        answer = await self.worker.call(
            self._inline, inline_query.from_user.id, inline_query.query, inline_query.offset
        )
        results = [
            InlineQueryResultArticle(
                id=item.result.post_id,
                title=item.result.title[:256],
                description=item.description[:512],
                url=item.result.url,
                input_message_content=InputTextMessageContent(
                    render_messages(item.message)[0],
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                ),
            )
            for item in answer.items
        ]
        button = None
        if not results and not inline_query.offset:
            button = InlineQueryResultsButton(NOTHING_INLINE, start_parameter="inline")
        await inline_query.answer(
            results,
            next_offset=answer.next_offset,
            cache_time=30,
            is_personal=True,  # times are in the user's own /timezone
            button=button,
        )

    def _inline(self, user_id: int, query: str, offset: str) -> InlineAnswer:
        """On the worker: the inline page, times in the user's own /timezone."""
        prefs = self.core.prefs(Chat(user_id, "telegram"))
        return self.core.answers.inline(query, offset, prefs)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failing update and the exception; tell the user; keep running."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed", update_id, exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(update.effective_chat.id, SOMETHING_WRONG)
            except Exception:  # telling the user is best effort
                log.warning("could not tell chat %s about the error", update.effective_chat.id)

    async def reply(self, update: Update, reply: Reply) -> list[Message]:
        """Send the reply as HTML messages under the user's message (buttons on the last)."""
        message = update.effective_message
        if message is None:
            return []
        return await self.send(message, reply, quote=message.chat.type != ChatType.PRIVATE)

    async def send(self, message: Message, reply: Reply, *, quote: bool) -> list[Message]:
        """The reply in `message`'s chat and forum topic; a question asked gets ForceReply."""
        chunks = render_messages(reply)
        sent: list[Message] = []
        for n, chunk in enumerate(chunks):
            markup: InlineKeyboardMarkup | ForceReply | None = None
            if n == len(chunks) - 1:
                markup = ForceReply(selective=True) if reply.asks else keyboard(reply)

            def send(
                chunk: str = chunk, markup: InlineKeyboardMarkup | ForceReply | None = markup
            ) -> Awaitable[Any]:
                return message.reply_text(
                    chunk,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                    reply_markup=markup,
                    do_quote=quote,
                )

            sent.append(await with_retries(send))
        return sent


def build_application(
    settings: Settings, library: Library, updates_request: WatchedRequest | None = None
) -> AnyApp:
    """Assemble the Application: guard, handlers from the table, jobs, menus at start.

    The library worker starts with the Application (`post_init`) and is joined when it has
    shut down (`post_shutdown`), in long polling and webhook mode alike.
    """
    if settings.telegram_token is None:
        raise ConfigError("LIVEBLOG_TELEGRAM_TOKEN: required to run the Telegram bot")
    token = settings.telegram_token.get_secret_value()
    addressed = AddressedToBot()
    worker = LibraryWorker()
    probe = LoopLagProbe()

    async def post_init(app: AnyApp) -> None:
        worker.start()
        directory.home = asyncio.get_running_loop()
        probe.start()
        me = await app.bot.get_me()
        addressed.username, addressed.bot_id = me.username, me.id
        await register_menus(app, settings.admins)
        await app.bot.set_my_description(settings.telegram_description)
        await app.bot.set_my_short_description(settings.telegram_short_description)
        digests.start(app)
        fresh.start(app)
        log.info("bot @%s ready", me.username)

    async def post_shutdown(app: AnyApp) -> None:
        await probe.stop()
        # In a thread: work still finishing there may need this loop (a Bot API lookup).
        await asyncio.to_thread(worker.stop)

    root = settings.telegram_api_url
    updates_request = updates_request or WatchedRequest()
    app = (
        Application.builder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .get_updates_request(updates_request)
        .rate_limiter(PerChatRateLimiter())
        .concurrent_updates(PerChatProcessor())
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    updates_request.on_revoked = app.stop_running
    state = ChatState(library.store.db, settings.timezone)
    directory = TelegramDirectory(app.bot)
    core = CommandCore(
        library,
        state,
        directory=directory,
        allow_private_sources=settings.allow_private_sources,
        examples=tuple(settings.example_questions),
    )
    bot = TelegramBot(core, settings.admins, worker)
    digests = DigestJobs(core.digests, worker)
    fresh = FreshCoverage(
        Freshness(
            library,
            core.follows,
            state.timezone,
            lambda chat: chat != TERMINAL_CHAT_ID,
            allow_private_sources=settings.allow_private_sources,
        ),
        worker,
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
    # New messages only: an edited question edits its answer (`bot.edited`, below).
    text = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(text & private, bot.question))
    app.add_handler(MessageHandler(text & groups & addressed, bot.question))
    edits = filters.UpdateType.EDITED_MESSAGE & filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(edits & (private | (groups & addressed)), bot.edited))
    media = (
        filters.Sticker.ALL
        | filters.PHOTO
        | filters.VOICE
        | filters.AUDIO
        | filters.VIDEO
        | filters.VIDEO_NOTE
        | filters.ANIMATION
        | filters.Document.ALL
    )
    # Private chats only: a sticker in a group, even one replying to the bot, is small talk.
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & media & private, bot.media))
    app.add_handler(ChatMemberHandler(bot.joined, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.COMMAND & (private | (groups & addressed)), bot.unknown))
    app.add_error_handler(bot.on_error)
    return app


def run_bot(settings: Settings, library: Library) -> None:
    """Serve until SIGINT/SIGTERM: long polling, or a webhook when its URL is configured."""
    updates_request = WatchedRequest()
    app = build_application(settings, library, updates_request)
    if settings.telegram_webhook_url:
        if settings.telegram_webhook_secret is None:
            raise ConfigError("LIVEBLOG_TELEGRAM_WEBHOOK_SECRET: required in webhook mode")
        # Our own ASGI server, not PTB's run_webhook: it adds /healthz and request limits.
        from bot.telegram.webhook import run_webhook

        run_webhook(app, settings)
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
        if updates_request.revoked:
            raise revoked_error()
    log.info("stopped")
