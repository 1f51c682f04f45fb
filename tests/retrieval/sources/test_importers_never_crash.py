"""Property tests: malformed input of any kind ends in `SourceError` or in good posts only.

For JSON Lines, feeds, plain-text dumps and whatever `parse_content` is handed, hypothesis
mixes good entries with hostile ones (deep nesting, lone surrogates, year-1 and year-9999
dates, giant fields, random bytes). Whatever comes out must be storable (UTF-8 text), have
plausible times, and every good entry must be among the posts; the posts are then stored in a
real SQLite store, which must accept them.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval.importing import parse_content
from retrieval.sources import Parsed, SourceError, feed, jsonl, plaintext
from retrieval.storage.store import Store

NOW = datetime(2024, 7, 5, 12, 0, tzinfo=UTC)
SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

offsets = st.sampled_from([timezone(timedelta(hours=h)) for h in (-12, -5, 0, 5, 14)])
any_moment = st.datetimes(timezones=offsets)  # years 1 to 9999
sane_moment = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2024, 7, 1), timezones=st.just(UTC)
)
words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=40
).filter(lambda s: s.strip())
nasty_text = st.one_of(
    st.text(max_size=60),  # includes lone surrogates and control characters
    st.just("\ud800"),
    st.just("x" * 3000),
)


def assert_good(parsed_list: list[Parsed], expected_titles: set[str]) -> None:
    titles = set()
    for parsed in parsed_list:
        for post in parsed.posts:
            assert post.implausible(NOW) is None
            for text in (post.title, *post.body, *post.authors, post.source, post.url or ""):
                text.encode("utf-8")  # storable: no lone surrogate survived
            titles.add(post.title)
        assert all("\n" not in r for r in parsed.rejected)
    assert expected_titles <= titles


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(tmp_path_factory.mktemp("fuzz") / "fuzz.db")


def stored(store: Store, parsed_list: list[Parsed]) -> None:
    """The posts go into SQLite as they are; the store grows by exactly what it added."""
    for parsed in parsed_list:
        before = store.count_posts()
        report = store.upsert(parsed.coverage, parsed.posts)
        assert store.count_posts() == before + report.added


# --- JSON Lines -----------------------------------------------------------------------------


def good_line(title: str, moment: datetime) -> str:
    return json.dumps(
        {"title": title, "body": "Text.", "published": moment.isoformat(), "source": "Wire"}
    )


bad_line = st.one_of(
    st.text(max_size=80).map(lambda s: s.replace("\n", " ")),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.just('{"title": ' + "[" * 50_000 + "]" * 50_000 + "}"),
    st.builds(
        lambda t, m: json.dumps(
            {"title": t, "body": "b", "published": m.isoformat(), "source": "S"}
        ),
        nasty_text,
        any_moment,
    ),
    st.builds(
        lambda s: (
            '{"title": "\\ud800' + s + '", "body": "b", "published": "2024-01-01", "source": "S"}'
        ),
        st.text(max_size=5).map(json.dumps).map(lambda s: s[1:-1]),
    ),
    st.dictionaries(
        st.sampled_from(
            ["title", "body", "published", "source", "id", "url", "authors", "updated"]
        ),
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=20),
            st.lists(st.integers(), max_size=3),
            st.booleans(),
        ),
    ).map(json.dumps),
)


@SETTINGS
@given(
    good=st.lists(st.tuples(words, sane_moment), max_size=4, unique_by=lambda g: g[0]),
    bad=st.lists(bad_line, max_size=6),
    data=st.data(),
)
def test_json_lines_never_fail_other_than_by_source_error(
    store: Store, good: list[tuple[str, datetime]], bad: list[str], data: st.DataObject
) -> None:
    lines = [good_line(t, m) for t, m in good] + bad
    order = data.draw(st.permutations(lines))
    content = "\n".join(order)
    expected = {" ".join(t.split()) for t, _ in good}
    try:
        parsed = jsonl.parse_all(content, now=NOW)
    except SourceError:
        assert not good
        return
    assert_good(parsed, expected)
    stored(store, parsed)
    # detection of the same bytes never crashes either, whatever the first line is
    with contextlib.suppress(SourceError):
        parse_content(content.encode("utf-8", errors="surrogatepass"), now=NOW)


# --- feeds ----------------------------------------------------------------------------------


def unmojibaked(title: str) -> str:
    """feedparser repairs text that reads like UTF-8 decoded as Latin-1 ("Â¡" becomes "¡"),
    on purpose: real feeds carry such mojibake far more often than such words."""
    try:
        return title.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return title


def rss_item(title: str, when: str, guid: str) -> str:
    return (
        f"<item><title>{title}</title><guid>{guid}</guid><description>Text of {guid}."
        f"</description><pubDate>{when}</pubDate></item>"
    )


def rfc822(moment: datetime) -> str:
    try:
        return format_datetime(moment)
    except (ValueError, OverflowError):
        return moment.isoformat()


bad_item = st.one_of(
    st.builds(lambda t, m: rss_item(escape(t), rfc822(m), "g"), nasty_text, any_moment),
    st.builds(lambda m: rss_item("Poison &#xD800; entry", rfc822(m), "s"), sane_moment),
    st.builds(
        lambda n: rss_item(f"Ref &#{n};", "Thu, 04 Jul 2024 22:00:00 GMT", "r"),
        st.integers(0, 2**32),
    ),
    st.text(max_size=60).map(escape).map(lambda s: f"<item>{s}</item>"),
    st.just("<item><title>no date</title></item>"),
    st.just(
        "<item><title>"
        + "<b>" * 2000
        + "deep"
        + "</b>" * 2000
        + "</title><pubDate>Thu, 04 Jul 2024 22:00:00 GMT</pubDate></item>"
    ),
    st.builds(lambda w: rss_item("Datum", w, "d"), st.text(max_size=30).map(escape)),
)


@SETTINGS
@given(
    good=st.lists(st.tuples(words, sane_moment), max_size=3, unique_by=lambda g: g[0]),
    bad=st.lists(bad_item, max_size=4),
    data=st.data(),
)
def test_feeds_never_fail_other_than_by_source_error(
    store: Store, good: list[tuple[str, datetime]], bad: list[str], data: st.DataObject
) -> None:
    items = [rss_item(escape(t), rfc822(m), f"good-{n}") for n, (t, m) in enumerate(good)] + bad
    body = "".join(data.draw(st.permutations(items)))
    content = f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>{body}</channel></rss>"
    expected = {unmojibaked(" ".join(t.split())) for t, _ in good}
    try:
        parsed = feed.parse(content.encode("utf-8", errors="surrogatepass"), now=NOW)
    except SourceError:
        assert not good
        return
    assert_good([parsed], expected)
    stored(store, [parsed])


# --- any bytes, any text --------------------------------------------------------------------


@SETTINGS
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda s: s.encode("utf-8", errors="surrogatepass")),
    )
)
def test_any_bytes_end_in_posts_or_one_source_error(store: Store, content: bytes) -> None:
    try:
        parsed = parse_content(content, now=NOW)
    except SourceError as error:
        assert "\n" not in str(error)
        return
    assert_good(parsed, set())
    stored(store, parsed)


@SETTINGS
@given(
    prefix=st.sampled_from(
        [
            "<rss><channel>",
            "<feed xmlns='http://www.w3.org/2005/Atom'>",
            "{",
            "<html><body>",
            "May 2, 2023 - News | CNN\n",
        ]
    ),
    tail=st.text(max_size=200),
)
def test_content_that_starts_like_a_format_never_crashes_its_importer(
    store: Store, prefix: str, tail: str
) -> None:
    try:
        parsed = parse_content((prefix + tail).encode("utf-8", errors="surrogatepass"), now=NOW)
    except SourceError:
        return
    assert_good(parsed, set())
    stored(store, parsed)


@SETTINGS
@given(text=st.text(max_size=400))
def test_plain_text_dumps_never_crash(text: str) -> None:
    try:
        parsed = plaintext.parse(text)
    except SourceError:
        return
    assert parsed.posts
