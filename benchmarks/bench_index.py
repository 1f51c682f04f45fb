"""Benchmark `retrieval.index.BM25Index` against rank-bm25, bm25s, SQLite FTS5 and tantivy.

Every engine runs in its own process (so that peak RSS is its own) on the same generated
archive and the same queries, and gets the same token lists (our tokenizer's stems, joined by
spaces for FTS5 and tantivy) so that top-10 agreement compares ranking, not tokenizers.

    .venv/bin/python benchmarks/bench_index.py --sizes 10000,100000

Prints a table and writes JSON to benchmarks/results/. See benchmarks/README.md.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as `retrieval` sets it for the bot

import argparse
import gc
import json
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# `corpus` is imported as a sibling module: pysbd installs a top-level package `benchmarks`.
sys.path[:0] = [str(HERE), str(ROOT)]

import numpy as np  # noqa: E402
from corpus import SEED, corpus_file, generate_posts, generate_queries, iter_cached  # noqa: E402

from retrieval.index import BM25Index  # noqa: E402
from retrieval.index.memory import map_large_allocations  # noqa: E402
from retrieval.text import tokenize, tokenize_many  # noqa: E402

ENGINES = ["liveblog", "liveblog-load", "rank-bm25", "bm25s", "fts5", "tantivy"]
RESULTS = HERE / "results"
CACHE = RESULTS / "cache"
K = 10

Doc = tuple[str, list[str]]


# ------------------------------------------------------------------------------ helpers


def peak_rss_mb() -> float:
    """This process's resident high-water mark.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a worker would report its
    parent's size at the fork.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tokenized(path: Path) -> Iterator[Doc]:
    """Stream (post id, tokens) of a corpus file with the project's tokenizer."""
    ids: list[str] = []

    def texts() -> Iterator[str]:
        for post_id, text in iter_cached(path):
            ids.append(post_id)
            yield text

    for n, tokens in enumerate(tokenize_many(texts())):
        yield ids[n], tokens
        ids[n] = ""  # the id list only grows by references to one empty string


def time_queries(
    queries: list[list[str]], run: Callable[[list[str]], list[str]], passes: int = 3
) -> tuple[dict[str, float], list[list[str]]]:
    """p50/p99 of each query's best of ``passes`` runs (a shared machine is noisy), and QPS."""
    best = np.full(len(queries), np.inf)
    totals = []
    tops: list[list[str]] = []
    gc.collect()
    gc.freeze()  # a long-lived index is old garbage; a serving process would freeze it too
    for rep in range(passes):
        start = time.perf_counter()
        for i, query in enumerate(queries):
            t0 = time.perf_counter()
            top = run(query)
            best[i] = min(best[i], time.perf_counter() - t0)
            if rep == 0:
                tops.append(top)
        totals.append(time.perf_counter() - start)
    ms = best * 1e3
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "qps": len(queries) / min(totals),
    }, tops


def new_posts(n: int, size: int) -> list[tuple[str, str]]:
    """Posts to add after the build: half new ids, half edits of existing ones."""
    posts = []
    for i, (_, text) in enumerate(generate_posts(n, SEED + 99)):
        posts.append((f"post-{i * 7 % size:07d}" if i % 2 else f"new-{i:07d}", text))
    return posts


# ------------------------------------------------------------------------------ engines


def run_liveblog(path: Path, queries: list[list[str]], args: argparse.Namespace) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    index = BM25Index.build(tokenized(path))
    build_s, build_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    build_rss = peak_rss_mb()
    stats = index.stats()
    timing, tops = time_queries(queries, lambda q: [d for d, _ in index.top_k(q, K)])
    index_dir = Path(args.index_dir)
    t0 = time.perf_counter()
    index.save(index_dir)  # before the additions: liveblog-load serves the same archive
    save_s = time.perf_counter() - t0
    additions = new_posts(args.add, args.size)
    t0, c0 = time.perf_counter(), time.process_time()
    worst = 0.0
    for post_id, text in additions:
        t1 = time.perf_counter()
        index.upsert(post_id, tokenize(text))
        worst = max(worst, time.perf_counter() - t1)
    add_s, add_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    after, _ = time_queries(queries, lambda q: [d for d, _ in index.top_k(q, K)], passes=1)
    return {
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "build_peak_rss_mb": build_rss,
        "add_ms": add_s / len(additions) * 1e3,
        "add_cpu_ms": add_cpu_s / len(additions) * 1e3,
        "add_max_ms": worst * 1e3,
        "add_note": f"{len(additions)} upserts incl. tokenize (half edits), merges included",
        "p50_after_adds_ms": after["p50_ms"],
        "save_s": save_s,
        "postings": stats.postings,
        "terms": stats.terms,
        **timing,
        "top10": tops,
    }


def run_liveblog_load(
    path: Path, queries: list[list[str]], args: argparse.Namespace
) -> dict[str, Any]:
    """Start-up from the saved index (read into memory, checksums and invariants verified) and
    serving: the bot's steady state."""
    t0, c0 = time.perf_counter(), time.process_time()
    index = BM25Index.load(Path(args.index_dir))
    load_s, load_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    index.top_k(queries[0], K)
    first_s = time.perf_counter() - t0
    timing, tops = time_queries(queries, lambda q: [d for d, _ in index.top_k(q, K)])
    return {
        "startup_s": load_s,
        "startup_cpu_s": load_cpu_s,
        "first_query_s": first_s,
        **timing,
        "top10": tops,
    }


def run_rank_bm25(path: Path, queries: list[list[str]], args: argparse.Namespace) -> dict[str, Any]:
    from rank_bm25 import BM25Okapi

    t0 = time.perf_counter()
    ids: list[str] = []
    corpus: list[list[str]] = []
    for doc_id, tokens in tokenized(path):
        ids.append(doc_id)
        corpus.append(tokens)
    bm25 = BM25Okapi(corpus)
    build_s = time.perf_counter() - t0
    del corpus  # BM25Okapi keeps its own term-frequency dicts
    freqs = bm25.doc_freqs

    def run(query: list[str]) -> list[str]:
        """The reference: documents holding a query token, by score, earlier first on ties."""
        scores = bm25.get_scores(query)
        order = np.lexsort((np.arange(len(scores)), -scores))
        top = []
        for i in order.tolist():
            if any(t in freqs[i] for t in query):
                top.append(ids[i])
                if len(top) == K:
                    break
        return top

    limit = args.rank_bm25_queries
    sample = queries[:limit] if limit else queries
    timing, tops = time_queries(sample, run, passes=1 if len(ids) > 200_000 else 3)
    return {
        "build_s": build_s,
        "add_ms": None,
        "add_note": "no incremental update: rebuild",
        "queries_run": len(sample),
        **timing,
        "top10": tops,
    }


def run_bm25s(path: Path, queries: list[list[str]], args: argparse.Namespace) -> dict[str, Any]:
    import bm25s  # type: ignore[import-untyped]

    t0 = time.perf_counter()
    ids: list[str] = []
    corpus: list[list[str]] = []
    for doc_id, tokens in tokenized(path):
        ids.append(doc_id)
        corpus.append(tokens)
    retriever = bm25s.BM25(method="robertson", k1=1.5, b=0.75)
    retriever.index(corpus, show_progress=False)
    build_s = time.perf_counter() - t0
    del corpus
    vocab = retriever.vocab_dict

    def run(query: list[str]) -> list[str]:
        known = [t for t in query if t in vocab]
        if not known:
            return []
        docs, scores = retriever.retrieve([known], k=K, show_progress=False, n_threads=1)
        return [ids[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    timing, tops = time_queries(queries, run)
    return {
        "build_s": build_s,
        "add_ms": None,
        "add_note": "no incremental update: rebuild",
        **timing,
        "top10": tops,
    }


def run_fts5(path: Path, queries: list[list[str]], args: argparse.Namespace) -> dict[str, Any]:
    db_path = Path(args.index_dir) / "fts5.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    db.execute(
        "CREATE VIRTUAL TABLE posts USING fts5(body, "
        "tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")"
    )
    ids: list[str] = []  # rowid n + 1 is ids[n]
    rowid_of: dict[str, int] = {}

    def rows() -> Iterator[tuple[int, str]]:
        for doc_id, tokens in tokenized(path):
            ids.append(doc_id)
            rowid_of[doc_id] = len(ids)
            yield len(ids), " ".join(tokens)

    t0 = time.perf_counter()
    with db:
        db.executemany("INSERT INTO posts (rowid, body) VALUES (?, ?)", rows())
    db.execute("INSERT INTO posts (posts) VALUES ('optimize')")
    db.commit()
    build_s = time.perf_counter() - t0
    sql = "SELECT rowid FROM posts WHERE posts MATCH ? ORDER BY bm25(posts) LIMIT ?"

    def run(query: list[str]) -> list[str]:
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in query)
        return [ids[row[0] - 1] for row in db.execute(sql, (match, K))]

    timing, tops = time_queries(queries, run)
    additions = new_posts(min(args.add, 2000), args.size)
    t0 = time.perf_counter()
    worst = 0.0
    for post_id, text in additions:
        t1 = time.perf_counter()
        rowid = rowid_of.get(post_id)
        if rowid is None:
            ids.append(post_id)
            rowid = rowid_of[post_id] = len(ids)
        with db:  # one transaction per post, as a live import would
            db.execute("DELETE FROM posts WHERE rowid = ?", (rowid,))
            db.execute(
                "INSERT INTO posts (rowid, body) VALUES (?, ?)", (rowid, " ".join(tokenize(text)))
            )
        worst = max(worst, time.perf_counter() - t1)
    add_s = time.perf_counter() - t0
    db.close()
    return {
        "build_s": build_s,
        "add_ms": add_s / len(additions) * 1e3,
        "add_max_ms": worst * 1e3,
        "add_note": f"{len(additions)} delete+insert transactions by rowid",
        **timing,
        "top10": tops,
    }


def run_tantivy(path: Path, queries: list[list[str]], args: argparse.Namespace) -> dict[str, Any]:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("post_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    schema = builder.build()
    index_dir = Path(args.index_dir) / "tantivy"
    index_dir.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(schema, path=str(index_dir), reuse=False)
    t0 = time.perf_counter()
    writer = index.writer(heap_size=256_000_000, num_threads=1)
    for doc_id, tokens in tokenized(path):
        writer.add_document(tantivy.Document(post_id=doc_id, body=" ".join(tokens)))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    build_s = time.perf_counter() - t0
    searcher = index.searcher()

    def run(query: list[str]) -> list[str]:
        terms = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in query]
        hits = searcher.search(tantivy.Query.boolean_query(terms), K).hits
        return [searcher.doc(address)["post_id"][0] for _, address in hits]

    timing, tops = time_queries(queries, run)
    additions = new_posts(min(args.add, 200), args.size)
    writer = index.writer(heap_size=64_000_000, num_threads=1)
    t0 = time.perf_counter()
    worst = 0.0
    for post_id, text in additions:
        t1 = time.perf_counter()
        writer.delete_documents("post_id", post_id)
        writer.add_document(tantivy.Document(post_id=post_id, body=" ".join(tokenize(text))))
        writer.commit()
        worst = max(worst, time.perf_counter() - t1)
    add_s = time.perf_counter() - t0
    return {
        "build_s": build_s,
        "add_ms": add_s / len(additions) * 1e3,
        "add_max_ms": worst * 1e3,
        "add_note": f"{len(additions)} delete+add+commit",
        **timing,
        "top10": tops,
    }


RUNNERS: dict[str, Callable[[Path, list[list[str]], argparse.Namespace], dict[str, Any]]] = {
    "liveblog": run_liveblog,
    "liveblog-load": run_liveblog_load,
    "rank-bm25": run_rank_bm25,
    "bm25s": run_bm25s,
    "fts5": run_fts5,
    "tantivy": run_tantivy,
}


# ----------------------------------------------------------------------------- driver


def worker(args: argparse.Namespace) -> None:
    """Run one engine at one size; print one JSON object."""
    if args.worker.startswith("liveblog"):
        map_large_allocations()  # as `liveblog-bot` does at start-up (retrieval/memory.py)
    path = corpus_file(args.size, CACHE)
    queries = json.loads(Path(args.queries_file).read_text(encoding="utf-8"))
    result = RUNNERS[args.worker](path, queries, args)
    result.update(engine=args.worker, size=args.size, peak_rss_mb=peak_rss_mb())
    print(json.dumps(result))


def agreement(tops: Sequence[Sequence[str]], reference: Sequence[Sequence[str]]) -> float:
    """Mean share of rank-bm25's top 10 that the engine also returns in its top 10."""
    shares = [
        len(set(got) & set(want)) / len(want)
        for got, want in zip(tops, reference, strict=False)
        if want
    ]
    return float(np.mean(shares)) if shares else float("nan")


def exact_share(tops: Sequence[Sequence[str]], reference: Sequence[Sequence[str]]) -> float:
    """Share of queries whose top 10 is rank-bm25's, same ids in the same order."""
    same = [list(got) == list(want) for got, want in zip(tops, reference, strict=False)]
    return float(np.mean(same)) if same else float("nan")


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:
            return "-"
        return f"{value:,.{digits}f}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--add", type=int, default=20_000, help="posts added after the build")
    parser.add_argument(
        "--rank-bm25-queries-large",
        type=int,
        default=50,
        help="queries rank-bm25 runs at 500k posts and more (it scores every post in Python)",
    )
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--queries-file", help=argparse.SUPPRESS)
    parser.add_argument("--index-dir", help=argparse.SUPPRESS)
    parser.add_argument("--rank-bm25-queries", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--make-queries", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_queries:
        posts = list(iter_cached(corpus_file(args.size, CACHE)))
        queries = generate_queries(posts, args.make_queries)
        Path(args.queries_file).write_text(json.dumps(queries), encoding="utf-8")
        return
    if args.worker:
        worker(args)
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    engines = [e for e in args.engines.split(",") if e]
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        for size in sizes:
            queries_file = Path(tmp) / f"queries-{size}.json"
            # In a child, so that this process stays small: workers fork from it.
            subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    f"--make-queries={args.queries}",
                    f"--size={size}",
                    f"--queries-file={queries_file}",
                ],
                check=True,
            )
            by_engine: dict[str, dict[str, Any]] = {}
            for engine in engines:
                command = [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    f"--worker={engine}",
                    f"--size={size}",
                    f"--queries-file={queries_file}",
                    f"--index-dir={Path(tmp) / f'index-{size}'}",
                    f"--add={args.add}",
                    f"--rank-bm25-queries={args.rank_bm25_queries_large if size >= 500_000 else 0}",
                ]
                print(f"[{size:,}] {engine} ...", file=sys.stderr, flush=True)
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(done.stderr[-2000:], file=sys.stderr)
                    error = done.stderr[-300:]
                    by_engine[engine] = {"engine": engine, "size": size, "error": error}
                    continue
                by_engine[engine] = json.loads(done.stdout.strip().splitlines()[-1])
            reference = by_engine.get("rank-bm25", {}).get("top10")
            for result in by_engine.values():
                if reference is not None and "top10" in result:
                    result["agree_at_10"] = agreement(result["top10"], reference)
                    result["same_top10"] = exact_share(result["top10"], reference)
                rows.append(result)
    print_table(rows)
    for row in rows:  # CPU seconds: what a shared machine disturbs least
        cpu = [
            f"{k} {row[k]:.3f}" for k in ("build_cpu_s", "add_cpu_ms", "startup_cpu_s") if k in row
        ]
        if cpu:
            print(f"  CPU {row['size']:,} {row['engine']}: " + ", ".join(cpu))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"bench-index-{stamp}.json"
    machine = {"python": platform.python_version(), "machine": platform.machine()}
    slim = [{k: v for k, v in row.items() if k != "top10"} for row in rows]
    out.write_text(json.dumps({"machine": machine, "results": slim}, indent=2), encoding="utf-8")
    print(f"\nJSON: {out.relative_to(ROOT)}")


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = [
        ("size", "posts", 0),
        ("engine", "engine", 0),
        ("build_s", "build s", 1),
        ("startup_s", "start s", 2),
        ("add_ms", "add ms", 3),
        ("p50_ms", "p50 ms", 3),
        ("p99_ms", "p99 ms", 3),
        ("qps", "QPS", 0),
        ("peak_rss_mb", "peak RSS MB", 0),
        ("agree_at_10", "agree@10", 3),
        ("same_top10", "same top10", 3),
    ]
    table = [[title for _, title, _ in columns]]
    for row in rows:
        if "error" in row:
            table.append([fmt(row["size"]), row["engine"], "error: " + row["error"][-60:]])
            continue
        table.append([fmt(row.get(key), digits) for key, _, digits in columns])
    widths = [max(len(r[i]) for r in table if i < len(r)) for i in range(len(columns))]
    for r in table:
        print("  ".join(cell.rjust(widths[i]) for i, cell in enumerate(r)))
    notes = {row["engine"]: row.get("add_note") for row in rows if row.get("add_note")}
    for engine, note in notes.items():
        print(f"  add ({engine}): {note}")
    for row in rows:
        if row.get("queries_run") and row["queries_run"] < 200:
            print(f"  rank-bm25 at {row['size']:,} posts ran {row['queries_run']} of the queries")


if __name__ == "__main__":
    main()
