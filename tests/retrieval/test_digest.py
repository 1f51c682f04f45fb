"""Which posts a digest holds: the window, exclusions, summaries first, covered posts left out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from retrieval.digest import DigestWindow, covers, is_summary, select_digest
from retrieval.models import Coverage, Post, Timestamp
from retrieval.sources import Parsed
from retrieval.storage.store import Store
from retrieval.text import tokenize

DAY = datetime(2023, 5, 2, tzinfo=UTC)
NEWS = Coverage("news", "Russia-Ukraine news", "CNN")
OTHER = Coverage("other", "Sudan crisis", "BBC")


def post(
    post_id: str,
    title: str,
    at: datetime | date,
    *,
    body: tuple[str, ...] = ("Something happened.",),
    coverage: Coverage = NEWS,
    position: int = 0,
) -> Post:
    stamp = Timestamp.of_time(at) if isinstance(at, datetime) else Timestamp.of_date(at)
    return Post(
        post_id, coverage.coverage_id, title, body, stamp, coverage.source, position=position
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "digest.db")
    yield opened
    opened.close()


@pytest.fixture
def sample_store(store: Store, sample: Parsed) -> Store:
    store.upsert(sample.coverage, sample.posts)
    return store


def positions(sample: Parsed) -> dict[str, int]:
    return {p.post_id: p.position for p in sample.posts}


# -- on the bundled sample ---------------------------------------------------------------------


def test_summaries_lead_and_the_posts_they_cover_are_left_out_on_the_sample(
    sample_store: Store, sample: Parsed
) -> None:
    selection = select_digest(sample_store, since=DAY, now=DAY + timedelta(hours=23), exclude=set())
    where = positions(sample)
    (group,) = selection.groups
    assert group.coverage.title == "Russia-Ukraine news"
    assert group.summaries == 4
    # the four round-ups newest first, then what no round-up told, newest first
    assert [where[p.post_id] for p in group.posts] == [0, 6, 12, 17, 9, 10, 13, 15]
    assert len(selection) + len(selection.covered) == 19


def test_the_mid_afternoon_summary_covers_the_bryansk_and_ambassador_posts(
    sample_store: Store, sample: Parsed
) -> None:
    selection = select_digest(sample_store, since=DAY, now=DAY + timedelta(hours=23), exclude=set())
    by_title = {p.title: p.post_id for p in sample.posts}
    summary = by_title["It's mid-afternoon in Kyiv. Here's what you need to know"]
    bryansk = by_title["Russian official makes new claim of Ukrainian attacks on Bryansk region"]
    weather = by_title["Ukrainian ambassador cites weather as reason for delay to spring offensive"]
    assert selection.covered[bryansk] == summary
    assert selection.covered[weather] == summary
    assert bryansk not in selection.post_ids and weather not in selection.post_ids


def test_a_post_that_only_shares_the_storys_vocabulary_is_kept(
    sample_store: Store, sample: Parsed
) -> None:
    selection = select_digest(sample_store, since=DAY, now=DAY + timedelta(hours=23), exclude=set())
    titles = [p.title for p in selection.posts]
    assert "As Ukraine prepares counteroffensive, Russia appears in disarray" in titles


def test_a_covered_post_stays_out_when_its_summary_was_already_sent(
    sample_store: Store, sample: Parsed
) -> None:
    by_title = {p.title: p.post_id for p in sample.posts}
    summary = by_title["It's mid-afternoon in Kyiv. Here's what you need to know"]
    bryansk = by_title["Russian official makes new claim of Ukrainian attacks on Bryansk region"]
    selection = select_digest(
        sample_store, since=DAY, now=DAY + timedelta(hours=23), exclude={summary}
    )
    assert summary not in selection.post_ids
    assert bryansk not in selection.post_ids
    assert selection.groups[0].summaries == 3


# -- the rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Ukrainians say they're ready for a counteroffensive. Here's the latest",
        "It's mid-afternoon in Kyiv. Here’s what you need to know",
        "It's evening in Ukraine. Catch up here on the latest developments in the war",
        "Catch up on the key developments",
        "What we know so far — key developments",
        "Here's what we know about the drone attack",
    ],
)
def test_round_up_titles_are_summaries(title: str) -> None:
    assert is_summary(title)


@pytest.mark.parametrize(
    "title",
    [
        "Russia is racing to catch up on drone production",
        "Kremlin rejects US estimates of 100,000 Russian casualties",
        "The latest intelligence update says Moscow fears a breakthrough",
    ],
)
def test_ordinary_titles_are_not_summaries(title: str) -> None:
    assert not is_summary(title)


def test_covering_needs_three_shared_terms_and_more_than_half_the_title() -> None:
    paragraph = set(tokenize("Shelling in Bryansk: the governor said the border town was shelled"))
    assert covers(paragraph, set(tokenize("Governor says Bryansk border town shelled")))
    # 3 of 5 terms is more than half; 3 of 6 is only half
    assert covers(paragraph, set(tokenize("Bryansk governor visits border farm")))
    assert not covers(paragraph, set(tokenize("Bryansk governor visits border farm school")))
    # nor are two terms, even when they are the whole title
    assert not covers(paragraph, set(tokenize("Bryansk shelling")))


def test_a_summary_does_not_cover_a_post_newer_than_itself(store: Store) -> None:
    round_up = post(
        "s",
        "Here's the latest",
        DAY + timedelta(hours=10),
        body=("Shelling in Bryansk: the governor said the border town was shelled overnight.",),
    )
    older = post("o", "Governor says Bryansk border town shelled", DAY + timedelta(hours=9))
    newer = post("n", "Governor says Bryansk border town shelled again", DAY + timedelta(hours=11))
    store.upsert(NEWS, [round_up, older, newer])
    selection = select_digest(store, since=DAY, now=DAY + timedelta(days=1), exclude=set())
    assert selection.post_ids == ("s", "n")
    assert selection.covered == {"o": "s"}


def test_a_summary_outside_the_window_covers_nothing(store: Store) -> None:
    round_up = post(
        "s",
        "Here's the latest",
        DAY + timedelta(hours=10),
        body=("Shelling in Bryansk: the governor said the border town was shelled overnight.",),
    )
    older = post("o", "Governor says Bryansk border town shelled", DAY + timedelta(hours=9))
    store.upsert(NEWS, [round_up, older])
    window = DigestWindow.load(store, since=DAY, now=DAY + timedelta(days=1))
    assert window.select(since=DAY).post_ids == ("s",)
    # a later `since` that leaves the summary out never sees the older post either
    assert window.select(since=DAY + timedelta(hours=9, minutes=30)).post_ids == ("s",)


def test_already_sent_posts_are_excluded(store: Store) -> None:
    posts = [post(f"p{i}", f"Event number {i}", DAY + timedelta(hours=i)) for i in range(5)]
    store.upsert(NEWS, posts)
    selection = select_digest(
        store, since=DAY, now=DAY + timedelta(days=1), exclude={"p1", "p3", "unknown"}
    )
    assert selection.post_ids == ("p4", "p2", "p0")


def test_timed_posts_count_from_since_inclusive_up_to_now_inclusive(store: Store) -> None:
    since, now = DAY + timedelta(hours=8), DAY + timedelta(hours=20)
    store.upsert(
        NEWS,
        [
            post("before", "Before", since - timedelta(seconds=1)),
            post("at-since", "At since", since),
            post("at-now", "At now", now),
            post("after", "After", now + timedelta(seconds=1)),
        ],
    )
    assert select_digest(store, since=since, now=now, exclude=set()).post_ids == (
        "at-now",
        "at-since",
    )


def test_date_only_posts_count_when_their_date_is_on_or_after_sinces_utc_date(store: Store) -> None:
    store.upsert(
        NEWS, [post("dated", "Dated", date(2023, 5, 2)), post("old", "Old", date(2023, 5, 1))]
    )
    now = datetime(2023, 5, 3, 12, tzinfo=UTC)
    late_that_day = datetime(2023, 5, 2, 23, 30, tzinfo=UTC)
    assert select_digest(store, since=late_that_day, now=now, exclude=set()).post_ids == ("dated",)
    # 01:00 in Kyiv on 3 May is still 2 May in UTC
    kyiv = datetime(2023, 5, 3, 1, 0, tzinfo=ZoneInfo("Europe/Kyiv"))
    assert select_digest(store, since=kyiv, now=now, exclude=set()).post_ids == ("dated",)
    next_day = datetime(2023, 5, 3, tzinfo=UTC)
    assert select_digest(store, since=next_day, now=now, exclude=set()).post_ids == ()


def test_a_date_only_post_of_a_later_day_than_now_is_left_out(store: Store) -> None:
    store.upsert(NEWS, [post("tomorrow", "Tomorrow", date(2023, 5, 3))])
    selection = select_digest(store, since=DAY, now=DAY + timedelta(hours=23), exclude=set())
    assert len(selection) == 0


def test_groups_follow_their_newest_post_and_keep_page_order(store: Store) -> None:
    store.upsert(
        NEWS,
        [
            post("n1", "Top of the page", DAY + timedelta(hours=5), position=0),
            post("n2", "Same minute, lower on the page", DAY + timedelta(hours=5), position=1),
        ],
    )
    store.upsert(OTHER, [post("o1", "Sudan ceasefire", DAY + timedelta(hours=6), coverage=OTHER)])
    selection = select_digest(store, since=DAY, now=DAY + timedelta(days=1), exclude=set())
    assert [g.coverage.title for g in selection.groups] == ["Sudan crisis", "Russia-Ukraine news"]
    assert [p.post_id for p in selection.groups[1].posts] == ["n1", "n2"]
    assert selection.groups[0].coverage.source == "BBC"


def test_cutting_a_window_gives_what_a_fresh_selection_gives(
    sample_store: Store, store: Store
) -> None:
    extra = [
        post(f"t{i}", f"Timed update {i} on Bryansk and Kherson", DAY + timedelta(hours=i))
        for i in range(0, 24, 3)
    ]
    round_up = post(
        "r",
        "Here's the latest",
        DAY + timedelta(hours=10),
        body=("Bryansk and Kherson: timed update on the border shelling.",),
    )
    store.upsert(NEWS, [*extra, round_up])
    now = DAY + timedelta(hours=23)
    window = DigestWindow.load(store, since=DAY - timedelta(hours=6), now=now)
    for hours in (-6, 0, 4, 13, 22):
        since = DAY + timedelta(hours=hours)
        exclude = {"t6", "t12"}
        cut = window.select(since=since, exclude=exclude)
        fresh = select_digest(store, since=since, now=now, exclude=exclude)
        assert cut.post_ids == fresh.post_ids
        assert cut.covered == fresh.covered
    assert window.select(since=DAY).covered.keys() >= {"t3", "t9"}


def test_a_selection_cannot_start_before_its_window(store: Store) -> None:
    window = DigestWindow.load(store, since=DAY, now=DAY + timedelta(days=1))
    with pytest.raises(ValueError, match="before the window"):
        window.select(since=DAY - timedelta(hours=1))


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        select_digest(store, since=datetime(2023, 5, 2), now=DAY, exclude=set())


def test_the_window_is_read_through_the_sort_key_index(sample_store: Store) -> None:
    statements: list[str] = []
    sample_store.db.conn.set_trace_callback(statements.append)
    select_digest(sample_store, since=DAY, now=DAY + timedelta(hours=23), exclude=set())
    sample_store.db.conn.set_trace_callback(None)
    (window_query,) = [s for s in statements if "sort_key >=" in s]
    plan = " ".join(
        str(row[3]) for row in sample_store.db.execute("EXPLAIN QUERY PLAN " + window_query)
    )
    assert "USING INDEX" in plan and "sort_key>" in plan
    assert "SCAN posts" not in plan
