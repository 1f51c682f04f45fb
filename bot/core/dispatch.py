"""The command core: every command's handler, declared once in the command table.

`CommandCore.handle` takes what a user typed in a plain `Chat` and returns a `Reply`; Telegram,
the terminal chat and the CLI all come through here. Each handler is an `async def` taking the
chat and the command's argument text, declared with `@command` (see `bot.core.commands`);
`dispatch` checks the surface and the audience before it runs one.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.answers import LATEST_DEFAULT, LATEST_MAX, Answers, ChatPrefs
from bot.core.chat import ChannelInfo, Chat, Directory, NoDirectory
from bot.core.commands import command, find, help_lines
from bot.core.digests import (
    DigestService,
    subscribe_command,
    subscription_command,
    unsubscribe_command,
)
from bot.core.follows import FollowCommands, Follows
from bot.core.reply import Block, Button, Reply, info, invalid
from bot.core.sources import SourcesCommands
from bot.core.state import ChatState
from bot.core.subscriptions import Subscriptions
from bot.core.timeline import CURSOR_PREFIX as TIMELINE_CURSOR
from bot.core.timeline import Timelines
from retrieval.channels import Channels
from retrieval.library import Library
from retrieval.polling import Sources

NEXT, PREVIOUS = "▶", "◀"
TYPED_PREFIX = "t:"
"""A button whose cursor is `t:` + text acts as if the user typed that text (an example
question, "/unfollow 2"); Telegram's callback data holds 64 bytes."""
CALLBACK_MAX = 64
WAITING_MAX = 10_000  # users asked for a command's words and not answered yet
COVERAGE_LANGUAGES = "English"
"""The language the index understands (English stopwords and stemming, `retrieval.text`)."""


class CommandCore:
    """Commands and questions → replies, for every surface, over one library."""

    def __init__(
        self,
        library: Library,
        state: ChatState,
        *,
        directory: Directory | None = None,
        allow_private_sources: bool = False,
        examples: tuple[str, ...] = (),
    ) -> None:
        self.library = library
        self.state = state
        self.examples = examples
        self._waiting: dict[tuple[int, int | None], str] = {}  # (chat, user) → command asked
        db = library.store.db
        self.answers = Answers(library, state)
        self.timelines = Timelines(library, state)
        self.subscriptions = Subscriptions(db)
        self.digests = DigestService(library.store, self.subscriptions)
        self.follows = Follows(db)
        self.follow_commands = FollowCommands(library, self.follows)
        self.sources = SourcesCommands(
            Sources(db),
            Channels(db),
            directory or NoDirectory(),
            allow_private=allow_private_sources,
        )
        self._buttons: dict[int, tuple[Button, ...]] = {}  # each chat's last page buttons

    def prefs(self, chat: Chat) -> ChatPrefs:
        return ChatPrefs(self.state.timezone(chat.id))

    # -- dispatch ---------------------------------------------------------------------------

    async def handle(self, chat: Chat, text: str) -> Reply:
        """One message: a /command with its arguments, or a question in plain words."""
        stripped = text.strip()
        waiting = self._waiting.pop((chat.id, chat.user_id), None)
        if not stripped.startswith("/"):
            if waiting is not None:  # the answer to "What should I search for?"
                return await self.dispatch(chat, waiting, stripped)
            return self._remember(chat, self.ask(chat, stripped))
        head, _, rest = stripped.partition(" ") if " " in stripped else stripped.partition("\n")
        name = head[1:].split("@", 1)[0]
        return await self.dispatch(chat, name, rest.strip())

    async def dispatch(self, chat: Chat, name: str, args: str) -> Reply:
        """Run /`name` for this chat, if it exists here and the user may use it."""
        cmd = find(name)
        if cmd is None:
            return invalid(f"I don't know /{name[:40]}. Send /help to see what I can do.")
        if chat.surface not in cmd.surfaces:
            return invalid(cmd.elsewhere or f"/{cmd.name} does not work here.")
        if not cmd.allowed(chat):
            if cmd.audience == "bot_admins":
                return invalid("Only the bot's administrators can manage sources.")
            return invalid(f"Only this group's administrators can use /{cmd.name}.")
        if cmd.asks and not args.strip():
            self._waiting[(chat.id, chat.user_id)] = cmd.name
            while len(self._waiting) > WAITING_MAX:  # the oldest unanswered questions go
                del self._waiting[next(iter(self._waiting))]
            return Reply((Block.of(cmd.asks),), kind="info", asks=True)
        self._waiting.pop((chat.id, chat.user_id), None)
        handler = getattr(self, cmd.handler)
        reply: Reply = await handler(chat, args)
        return self._remember(chat, reply)

    def waiting(self, chat: Chat) -> bool:
        """Whether this user's next message answers a command's question ("What should I
        search for?") rather than being a question of its own."""
        return (chat.id, chat.user_id) in self._waiting

    def ask(self, chat: Chat, question: str) -> Reply:
        """A question in plain words; one in another script learns the coverage's language."""
        reply = self.answers.ask(question, self.prefs(chat))
        script = _foreign_script(question)
        if reply.kind == "empty" and script:
            example = f", e.g. “{self.examples[0]}”" if self.examples else "."
            message = (
                f"Your question is in {script} script, but the coverage I hold is in "
                f"{COVERAGE_LANGUAGES}, and I match words as they are written. Try asking in "
                f"{COVERAGE_LANGUAGES}{example}"
            )
            return Reply((Block.of(message),), kind="empty", query=question, message=message)
        return reply

    @staticmethod
    def typed(cursor: str) -> str | None:
        """What a `t:` button types for the user (None: a page cursor)."""
        return cursor[len(TYPED_PREFIX) :] if cursor.startswith(TYPED_PREFIX) else None

    def welcome(self, chat: Chat) -> Reply:
        """The how-to a group gets when someone adds the bot."""
        mention = f"@{chat.bot_username}" if chat.bot_username else "me"
        example = self.examples[0] if self.examples else "What happened today?"
        return info(
            "Hello! I answer questions about live news coverage with quotes from it.",
            f"Mention {mention} with a question (“{mention} {example}”) or reply to one of my "
            f"messages; commands need my name here, e.g. /search@{chat.bot_username or 'me'} "
            f"Bakhmut. /help@{chat.bot_username or 'me'} lists them all.",
        )

    def media_hint(self, chat: Chat) -> Reply:
        """A sticker, photo or voice message: what the bot can do instead."""
        example = self.examples[0] if self.examples else "What happened today?"
        return info(
            f"I read text only: ask me about the coverage in words, e.g. “{example}”, "
            "or send /help."
        )

    def press(self, chat: Chat, cursor: str) -> Reply:
        """A ◀ ▶ button: the page its cursor points to (or "expired")."""
        prefs = self.prefs(chat)
        if cursor.startswith(f"{TIMELINE_CURSOR}:"):
            return self._remember(chat, self.timelines.page(cursor, prefs))
        return self._remember(chat, self.answers.page(cursor, prefs))

    def _remember(self, chat: Chat, reply: Reply) -> Reply:
        if reply.buttons:
            self._buttons[chat.id] = reply.buttons
        return reply

    # -- the commands (declaration order is /help's order) ----------------------------------

    @command(
        "search",
        args="WORDS",
        help="a ranked list of matching posts, 5 a page",
        menu="Ranked list of posts matching words",
        asks="What should I search for? Reply with a few words, e.g. counteroffensive",
    )
    async def search(self, chat: Chat, args: str) -> Reply:
        """A ranked list with page buttons."""
        return self.answers.search(args, self.prefs(chat))

    @command(
        "timeline",
        args="WORDS",
        help="how a story unfolded: matching posts oldest first, by day",
        menu="Matching posts in time order: /timeline Bakhmut",
        asks="Which story should I lay out in time order? Reply with a few words, e.g. Bakhmut",
    )
    async def timeline(self, chat: Chat, args: str) -> Reply:
        """The matching posts in time order."""
        return self.timelines.timeline(args, self.prefs(chat))

    @command(
        "latest",
        args="[N]",
        help=f"the N newest posts (default {LATEST_DEFAULT}, at most {LATEST_MAX})",
        menu="The newest posts: /latest 5",
    )
    async def latest(self, chat: Chat, args: str) -> Reply:
        """The newest posts."""
        return self.answers.latest_command(args, self.prefs(chat))

    @command(
        "next",
        help="the next page of the last list",
        surfaces=("terminal",),
        elsewhere="Use the ▶ button under the list.",
    )
    async def next_page(self, chat: Chat, args: str) -> Reply:
        """The page after the last one shown (the terminal's ▶)."""
        return self._turn(chat, NEXT)

    @command(
        "prev",
        help="the previous page of the last list",
        surfaces=("terminal",),
        elsewhere="Use the ◀ button under the list.",
    )
    async def previous_page(self, chat: Chat, args: str) -> Reply:
        """The page before the last one shown (the terminal's ◀)."""
        return self._turn(chat, PREVIOUS)

    @command(
        "timezone",
        args="[Area/City]",
        help="show times in your timezone, e.g. /timezone Europe/Kyiv",
        menu="Show times in your timezone: /timezone Europe/Kyiv",
        audience="chat_admins",
    )
    async def timezone(self, chat: Chat, args: str) -> Reply:
        """Show or set the chat's timezone (remembered)."""
        name = args.strip()
        prefs = self.prefs(chat)
        if not name:
            return info(
                f"Times are shown in {prefs.timezone.key}. "
                "Change it with /timezone Area/City, e.g. /timezone Europe/Kyiv"
            )
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder: OSError
            guess = _zone_like(name)
            hint = f" Did you mean {guess}?" if guess else ""
            return invalid(
                f"I don't know the timezone “{name[:40]}”.{hint} Use an IANA name such as "
                "Europe/Kyiv or America/New_York."
            )
        self.state.set_timezone(chat.id, zone.key)
        now = datetime.now(zone)
        return info(f"Times are now shown in {zone.key} (it is {now:%H:%M} {now.tzname()} there).")

    @command("digest", help="what is new since this chat's last daily digest")
    async def digest(self, chat: Chat, args: str) -> Reply:
        """The digest now: what is new since the last one; what it shows is not shown again."""
        out = self.digests.on_demand(chat.id, self.prefs(chat).timezone)
        self.digests.sent(out)
        return out.reply

    @command(
        "subscribe",
        args="[HH:MM] [Area/City]",
        help="a daily digest here at your local time",
        menu="Daily digest here: /subscribe 08:00 Europe/Kyiv",
        audience="chat_admins",
        surfaces=("telegram",),
        elsewhere=(
            "Daily digests are delivered to Telegram chats: run the bot with a "
            "LIVEBLOG_TELEGRAM_TOKEN and /subscribe there. Here, /digest shows one now."
        ),
    )
    async def subscribe(self, chat: Chat, args: str) -> Reply:
        """Start or change the daily digest (of this chat, or of a channel from a private chat)."""
        words = args.split()
        target, title = chat.id, chat.title or str(chat.id)
        if words and words[0].startswith("@"):
            if chat.kind != "private" or chat.user_id is None:
                return invalid("Subscribe a channel from a private chat with me.")
            found = await self.sources.directory.channel_for_digests(words.pop(0), chat.user_id)
            if not isinstance(found, ChannelInfo):
                return invalid(found)
            target, title = found.id, found.title
        thread = chat.thread_id if target == chat.id else None
        return subscribe_command(
            self.subscriptions, target, title, " ".join(words), self.prefs(chat), thread_id=thread
        )

    @command(
        "unsubscribe",
        help="stop this chat's daily digest",
        audience="chat_admins",
        surfaces=("telegram",),
        elsewhere="Daily digests are for Telegram chats; the terminal has none to stop.",
    )
    async def unsubscribe(self, chat: Chat, args: str) -> Reply:
        """Stop the daily digest."""
        return unsubscribe_command(self.subscriptions, chat.id)

    @command(
        "subscription",
        help="when this chat's next daily digest comes",
        surfaces=("telegram",),
        elsewhere="Daily digests are for Telegram chats; /digest shows one here now.",
    )
    async def subscription(self, chat: Chat, args: str) -> Reply:
        """The digest's time, timezone and next delivery."""
        return subscription_command(self.subscriptions, chat.id)

    @command(
        "follow",
        args="WORDS [-WORD]",
        help="an alert here when a new post matches (-word: not when it mentions that)",
        menu="Alert this chat about new posts: /follow Bakhmut -Wagner",
        audience="chat_admins",
        asks=(
            "What should I follow? Reply with a few words, e.g. Bakhmut "
            "(add -Wagner to leave out posts that mention Wagner)"
        ),
    )
    async def follow(self, chat: Chat, args: str) -> Reply:
        """Alert this chat (this forum topic) when a new post matches."""
        return self.follow_commands.follow(chat.id, args, thread_id=chat.thread_id)

    @command(
        "unfollow",
        args="[WORDS or N]",
        help="stop one of this chat's alerts",
        menu="Stop an alert: /unfollow Bakhmut",
        audience="chat_admins",
    )
    async def unfollow(self, chat: Chat, args: str) -> Reply:
        """Stop one of this chat's alerts; without words, each follow is a button."""
        current = self.follows.for_chat(chat.id)
        if args.strip() or not current or chat.surface != "telegram":
            return self.follow_commands.unfollow(chat.id, args)
        buttons = []
        for n, follow in enumerate(current, start=1):
            typed = f"{TYPED_PREFIX}/unfollow {follow.query}"
            if len(typed.encode()) > CALLBACK_MAX:
                typed = f"{TYPED_PREFIX}/unfollow {n}"
            label = follow.query if len(follow.query) <= 60 else follow.query[:59] + "…"
            buttons.append(Button(f"Stop: {label}", typed, row=n))
        return Reply(
            (Block.of("Which alert should I stop? Tap one:"),), kind="info", buttons=tuple(buttons)
        )

    @command("following", help="what this chat follows")
    async def following(self, chat: Chat, args: str) -> Reply:
        """This chat's alerts."""
        return self.follow_commands.following(chat.id)

    @command(
        "sources",
        args="[add URL [5m] [as OUTLET] | add @channel | remove ID]",
        help="the live blogs, feeds and channels I keep fresh",
        menu="Manage polled sources (operators)",
        audience="bot_admins",
    )
    async def sources_command(self, chat: Chat, args: str) -> Reply:
        """List, add or remove polled sources and channels."""
        return await self.sources.run(args, from_chat=chat.surface == "telegram")

    @command("start", help="what coverage is loaded", menu="What coverage is loaded")
    async def start(self, chat: Chat, args: str) -> Reply:
        """Which coverage is loaded; in Telegram, example questions to tap and inline mode."""
        reply = self.answers.start(self.prefs(chat))
        if chat.surface != "telegram":
            return reply
        buttons = [
            Button(question, f"{TYPED_PREFIX}{question}", row=n)
            for n, question in enumerate(self.examples[:2], start=1)
            if len(f"{TYPED_PREFIX}{question}".encode()) <= CALLBACK_MAX
        ]
        buttons.append(Button("🔎 Search in any chat", "", row=3, switch_inline=""))
        return Reply(reply.blocks, kind=reply.kind, buttons=tuple(buttons))

    @command("help", help="this message", menu="What I can do")
    async def help(self, chat: Chat, args: str) -> Reply:
        """The commands that work in this chat, in the form that works here."""
        first, *rest = help_lines(chat)
        return Reply(
            (Block.of(first), *(Block.of(line, joined=True) for line in rest)), kind="info"
        )

    @command(
        "quit",
        help="leave the chat (or Ctrl-D)",
        surfaces=("terminal",),
        elsewhere="There is nothing to leave: just stop writing to me.",
    )
    async def quit(self, chat: Chat, args: str) -> Reply:
        """Leave the terminal chat."""
        return info("Bye.")

    # -- helpers ----------------------------------------------------------------------------

    def _turn(self, chat: Chat, label: str) -> Reply:
        button = next((b for b in self._buttons.get(chat.id, ()) if b.label == label), None)
        if button is None:
            where = "next" if label == NEXT else "previous"
            return invalid(f"There is no {where} page: /search or /timeline first.")
        return self.press(chat, button.cursor)


def _foreign_script(text: str) -> str | None:
    """The script most of the text's letters are written in, when it is not Latin
    ("Cyrillic" for "Что случилось в Бахмуте?"); None for Latin or no letters."""
    scripts: dict[str, int] = {}
    for char in text:
        if char.isalpha():
            script = unicodedata.name(char, "UNKNOWN").split()[0]
            scripts[script] = scripts.get(script, 0) + 1
    if not scripts:
        return None
    script, count = max(scripts.items(), key=lambda item: item[1])
    if script == "LATIN" or count * 2 < sum(scripts.values()):
        return None
    return script.title()


def _zone_like(name: str) -> str | None:
    """The IANA zone a user probably meant ("Kyiv" → Europe/Kyiv), if exactly one fits."""
    wanted = name.strip().replace(" ", "_").casefold()
    if not wanted:
        return None
    found = sorted(z for z in available_timezones() if z.casefold().rsplit("/", 1)[-1] == wanted)
    return found[0] if len(found) == 1 else None
