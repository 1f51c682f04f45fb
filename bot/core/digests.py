"""The daily digest as a `Reply`, the digest commands' answers, and one delivery run.

Plain data like the rest of the answer core: no Telegram types. A digest is one message — a
bold heading per coverage, then each post as time, linked title and one-sentence gist — kept
within Telegram's limits (`bot.core.message_size`); what does not fit is counted in a
last line, "…and N more — /search".

`DigestService` runs the delivery protocol of `bot.core.subscriptions` (select → render → claim →
send → confirm/release); the Telegram adapter only sends and reports back.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.core.answers import ChatPrefs, gist
from bot.core.formatting import show_time
from bot.core.message_size import MAX_CHARS, MAX_ENTITIES, entity_count, text_length
from bot.core.reply import Block, Reply, ResultItem, Span, info, invalid
from bot.core.subscriptions import (
    DEFAULT_TIME,
    Run,
    Subscription,
    SubscriptionError,
    Subscriptions,
    digest_since,
    due_catch_up,
    next_run,
    parse_local_time,
)
from retrieval.digest import DigestSelection, DigestWindow, select_digest
from retrieval.models import Coverage, Post, Timestamp
from retrieval.storage.store import Store

CLAIM_CHUNK = 100  # digests claimed per transaction in a batch
TITLE_MAX = 300  # a digest line, not the article: very long headlines are clipped
MORE_ENTITIES = 1  # Telegram may turn "/search" into a bot-command entity
SUBSCRIBE_USAGE = (
    "Use /subscribe [HH:MM] [Area/City], e.g. /subscribe 07:30 Europe/Kyiv "
    f"(default {DEFAULT_TIME} in this chat's timezone)."
)


@dataclass(frozen=True)
class _Piece:
    """A block with its size as Telegram counts it."""

    block: Block
    length: int
    entities: int


def _piece(block: Block) -> _Piece:
    return _Piece(block, text_length(block.spans), entity_count(block.spans))


class DigestRenderer:
    """Selections → replies. Caches what does not depend on the chat (gists, lines per zone).

    Make one per batch of digests: the caches are what makes 10,000 digests cheap, and they
    end with the batch.
    """

    def __init__(self) -> None:
        self._gists: dict[str, str] = {}
        self._lines: dict[tuple[str, str], _Piece] = {}
        self._headings: dict[str, _Piece] = {}
        self._items: dict[str, ResultItem] = {}
        self._replies: dict[tuple[int, str, bool], tuple[DigestSelection, Reply | None]] = {}

    def render(
        self, selection: DigestSelection, zone: ZoneInfo, *, scheduled: bool
    ) -> Reply | None:
        """One message, or None for a scheduled run with nothing new (/digest says so instead).

        The same selection (a window hands out one object per distinct cut) in the same zone
        is rendered once per batch."""
        key = (id(selection), zone.key, scheduled)
        held = self._replies.get(key)
        if held is not None and held[0] is selection:
            return held[1]
        reply = self._render(selection, zone, scheduled=scheduled)
        self._replies[key] = (selection, reply)
        return reply

    def _render(
        self, selection: DigestSelection, zone: ZoneInfo, *, scheduled: bool
    ) -> Reply | None:
        total = len(selection)
        since = show_time(Timestamp.of_time(selection.since), zone)
        if total == 0:
            if scheduled:
                return None
            message = f"No new posts since {since}."
            return Reply((Block.of(message),), kind="empty", message=message)
        noun = "post" if total == 1 else "posts"
        header = _piece(
            Block.of(
                Span("Daily digest" if scheduled else "Digest", "bold"),
                f" · {total} new {noun} since {since}",
            )
        )
        blocks = [header.block]
        length, entities = header.length, header.entities
        items: list[ResultItem] = []
        for group in selection.groups:
            heading = self._heading(group.coverage)
            for n, post in enumerate(group.posts):
                line = self._line(post, zone)
                add_length = line.length + 1 + (heading.length + 2 if n == 0 else 0)
                add_entities = line.entities + (heading.entities if n == 0 else 0)
                rest = total - len(items) - 1
                need_length, need_entities = length + add_length, entities + add_entities
                if rest:
                    more = _more(rest)
                    need_length += 2 + more.length
                    need_entities += more.entities + MORE_ENTITIES
                if need_length > MAX_CHARS or need_entities > MAX_ENTITIES:
                    break
                if n == 0:
                    blocks.append(heading.block)
                blocks.append(line.block)
                items.append(self._item(post))
                length, entities = length + add_length, entities + add_entities
            else:
                continue
            break
        if len(items) < total:
            blocks.append(_more(total - len(items)).block)
        return Reply(tuple(blocks), results=tuple(items))

    def _gist(self, post: Post) -> str:
        if post.post_id not in self._gists:
            self._gists[post.post_id] = gist(post)
        return self._gists[post.post_id]

    def _line(self, post: Post, zone: ZoneInfo) -> _Piece:
        key = (post.post_id, zone.key)
        piece = self._lines.get(key)
        if piece is None:
            spans = [
                Span(f"{show_time(post.published, zone)} · "),
                Span(_clip(post.title, TITLE_MAX), "bold", post.url),
            ]
            summary = self._gist(post)
            if summary:
                spans += [Span(" — "), Span(summary, "italic")]
            piece = self._lines[key] = _piece(Block(tuple(spans), joined=True))
        return piece

    def _heading(self, coverage: Coverage) -> _Piece:
        piece = self._headings.get(coverage.coverage_id)
        if piece is None:
            source = f" · {coverage.source}" if coverage.source else ""
            block = Block.of(Span(_clip(coverage.title, 200), "bold", coverage.url), source)
            piece = self._headings[coverage.coverage_id] = _piece(block)
        return piece

    def _item(self, post: Post) -> ResultItem:
        item = self._items.get(post.post_id)
        if item is None:
            item = self._items[post.post_id] = ResultItem(
                post_id=post.post_id,
                title=post.title,
                excerpt=self._gist(post),
                published_at=post.published.isoformat(),
                source=post.source,
                authors=post.authors,
                url=post.url,
                score=None,
            )
        return item


def render_digest(selection: DigestSelection, prefs: ChatPrefs, *, scheduled: bool) -> Reply | None:
    """One digest on its own (a batch should share one `DigestRenderer`)."""
    return DigestRenderer().render(selection, prefs.timezone, scheduled=scheduled)


@lru_cache(maxsize=4096)
def _more(count: int) -> _Piece:
    """The closing line (cached: it is measured for every post of every digest)."""
    return _piece(Block.of(f"…and {count} more — /search"))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


# -- delivery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A digest ready to send; `local_date` is the date it is claimed for (None for /digest)."""

    chat_id: int
    reply: Reply
    post_ids: tuple[str, ...]
    local_date: date | None = None
    thread_id: int | None = None  # the forum topic the chat subscribed in


class DigestService:
    """Selects, renders and claims digests; the adapter sends them and calls `sent`/`failed`."""

    def __init__(self, store: Store, subscriptions: Subscriptions) -> None:
        self.store = store
        self.subscriptions = subscriptions
        self._confirms: list[tuple[int, date, datetime | None]] = []
        self._in_batch = False

    def due(self, *, now: datetime | None = None) -> Generator[Outgoing, None, None]:
        """Every digest due now, as one batch: the bot runs this once a minute (and at start,
        which sends a digest missed while it was down if it is less than 12 hours late).

        A run is due when its local time has come, less than 12 hours ago, and nothing is on
        record for its local date (`due_catch_up`). Lazy like `scheduled_batch`.
        """
        now = now or self.subscriptions.clock()
        runs = [
            (sub.chat_id, day)
            for sub in self.subscriptions.active()
            if (day := due_catch_up(sub, now)) is not None
        ]
        return self.scheduled_batch(runs, now=now)

    def scheduled(
        self, chat_id: int, local_date: date, *, now: datetime | None = None
    ) -> Outgoing | None:
        """The claimed digest for one chat's run, or None (nothing new, or already recorded)."""
        batch = self.scheduled_batch([(chat_id, local_date)], now=now)
        try:
            return next(batch, None)
        finally:
            batch.close()

    def scheduled_batch(
        self, due: Sequence[tuple[int, date]], *, now: datetime | None = None
    ) -> Generator[Outgoing, None, None]:
        """Digests for many runs at once: one window read, one renderer, one claim each.

        Claimed `CLAIM_CHUNK` at a time, one transaction each, as the iterator reaches them: a
        crash leaves at most one chunk claimed and unsent (at most once, as the protocol says).
        Take one, send it, report it with `sent`/`failed`, then take the next.
        """
        self._in_batch = True
        try:
            yield from self._batch(due, now or self.subscriptions.clock())
        finally:
            self._in_batch = False
            self._flush_confirms()

    def _batch(self, due: Sequence[tuple[int, date]], now: datetime) -> Iterator[Outgoing]:
        subs = self._subscriptions([chat_id for chat_id, _ in due])
        runs = [
            (subs[chat_id], day)
            for chat_id, day in due
            if chat_id in subs and not _recorded(subs[chat_id], day)
        ]
        if not runs:
            return
        starts = {sub.chat_id: digest_since(sub, now) for sub, _ in runs}
        earliest = min(starts.values())
        window = DigestWindow.load(self.store, since=earliest, now=now)
        sent = (
            self.subscriptions.sent_post_ids_all(since=earliest)
            if len(runs) > 20
            else {
                sub.chat_id: self.subscriptions.sent_post_ids(sub.chat_id, since=earliest)
                for sub, _ in runs
            }
        )
        renderer = DigestRenderer()
        pending: list[tuple[Run, Reply | None]] = []
        for sub, day in runs:
            selection = window.select(
                since=starts[sub.chat_id], exclude=sent.get(sub.chat_id, frozenset())
            )
            reply = renderer.render(selection, sub.zone, scheduled=True)
            ids = tuple(item.post_id for item in reply.results) if reply else ()
            state = "sending" if reply is not None else "empty"
            pending.append((Run(sub.chat_id, day, state, ids, selection.since, now), reply))
            if len(pending) >= CLAIM_CHUNK:
                yield from self._claimed(pending, subs)
                pending = []
        yield from self._claimed(pending, subs)
        if len(runs) > CLAIM_CHUNK:
            self.subscriptions.prune()

    def _claimed(
        self, pending: list[tuple[Run, Reply | None]], subs: dict[int, Subscription]
    ) -> Iterator[Outgoing]:
        """Claim a chunk of runs in one transaction; the digests that are ours to send."""
        taken = self.subscriptions.claim_many([run for run, _ in pending])
        for (run, reply), ours in zip(pending, taken, strict=True):
            if ours and reply is not None:
                thread = subs[run.chat_id].thread_id if run.chat_id in subs else None
                yield Outgoing(run.chat_id, reply, run.post_ids, run.local_date, thread)

    def on_demand(self, chat_id: int, zone: ZoneInfo, *, now: datetime | None = None) -> Outgoing:
        """/digest: what is new since this chat's last digest (or the last 24 hours), unsent."""
        now = now or self.subscriptions.clock()
        since = digest_since(self.subscriptions.get(chat_id), now)
        exclude = self.subscriptions.sent_post_ids(
            chat_id, since=since
        ) | self.subscriptions.on_demand_post_ids(chat_id, since=since)
        selection = select_digest(self.store, since=since, now=now, exclude=exclude)
        reply = DigestRenderer().render(selection, zone, scheduled=False)
        assert reply is not None  # on demand, "nothing new" is a reply too
        return Outgoing(chat_id, reply, tuple(item.post_id for item in reply.results))

    def sent(self, out: Outgoing, *, at: datetime | None = None) -> None:
        """Telegram accepted the message: confirm the claim, or remember a /digest's posts."""
        if out.local_date is None:
            self.subscriptions.record_on_demand(out.chat_id, out.post_ids, at=at)
            return
        # Within a batch, confirmations are written a chunk at a time: until then the claim
        # already counts the digest as delivered, so a crash loses only the "sent" time.
        self._confirms.append((out.chat_id, out.local_date, at))
        if not self._in_batch or len(self._confirms) >= CLAIM_CHUNK:
            self._flush_confirms()

    def _flush_confirms(self) -> None:
        if self._confirms:
            self.subscriptions.confirm_many(self._confirms)
            self._confirms = []

    def failed(self, out: Outgoing) -> None:
        """The message surely did not go out: free the date so a later run may send it."""
        if out.local_date is not None:
            self.subscriptions.release(out.chat_id, out.local_date)

    def moved(self, out: Outgoing, new_chat_id: int) -> Outgoing:
        """The group became a supergroup: move its records (the claim too) and re-address it."""
        self.subscriptions.migrate(out.chat_id, new_chat_id)
        return replace(out, chat_id=new_chat_id)

    def _subscriptions(self, chat_ids: Iterable[int]) -> dict[int, Subscription]:
        wanted = set(chat_ids)
        if len(wanted) > 20:
            found = [sub for sub in self.subscriptions.active() if sub.chat_id in wanted]
        else:
            found = [sub for sub in map(self.subscriptions.get, wanted) if sub and sub.active]
        return {sub.chat_id: sub for sub in found}


def _recorded(sub: Subscription, day: date) -> bool:
    """A run for this date (or a later one) is on record: skip the work, the claim would fail."""
    return sub.last_digest_date is not None and sub.last_digest_date >= day


# -- commands --------------------------------------------------------------------------------


def subscribe_command(
    subscriptions: Subscriptions,
    chat_id: int,
    chat_title: str,
    args: str,
    prefs: ChatPrefs,
    *,
    now: datetime | None = None,
    thread_id: int | None = None,
) -> Reply:
    """/subscribe [HH:MM] [Area/City]: start or change the chat's daily digest."""
    words = args.split()
    times = [w for w in words if w[:1].isdigit()]
    zones = [w for w in words if not w[:1].isdigit()]
    if len(times) > 1 or len(zones) > 1:
        return invalid(SUBSCRIBE_USAGE)
    try:
        local_time = parse_local_time(times[0]) if times else DEFAULT_TIME
        zone = zones[0] if zones else prefs.timezone.key
        before = subscriptions.get(chat_id)
        sub = subscriptions.subscribe(chat_id, chat_title, local_time, zone, thread_id=thread_id)
    except SubscriptionError as exc:
        return invalid(f"{exc} {SUBSCRIBE_USAGE}")
    run = next_run(sub, now or subscriptions.clock())
    verb = "Updated" if before is not None and before.active else "Subscribed"
    return info(
        f"{verb}: a digest of new posts every day at {sub.local_time} ({sub.timezone}). "
        f"The next one comes {show_time(Timestamp.of_time(run), sub.zone)}. "
        "/unsubscribe stops it, /digest shows one now."
    )


def unsubscribe_command(subscriptions: Subscriptions, chat_id: int) -> Reply:
    """/unsubscribe: stop the chat's daily digest."""
    if subscriptions.unsubscribe(chat_id):
        return info("Unsubscribed: no more daily digests here. /subscribe brings them back.")
    return info("This chat has no daily digest. /subscribe starts one.")


def subscription_command(
    subscriptions: Subscriptions, chat_id: int, *, now: datetime | None = None
) -> Reply:
    """/subscription: time, timezone, next delivery (and why it is paused, if it is)."""
    sub = subscriptions.get(chat_id)
    if sub is None:
        return info(f"This chat has no daily digest. {SUBSCRIBE_USAGE}")
    lines = [f"Daily digest at {sub.local_time} ({sub.timezone})."]
    if sub.active:
        run = next_run(sub, now or subscriptions.clock())
        lines.append(f"Next: {show_time(Timestamp.of_time(run), sub.zone)}.")
    else:
        reason = f" ({sub.deactivated_reason})" if sub.deactivated_reason else ""
        lines.append(f"Paused{reason}: /subscribe resumes it.")
    if sub.last_sent_at:
        lines.append(f"Last sent: {show_time(Timestamp.of_time(sub.last_sent_at), sub.zone)}.")
    return info(" ".join(lines))
