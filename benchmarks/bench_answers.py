"""Questions a second: the whole answer path (BM25 top-k, relevance floor, SQLite, excerpts).

Builds a library of N generated posts (benchmarks/corpus.py) in a temporary folder, then asks
200 generated questions through `bot.core.answers.Answers.ask`, once cold (nothing cached) and once
warm, on one core. Not a test: run it by hand.

    .venv/bin/python benchmarks/bench_answers.py --posts 100000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))  # pysbd ships a package named `benchmarks`

import numpy as np
from corpus import generate_posts

from bot.core.answers import Answers, ChatPrefs
from retrieval.library import Library
from retrieval.models import Coverage, Post, Timestamp
from retrieval.storage.store import Store


def questions_from(texts: list[str], n: int, seed: int = 7) -> list[str]:
    """`n` questions of 2–4 words of one random post each, as a reader would phrase a lookup."""
    rng = np.random.default_rng(seed)
    found: list[str] = []
    while len(found) < n:
        words = [w.strip(".,;:“”\"'") for w in texts[int(rng.integers(len(texts)))].split()]
        words = [w for w in words if len(w) > 3]
        want = int(rng.integers(2, 5))
        if len(words) >= want:
            found.append(" ".join(words[int(j)] for j in rng.choice(len(words), want, False)))
    return found


def build(folder: Path, n: int) -> Path:
    """A database of `n` generated posts, with its index saved beside it."""
    database = folder / "answers.db"
    store = Store(database)
    coverage = Coverage("bench", "Generated coverage", "Bench")
    day = Timestamp.of_date(date(2023, 5, 2))
    batch: list[Post] = []
    for number, (post_id, text) in enumerate(generate_posts(n)):
        title, _, body = text.partition(". ")
        batch.append(Post(post_id, "bench", title, (body or title,), day, "Bench", position=number))
        if len(batch) == 10_000:
            store.upsert(coverage, batch)
            batch = []
    if batch:
        store.upsert(coverage, batch)
    store.close()
    Library(database).close()  # builds and saves the index
    return database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        database = build(Path(tmp), args.posts)
        print(f"library of {args.posts:,} posts built in {time.perf_counter() - started:.1f} s")
        library = Library(database)
        answers = Answers(library)
        prefs = ChatPrefs(ZoneInfo("UTC"))
        sample = [text for _, text in generate_posts(min(args.posts, 10_000))]
        questions = questions_from(sample, args.queries)
        for label in ("cold", "warm"):
            started = time.perf_counter()
            found = sum(answers.ask(q, prefs).kind == "answer" for q in questions)
            elapsed = time.perf_counter() - started
            print(
                f"{label}: {len(questions) / elapsed:,.0f} answers/s "
                f"({1000 * elapsed / len(questions):.2f} ms each; {found} of {len(questions)} "
                "cleared the relevance floor)"
            )
        library.close()


if __name__ == "__main__":
    main()
