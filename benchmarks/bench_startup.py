"""Start-up after a killed import: the saved index misses posts that the store has.

    .venv/bin/python benchmarks/bench_startup.py --posts 1000000 --missing 200000

Makes (once; cached in benchmarks/results/cache/) a database of ``--posts`` generated posts
(benchmarks/corpus.py) whose saved index holds all but the last ``--missing`` of them, as an
import killed before the index was saved leaves it. Then times ``Library(database)`` in a
fresh process three ways, restoring the saved index before each: as the library decides
(``auto``), catching up whatever the number missing, and rebuilding from the store. Prints
seconds, the path taken and peak RSS; the crossover estimate is where a catch-up of that many
posts would cost as much as the rebuild. Not a test: run it by hand. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # pysbd installs a top-level `benchmarks`

from corpus import corpus_file, iter_cached  # noqa: E402

import retrieval.library as library_module  # noqa: E402
from retrieval.index.memory import map_large_allocations  # noqa: E402
from retrieval.library import Library  # noqa: E402
from retrieval.models import Coverage, Post, Timestamp  # noqa: E402
from retrieval.storage.store import Store  # noqa: E402

CACHE = HERE / "results" / "cache"
MODES = ("auto", "catch-up", "rebuild")


def _import(store: Store, posts: Iterator[tuple[str, str]], first: int, count: int) -> None:
    """Store the next ``count`` posts of the corpus (numbered from ``first``), 20,000 a write."""
    coverage = Coverage("bench", "Generated coverage", "Bench")
    day = Timestamp.of_date(date(2023, 5, 2))
    batch: list[Post] = []
    for number, (post_id, text) in zip(range(first, first + count), posts, strict=False):
        title, _, body = text.partition(". ")
        batch.append(Post(post_id, "bench", title, (body or title,), day, "Bench", position=number))
        if len(batch) == 20_000:
            store.upsert(coverage, batch)
            batch = []
    if batch:
        store.upsert(coverage, batch)


def prepare(posts: int, missing: int) -> Path:
    """The database, its saved index (all but the last ``missing`` posts) and a pristine copy
    of that index, made once."""
    folder = CACHE / f"startup-{posts}-{missing}"
    database = folder / "bench.db"
    pristine = folder / "index.saved"
    if pristine.is_dir():
        return database
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    corpus = iter_cached(corpus_file(posts, CACHE))
    started = time.perf_counter()
    store = Store(database)
    _import(store, corpus, 0, posts - missing)
    store.close()
    Library(database).close()  # builds and saves the index of the posts so far
    store = Store(database)
    _import(store, corpus, posts - missing, missing)  # the import whose index was never saved
    store.close()
    shutil.copytree(f"{database}.index", pristine)
    print(f"prepared {folder} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return database


def worker(database: Path, mode: str) -> None:
    """Open the library once and print what it took as JSON."""
    map_large_allocations()
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logging.getLogger("retrieval.library").addHandler(Collect())
    logging.getLogger("retrieval.library").setLevel(logging.INFO)
    if mode == "catch-up":
        library_module.rebuild_threshold = lambda posts: 1 << 62
    elif mode == "rebuild":
        library_module.rebuild_threshold = lambda posts: -1
    started, cpu = time.perf_counter(), time.process_time()
    library = Library(database)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    documents = len(library.index)
    rss = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            rss = int(line.split()[1]) / 1024
    path = "rebuild" if any(m.startswith("rebuilding") for m in messages) else "catch-up"
    print(
        json.dumps(
            {
                "mode": mode,
                "seconds": seconds,
                "cpu_s": cpu,
                "path": path,
                "documents": documents,
                "peak_rss_mb": rss,
                "log": messages,
            }
        )
    )
    library.store.close()  # not `close`: saving the caught-up index is not start-up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--missing", type=int, default=200_000)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.db), args.worker)
        return
    database = prepare(args.posts, args.missing)
    results = {}
    for mode in args.modes.split(","):
        index_dir = Path(f"{database}.index")
        shutil.rmtree(index_dir, ignore_errors=True)
        shutil.copytree(database.parent / "index.saved", index_dir)
        command = [sys.executable, __file__, f"--worker={mode}", f"--db={database}"]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        r = results[mode]
        print(
            f"{args.posts:,} posts, {args.missing:,} missing, {mode:>8}: {r['seconds']:6.1f} s "
            f"(CPU {r['cpu_s']:5.1f} s) "
            f"({r['path']}, {r['documents']:,} documents, peak RSS {r['peak_rss_mb']:,.0f} MB)"
        )
        for message in r["log"]:
            print(f"    log: {message}")
    if "catch-up" in results and "rebuild" in results:
        per_post = results["catch-up"]["seconds"] / args.missing
        print(
            f"catch-up {1e3 * per_post:.3f} ms per missing post; a rebuild costs as much as "
            f"catching up {results['rebuild']['seconds'] / per_post:,.0f} posts "
            f"({results['rebuild']['seconds'] / per_post / args.posts:.0%} of the store)"
        )


if __name__ == "__main__":
    main()
