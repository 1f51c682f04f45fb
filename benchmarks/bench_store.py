"""Imports per second in the store, and what recognising a coverage that came another way costs.

Stores N generated posts of one coverage in batches (as a large import or a busy poll does),
re-imports them unchanged, then imports them as the same page fetched from its URL would
arrive (another coverage id, so other post ids, the same canonical URL): the first time each
post is matched among its candidates and an alias remembered, the second time the alias is
found at once. Not a test: run it by hand.

    .venv/bin/python benchmarks/bench_store.py --posts 100000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from retrieval.models import Coverage, Post, Timestamp, stable_id
from retrieval.storage.store import Store


def posts_of(coverage: Coverage, n: int) -> list[Post]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        Post(
            post_id=stable_id(coverage.coverage_id, "id", str(i)),
            coverage_id=coverage.coverage_id,
            title=f"Update {i}: the count goes on",
            body=(f"Paragraph one of update {i}.", "Paragraph two."),
            published=Timestamp.of_time(start + timedelta(minutes=i)),
            source="Bench Times",
            url=f"https://bench.example/live/blog#update-{i}",
            position=n - i,
        )
        for i in range(n)
    ]


def timed(store: Store, coverage: Coverage, posts: list[Post], batch: int) -> tuple[float, int]:
    started = time.perf_counter()
    added = 0
    for at in range(0, len(posts), batch):
        added += store.upsert(coverage, posts[at : at + batch]).added
    return time.perf_counter() - started, added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    from_file = Coverage("file-id", "Bench live", "Bench Times", "https://bench.example/live/blog")
    from_url = Coverage("url-id", "Bench live", "Bench Times", "https://BENCH.example/live/blog/")
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "bench.db")
        rows = [
            ("first import", *timed(store, from_file, posts_of(from_file, args.posts), args.batch)),
            (
                "unchanged re-import",
                *timed(store, from_file, posts_of(from_file, args.posts), args.batch),
            ),
            (
                "from the URL, first time",
                *timed(store, from_url, posts_of(from_url, args.posts), args.batch),
            ),
            (
                "from the URL, again",
                *timed(store, from_url, posts_of(from_url, args.posts), args.batch),
            ),
        ]
        stored = store.count_posts()
        store.close()
    print(f"{args.posts:,} posts in batches of {args.batch:,}; {stored:,} stored at the end")
    for name, seconds, added in rows:
        print(
            f"  {name:<26} {seconds:7.2f} s  {args.posts / seconds:>9,.0f} posts/s  {added:,} added"
        )


if __name__ == "__main__":
    main()
