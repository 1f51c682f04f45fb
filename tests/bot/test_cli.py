"""`liveblog-bot` as a user runs it: a subprocess with its own database file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.importing import bundled_sample

CLI = [sys.executable, "-m", "bot.cli"]


def run(
    *args: str, db: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
    full_env.update({"LIVEBLOG_DATABASE": str(db), "NO_COLOR": "1"})
    full_env.update(env or {})
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=full_env, input=stdin, timeout=60
    )


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    path = tmp_path / "cnn.txt"
    path.write_bytes(bundled_sample())
    return path


@pytest.fixture
def loaded_db(tmp_path: Path, sample_file: Path) -> Path:
    db = tmp_path / "db" / "liveblog.db"
    assert run("import", str(sample_file), db=db).returncode == 0
    return db


def assert_one_line_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_import_prints_counts_and_reimport_adds_nothing(tmp_path: Path, sample_file: Path) -> None:
    db = tmp_path / "liveblog.db"
    first = run("import", str(sample_file), db=db)
    assert first.returncode == 0
    assert "19 added, 0 updated, 0 unchanged, 0 rejected" in first.stdout
    second = run("import", str(sample_file), db=db)
    assert "0 added, 0 updated, 19 unchanged, 0 rejected" in second.stdout


def test_ask_answers_the_nato_question_with_date_and_source(loaded_db: Path) -> None:
    result = run("ask", "What did NATO say about fighting vehicles?", db=loaded_db)
    assert result.returncode == 0
    assert "98% of the fighting vehicles" in result.stdout
    assert "2 May 2023 · CNN" in result.stdout


def test_ask_json_has_exactly_the_documented_shape(loaded_db: Path) -> None:
    result = run("ask", "--json", "What did NATO say about fighting vehicles?", db=loaded_db)
    data = json.loads(result.stdout)
    assert set(data) == {"query", "message", "results"}
    assert data["message"] is None
    top = data["results"][0]
    assert set(top) == {
        "post_id",
        "title",
        "excerpt",
        "published_at",
        "source",
        "authors",
        "url",
        "score",
    }
    assert top["published_at"] == "2023-05-02"
    assert top["source"] == "CNN"
    assert top["authors"] == []
    assert top["url"] is None
    assert isinstance(top["score"], float)


def test_ask_about_something_else_says_nothing_matches_and_succeeds(loaded_db: Path) -> None:
    result = run("ask", "who won the world cup", db=loaded_db)
    assert result.returncode == 0
    assert "Nothing in the coverage matches" in result.stdout
    data = json.loads(run("ask", "--json", "who won the world cup", db=loaded_db).stdout)
    assert data["results"] == []
    assert data["message"].startswith("Nothing in the coverage matches")


def test_search_json_pages_through_results(loaded_db: Path) -> None:
    one = json.loads(run("search", "counteroffensive", "--json", db=loaded_db).stdout)
    two = json.loads(
        run("search", "counteroffensive", "--page", "2", "--json", db=loaded_db).stdout
    )
    assert len(one["results"]) == 5
    assert two["results"]
    assert not {r["post_id"] for r in one["results"]} & {r["post_id"] for r in two["results"]}
    small = json.loads(run("search", "Russia", "--limit", "2", "--json", db=loaded_db).stdout)
    assert len(small["results"]) == 2


def test_latest_json_lists_the_newest_posts(loaded_db: Path) -> None:
    data = json.loads(run("latest", "3", "--json", db=loaded_db).stdout)
    assert [r["title"][:20] for r in data["results"]] == [
        "Ukrainians say they'",
        "There could be no ex",
        "Owner of dating app ",
    ]


def test_stats_reports_posts_and_index(loaded_db: Path) -> None:
    data = json.loads(run("stats", "--json", db=loaded_db).stdout)
    assert data["posts"] == 19
    assert data["index"]["documents"] == 19
    assert data["coverages"][0]["title"] == "Russia-Ukraine news"


@pytest.mark.parametrize(
    ("question", "says"),
    [("", "question"), ("   ", "question"), ("x" * 5000, "5,000 characters")],
)
def test_bad_questions_exit_2_with_one_line(loaded_db: Path, question: str, says: str) -> None:
    result = run("ask", question, db=loaded_db)
    assert result.returncode == 2
    assert says in result.stdout


def test_only_stopwords_is_an_honest_nothing(loaded_db: Path) -> None:
    result = run("ask", "what is it that they have been", db=loaded_db)
    assert result.returncode == 0
    assert "Nothing in the coverage matches" in result.stdout


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "empty"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", "binary"),
        (
            b"<!doctype html>\n<html><head><title>x</title></head><body>hi</body></html>",
            "no LiveBlogPosting",
        ),
        (b"May 2, 2023 - Russia-Ukraine news | CNN\n\nOnly prose here.\n", "headlines"),
    ],
)
def test_importing_bad_files_exits_2_and_writes_nothing(
    loaded_db: Path, tmp_path: Path, content: bytes, says: str
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    before = loaded_db.read_bytes() if loaded_db.exists() else b""
    result = run("import", str(bad), db=loaded_db)
    assert result.returncode == 2
    assert says in result.stderr
    assert_one_line_no_traceback(result)
    stats = json.loads(run("stats", "--json", db=loaded_db).stdout)
    assert stats["posts"] == 19
    assert before  # the database existed and still answers
    assert run("ask", "Tinder", db=loaded_db).returncode == 0


def test_importing_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = run("import", str(tmp_path / "nope.txt"), db=tmp_path / "x.db")
    assert result.returncode == 2
    assert "no such file" in result.stderr
    assert_one_line_no_traceback(result)


def test_invalid_setting_stops_with_the_variable_named(tmp_path: Path) -> None:
    result = run("stats", db=tmp_path / "x.db", env={"LIVEBLOG_TIMEZONE": "Mars/Olympus"})
    assert result.returncode == 2
    assert "LIVEBLOG_TIMEZONE" in result.stderr
    assert_one_line_no_traceback(result)


def test_unknown_command_and_bad_numbers_exit_2(tmp_path: Path) -> None:
    for args in (["frobnicate"], ["latest", "zero"], ["search", "x", "--page", "0"]):
        result = run(*args, db=tmp_path / "x.db")
        assert result.returncode == 2, args
        assert_one_line_no_traceback(result)


def test_run_imports_the_bundled_sample_into_an_empty_database(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    result = run("run", db=db, stdin="What did NATO say about fighting vehicles?\n/latest 1\n")
    assert result.returncode == 0, result.stderr
    assert "Russia-Ukraine news" in result.stdout
    assert "98% of the fighting vehicles" in result.stdout
    assert json.loads(run("stats", "--json", db=db).stdout)["posts"] == 19


def test_chat_pages_search_results_with_next_and_prev(loaded_db: Path) -> None:
    result = run("chat", db=loaded_db, stdin="/search counteroffensive\n/next\n/prev\n")
    assert result.stdout.count("Results 1–5 of") == 2
    assert "Results 6–" in result.stdout
    assert "▶ /next" in result.stdout


def test_timeline_prints_the_story_oldest_first_and_as_json(loaded_db: Path) -> None:
    text = run("timeline", "counteroffensive", db=loaded_db)
    assert text.returncode == 0
    assert "Timeline of “counteroffensive”" in text.stdout and "2 May 2023" in text.stdout
    data = json.loads(run("timeline", "counteroffensive", "--json", db=loaded_db).stdout)
    assert data["query"] == "counteroffensive" and len(data["results"]) == 8
    nothing = json.loads(run("timeline", "pancakes", "--json", db=loaded_db).stdout)
    assert nothing["results"] == [] and nothing["message"].startswith("Nothing in the coverage")


def test_version_and_help_answer_without_loading_the_index(tmp_path: Path) -> None:
    version = run("--version", db=tmp_path / "unused.db")
    assert version.returncode == 0 and version.stdout.startswith("liveblog-bot ")
    help_text = run("--help", db=tmp_path / "unused.db")
    assert help_text.returncode == 0 and "timeline" in help_text.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, bot.cli; print('numba' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("search", "tanks", "--page", "1000000000"), "only 1 page"),
        (("search", "tanks", "--limit", "1000000000"), "at most 100 hits"),
    ],
)
def test_absurd_pages_and_limits_are_refused_at_once(
    loaded_db: Path, args: tuple[str, ...], expected: str
) -> None:
    result = run(*args, db=loaded_db)
    assert result.returncode == 2
    assert expected in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_an_env_file_that_is_not_text_is_one_line_and_exit_2(
    tmp_path: Path, loaded_db: Path
) -> None:
    (tmp_path / ".env").write_bytes(b"\xff\xfe\x00LIVEBLOG_TIMEZONE=\x00garbage")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
    full_env["LIVEBLOG_DATABASE"] = str(loaded_db)
    result = subprocess.run(
        [*CLI, "stats"], capture_output=True, text=True, env=full_env, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 2
    assert_one_line_no_traceback(result)
    assert ".env" in result.stderr
