"""Benchmark: daily digests for 10,000 subscribed chats over a 100,000-post archive.

Not a test. Builds a deterministic archive (sentences of the bundled CNN sample, reshuffled;
four coverages, ~100 posts a day over ~1,000 days, one post in ten dated only, a round-up
every twentieth post whose bullets retell the posts before it), then times:

- **batch** — the morning path the bot uses (`DigestService.scheduled_batch` minus the
  claims): read the widest window once, cut and render each chat's digest (own `since`,
  own exclude set, own timezone) with one shared `DigestRenderer`. Target ≤ 0.2 ms a digest.
- **one by one** — `select_digest` + `render_digest` per chat, for comparison (a sample).
- **claim + confirm** — the two SQLite commits each delivered digest costs (a sample).
- **running path** — what the bot's minute job runs (`DigestService.due`): 10,000 real
  subscriptions, all due, found, selected, rendered, claimed and confirmed, in a copy of the
  archive; wall time and CPU time per digest (sending itself is Telegram's). Target: CPU
  ≤ 0.2 ms a digest.

    .venv/bin/python benchmarks/bench_digest.py [--posts 100000] [--chats 10000] [--db PATH]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.answers import ChatPrefs
from bot.core.digests import DigestRenderer, DigestService, render_digest
from bot.core.message_size import MAX_CHARS, MAX_ENTITIES
from bot.core.subscriptions import Subscriptions
from bot.telegram.render import render_messages
from retrieval.digest import DigestWindow, select_digest
from retrieval.importing import bundled_sample
from retrieval.models import Coverage, Post, Timestamp, stable_id
from retrieval.sources import plaintext
from retrieval.storage.store import Store
from retrieval.text import sentences

SEED = 20230502
START = datetime(2023, 1, 1, tzinfo=UTC)
ZONES = [
    "Europe/Kyiv",
    "America/New_York",
    "Asia/Kolkata",
    "UTC",
    "Europe/London",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
]
COVERAGES = [
    Coverage("bench-ukraine", "Russia-Ukraine news", "CNN", "https://example.com/ukraine"),
    Coverage("bench-sudan", "Sudan crisis", "BBC", "https://example.com/sudan"),
    Coverage("bench-markets", "Markets live", "Reuters", "https://example.com/markets"),
    Coverage("bench-election", "Election night", "AP", None),
]


def sample_text() -> tuple[list[str], list[str]]:
    """Headlines and sentences of the bundled coverage, the material posts are made of."""
    parsed = plaintext.parse(bundled_sample().decode("utf-8"))
    titles = [post.title for post in parsed.posts]
    pool = [s for post in parsed.posts for paragraph in post.body for s in sentences(paragraph)]
    return titles, pool


def generate_archive(n: int, seed: int = SEED) -> list[tuple[Coverage, list[Post]]]:
    """``n`` posts over four coverages, newest last; the same ``n`` and seed give the same posts."""
    rng = random.Random(seed)
    titles, pool = sample_text()
    per_coverage: dict[str, list[Post]] = {c.coverage_id: [] for c in COVERAGES}
    step = timedelta(days=1) / 100  # ~100 posts a day across the coverages
    for i in range(n):
        coverage = COVERAGES[rng.randrange(len(COVERAGES))]
        mine = per_coverage[coverage.coverage_id]
        moment = START + step * i + timedelta(seconds=rng.randrange(60))
        if len(mine) % 20 == 19:  # a round-up retelling the last few posts
            recent = mine[-6:]
            title = f"{rng.choice(titles)[:60]}. Here's the latest"
            body = (rng.choice(pool), *(f"{p.title}: {p.body[0]}" for p in recent))
        else:
            title = f"{rng.choice(titles)} ({i})"
            body = tuple(rng.choice(pool) for _ in range(rng.randint(1, 4)))
        stamp = Timestamp.of_date(moment.date()) if i % 10 == 0 else Timestamp.of_time(moment)
        mine.append(
            Post(
                post_id=stable_id("bench", str(i)),
                coverage_id=coverage.coverage_id,
                title=title,
                body=body,
                published=stamp,
                source=coverage.source,
                url=f"https://example.com/post/{i}",
                position=-i,  # a newer post sits higher on its page
            )
        )
    return [(c, per_coverage[c.coverage_id]) for c in COVERAGES]


def open_archive(path: Path, n: int) -> tuple[Store, datetime, float]:
    """The archive at ``path``, built if missing; returns it, its "now" and the build time."""
    store = Store(path)
    built = 0.0
    if store.count_posts() != n:
        started = time.perf_counter()
        for coverage, posts in generate_archive(n):
            store.upsert(coverage, posts)
        built = time.perf_counter() - started
    newest = store.latest(1)[0].published.sort_key()
    now = datetime.fromisoformat(newest).replace(tzinfo=UTC) + timedelta(minutes=30)
    return store, now, built


def make_chats(
    count: int, window: DigestWindow, now: datetime, seed: int = SEED
) -> list[tuple[int, datetime, frozenset[str], ZoneInfo]]:
    """Chats with their own `since` (1–26 h back, to the minute), exclude set and timezone."""
    rng = random.Random(seed + 1)
    ids = list(window.select().post_ids)
    zones = [ZoneInfo(name) for name in ZONES]
    chats = []
    for chat_id in range(count):
        since = now - timedelta(minutes=rng.randint(60, 26 * 60))
        sent = frozenset(rng.sample(ids, rng.randint(0, 15))) if rng.random() < 0.4 else frozenset()
        chats.append((chat_id, since, sent, zones[chat_id % len(zones)]))
    return chats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--db", type=Path, default=None, help="archive file (kept for reruns)")
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory()
    path = args.db or Path(folder.name) / "digest-archive.db"
    store, now, built = open_archive(path, args.posts)
    print(
        f"archive: {store.count_posts():,} posts in {path}"
        + (f" (built in {built:.1f} s)" if built else "")
    )

    widest = DigestWindow.load(store, since=now - timedelta(hours=26), now=now)
    chats = make_chats(args.chats, widest, now)

    # -- batch: one window, one renderer, each chat cut and rendered --------------------------
    # Each pass starts cold (new window, new renderer: gists computed again), as every
    # morning's batch does; the median of the passes is the figure.
    passes = []
    for _ in range(args.passes):
        started = time.perf_counter()
        earliest = min(since for _, since, _, _ in chats)
        window = DigestWindow.load(store, since=earliest, now=now)
        loaded = time.perf_counter() - started
        renderer = DigestRenderer()
        replies = []
        for _, since, sent, zone in chats:
            selection = window.select(since=since, exclude=sent)
            replies.append(renderer.render(selection, zone, scheduled=True))
        passes.append(time.perf_counter() - started)
    total = statistics.median(passes)

    shown = [len(r.results) for r in replies if r is not None]
    for reply in replies[:: max(1, len(replies) // 200)]:  # spot-check Telegram's limits
        assert reply is not None and len(render_messages(reply)) == 1, "digest over one message"
    print(
        f"window: {len(window):,} posts from {earliest:%Y-%m-%d %H:%M} to {now:%Y-%m-%d %H:%M} UTC"
    )
    print(f"chats: {len(chats):,}, {len({s for _, s, _, _ in chats}):,} distinct since values")
    print(
        f"posts shown per digest: median {statistics.median(shown):.0f}, "
        f"max {max(shown)} (one message ≤ {MAX_CHARS} chars / {MAX_ENTITIES} entities)"
    )
    print(
        f"batch: {total * 1000:.0f} ms for {len(chats):,} digests (median of {len(passes)} "
        f"cold passes; window read {loaded * 1000:.0f} ms) → "
        f"{total / len(chats) * 1000:.3f} ms per digest "
        f"(best {min(passes) / len(chats) * 1000:.3f} ms)"
    )

    # -- one by one: what the naive loop would cost --------------------------------------------
    sample = chats[:: max(1, len(chats) // 200)]
    started = time.perf_counter()
    for _, since, sent, zone in sample:
        selection = select_digest(store, since=since, now=now, exclude=sent)
        render_digest(selection, ChatPrefs(zone), scheduled=True)
    naive = (time.perf_counter() - started) / len(sample)
    print(
        f"one by one (select_digest + render_digest, {len(sample)} chats): "
        f"{naive * 1000:.2f} ms per digest"
    )

    # -- the SQLite record of a delivery -------------------------------------------------------
    records = Store(Path(folder.name) / "records.db")  # keep the archive file unchanged
    subs = Subscriptions(records.db, clock=lambda: now)
    writes = 300
    started = time.perf_counter()
    day = date(2030, 1, 1)
    for chat_id in range(writes):
        reply = replies[chat_id]
        ids = [item.post_id for item in reply.results] if reply else []
        subs.claim(chat_id, day, post_ids=ids, until=now)
        subs.confirm(chat_id, day)
    print(f"claim + confirm: {(time.perf_counter() - started) / writes * 1000:.2f} ms per digest")
    records.close()

    running_path(store, Path(folder.name) / "running.db", now, len(chats))
    store.close()
    folder.cleanup()


def running_path(store: Store, path: Path, now: datetime, count: int) -> None:
    """The minute job's batch, as the bot runs it, over a copy of the archive."""
    with sqlite3.connect(path) as copy:
        store.db.conn.backup(copy)
    bot_store = Store(path)
    zones = [ZoneInfo(name) for name in ZONES]
    earlier = Subscriptions(bot_store.db, clock=lambda: now - timedelta(days=2))
    for chat_id in range(count):
        zone = zones[chat_id % len(zones)]
        due_at = (now - timedelta(minutes=1 + chat_id % 600)).astimezone(zone)
        earlier.subscribe(chat_id, f"chat {chat_id}", f"{due_at:%H:%M}", zone.key)
    service = DigestService(bot_store, Subscriptions(bot_store.db, clock=lambda: now))
    started, cpu = time.perf_counter(), time.process_time()
    delivered = 0
    for out in service.due(now=now):
        service.sent(out)  # Telegram accepted it
        delivered += 1
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"running path (DigestService.due, claim → confirm): {delivered:,} of {count:,} due "
        f"digests in {wall:.2f} s → {wall / max(delivered, 1) * 1000:.3f} ms wall, "
        f"{cpu / max(delivered, 1) * 1000:.3f} ms CPU per digest"
    )
    again = sum(1 for _ in service.due(now=now))
    print(f"a second run in the same minute finds {again} more to send")
    bot_store.close()


if __name__ == "__main__":
    main()
