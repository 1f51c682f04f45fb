"""Reading a path: only regular files, within the size limit, and only plausible times kept."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from retrieval.importing import DEFAULT_MAX_BYTES, bundled_sample, parse_content, read_location
from retrieval.sources import Parsed, SourceError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"
CLI = [sys.executable, "-m", "bot.cli"]


def refusal(location: str, **options: int) -> str:
    with pytest.raises(SourceError) as error:
        read_location(location, **options)  # type: ignore[arg-type]
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_fifo_is_refused_at_once_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "coverage.jsonl"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert "is a named pipe (FIFO), not a coverage file" in refusal(str(fifo))
    assert time.monotonic() - started < 2


def test_a_symlink_to_a_fifo_is_refused_too(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "feed.xml").symlink_to(tmp_path / "pipe")
    assert "named pipe" in refusal(str(tmp_path / "feed.xml"))


def test_a_device_is_refused_before_a_byte_is_read() -> None:
    assert refusal("/dev/zero") == "/dev/zero is a device, not a coverage file; refused"


def test_a_folder_is_refused(tmp_path: Path) -> None:
    assert "is a folder" in refusal(str(tmp_path))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    assert refusal(str(tmp_path / "nope.xml")).startswith("no such file: ")


def test_a_file_above_the_limit_is_refused_and_one_at_the_limit_read(tmp_path: Path) -> None:
    feed = (FIXTURES / "rss_liveblog.xml").read_bytes()
    path = tmp_path / "feed.xml"
    path.write_bytes(feed)
    assert read_location(str(path), max_bytes=len(feed))[0].posts
    message = refusal(str(path), max_bytes=len(feed) - 1)
    assert message == f"{path} is larger than {len(feed) - 1:,} bytes; refused"


def test_the_default_limit_is_the_same_10_mb_as_a_url(tmp_path: Path) -> None:
    assert DEFAULT_MAX_BYTES == 10 * 1024 * 1024
    big = tmp_path / "big.jsonl"
    with big.open("wb") as out:
        out.truncate(DEFAULT_MAX_BYTES + 1)  # sparse: costs no disk
    assert refusal(str(big)) == f"{big} is larger than 10 MB; refused"


def test_the_cli_refuses_a_fifo_with_exit_2_and_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "archive.jsonl"
    os.mkfifo(fifo)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
    env["LIVEBLOG_DATABASE"] = str(tmp_path / "db.sqlite")
    result = subprocess.run(
        [*CLI, "import", str(fifo)], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith("is a named pipe (FIFO), not a coverage file; refused")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_cli_limit_comes_from_liveblog_max_source_bytes(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes((FIXTURES / "rss_liveblog.xml").read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
    env.update(LIVEBLOG_DATABASE=str(tmp_path / "db.sqlite"), LIVEBLOG_MAX_SOURCE_BYTES="100")
    result = subprocess.run(
        [*CLI, "import", str(feed)], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 2
    assert "is larger than 100 bytes; refused" in result.stderr


def test_posts_with_implausible_times_are_rejected_whatever_the_importer() -> None:
    page = (FIXTURES / "liveblog_schema_org.html").read_text(encoding="utf-8")
    poisoned = page.replace(
        '"datePublished": "2015-03-09T13:17:00-07:00"',
        '"datePublished": "9999-12-31T23:59:59+05:00"',
        1,
    )
    (parsed,) = parse_content(poisoned.encode(), now=datetime(2024, 1, 1, tzinfo=UTC))
    (clean,) = parse_content(page.encode(), now=datetime(2024, 1, 1, tzinfo=UTC))
    assert len(parsed.posts) == len(clean.posts) - 1
    assert "Coming up: Apple Watch" not in [p.title for p in parsed.posts]
    assert parsed.rejected[-1].endswith(
        "published 9999-12-31T23:59:59+05:00 is more than a day in the future"
    )


def test_a_lone_surrogate_escape_in_json_ld_never_reaches_the_store() -> None:
    """The post is either read from the page's own HTML (which has no surrogate) or rejected."""
    page = (FIXTURES / "liveblog_schema_org.html").read_text(encoding="utf-8")
    for field in ("Coming up: Apple Watch", "2015-03-09T13:17:00-07:00"):
        poisoned = page.replace(field, f"{field} \\ud800", 1)
        (parsed,) = parse_content(poisoned.encode(), now=datetime(2024, 1, 1, tzinfo=UTC))
        for post in parsed.posts:
            "".join((post.title, *post.body, *post.authors)).encode("utf-8")
        assert len(parsed.posts) + len(parsed.rejected) >= 3


def test_encoded_surrogate_bytes_in_a_utf8_file_do_not_make_it_read_as_another_charset() -> None:
    """Bytes ED A0 80 are invalid UTF-8; without the repair, charset guessing would turn every
    curly quote of the sample into mojibake. Now they are one replacement character."""
    dump = bundled_sample()
    paragraph = next(line for line in dump.splitlines() if len(line) > 150 and "’".encode() in line)
    (parsed,) = parse_content(dump.replace(paragraph, paragraph + b" \xed\xa0\x80", 1))
    (clean,) = parse_content(dump)

    def texts(one: Parsed) -> list[str]:
        return [*one.coverage.summary, *(text for post in one.posts for text in post.body)]

    changed = [(a, b) for a, b in zip(texts(clean), texts(parsed), strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1] == changed[0][0] + " \ufffd"
    assert "’" in changed[0][0]  # the curly quotes around it still read as UTF-8


def test_a_page_nested_too_deeply_is_one_source_error_not_a_crash(tmp_path: Path) -> None:
    page = (FIXTURES / "liveblog_schema_org.html").read_text(encoding="utf-8")
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep.html"
    path.write_text(
        page.replace("</head>", f'<script type="application/ld+json">{deep}</script></head>', 1)
    )
    assert refusal(str(path)) == f"{path} is nested too deeply to read"


def test_the_import_time_given_is_the_one_every_importer_judges_by() -> None:
    feed = (FIXTURES / "rss_liveblog.xml").read_bytes()  # entries of 4 July 2024
    assert parse_content(feed, now=datetime(2024, 7, 5, tzinfo=UTC))[0].posts
    with pytest.raises(SourceError, match="more than a day in the future"):
        parse_content(feed, now=datetime(2024, 7, 1, tzinfo=UTC))


def test_the_import_report_counts_sponsored_entries_it_skipped(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    advert = (
        "<item><title>Featured Advertiser: Harbour Motors</title><guid>ad</guid>"
        "<description>Buy now.</description><pubDate>Thu, 04 Jul 2024 20:00:00 GMT</pubDate></item>"
    )
    xml = (FIXTURES / "rss_liveblog.xml").read_text(encoding="utf-8")
    feed.write_text(xml.replace("<item>", advert + "<item>", 1), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
    env["LIVEBLOG_DATABASE"] = str(tmp_path / "db.sqlite")
    result = subprocess.run(
        [*CLI, "import", str(feed)], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].endswith(", 1 skipped: sponsored")
