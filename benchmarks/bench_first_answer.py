"""Benchmark: seconds from `liveblog-bot run` to the prompt and to the first answer, as a
newcomer meets it: a new database (the bundled sample is imported) and a cold numba cache.

Not a test. Runs the installed console script with stdin and stdout on pipes, asks one
question, and reports both times (target: first answer within 3 s).

    .venv/bin/python benchmarks/bench_first_answer.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

QUESTION = "Is Tinder leaving Russia?"


def one_run(script: Path, folder: Path) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
    env.update(
        LIVEBLOG_DATABASE=str(folder / "liveblog.db"),
        NUMBA_CACHE_DIR=str(folder / "numba-cache"),  # empty: every kernel compiles
        COLUMNS="200",
    )
    started = time.monotonic()
    process = subprocess.Popen(
        [str(script), "run"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    seen: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        while chunk := process.stdout.read(1):
            seen.append(chunk)

    threading.Thread(target=read, daemon=True).start()

    def wait_for(predicate: object) -> float:
        deadline = time.monotonic() + 120
        while not predicate("".join(seen)):  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise SystemExit(f"no answer in 120 s:\n{''.join(seen)}")
            time.sleep(0.005)
        return time.monotonic() - started

    prompt = wait_for(lambda out: "you ›" in out)
    assert process.stdin is not None
    process.stdin.write(QUESTION + "\n")
    process.stdin.flush()
    answer = wait_for(lambda out: "Tinder" in out.split("you ›", 1)[1])
    process.stdin.write("/quit\n")
    process.stdin.flush()
    process.wait(120)
    return prompt, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("liveblog-bot")
    results = []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            prompt, answer = one_run(script, Path(folder))
        results.append((prompt, answer))
        print(f"run {n + 1}: prompt after {prompt:.2f} s, first answer after {answer:.2f} s")
    print(
        f"median: prompt {statistics.median(p for p, _ in results):.2f} s, "
        f"first answer {statistics.median(a for _, a in results):.2f} s (target ≤ 3 s)"
    )


if __name__ == "__main__":
    main()
