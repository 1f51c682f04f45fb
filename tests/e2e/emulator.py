"""A Telegram Bot API emulator for end-to-end tests, and a client that plays Telegram users.

The emulator is telegram-test-api (npm, pinned 4.2.1) run by our launcher
`tests/e2e/emulator/launch.js`, which fixes on the wire what python-telegram-bot cannot parse
and adds a few test-control endpoints. `Emulator` starts it as a subprocess on a free port;
the bot under test talks to `emulator.url` like to api.telegram.org, and the test plays the
users through `TelegramUser` / `TelegramChat`, modelled on upstream's own `TelegramClient`.

    with Emulator() as emu:
        token = new_bot_token()
        env = emu.bot_env(token)            # LIVEBLOG_TELEGRAM_TOKEN / _API_URL for the bot
        alice = emu.user(token, first_name="Alice")
        alice.send_command("/start")
        (reply,) = alice.chat.wait_for_replies(1)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import httpx

EMULATOR_DIR = Path(__file__).resolve().parent / "emulator"
INSTALL_HINT = "run `npm ci --prefix tests/e2e/emulator` from the repository root"

# The identity upstream's getMe gives every bot token.
BOT_ID = 666
BOT_USERNAME = "TestNameBot"
BOT_FIRST_NAME = "Test First name"
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": BOT_FIRST_NAME,
    "username": BOT_USERNAME,
}

POLL_INTERVAL = 0.05  # seconds between two looks at the emulator while waiting
# Fields of a stored bot message that PTB sends JSON-encoded inside its form.
_JSON_FIELDS = ("reply_markup", "entities", "reply_parameters", "link_preview_options")


class EmulatorError(RuntimeError):
    """The emulator could not start, or refused a request of the test."""


class ReplyTimeout(AssertionError):
    """The bot did not do in time what the test waited for (a test failure, not a crash)."""


def new_bot_token() -> str:
    """A fresh token in Telegram's shape; a token per test keeps tests apart on one emulator."""
    return f"{1_000_000_000 + secrets.randbelow(9_000_000_000)}:{secrets.token_urlsafe(26)}"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram's entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


class Emulator:
    """The emulator as a subprocess: start, address, control hooks, and user factories."""

    def __init__(
        self,
        *,
        node: str | None = None,
        directory: Path = EMULATOR_DIR,
        startup_timeout: float = 20.0,
    ) -> None:
        self._node = node
        self._directory = directory
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None
        self._http: httpx.Client | None = None
        self._url: str | None = None
        self._user_ids = itertools.count(1001)
        self._group_ids = itertools.count(1)

    # ----- life cycle --------------------------------------------------------------------------

    def start(self) -> Self:
        """Start `node launch.js` and wait for its LISTENING line."""
        node = self._node or shutil.which("node")
        if node is None:
            raise EmulatorError(
                "the end-to-end tests need Node.js (v20) on PATH for the Telegram emulator; "
                f"install it, then {INSTALL_HINT}"
            )
        package = self._directory / "node_modules" / "telegram-test-api" / "package.json"
        if not package.is_file():
            raise EmulatorError(
                f"the Telegram emulator is not installed ({package} is missing); {INSTALL_HINT}"
            )
        # Kept open for the emulator's lifetime (closed in __exit__), so no `with` here.
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self._proc = subprocess.Popen(
            [node, str(self._directory / "launch.js"), "--watch-stdin"],
            cwd=self._directory,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_pump, args=(self._proc.stdout, lines), daemon=True).start()
        try:
            line = lines.get(timeout=self._startup_timeout)
        except queue.Empty:
            line = ""
        if not line.startswith("LISTENING "):
            self.stop()
            raise EmulatorError(
                f"the Telegram emulator did not start within {self._startup_timeout:g} s "
                f"(stdout {line!r}); its log:\n{self.log()}"
            )
        self._url = line.split()[1]
        self._http = httpx.Client(base_url=self._url, timeout=10.0)
        return self

    def stop(self) -> None:
        """Stop the emulator (SIGTERM, then SIGKILL after 5 s)."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()
        self._url = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        """What the launcher wrote on stderr: the first place to look when a test fails oddly."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    # ----- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Root of the emulated Bot API, e.g. http://127.0.0.1:41234."""
        if self._url is None:
            raise EmulatorError("the emulator is not running")
        return self._url

    @property
    def base_url(self) -> str:
        """What python-telegram-bot wants as `base_url` (it appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What python-telegram-bot wants as `base_file_url`."""
        return f"{self.url}/file/bot"

    def bot_env(self, token: str) -> dict[str, str]:
        """The environment that points `liveblog-bot run` at this emulator."""
        return {"LIVEBLOG_TELEGRAM_TOKEN": token, "LIVEBLOG_TELEGRAM_API_URL": self.url}

    # ----- raw access --------------------------------------------------------------------------

    def post(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        """POST JSON to the emulator and return `result`; raise EmulatorError if refused."""
        if self._http is None:
            raise EmulatorError("the emulator is not running")
        response = self._http.post(path, json=payload or {})
        try:
            body = response.json()
        except ValueError as exc:
            raise EmulatorError(f"{path}: HTTP {response.status_code}, not JSON") from exc
        if not body.get("ok"):
            raise EmulatorError(f"{path}: {body.get('description', body)}")
        return body.get("result")

    # ----- test-control hooks (not Bot API) ----------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Upstream version, store timeout and whether its expiry timer runs."""
        result: dict[str, Any] = self.post("/_test/info")
        return result

    def reset(self) -> None:
        """Forget all hooks, logged calls, webhooks and messages of every token."""
        self.post("/_test/reset")

    def block(self, chat_id: int, *, blocked: bool = True) -> None:
        """Every Bot API call for this chat answers 403 "Forbidden: bot was blocked by the user"."""
        self.post("/_test/blockChat", {"chat_id": chat_id, "blocked": blocked})

    def set_chat_member(
        self, chat_id: int, user_id: int, status: str, **fields: Any
    ) -> dict[str, Any]:
        """Set getChatMember's answer for (chat, user): creator/administrator/member/left/kicked."""
        payload = {"chat_id": chat_id, "user_id": user_id, "status": status, **fields}
        member: dict[str, Any] = self.post("/_test/chatMember", payload)
        return member

    def flood(
        self,
        method: str = "sendMessage",
        *,
        token: str | None = None,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` answer 429 with parameters.retry_after."""
        payload = {"method": method, "token": token, "retry_after": retry_after, "times": times}
        self.post("/_test/flood", {k: v for k, v in payload.items() if v is not None})

    def revoke(self, token: str, *, revoked: bool = True) -> None:
        """Every Bot API call with `token` answers 401 Unauthorized (a revoked token)."""
        self.post("/_test/revoke", {"token": token, "revoked": revoked})

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """The forum topic is gone: sending to it answers 400 "message thread not found"."""
        self.post("/_test/deleteTopic", {"chat_id": chat_id, "thread_id": thread_id})

    def my_chat_member(
        self,
        token: str,
        chat: dict[str, Any],
        by: dict[str, Any],
        *,
        old_status: str = "left",
        new_status: str = "member",
    ) -> None:
        """`by` changed the bot's membership of `chat` (added it: left → member)."""
        payload = {
            "botToken": token,
            "chat": chat,
            "from": by,
            "old_status": old_status,
            "new_status": new_status,
        }
        self.post("/_test/myChatMember", payload)

    def register_chat(self, chat: dict[str, Any]) -> None:
        """Make getChat know a chat ({id, type, title, username}), e.g. a channel."""
        self.post("/_test/chat", chat)

    def channel_post(
        self,
        token: str,
        chat: dict[str, Any],
        message_id: int,
        text: str,
        *,
        edit_date: int | None = None,
        author_signature: str | None = None,
    ) -> None:
        """A post in a channel the bot administers (an edit when `edit_date` is given)."""
        payload = {
            "botToken": token,
            "chat": chat,
            "message_id": message_id,
            "text": text,
            "edit_date": edit_date,
            "author_signature": author_signature,
        }
        self.post("/_test/sendChannelPost", {k: v for k, v in payload.items() if v is not None})

    def calls(self, token: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        """Bot API calls so far, oldest first: {token, method, params, status, at}."""
        payload = {k: v for k, v in {"token": token, "method": method}.items() if v is not None}
        calls: list[dict[str, Any]] = self.post("/_test/calls", payload)
        return calls

    # ----- the people in the test --------------------------------------------------------------

    def user(
        self,
        token: str,
        *,
        first_name: str | None = None,
        username: str | None = None,
        user_id: int | None = None,
    ) -> TelegramUser:
        """A user in a private chat with the bot (the chat id is the user id, as on Telegram)."""
        uid = user_id if user_id is not None else next(self._user_ids)
        first = first_name or f"User{uid}"
        name = username or f"user{uid}"
        chat = TelegramChat(
            self, token, chat_id=uid, type="private", first_name=first, username=name
        )
        return TelegramUser(chat, user_id=uid, first_name=first, username=name)

    def group(
        self,
        token: str,
        *,
        title: str | None = None,
        supergroup: bool = False,
        chat_id: int | None = None,
    ) -> TelegramChat:
        """A group (or supergroup, id -100…) the bot is in; add people with `.member()`."""
        n = next(self._group_ids)
        if chat_id is None:
            chat_id = -(1_000_000_000_000 + n) if supergroup else -(4000 + n)
        kind = "supergroup" if supergroup else "group"
        return TelegramChat(
            self, token, chat_id=chat_id, type=kind, title=title or f"Test {kind} {n}"
        )

    def next_user_id(self) -> int:
        """A user id no other user of this emulator has."""
        return next(self._user_ids)


def _pump(stream: IO[str] | None, lines: queue.Queue[str]) -> None:
    """Read the launcher's stdout to its end so it can never block on a full pipe."""
    if stream is None:
        return
    for line in stream:
        lines.put(line.strip())


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent, as the emulator stored it (after any edits).

    `text` is what the bot sent: with parse_mode HTML it still holds the tags, which is handy
    for asserting formatting (real Telegram would strip them into entities).
    """

    message_id: int
    chat: dict[str, Any]
    text: str
    date: int
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    raw: dict[str, Any]

    @classmethod
    def from_stored(cls, item: dict[str, Any], chat: dict[str, Any]) -> BotMessage:
        """Build from one of the emulator's stored items ({messageId, time, message: request})."""
        raw = dict(item["message"])
        for key in _JSON_FIELDS:
            if isinstance(raw.get(key), str):
                with contextlib.suppress(ValueError):
                    raw[key] = json.loads(raw[key])
        markup = raw.get("reply_markup")
        return cls(
            message_id=int(item["messageId"]),
            chat=chat,
            text=str(raw.get("text", "")),
            date=int(item["time"]) // 1000,
            parse_mode=raw.get("parse_mode"),
            reply_markup=markup if isinstance(markup, dict) else None,
            raw=raw,
        )

    @property
    def thread_id(self) -> int | None:
        """The forum topic the bot sent this to (None: the chat itself, or General)."""
        thread = self.raw.get("message_thread_id")
        return int(thread) if thread not in (None, "") else None

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        """Rows of inline buttons ([] when the message has none)."""
        if not self.reply_markup:
            return []
        rows: list[list[dict[str, Any]]] = self.reply_markup.get("inline_keyboard", [])
        return rows

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """All inline buttons, row after row."""
        return [button for row in self.inline_keyboard for button in row]

    @property
    def reply_to_message_id(self) -> int | None:
        """Which message the bot replied to (PTB 22 sends reply_parameters)."""
        params = self.raw.get("reply_parameters")
        if isinstance(params, dict) and "message_id" in params:
            return int(params["message_id"])
        legacy = self.raw.get("reply_to_message_id")
        return int(legacy) if legacy is not None else None

    def button(self, *, text: str | None = None, data: str | None = None) -> dict[str, Any]:
        """The inline button with this text or callback data; fail listing what there is."""
        for candidate in self.buttons:
            if (text is None or candidate.get("text") == text) and (
                data is None or candidate.get("callback_data") == data
            ):
                return candidate
        shown = [(b.get("text"), b.get("callback_data")) for b in self.buttons]
        raise AssertionError(
            f"no button text={text!r} data={data!r} on message {self.message_id}; buttons: {shown}"
        )

    def to_telegram(self) -> dict[str, Any]:
        """This message as a Telegram Message object, as clients quote it (replies, buttons)."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": BOT_USER,
            "chat": self.chat,
            "date": self.date,
            "text": self.text,
        }
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message


class TelegramChat:
    """A chat of the test with the bot; it collects the bot's messages to that chat.

    The emulator hands each bot message to the first poll that asks for the chat, so there is
    one inbox per chat: in a group, wait on the group, whichever member spoke.
    """

    def __init__(
        self,
        emulator: Emulator,
        token: str,
        *,
        chat_id: int,
        type: str,
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> None:
        self.emulator = emulator
        self.token = token
        self.id = chat_id
        self.type = type
        self.title = title
        self._first_name = first_name
        self._username = username
        self._inbox: list[BotMessage] = []

    def as_dict(self) -> dict[str, Any]:
        """This chat as a Telegram Chat object."""
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            chat.update(first_name=self._first_name, username=self._username)
        else:
            chat["title"] = self.title
        return chat

    def member(
        self,
        *,
        first_name: str | None = None,
        username: str | None = None,
        user_id: int | None = None,
    ) -> TelegramUser:
        """A user who writes in this group."""
        if self.type == "private":
            raise ValueError("a private chat has exactly one user: use Emulator.user()")
        uid = user_id if user_id is not None else self.emulator.next_user_id()
        return TelegramUser(
            self,
            user_id=uid,
            first_name=first_name or f"User{uid}",
            username=username or f"user{uid}",
        )

    # ----- what the bot sent -------------------------------------------------------------------

    def _collect(self) -> None:
        """Move the bot's new messages to this chat from the emulator into the inbox."""
        items = self.emulator.post("/getUpdates", {"token": self.token, "chatId": self.id})
        chat = self.as_dict()
        self._inbox.extend(BotMessage.from_stored(item, chat) for item in items)
        self._inbox.sort(key=lambda m: m.message_id)

    def wait_for_replies(self, n: int = 1, *, timeout: float = 5.0) -> list[BotMessage]:
        """The next `n` bot messages to this chat, oldest first; fail if fewer come in time.

        Messages beyond `n` stay for the next call (see `assert_no_reply`).
        """
        deadline = time.monotonic() + timeout
        while True:
            self._collect()
            if len(self._inbox) >= n:
                taken, self._inbox = self._inbox[:n], self._inbox[n:]
                return taken
            if time.monotonic() >= deadline:
                texts = [m.text for m in self._inbox]
                raise ReplyTimeout(
                    f"expected {n} bot message(s) in chat {self.id} within {timeout:g} s, "
                    f"got {len(texts)}: {texts!r}"
                )
            time.sleep(POLL_INTERVAL)

    def assert_no_reply(self, *, within: float = 0.5) -> None:
        """Fail if the bot sends this chat anything (not yet taken) within `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            self._collect()
            if self._inbox:
                texts = [m.text for m in self._inbox]
                raise AssertionError(f"unexpected bot message(s) in chat {self.id}: {texts!r}")
            if time.monotonic() >= deadline:
                return
            time.sleep(POLL_INTERVAL)

    def history(self) -> list[BotMessage]:
        """Every bot message to this chat so far, in its current (edited) state."""
        items = self.emulator.post("/getUpdatesHistory", {"token": self.token})
        chat = self.as_dict()
        return [
            BotMessage.from_stored(item, chat)
            for item in items
            if _is_bot_message(item) and str(item["message"]["chat_id"]) == str(self.id)
        ]

    def current(self, message_id: int) -> BotMessage:
        """One bot message in its current state."""
        for message in self.history():
            if message.message_id == message_id:
                return message
        raise AssertionError(f"no bot message {message_id} in chat {self.id}")

    def wait_for_edit(self, message: BotMessage, *, timeout: float = 5.0) -> BotMessage:
        """Wait until the bot edits `message` (text, keyboard…) and return its new state."""
        deadline = time.monotonic() + timeout
        while True:
            now = self.current(message.message_id)
            if now.raw != message.raw:
                return now
            if time.monotonic() >= deadline:
                raise ReplyTimeout(
                    f"bot message {message.message_id} was not edited within {timeout:g} s"
                )
            time.sleep(POLL_INTERVAL)


def _topic(thread_id: int | None) -> dict[str, Any]:
    """The fields of a message written in a forum topic (none outside one)."""
    if thread_id is None:
        return {}
    return {"message_thread_id": thread_id, "is_topic_message": True}


def _is_bot_message(item: dict[str, Any]) -> bool:
    """Upstream stores bot messages as the request body (chat_id…), user updates with a chat."""
    if "callbackQuery" in item or "inlineQuery" in item:
        return False
    message = item.get("message")
    return isinstance(message, dict) and "chat_id" in message


class TelegramUser:
    """A Telegram user acting in one chat (private, or a group via TelegramChat.member)."""

    def __init__(self, chat: TelegramChat, *, user_id: int, first_name: str, username: str) -> None:
        self.chat = chat
        self.id = user_id
        self.first_name = first_name
        self.username = username

    @property
    def emulator(self) -> Emulator:
        return self.chat.emulator

    def as_dict(self) -> dict[str, Any]:
        """This user as a Telegram User object."""
        return {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "username": self.username,
        }

    def _message(self, text: str, **extra: Any) -> dict[str, Any]:
        return {
            "botToken": self.chat.token,
            "from": self.as_dict(),
            "chat": self.chat.as_dict(),
            "date": int(time.time()),
            "text": text,
            **{k: v for k, v in extra.items() if v is not None},
        }

    # ----- messages ----------------------------------------------------------------------------

    def send_message(
        self,
        text: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        reply_to: BotMessage | None = None,
        thread_id: int | None = None,
    ) -> int:
        """Write `text` in the chat (in a forum topic with `thread_id`); return its message id."""
        quoted = reply_to.to_telegram() if reply_to is not None else None
        payload = self._message(
            text, entities=entities, reply_to_message=quoted, **_topic(thread_id)
        )
        result = self.emulator.post("/sendMessage", payload)
        return int(result["message_id"])

    def send_media(self, kind: str, media: dict[str, Any]) -> int:
        """Send a sticker, photo, voice… without text: `send_media("sticker", {...})`."""
        payload = self._message("", **{kind: media})
        del payload["text"]
        result = self.emulator.post("/sendMessage", payload)
        return int(result["message_id"])

    def edit_message(self, message_id: int, text: str) -> None:
        """Edit one of this user's messages (Telegram sends the bot an edited_message)."""
        payload = {
            "botToken": self.chat.token,
            "from": self.as_dict(),
            "chat": self.chat.as_dict(),
            "message_id": message_id,
            "text": text,
        }
        self.emulator.post("/_test/editMessage", payload)

    def send_command(self, text: str, *, thread_id: int | None = None) -> int:
        """Send a command such as "/search goal" or "/latest@TestNameBot 5"."""
        if not text.startswith("/"):
            raise ValueError(f"a command starts with '/': {text!r}")
        command = text.split(maxsplit=1)[0]
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        payload = self._message(text, entities=entities, **_topic(thread_id))
        result = self.emulator.post("/sendCommand", payload)
        return int(result["message_id"])

    def mention_bot(self, text: str) -> int:
        """Write "@TestNameBot <text>" with the mention entity, as a client does in a group."""
        mention = f"@{BOT_USERNAME}"
        entities = [{"type": "mention", "offset": 0, "length": utf16_len(mention)}]
        return self.send_message(f"{mention} {text}", entities=entities)

    def reply_to(self, message: BotMessage, text: str) -> int:
        """Reply to one of the bot's messages."""
        return self.send_message(text, reply_to=message)

    # ----- buttons and inline mode -------------------------------------------------------------

    def press_button(
        self, message: BotMessage, *, data: str | None = None, text: str | None = None
    ) -> str:
        """Press an inline button of a bot message (by callback data or label); return query id."""
        if data is None and text is None:
            raise ValueError("say which button: data= or text=")
        button = message.button(text=text, data=data)
        if "callback_data" not in button:
            raise AssertionError(f"button {button.get('text')!r} has no callback_data: {button}")
        payload = {
            "botToken": self.chat.token,
            "from": self.as_dict(),
            "message": message.to_telegram(),
            "data": button["callback_data"],
        }
        result = self.emulator.post("/sendCallback", payload)
        return str(result["callback_query_id"])

    def send_inline_query(self, query: str, *, offset: str = "") -> str:
        """Type "@TestNameBot <query>" in a chat's input field; return the inline query id."""
        chat_type = "sender" if self.chat.type == "private" else self.chat.type
        payload = {
            "botToken": self.chat.token,
            "from": self.as_dict(),
            "query": query,
            "offset": offset,
            "chat_type": chat_type,
        }
        result = self.emulator.post("/_test/sendInlineQuery", payload)
        return str(result["inline_query_id"])

    def inline_answer(self, inline_query_id: str, *, timeout: float = 5.0) -> dict[str, Any]:
        """The bot's answerInlineQuery for that query: {results, next_offset, cache_time, …}."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.emulator.post("/_test/inlineAnswer", {"inline_query_id": inline_query_id})
            if answer is not None:
                return dict(answer)
            if time.monotonic() >= deadline:
                raise ReplyTimeout(
                    f"no answer to inline query {inline_query_id} within {timeout:g} s"
                )
            time.sleep(POLL_INTERVAL)

    def inline_query(self, query: str, *, offset: str = "", timeout: float = 5.0) -> dict[str, Any]:
        """Send an inline query and wait for the bot's answer."""
        return self.inline_answer(self.send_inline_query(query, offset=offset), timeout=timeout)

    # ----- convenience -------------------------------------------------------------------------

    def wait_for_replies(self, n: int = 1, *, timeout: float = 5.0) -> list[BotMessage]:
        """The bot's next `n` messages in this user's chat (see TelegramChat.wait_for_replies)."""
        return self.chat.wait_for_replies(n, timeout=timeout)
