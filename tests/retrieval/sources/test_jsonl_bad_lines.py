"""A hostile or damaged line of a JSON Lines archive is rejected alone, even as the first line."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from retrieval.importing import parse_content
from retrieval.sources import SourceError
from retrieval.sources.jsonl import parse

NOW = datetime(2024, 7, 5, 12, 0, tzinfo=UTC)
GOOD = json.dumps(
    {
        "title": "Polls close",
        "body": "Counting starts.",
        "published": "2024-07-04",
        "source": "Wire",
    }
)
DEEP = '{"title": ' + "[" * 100_000 + "]" * 100_000 + "}"


def good(title: str, published: str = "2024-07-04T22:00:00+01:00") -> str:
    return json.dumps({"title": title, "body": "Text.", "published": published, "source": "Wire"})


def test_a_line_nested_100000_deep_is_rejected_and_the_rest_imported() -> None:
    parsed = parse("\n".join([GOOD, DEEP, good("After")]), now=NOW)
    assert [p.title for p in parsed.posts] == ["After", "Polls close"]
    assert parsed.rejected == ["line 2: nested too deeply to be a post"]


def test_a_deep_first_line_is_still_detected_as_json_lines() -> None:
    (parsed,) = parse_content("\n".join([DEEP, GOOD]).encode(), now=NOW)
    assert [p.title for p in parsed.posts] == ["Polls close"]
    assert parsed.rejected == ["line 1: nested too deeply to be a post"]


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\ud83d x", "x \\ude00"])
def test_an_unpaired_surrogate_escape_rejects_its_line(escape: str) -> None:
    bad = GOOD.replace("Polls close", f"Bad {escape}")
    parsed = parse("\n".join([bad, good("Kept")]), now=NOW)
    assert [p.title for p in parsed.posts] == ["Kept"]
    assert parsed.rejected == [
        "line 1: holds an unpaired surrogate escape (like \\ud800), not text"
    ]


def test_a_paired_surrogate_escape_is_an_emoji_and_kept() -> None:
    parsed = parse(GOOD.replace("Polls close", "Polls close \\ud83d\\uddf3"), now=NOW)
    assert parsed.posts[0].title == "Polls close \U0001f5f3"


def test_a_lone_surrogate_in_text_handed_over_as_str_rejects_its_line() -> None:
    parsed = parse("\n".join([GOOD.replace("Polls", "Polls \ud800"), good("Kept")]), now=NOW)
    assert [p.title for p in parsed.posts] == ["Kept"]
    assert parsed.rejected == ["line 1: holds an unpaired surrogate, not text"]


@pytest.mark.parametrize(
    ("published", "reason"),
    [
        ("0001-01-01T00:00:00+05:00", "published 0001-01-01T00:00:00+05:00 is before 1900"),
        ("0001-01-01", "published 0001-01-01 is before 1900"),
        ("9999-12-31T23:59:59-05:00", "more than a day in the future"),
        ("9999-12-31T23:59:59+14:00", "more than a day in the future"),
        ("2024-07-07", "published 2024-07-07 is more than a day in the future"),
    ],
)
def test_implausible_dates_reject_their_line_only(published: str, reason: str) -> None:
    parsed = parse("\n".join([good("Odd", published), GOOD]), now=NOW)
    assert [p.title for p in parsed.posts] == ["Polls close"]
    (rejection,) = parsed.rejected
    assert rejection.startswith("line 1: ") and rejection.endswith(reason)


def test_an_updated_time_is_judged_too() -> None:
    line = json.dumps({**json.loads(GOOD), "updated": "9999-01-01"})
    with pytest.raises(SourceError, match="line 1: updated 9999-01-01 is more than a day"):
        parse(line, now=NOW)


def test_oversized_fields_reject_their_line() -> None:
    huge = json.dumps({**json.loads(GOOD), "body": "word " * 250_000})
    parsed = parse("\n".join([huge, good("Kept")]), now=NOW)
    assert [p.title for p in parsed.posts] == ["Kept"]
    assert parsed.rejected == ["line 1: the body is longer than 1,000,000 characters"]


def test_a_huge_integer_id_is_a_bad_line_not_a_crash() -> None:
    line = GOOD[:-1] + ', "id": ' + "9" * 5000 + "}"
    parsed = parse("\n".join([line, good("Kept")]), now=NOW)
    assert [p.title for p in parsed.posts] == ["Kept"]
    assert parsed.rejected[0].startswith("line 1: not JSON")
