"""RSS and Atom feeds as coverage: one post per entry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from retrieval.models import Post, stable_id
from retrieval.sources import Parsed, SourceError
from retrieval.sources.feed import parse

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sources"
RSS_URL = "https://www.harbourtimes.example/live/election-night/feed.xml"


def by_title(parsed: Parsed) -> dict[str, Post]:
    return {post.title: post for post in parsed.posts}


@pytest.fixture(scope="module")
def rss() -> Parsed:
    return parse((FIXTURES / "rss_liveblog.xml").read_bytes(), url=RSS_URL)


@pytest.fixture(scope="module")
def atom() -> Parsed:
    return parse((FIXTURES / "atom_liveblog.atom").read_bytes())


def test_rss_items_become_posts_newest_first(rss: Parsed) -> None:
    assert [p.title for p in rss.posts] == [
        "First seat declared",
        "Polls have closed",
        "Welcome to our live coverage",
    ]
    assert [p.position for p in rss.posts] == [0, 1, 2]


def test_rss_channel_is_the_coverage_and_its_publisher_the_source(rss: Parsed) -> None:
    assert rss.coverage.title == "Election night 2024: live results"
    assert rss.coverage.source == "Harbour Times"
    # The feed's own rel="self" link: the same coverage whether read from a file or its URL.
    assert rss.coverage.url == "https://www.harbourtimes.example/live/election-night/feed.xml"
    assert rss.coverage.coverage_id == stable_id(RSS_URL)
    assert all(
        p.source == "Harbour Times" and p.coverage_id == rss.coverage.coverage_id for p in rss.posts
    )


def test_full_content_is_preferred_to_the_summary_and_loses_its_markup(rss: Parsed) -> None:
    assert by_title(rss)["First seat declared"].body == (
        "The first seat of the night has been declared in North Ward.",
        "Turnout was 61%, up & rising.",
    )


def test_escaped_html_description_becomes_paragraphs(rss: Parsed) -> None:
    assert by_title(rss)["Polls have closed"].body == (
        "Polling stations closed at 10pm.",
        "Counting starts now.",
    )


def test_pub_dates_become_timezone_aware_utc_times(rss: Parsed) -> None:
    first = by_title(rss)["First seat declared"].published
    assert first.precision == "time"
    assert first.value == datetime(2024, 7, 4, 22, 12, tzinfo=UTC)


def test_guid_is_the_stable_id_source(rss: Parsed) -> None:
    first = by_title(rss)["First seat declared"]
    assert first.post_id == stable_id(
        rss.coverage.coverage_id, "id", "harbourtimes-live-election-entry-3"
    )


def test_item_without_guid_or_link_gets_an_id_from_title_and_date(rss: Parsed) -> None:
    welcome = by_title(rss)["Welcome to our live coverage"]
    assert welcome.post_id == stable_id(
        rss.coverage.coverage_id, "Welcome to our live coverage", welcome.published.isoformat()
    )
    assert welcome.url is None


def test_relative_link_resolves_against_the_feed_url(rss: Parsed) -> None:
    assert by_title(rss)["Polls have closed"].url == (
        "https://www.harbourtimes.example/live/election-night#entry-2"
    )


def test_several_dc_creators_and_an_rss_author_give_names(rss: Parsed) -> None:
    assert by_title(rss)["First seat declared"].authors == ("Nia Roberts", "Tom Hale")
    assert by_title(rss)["Polls have closed"].authors == ("Harbour Times politics desk",)


def test_entry_with_an_unreadable_date_is_rejected_and_the_rest_imported(rss: Parsed) -> None:
    assert rss.rejected == ["entry 4: unreadable date 'sometime on election day'"]
    assert rss.notes == []


def test_reparsing_a_feed_gives_the_same_ids_and_hashes(rss: Parsed) -> None:
    again = parse((FIXTURES / "rss_liveblog.xml").read_text(encoding="utf-8"), url=RSS_URL)
    assert [(p.post_id, p.content_hash()) for p in again.posts] == [
        (p.post_id, p.content_hash()) for p in rss.posts
    ]


def test_atom_entries_keep_authors_links_and_xhtml_content(atom: Parsed) -> None:
    convoy = atom.posts[0]
    assert convoy.title == "Aid convoy reaches Wajima"
    assert convoy.authors == ("Keiko Mori", "Daniel Chen")
    assert convoy.url == "https://quakewatch.example.com/live/earthquake/aid-convoy"
    assert convoy.body == (
        "A convoy of 40 trucks carrying water and blankets reached the city at dawn.",
        "Roads further north remain blocked by landslides.",
    )


def test_atom_published_and_updated_are_both_kept_in_utc(atom: Parsed) -> None:
    convoy = atom.posts[0]
    assert convoy.published.value == datetime(2024, 1, 1, 23, 10, tzinfo=UTC)
    assert convoy.updated is not None
    assert convoy.updated.value == datetime(2024, 1, 1, 23, 25, tzinfo=UTC)


def test_atom_entry_with_only_updated_uses_it_as_published(atom: Parsed) -> None:
    toll = by_title(atom)["Death toll rises"]
    assert toll.published.value == datetime(2024, 1, 1, 22, 0, tzinfo=UTC)
    assert toll.updated is None
    assert toll.body == (
        "Officials confirmed the toll had risen overnight.",
        "Rescue teams are still searching collapsed buildings.",
    )


def test_bare_date_keeps_date_precision(atom: Parsed) -> None:
    centres = by_title(atom)["Evacuation centres open"]
    assert centres.published.precision == "date"
    assert centres.published.value == date(2024, 1, 1)


def test_atom_feed_title_author_and_subtitle_describe_the_coverage(atom: Parsed) -> None:
    assert atom.coverage.title == "Earthquake response: live updates"
    assert atom.coverage.source == "QuakeWatch"
    assert atom.coverage.summary == ("Rolling coverage of the rescue effort.",)
    assert atom.coverage.coverage_id == stable_id("https://quakewatch.example.com/live/earthquake")


def test_feed_without_publisher_or_author_is_sourced_by_its_title() -> None:
    xml = (
        b"<rss version='2.0'><channel><title>Quiet Feed</title><generator>Gen 1</generator>"
        b"<item><title>Hello</title><pubDate>Mon, 06 May 2024 10:00:00 GMT</pubDate></item>"
        b"</channel></rss>"
    )
    parsed = parse(xml)
    assert parsed.coverage.source == "Quiet Feed"
    assert parsed.posts[0].body == ()


def test_broken_feed_without_entries_names_feedparsers_reason() -> None:
    with pytest.raises(SourceError) as error:
        parse((FIXTURES / "not_a_feed.xml").read_bytes(), url="https://example.com/feed")
    message = str(error.value)
    assert message.startswith("https://example.com/feed is not a readable feed: ")
    assert "no element found" in message or "not well-formed" in message
    assert "\n" not in message


def test_well_formed_feed_without_entries_is_refused() -> None:
    with pytest.raises(SourceError, match="without entries"):
        parse(b"<rss version='2.0'><channel><title>Empty</title></channel></rss>")


def test_string_that_looks_like_a_url_is_parsed_as_content_never_fetched() -> None:
    with pytest.raises(SourceError, match="not a readable feed"):
        parse("http://127.0.0.1:9/feed.xml")


def test_entries_without_dates_are_all_rejected_with_a_source_error() -> None:
    xml = (
        b"<rss version='2.0'><channel><title>T</title><item><title>A</title></item></channel></rss>"
    )
    with pytest.raises(SourceError, match="no usable entry: entry 1: no date"):
        parse(xml)


def test_decoded_text_is_not_re_decoded_by_its_xml_declaration() -> None:
    xml = (
        '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel>'
        "<title>Café news</title><item><title>Crème brûlée — “hot”</title>"
        "<pubDate>Mon, 06 May 2024 10:00:00 GMT</pubDate></item></channel></rss>"
    )
    assert parse(xml).posts[0].title == "Crème brûlée — “hot”"
    latin1 = xml.replace("—", "-").replace("“", '"').replace("”", '"').encode("iso-8859-1")
    assert parse(latin1).posts[0].title == 'Crème brûlée - "hot"'
