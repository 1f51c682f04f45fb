"""The emulator's corrections hold: python-telegram-bot's own Bot parses every answer.

These tests speak to the launcher with `telegram.Bot` directly (not liveblog-bot), so that an
end-to-end failure later can be pinned on the bot, not on the emulator.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    ChatMemberAdministrator,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.e2e.emulator import (
    BOT_ID,
    BOT_USERNAME,
    Emulator,
    EmulatorError,
    ReplyTimeout,
    TelegramChat,
    TelegramUser,
)

NEXT_PAGE = InlineKeyboardMarkup([[InlineKeyboardButton("Next »", callback_data="page:2")]])


@pytest.fixture
def anyio_backend() -> str:
    """PTB runs on asyncio."""
    return "asyncio"


@pytest.fixture
async def bot(emulator: Emulator, bot_token: str) -> AsyncIterator[Bot]:
    """PTB's Bot pointed at the emulator, as liveblog-bot will configure it."""
    async with Bot(
        bot_token, base_url=emulator.base_url, base_file_url=emulator.base_file_url
    ) as b:
        yield b


# ----- the four parse failures of upstream 4.2.1 ----------------------------------------------


@pytest.mark.anyio
async def test_get_me_parses_as_a_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot is True
    assert (me.id, me.username) == (BOT_ID, BOT_USERNAME)
    assert me.supports_inline_queries is True


@pytest.mark.anyio
async def test_sent_message_is_dated_now_not_in_year_50000(
    bot: Bot, tg_user: Callable[..., TelegramUser]
) -> None:
    user = tg_user()
    sent = await bot.send_message(user.chat.id, "hello")
    assert abs(sent.date - datetime.now(UTC)) < timedelta(minutes=1)
    assert sent.from_user is not None and sent.from_user.id == BOT_ID
    (seen,) = user.wait_for_replies(1, timeout=2)
    assert (seen.message_id, seen.text) == (sent.message_id, "hello")


@pytest.mark.anyio
async def test_edit_message_text_returns_the_edited_message(
    bot: Bot, tg_user: Callable[..., TelegramUser]
) -> None:
    user = tg_user()
    sent = await bot.send_message(user.chat.id, "draft", reply_markup=NEXT_PAGE)
    (seen,) = user.wait_for_replies(1, timeout=2)
    assert seen.button(data="page:2")["text"] == "Next »"

    edited = await bot.edit_message_text("final", chat_id=user.chat.id, message_id=sent.message_id)

    assert isinstance(edited, Message)
    assert (edited.message_id, edited.text) == (sent.message_id, "final")
    assert edited.edit_date is not None
    assert edited.reply_markup is None  # an edit without reply_markup removes the keyboard
    now = user.chat.wait_for_edit(seen, timeout=2)
    assert now.text == "final"
    assert now.buttons == []


@pytest.mark.anyio
async def test_editing_an_unknown_message_is_a_bad_request(
    bot: Bot, tg_user: Callable[..., TelegramUser]
) -> None:
    user = tg_user()
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=user.chat.id, message_id=987654)


@pytest.mark.anyio
async def test_callback_query_parses_with_chat_instance(
    bot: Bot, tg_user: Callable[..., TelegramUser]
) -> None:
    user = tg_user()
    sent = await bot.send_message(user.chat.id, "page 1", reply_markup=NEXT_PAGE)
    (seen,) = user.wait_for_replies(1, timeout=2)

    query_id = user.press_button(seen, text="Next »")
    (update,) = await bot.get_updates()

    query = update.callback_query
    assert query is not None
    assert (query.id, query.data) == (query_id, "page:2")
    assert query.chat_instance
    assert query.from_user.id == user.id
    assert isinstance(query.message, Message)
    assert query.message.message_id == sent.message_id
    assert query.message.from_user is not None and query.message.from_user.id == BOT_ID
    assert await query.answer("Loading…") is True


# ----- getUpdates: long polling and offsets ---------------------------------------------------


@pytest.mark.anyio
async def test_get_updates_waits_for_the_timeout_when_nothing_is_pending(bot: Bot) -> None:
    started = time.monotonic()
    updates = await bot.get_updates(timeout=2)
    assert updates == ()
    assert time.monotonic() - started >= 1.0  # it waited: no busy loop for a polling bot


@pytest.mark.anyio
async def test_get_updates_returns_promptly_when_an_update_arrives(
    bot: Bot, tg_user: Callable[..., TelegramUser]
) -> None:
    user = tg_user()

    async def write_later() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(user.send_message, "ping")

    writer = asyncio.create_task(write_later())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=20)
    elapsed = time.monotonic() - started
    await writer

    assert [u.message.text for u in updates if u.message] == ["ping"]
    assert elapsed < 10  # answered on arrival, well before the 20 s timeout


@pytest.mark.anyio
async def test_updates_stay_until_an_offset_confirms_them(
    bot: Bot, tg_user: Callable[..., TelegramUser]
) -> None:
    user = tg_user()
    user.send_message("one")
    user.send_message("two")

    first = await bot.get_updates()
    again = await bot.get_updates()
    assert [u.update_id for u in again] == [u.update_id for u in first]
    assert len(first) == 2

    tail = await bot.get_updates(offset=first[0].update_id + 1)
    assert [u.message.text for u in tail if u.message] == ["two"]
    assert await bot.get_updates(offset=first[-1].update_id + 1) == ()


@pytest.mark.anyio
async def test_a_second_bot_instance_supersedes_a_waiting_get_updates(
    bot: Bot, emulator: Emulator, bot_token: str
) -> None:
    waiting = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.3)
    async with Bot(bot_token, base_url=emulator.base_url) as second:
        assert await second.get_updates() == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await waiting


# ----- what users do, as the bot receives it ---------------------------------------------------


@pytest.mark.anyio
async def test_private_message_reaches_get_updates(
    bot: Bot, tg_user: Callable[..., TelegramUser]
) -> None:
    user = tg_user(first_name="Ann", username="ann")
    message_id = user.send_message("what happened at noon?")

    (update,) = await bot.get_updates()

    message = update.message
    assert message is not None
    assert (message.message_id, message.text) == (message_id, "what happened at noon?")
    assert (message.chat.id, message.chat.type) == (user.id, "private")
    assert message.from_user is not None and message.from_user.first_name == "Ann"
    assert "botToken" not in message.api_kwargs
    assert abs(message.date - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.anyio
async def test_group_command_mention_and_reply_reach_get_updates(
    bot: Bot, tg_group: Callable[..., TelegramChat]
) -> None:
    group = tg_group(title="Newsroom", supergroup=True)
    alice = group.member(first_name="Alice")
    await bot.send_message(group.id, "latest: the summit opened")
    (bot_message,) = group.wait_for_replies(1, timeout=2)

    alice.send_command(f"/latest@{BOT_USERNAME} 3")
    alice.mention_bot("any news?")
    alice.reply_to(bot_message, "source?")
    command, mention, reply = await bot.get_updates()

    assert command.message is not None and mention.message is not None and reply.message
    chat = command.message.chat
    assert (chat.id, chat.type, chat.title) == (group.id, "supergroup", "Newsroom")
    assert command.message.parse_entities([MessageEntity.BOT_COMMAND]).popitem()[1] == (
        f"/latest@{BOT_USERNAME}"
    )
    assert (
        mention.message.parse_entities([MessageEntity.MENTION]).popitem()[1] == f"@{BOT_USERNAME}"
    )
    replied = reply.message.reply_to_message
    assert replied is not None and replied.message_id == bot_message.message_id
    assert replied.from_user is not None and replied.from_user.id == BOT_ID


@pytest.mark.anyio
async def test_inline_query_round_trips(bot: Bot, tg_user: Callable[..., TelegramUser]) -> None:
    user = tg_user()
    query_id = user.send_inline_query("summit")

    (update,) = await bot.get_updates()
    inline = update.inline_query
    assert inline is not None
    assert (inline.id, inline.query, inline.from_user.id) == (query_id, "summit", user.id)
    result = InlineQueryResultArticle("p1", "Summit opens", InputTextMessageContent("It opened."))
    assert await inline.answer([result], cache_time=0) is True

    answer = user.inline_answer(query_id, timeout=2)
    assert [r["title"] for r in answer["results"]] == ["Summit opens"]


# ----- test-control hooks ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_blocked_chat_answers_forbidden(
    bot: Bot, emulator: Emulator, tg_user: Callable[..., TelegramUser]
) -> None:
    user = tg_user()
    emulator.block(user.chat.id)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(user.chat.id, "digest")
    emulator.block(user.chat.id, blocked=False)
    await bot.send_message(user.chat.id, "digest")


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # retry_after int
async def test_flood_answers_retry_after_once(
    bot: Bot, emulator: Emulator, bot_token: str, tg_user: Callable[..., TelegramUser]
) -> None:
    user = tg_user()
    emulator.flood("sendMessage", token=bot_token, retry_after=3)
    with pytest.raises(RetryAfter, match="3 seconds"):
        await bot.send_message(user.chat.id, "first try")
    await bot.send_message(user.chat.id, "second try")
    statuses = [c["status"] for c in emulator.calls(bot_token, "sendMessage")]
    assert statuses == [429, 200]


@pytest.mark.anyio
async def test_get_chat_member_answers_what_the_test_set(
    bot: Bot, emulator: Emulator, tg_group: Callable[..., TelegramChat]
) -> None:
    group = tg_group()
    editor, reader = group.member(), group.member()
    emulator.set_chat_member(group.id, editor.id, "administrator", user=editor.as_dict())

    admin = await bot.get_chat_member(group.id, editor.id)
    member = await bot.get_chat_member(group.id, reader.id)
    admins = await bot.get_chat_administrators(group.id)

    assert isinstance(admin, ChatMemberAdministrator) and admin.user.id == editor.id
    assert isinstance(member, ChatMemberMember) and member.user.id == reader.id
    assert [a.user.id for a in admins] == [editor.id]


@pytest.mark.anyio
async def test_bot_commands_are_kept(bot: Bot) -> None:
    commands = [BotCommand("latest", "newest posts"), BotCommand("search", "search coverage")]
    assert await bot.set_my_commands(commands) is True
    assert await bot.get_my_commands() == tuple(commands)


# ----- errors have Telegram's shape ------------------------------------------------------------


@pytest.mark.anyio
async def test_errors_carry_telegram_status_and_description(
    bot: Bot, tg_user: Callable[..., TelegramUser]
) -> None:
    user = tg_user()
    with pytest.raises(BadRequest, match="wasn't found"):
        await bot.delete_message(user.chat.id, 987654)
    with pytest.raises(NetworkError, match="getForumTopicIconStickers' is not supported"):
        await bot.get_forum_topic_icon_stickers()


# ----- webhooks --------------------------------------------------------------------------------


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, queue.Queue[tuple[dict[str, str], dict[str, Any]]]]]:
    """A local HTTP endpoint that records what the emulator POSTs to a webhook."""
    received: queue.Queue[tuple[dict[str, str], dict[str, Any]]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.put((dict(self.headers), json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


@pytest.mark.anyio
async def test_webhook_receives_updates_with_the_secret_token(
    bot: Bot,
    tg_user: Callable[..., TelegramUser],
    webhook_receiver: tuple[str, queue.Queue[tuple[dict[str, str], dict[str, Any]]]],
) -> None:
    url, received = webhook_receiver
    user = tg_user()
    assert await bot.set_webhook(url, secret_token="s3cret") is True
    assert (await bot.get_webhook_info()).url == url

    await asyncio.to_thread(user.send_message, "via webhook")
    headers, body = await asyncio.to_thread(received.get, True, 5)

    assert headers.get("X-Telegram-Bot-Api-Secret-Token") == "s3cret"
    update = Update.de_json(body, bot)
    assert update.message is not None and update.message.text == "via webhook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook() is True
    assert await bot.get_updates() == ()


# ----- a whole python-telegram-bot Application ----------------------------------------------------


@pytest.mark.anyio
async def test_a_ptb_application_polls_replies_and_edits(
    emulator: Emulator, bot_token: str, tg_user: Callable[..., TelegramUser]
) -> None:
    """The loop liveblog-bot will run: polling, a command, a button press, an edit."""
    plain: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("<b>page 1</b>", parse_mode="HTML", reply_markup=NEXT_PAGE)

    async def next_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("page 2")

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        plain.append(update.message.text)

    user = tg_user()
    user.send_message("sent before the bot started")  # drop_pending_updates drops it
    app = (
        Application.builder()
        .token(bot_token)
        .base_url(emulator.base_url)
        .base_file_url(emulator.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(next_page))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, record))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(drop_pending_updates=True, poll_interval=0)
        await app.start()
        try:
            await asyncio.to_thread(user.send_command, "/start")
            (page,) = await asyncio.to_thread(user.wait_for_replies, 1)
            await asyncio.to_thread(user.press_button, page, data="page:2")
            edited = await asyncio.to_thread(user.chat.wait_for_edit, page)
        finally:
            await app.updater.stop()
            await app.stop()

    assert (page.text, page.parse_mode) == ("<b>page 1</b>", "HTML")
    assert (edited.text, edited.buttons) == ("page 2", [])
    assert plain == []


# ----- the emulator process and the client ------------------------------------------------------


def test_each_emulator_listens_on_its_own_free_port(emulator: Emulator) -> None:
    with Emulator() as other:
        assert other.url != emulator.url
        assert not other.url.endswith(":9000")
        me = httpx.post(f"{other.base_url}1:x/getMe").json()["result"]
        assert me["is_bot"] is True


def test_stored_messages_do_not_expire_during_a_run(emulator: Emulator) -> None:
    info = emulator.info()
    assert info["upstream_version"] == "4.2.1"
    assert info["cleanup_daemon"] is False
    assert info["store_timeout_seconds"] >= 3600


def test_missing_node_modules_names_the_install_command(tmp_path: Path) -> None:
    (tmp_path / "launch.js").write_text("")
    with pytest.raises(EmulatorError, match=r"npm ci --prefix tests/e2e/emulator"):
        Emulator(directory=tmp_path).start()


def test_missing_node_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EmulatorError, match=r"Node\.js"):
        Emulator().start()


def test_waiting_for_a_reply_that_never_comes_fails_with_what_came(
    tg_user: Callable[..., TelegramUser],
) -> None:
    user = tg_user()
    user.chat.assert_no_reply(within=0.1)
    with pytest.raises(ReplyTimeout, match="expected 1 bot message"):
        user.wait_for_replies(1, timeout=0.2)
