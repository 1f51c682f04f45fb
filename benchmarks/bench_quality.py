"""Answer quality on labelled questions: the sample alone, and the sample among other real news.

Asks every question of a labelled set (default `benchmarks/quality_set.json`; the dev set
`../shared/qa/sample_dev.json` has the same shape) through `bot.core.answers.Answers.ask`, the
path a reader's question takes, and prints S@1 (a relevant post first), S@3, best@1 (the best
post first), answer@1 (the first excerpt holds the expected fragment), abstention (off-topic
questions draw nothing; with other news loaded: no post of the sample) and excerpts ≤ 300.

The other news: the BBC News articles of 2004-2005 collected by D. Greene and P. Cunningham
(2,225 articles, "bbc" folder of business/…/tech/NNN.txt; http://mlg.ucd.ie/datasets/bbc.html,
also in public GitHub repositories, e.g. dejanbatanjac/bbc-article-classify-bert), one post per
paragraph: 10,635 posts. Point `--others` at the folder holding `bbc/`; without it only the
sample runs. `--sweep` prints the scores at other relevance floors (how the floor was chosen).

    .venv/bin/python benchmarks/bench_quality.py --others /tmp/bbc
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import retrieval.search as search
from bot.core.answers import Answers, ChatPrefs
from retrieval.importing import bundled_sample, parse_content
from retrieval.library import Library
from retrieval.models import Coverage, Post, Timestamp, stable_id
from retrieval.sources import Parsed

HERE = Path(__file__).resolve().parent
PREFS = ChatPrefs(ZoneInfo("UTC"))


def _norm(text: str) -> str:
    for a, b in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(a, b)
    return text.casefold()


def bbc_posts(folder: Path) -> list[Parsed]:
    """The BBC articles under `folder/bbc/<topic>/NNN.txt`, one post per paragraph.

    Dates are spread over April and May 2023 (deterministically), so that some are newer than
    the sample's 2 May: recency must not lift them over a better sample post.
    """
    parsed: list[Parsed] = []
    start = date(2023, 4, 1)
    for topic_dir in sorted((folder / "bbc").iterdir()):
        if not topic_dir.is_dir():
            continue
        coverage = Coverage(stable_id("bbc", topic_dir.name), f"BBC News: {topic_dir.name}", "BBC")
        posts: list[Post] = []
        for number, path in enumerate(sorted(topic_dir.glob("*.txt"))):
            lines = [ln.strip() for ln in path.read_text("utf-8", errors="replace").splitlines()]
            lines = [ln for ln in lines if ln]
            if len(lines) < 2:
                continue
            day = Timestamp.of_date(start + timedelta(days=number % 61))
            for p, paragraph in enumerate(lines[1:]):
                posts.append(
                    Post(
                        stable_id(coverage.coverage_id, path.name, str(p)),
                        coverage.coverage_id,
                        lines[0],
                        (paragraph,),
                        day,
                        "BBC",
                        position=len(posts),
                    )
                )
        parsed.append(Parsed(coverage=coverage, posts=posts))
    return parsed


@dataclass
class Scores:
    s1: int = 0
    s3: int = 0
    best: int = 0
    answer: int = 0
    answers: int = 0
    questions: int = 0
    abstain: int = 0
    nones: int = 0
    short: int = 0

    def line(self) -> str:
        n = max(self.questions, 1)
        return (
            f"S@1 {self.s1 / n:.3f}  S@3 {self.s3 / n:.3f}  best@1 {self.best / n:.3f}  "
            f"answer@1 {self.answer}/{self.answers}  abstain {self.abstain}/{self.nones}  "
            f"excerpt<=300 {self.short}/{n}  ({self.questions} questions)"
        )


def evaluate(
    answers: Answers, data: dict[str, Any], corpora: set[str], sample_source: str, verbose: bool
) -> Scores:
    scores = Scores()
    for item in data["questions"]:
        if item.get("corpus", "sample") not in corpora:
            continue
        scores.questions += 1
        reply = answers.ask(item["q"], PREFS)
        titles = [_norm(r.title) for r in reply.results[:3]]
        wants = [_norm(w) for w in item["want"]]
        ranks = [i for i, t in enumerate(titles) if any(w in t for w in wants)]
        first_best = bool(titles) and wants[0] in titles[0]
        scores.best += first_best
        scores.s1 += bool(ranks) and ranks[0] == 0
        scores.s3 += bool(ranks)
        excerpt = reply.results[0].excerpt if reply.results else ""
        scores.short += 0 < len(excerpt) <= 300
        ok = None
        if item.get("answer"):
            scores.answers += 1
            ok = _norm(item["answer"]) in _norm(excerpt)
            scores.answer += ok
        if verbose and (not first_best or ok is False):
            mark = "best" if first_best else (f"@{ranks[0] + 1}  " if ranks else "MISS")
            print(
                f"  {mark} {'no-answer ' if ok is False else ''}{item['q']!r} -> "
                f"{[t[:32] for t in titles]} | {excerpt[:110]!r}"
            )
    for question in data["none"]:
        scores.nones += 1
        reply = answers.ask(question, PREFS)
        drawn = [r for r in reply.results if r.source == sample_source]
        scores.abstain += not drawn
        if verbose and drawn:
            print(f"  FALSE-HIT {question!r} -> {[r.title[:40] for r in drawn]}")
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", action="append", help="question set(s); default: quality_set")
    parser.add_argument("--others", type=Path, help="folder holding bbc/ (the other news)")
    parser.add_argument("--sweep", action="store_true", help="also score other floors")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    sets = args.set or [str(HERE / "quality_set.json")]
    (sample,) = parse_content(bundled_sample(), origin="bundled sample")
    runs: list[tuple[str, list[Parsed], set[str]]] = [("sample alone", [], {"sample"})]
    if args.others:
        others = bbc_posts(args.others)
        count = sum(len(p.posts) for p in others)
        runs.append((f"sample among {count:,} BBC posts", others, {"sample", "bbc"}))
    floors = [0.25, 0.3, 0.35, 0.4, 0.45, 0.5] if args.sweep else [search.RELEVANCE_FLOOR]
    for label, extra, corpora in runs:
        with tempfile.TemporaryDirectory() as tmp:
            library = Library(Path(tmp) / "quality.db", persist_index=False)
            library.ingest(sample)
            if extra:
                library.ingest_all(extra)
            answers = Answers(library)
            for path in sets:
                data = json.loads(Path(path).read_text(encoding="utf-8"))
                for floor in floors:
                    search.RELEVANCE_FLOOR = floor
                    print(f"{label} · {Path(path).name} · floor {floor}:")
                    scores = evaluate(answers, data, corpora, sample.coverage.source, args.verbose)
                    print("  " + scores.line())
            library.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
