"""Follows: a chat names a query, and new posts that answer it are sent as they arrive.

Matching is the searcher's judgement (`Searcher.match`), so an alert is exactly a post that
/search would show for the query. Only posts new to the store are candidates: an edit of a
post that was already there never alerts again.

Delivery is at most once, like the digests (`bot.core.subscriptions`): `alerts_for` records each
(chat, post) pair in the `alerts` table *before* handing the alert out, so a second ingest, a
restart or a second process never repeats it; a send that surely failed can be `release`d.
A first poll of a busy source can add hundreds of posts at once, so a chat gets at most
`ALERTS_PER_RUN` alerts per call, the newest, the last one saying how many more matched.

Plain data like the rest of the answer core: no Telegram types.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.core.answers import ChatPrefs, hit_blocks, result_items
from bot.core.reply import Block, Reply, Span, info, invalid
from retrieval.library import Library
from retrieval.models import Post
from retrieval.search import Hit
from retrieval.storage.schema import migrate
from retrieval.storage.transactions import write
from retrieval.text import tokenize

FOLLOW_LIMIT = 20
QUERY_MAX = 200
ALERTS_PER_RUN = 5
UNFOLLOW_HINT = "/unfollow"


class FollowError(ValueError):
    """A follow request that cannot be honoured; the message says what to do instead."""


@dataclass(frozen=True)
class Follow:
    """A chat's standing query."""

    chat_id: int
    query: str
    created: datetime
    thread_id: int | None = None  # the forum topic it was followed in (None: the chat)


@dataclass(frozen=True)
class Alert:
    """One new post for one chat: `reply` is the message to send, `query` why it matched."""

    chat_id: int
    post: Post
    query: str
    reply: Reply
    thread_id: int | None = None


def split_exclusions(query: str) -> tuple[str, frozenset[str]]:
    """ "bakhmut -wagner" → ("bakhmut", {"wagner"}): the words to match, and the index terms a
    post must not mention (tokenized like the posts, so "-Wagner's" excludes "wagner")."""
    wanted, excluded = [], set()
    for word in query.split():
        if word.startswith("-") and len(word) > 1:
            excluded.update(tokenize(word[1:]))
        else:
            wanted.append(word)
    return " ".join(wanted), frozenset(excluded)


def normalize_query(text: str) -> str:
    """Whitespace collapsed; the form a follow is stored and compared in."""
    return " ".join(text.split())


def _key(query: str) -> str:
    return normalize_query(query).casefold()


class Follows:
    """The `follows` and `alerts` tables, in the coverage's SQLite file like `bot.core.state`."""

    def __init__(self, db: Database, limit: int = FOLLOW_LIMIT) -> None:
        self.db = db
        self.limit = limit
        migrate(db)  # the tables are `retrieval.storage.schema`'s

    def add(
        self,
        chat_id: int,
        query: str,
        *,
        now: datetime | None = None,
        thread_id: int | None = None,
    ) -> Follow:
        """Follow a query in a chat. Raises `FollowError` (empty, too long, duplicate, limit)."""
        query = normalize_query(query)
        if not query:
            raise FollowError("Tell me what to follow, e.g. /follow counteroffensive")
        if len(query) > QUERY_MAX:
            raise FollowError(
                f"That is {len(query):,} characters long; please follow a few words "
                f"(under {QUERY_MAX})."
            )
        if not tokenize(split_exclusions(query)[0]):
            raise FollowError(
                f"“{query}” has only common words I cannot match on; use more specific ones, "
                "e.g. /follow counteroffensive"
            )
        created = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        with write(self.db):
            existing = self.for_chat(chat_id)
            if any(_key(f.query) == _key(query) for f in existing):
                raise FollowError(f"You already follow “{query}”. /following lists your follows.")
            if len(existing) >= self.limit:
                raise FollowError(
                    f"This chat follows {len(existing)} queries, the most I keep. "
                    "Stop one first with /unfollow (/following lists them)."
                )
            self.db.table("follows").insert(
                {
                    "chat_id": chat_id,
                    "query": query,
                    "created": created.isoformat(),
                    "thread_id": thread_id,
                }
            )
        return Follow(chat_id, query, created, thread_id)

    def for_chat(self, chat_id: int) -> builtins.list[Follow]:
        """A chat's follows, oldest first (the numbering /following shows)."""
        rows = self.db.query(
            "SELECT * FROM follows WHERE chat_id = ? ORDER BY created, rowid", [chat_id]
        )
        return [_follow_from_row(row) for row in rows]

    def all(self) -> builtins.list[Follow]:
        rows = self.db.query("SELECT * FROM follows ORDER BY chat_id, created, rowid")
        return [_follow_from_row(row) for row in rows]

    def remove(self, chat_id: int, query: str) -> Follow | None:
        """Stop following a query (compared case-insensitively); None if the chat did not."""
        found = next((f for f in self.for_chat(chat_id) if _key(f.query) == _key(query)), None)
        if found is not None:
            with write(self.db):
                self.db.execute(
                    "DELETE FROM follows WHERE chat_id = ? AND query = ?", [chat_id, found.query]
                )
        return found

    def clear_thread(self, chat_id: int, thread_id: int) -> None:
        """A forum topic was deleted: its follows alert the chat (General) from now on."""
        with write(self.db):
            self.db.execute(
                "UPDATE follows SET thread_id = NULL WHERE chat_id = ? AND thread_id = ?",
                [chat_id, thread_id],
            )

    def forget_chat(self, chat_id: int) -> int:
        """Drop every follow of a chat (the bot was removed or blocked); returns how many."""
        with write(self.db):
            cursor = self.db.execute("DELETE FROM follows WHERE chat_id = ?", [chat_id])
        return cursor.rowcount

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its follows and alert records go with it."""
        with write(self.db):
            for table in ("follows", "alerts"):
                self.db.execute(
                    f"UPDATE OR IGNORE {table} SET chat_id = ? WHERE chat_id = ?",
                    [new_chat_id, old_chat_id],
                )

    def claim(self, chat_id: int, post_id: str, *, now: datetime | None = None) -> bool:
        """Record that a post goes to a chat; False when it was recorded before (never twice)."""
        sent = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        with write(self.db):
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO alerts (chat_id, post_id, sent) VALUES (?, ?, ?)",
                [chat_id, post_id, sent],
            )
        return cursor.rowcount == 1

    def release(self, chat_id: int, post_id: str) -> None:
        """Forget a claim whose message surely did not leave, so a later call may send it."""
        with write(self.db):
            self.db.execute(
                "DELETE FROM alerts WHERE chat_id = ? AND post_id = ?", [chat_id, post_id]
            )

    def was_alerted(self, chat_id: int, post_id: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM alerts WHERE chat_id = ? AND post_id = ?", [chat_id, post_id]
        ).fetchone()
        return row is not None


def _follow_from_row(row: dict[str, object]) -> Follow:
    return Follow(
        chat_id=int(str(row["chat_id"])),
        query=str(row["query"]),
        created=datetime.fromisoformat(str(row["created"])),
        thread_id=int(str(row["thread_id"])) if row.get("thread_id") is not None else None,
    )


# -- matching -------------------------------------------------------------------------------


def match(library: Library, query: str, post: Post) -> Hit | None:
    """The hit /search would show for `post` and `query`, or None: the searcher decides."""
    return library.searcher.match(query, post)


def alerts_for(
    library: Library,
    new_posts: Iterable[Post],
    follows: Follows,
    *,
    zone_of: Callable[[int], ZoneInfo] | None = None,
    now: datetime | None = None,
    delivers_to: Callable[[int], bool] | None = None,
) -> list[Alert]:
    """Which chats get which new posts, claimed in `follows` so none is ever sent twice.

    `new_posts` must be posts *added* by an ingest (`retrieval.polling.ingest_new_posts`,
    `PollOutcome.added_posts`), already in the library. `zone_of` gives a chat's timezone for
    the times shown (UTC when omitted). `delivers_to` limits it to the chats the caller can
    reach (the terminal its own, Telegram all others), so no chat's alert is claimed and lost by
    a surface that cannot send it. Alerts come oldest post first.
    """
    posts = sorted(
        {p.post_id: p for p in new_posts}.values(),
        key=lambda p: (p.published.sort_key(), -p.position),
    )
    chats_by_query: dict[str, list[Follow]] = {}
    for follow in follows.all():
        if delivers_to is not None and not delivers_to(follow.chat_id):
            continue
        chats_by_query.setdefault(_key(follow.query), []).append(follow)
    if not posts or not chats_by_query:
        return []
    queries = [(*split_exclusions(group[0].query), group) for group in chats_by_query.values()]

    # Best hit per (chat, post): a post matching several of a chat's follows alerts once.
    best: dict[tuple[int, str], tuple[Hit, Follow]] = {}
    for post in posts:
        for query, excluded, group in queries:
            hit = library.searcher.match(query, post)
            if hit is None or (excluded and not excluded.isdisjoint(tokenize(post.text))):
                continue
            for follow in group:
                key = (follow.chat_id, post.post_id)
                held = best.get(key)
                if held is None or (hit.matched, hit.score) > (held[0].matched, held[0].score):
                    best[key] = (hit, follow)

    per_chat: dict[int, list[tuple[Hit, Follow]]] = {}
    for (chat_id, _), found in best.items():
        if not follows.was_alerted(chat_id, found[0].post.post_id):
            per_chat.setdefault(chat_id, []).append(found)
    alerts: list[Alert] = []
    for chat_id, found_list in per_chat.items():
        zone = zone_of(chat_id) if zone_of else ZoneInfo("UTC")
        shown = found_list[-ALERTS_PER_RUN:]  # the newest, still oldest first
        claimed = [(h, q) for h, q in shown if follows.claim(chat_id, h.post.post_id, now=now)]
        more = len(found_list) - len(shown)
        for n, (hit, followed) in enumerate(claimed):
            extra = more if n == len(claimed) - 1 else 0
            reply = alert_reply(hit, followed.query, ChatPrefs(zone), more=extra)
            alerts.append(Alert(chat_id, hit.post, followed.query, reply, followed.thread_id))
    order = {post.post_id: n for n, post in enumerate(posts)}
    alerts.sort(key=lambda a: (order[a.post.post_id], a.chat_id))
    return alerts


def alert_reply(hit: Hit, query: str, prefs: ChatPrefs, *, more: int = 0) -> Reply:
    """The post as /search shows a hit, then why it came: "Following: <query> — /unfollow"."""
    blocks = [*hit_blocks(hit, prefs), Block.of(f"Following: {query} — {UNFOLLOW_HINT}")]
    if more:
        posts = "post matches" if more == 1 else "posts match"
        blocks.append(
            Block.of(f"…and {more} more new {posts} what this chat follows — try /search")
        )
    return Reply(tuple(blocks), query=query, results=result_items((hit,)))


# -- the commands ---------------------------------------------------------------------------


class FollowCommands:
    """/follow, /unfollow and /following → replies (the adapter passes the chat id)."""

    def __init__(self, library: Library, follows: Follows) -> None:
        self.library = library
        self.follows = follows

    def follow(
        self,
        chat_id: int,
        args: str,
        *,
        now: datetime | None = None,
        thread_id: int | None = None,
    ) -> Reply:
        """/follow QUERY [-EXCLUDED]: keep the query; say how much already matches it."""
        try:
            follow = self.follows.add(chat_id, args, now=now, thread_id=thread_id)
        except FollowError as exc:
            return invalid(str(exc))
        wanted, excluded = split_exclusions(follow.query)
        total = self.library.searcher.search(wanted, limit=1).total
        if total:
            posts = (
                f"{total} post already matches" if total == 1 else f"{total} posts already match"
            )
            already = f"{posts} it — /search {wanted}"
            if excluded:
                already = f"{posts} “{wanted}” — /search {wanted}; those mentioning " + (
                    ", ".join(w[1:] for w in follow.query.split() if w.startswith("-"))
                    + " will not alert"
                )
        else:
            already = "Nothing in the coverage matches it yet."
        count = len(self.follows.for_chat(chat_id))
        return info(
            Block.of("Following ", Span(follow.query, "bold"), ". I'll send new posts that match."),
            Block.of(already),
            Block.of(f"/following lists what this chat follows ({count} of {self.follows.limit})."),
        )

    def unfollow(self, chat_id: int, args: str) -> Reply:
        """/unfollow [QUERY|number]: by words, by the number /following shows, or the only one."""
        current = self.follows.for_chat(chat_id)
        wanted = normalize_query(args)
        if not current:
            return info(Block.of("This chat follows nothing. /follow WORDS to start."))
        target: Follow | None = None
        if not wanted:
            if len(current) > 1:
                return invalid(
                    "Which one? Use /unfollow N or /unfollow WORDS:",
                    *_numbered(current),
                )
            target = current[0]
        else:
            target = next((f for f in current if _key(f.query) == _key(wanted)), None)
            if target is None and wanted.isdigit():
                number = int(wanted)
                if not 1 <= number <= len(current):
                    return invalid(
                        f"This chat follows {len(current)} "
                        f"quer{'ies' if len(current) != 1 else 'y'}; "
                        f"use a number from 1 to {len(current)} (see /following)."
                    )
                target = current[number - 1]
        if target is None:
            return invalid(
                f"This chat does not follow “{wanted[:QUERY_MAX]}”. /following lists its follows."
            )
        self.follows.remove(chat_id, target.query)
        return info(Block.of("Stopped following ", Span(target.query, "bold"), "."))

    def following(self, chat_id: int) -> Reply:
        """/following: the chat's follows, numbered for /unfollow N."""
        current = self.follows.for_chat(chat_id)
        if not current:
            return info(
                Block.of(
                    "This chat follows nothing yet. /follow WORDS sends new posts that match, "
                    "e.g. /follow counteroffensive"
                )
            )
        return info(
            Block.of(
                Span(f"This chat follows {len(current)} of {self.follows.limit}", "bold"), ":"
            ),
            *_numbered(current),
            Block.of("/unfollow N stops one; /follow WORDS adds one."),
        )


def _numbered(follows: list[Follow]) -> list[Block]:
    return [
        Block.of(f"{n}. ", Span(f.query, "bold"), joined=n > 1)
        for n, f in enumerate(follows, start=1)
    ]
