"""Questions a second: the whole answer path (BM25 top-k, relevance floor, SQLite, excerpts).

Builds a library of N generated posts (benchmarks/corpus.py) in a temporary folder, then, in
a fresh process that opens the saved library as the bot does when it starts, asks 200
generated questions through `bot.core.answers.Answers.ask`, once cold (the text caches
cleared before each question) and once warm, on one core, and prints p50/p99 per answer, as
wall time and as the thread's CPU time (on a shared machine the wall time also counts the
other processes' turns). The asking runs apart from the build because a bot never answers
from the process that bulk-built a million posts: that process's heap, grown by the build,
made the same questions 1.7 times slower at p50 and up to 3 times at p99.
Not a test: run it by hand.

    .venv/bin/python benchmarks/bench_answers.py --posts 100000,1000000
    .venv/bin/python benchmarks/bench_answers.py --ask path/to/liveblog.db   # a saved library
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as `retrieval` sets it for the bot

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))  # pysbd ships a package named `benchmarks`

import numpy as np
from corpus import generate_posts

from bot.core.answers import Answers, ChatPrefs
from retrieval.index import BM25Index
from retrieval.library import Library, open_served
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


def _clear_caches() -> None:
    """Forget every text cache the answer path keeps, so that a question is answered cold."""
    from retrieval import excerpts, text

    excerpts._sentences.cache_clear()
    text.term_set.cache_clear()
    text.sentences.cache_clear()


def run(posts: int, n_questions: int, passes: int) -> None:
    """Build a library of `posts` posts, then time the questions in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        database = build(Path(tmp), posts)
        print(f"library of {posts:,} posts built in {time.perf_counter() - started:.1f} s")
        sys.stdout.flush()
        command = [sys.executable, __file__, "--ask", str(database), "--queries", str(n_questions)]
        command += ["--passes", str(passes)]
        subprocess.run(command, check=True)


def ask(database: Path, n_questions: int, passes: int = 3) -> None:
    """Open the saved library as the bot does at start, then time `n_questions` questions
    once the background compile of the kernels has ended (seconds into the bot's run; until
    then answers take the exact numpy path, hundreds of milliseconds each at 1M posts).

    `passes` cold passes, each printed, then each question's best of them: on a shared
    machine a pass can run at two thirds speed throughout (other tenants' load), and the
    best of three tells what the code costs."""
    library = open_served(database)
    BM25Index.wait_warm()
    posts = library.store.count_posts()
    answers = Answers(library)
    prefs = ChatPrefs(ZoneInfo("UTC"))
    sample = [text for _, text in islice(library.store.texts(), 10_000)]
    questions = questions_from(sample, n_questions)
    answers.ask("warm up the kernels and wordfreq", prefs)
    cold_cpu: list[np.ndarray] = []
    for label in [*(f"cold pass {n + 1}" for n in range(passes)), "warm"]:
        times: list[float] = []
        cpu: list[float] = []
        found = 0
        for q in questions:
            if label != "warm":
                _clear_caches()
            started, started_cpu = time.perf_counter(), time.thread_time()
            found += answers.ask(q, prefs).kind == "answer"
            cpu.append(time.thread_time() - started_cpu)
            times.append(time.perf_counter() - started)
        ms, cpu_ms = np.array(times) * 1000, np.array(cpu) * 1000
        if label != "warm":
            cold_cpu.append(cpu_ms)
        print(
            f"  {posts:>9,} posts {label}: wall p50 {np.percentile(ms, 50):.2f} ms, "
            f"p99 {np.percentile(ms, 99):.2f} ms; CPU p50 {np.percentile(cpu_ms, 50):.2f} ms, "
            f"p99 {np.percentile(cpu_ms, 99):.2f} ms "
            f"({found} of {len(questions)} cleared the relevance floor)"
        )
    best = np.min(np.array(cold_cpu), axis=0)
    print(
        f"  {posts:>9,} posts cold, each question's best of {passes} passes: "
        f"CPU p50 {np.percentile(best, 50):.2f} ms, p99 {np.percentile(best, 99):.2f} ms"
    )
    library.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", default="100000,1000000", help="archive sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--passes", type=int, default=3, help="cold passes over the questions")
    parser.add_argument("--ask", type=Path, help="time the questions on this saved library")
    args = parser.parse_args()
    if args.ask:
        ask(args.ask, args.queries, args.passes)
        return
    for size in (int(s) for s in args.posts.split(",")):
        run(size, args.queries, args.passes)


if __name__ == "__main__":
    main()
