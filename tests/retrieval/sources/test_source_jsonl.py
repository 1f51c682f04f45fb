"""JSON Lines archives: one post per line, bad lines listed and skipped."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from retrieval.models import stable_id
from retrieval.sources import Parsed, SourceError
from retrieval.sources.jsonl import parse, parse_all

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sources"


def line(**fields: object) -> str:
    record = {
        "title": "A title",
        "body": "A body.",
        "published": "2024-05-01T10:00:00Z",
        "source": "Wire",
        **fields,
    }
    return json.dumps({k: v for k, v in record.items() if v is not None})


@pytest.fixture(scope="module")
def archive() -> Parsed:
    return parse((FIXTURES / "archive.jsonl").read_bytes(), origin="archive.jsonl")


def test_good_lines_are_imported_and_bad_lines_listed_with_their_reason(archive: Parsed) -> None:
    assert len(archive.posts) == 4
    assert archive.rejected == [
        "line 3: not JSON (Unterminated string starting at: line 1 column 43 (char 42))",
        "line 4: missing 'source'",
        "line 7: bad date in 'published': '2023-02-30T10:00:00Z'",
        "line 8: 'published' has a time without a UTC offset: '2023-05-02T10:00:00'",
        "line 9: a JSON list, not an object",
    ]


def test_given_id_is_kept_as_the_post_id(archive: Parsed) -> None:
    assert archive.posts[0].post_id == "dx-2023-05-02-17"


def test_fields_map_onto_the_post(archive: Parsed) -> None:
    post = archive.posts[0]
    assert post.title == "Kremlin rejects US casualty estimates"
    assert post.body == (
        "Kremlin spokesman Dmitry Peskov said the figures were plucked from thin air.",
        "The White House estimate is 100,000 casualties since December.",
    )
    assert post.published.value == datetime(2023, 5, 2, 9, 12, tzinfo=UTC)
    assert post.source == "Dispatch"
    assert post.authors == ("Jo Shelley", "Radina Gigova")
    assert post.url == "https://dispatch.example.com/live/ukraine#p17"


def test_string_body_splits_at_blank_lines_and_string_author_is_one_name(archive: Parsed) -> None:
    post = next(p for p in archive.posts if p.title == "Ambassador cites weather for delay")
    assert post.body == (
        "Ukraine's ambassador to the UK said the ground was still too wet.",
        "He gave no date.",
    )
    assert post.authors == ("Sugam Pokharel",)
    assert post.published.value == datetime(2023, 5, 2, 11, 40, tzinfo=timezone(timedelta(hours=3)))
    assert post.updated is not None and post.updated.isoformat() == "2023-05-02T12:05:00+03:00"


def test_date_only_published_keeps_date_precision(archive: Parsed) -> None:
    post = next(p for p in archive.posts if p.title == "Evening summary")
    assert post.published.precision == "date" and post.published.value == date(2023, 5, 2)


def test_missing_id_is_derived_from_coverage_title_and_date(archive: Parsed) -> None:
    post = next(p for p in archive.posts if p.title == "Evening summary")
    assert post.post_id == stable_id(post.coverage_id, "Evening summary", "2023-05-02")
    again = parse((FIXTURES / "archive.jsonl").read_text(encoding="utf-8"))
    assert [p.post_id for p in again.posts] == [p.post_id for p in archive.posts]


def test_coverage_defaults_to_the_source_name() -> None:
    parsed = parse(line())
    assert parsed.coverage.title == "Wire"
    assert parsed.coverage.source == "Wire"
    assert parsed.posts[0].coverage_id == parsed.coverage.coverage_id


def test_posts_of_several_coverages_keep_their_own_coverage_and_are_noted(
    archive: Parsed,
) -> None:
    assert archive.coverage.title == "Russia-Ukraine news"
    business = next(p for p in archive.posts if p.source == "Wire")
    assert business.coverage_id == stable_id("Wire", "Business live")
    assert archive.notes == [
        "the file holds posts of 2 coverages: 'Russia-Ukraine news', 'Business live'"
    ]


def test_parse_all_gives_one_parsed_per_coverage() -> None:
    results = parse_all((FIXTURES / "archive.jsonl").read_bytes())
    assert [r.coverage.title for r in results] == ["Russia-Ukraine news", "Business live"]
    assert [len(r.posts) for r in results] == [3, 1]
    assert len(results[0].rejected) == 5 and results[1].rejected == []
    assert [p.position for p in results[0].posts] == [0, 1, 2]


def test_posts_are_newest_first(archive: Parsed) -> None:
    keys = [p.published.sort_key() for p in archive.posts]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": None}, "missing 'title'"),
        ({"body": []}, "missing 'body'"),
        ({"body": "   "}, "'body' is blank"),
        ({"body": ["ok", 3]}, "'body' must be a string or a list of strings"),
        ({"title": 5}, "'title' must be a string"),
        ({"published": "yesterday"}, "bad date in 'published': 'yesterday'"),
        ({"published": 20240501}, "'published' must be an ISO 8601 string"),
        ({"updated": "soon"}, "bad date in 'updated': 'soon'"),
        ({"authors": [1, 2]}, "'authors' must be a string or a list of strings"),
        ({"url": "ftp://example.com/x"}, "'url' is not an http(s) URL: 'ftp://example.com/x'"),
        ({"id": True}, "'id' must be a string or an integer"),
    ],
)
def test_each_kind_of_bad_line_is_rejected_with_a_readable_reason(
    fields: dict[str, object], reason: str
) -> None:
    parsed = parse(line(title="good") + "\n" + line(**fields))
    assert parsed.rejected == [f"line 2: {reason}"]
    assert [p.title for p in parsed.posts] == ["good"]


def test_duplicate_id_is_rejected_naming_the_first_line() -> None:
    parsed = parse("\n".join([line(id=7, title="a"), line(id="7", title="b")]))
    assert parsed.rejected == ["line 2: same id as line 1"]


def test_every_line_bad_is_a_source_error_naming_the_first_reason() -> None:
    with pytest.raises(SourceError) as error:
        parse("not json\n{}\n", origin="dump.jsonl")
    message = str(error.value)
    assert message.startswith("dump.jsonl has no valid line: line 1: not JSON")
    assert message.endswith("(and 1 more bad lines)")
    assert "\n" not in message


def test_empty_file_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="empty"):
        parse(b"\n\n")


def test_line_separator_inside_a_json_string_does_not_split_the_line() -> None:
    parsed = parse(line(body="first\u2028still first"))
    assert parsed.rejected == [] and len(parsed.posts) == 1


def test_utf8_bom_and_crlf_line_ends_are_accepted() -> None:
    content = ("\ufeff" + line(title="Crème brûlée") + "\r\n" + line(title="b") + "\r\n").encode()
    parsed = parse(content)
    assert sorted(p.title for p in parsed.posts) == ["Crème brûlée", "b"]
