"""One bad, hostile or sponsored entry never keeps the others of a feed out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from retrieval.sources import SourceError
from retrieval.sources.feed import parse

NOW = datetime(2024, 7, 5, 12, 0, tzinfo=UTC)
GOOD = (
    "<item><title>Polls have closed</title><guid>good</guid>"
    "<description>Counting starts now.</description>"
    "<pubDate>Thu, 04 Jul 2024 21:00:00 GMT</pubDate></item>"
)


def rss(*items: str, channel: str = "") -> bytes:
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>Harbour Times live</title><link>https://news.example/live</link>{channel}"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def item(
    title: str, *, guid: str, date: str = "Thu, 04 Jul 2024 22:00:00 GMT", extra: str = ""
) -> str:
    return (
        f"<item><title>{title}</title><guid>{guid}</guid><description>Text of {guid}.</description>"
        f"<pubDate>{date}</pubDate>{extra}</item>"
    )


@pytest.mark.parametrize("reference", ["&#xD800;", "&#xdfff;", "&#55296;", "&#x110000;"])
def test_an_entry_with_a_surrogate_reference_is_rejected_and_the_rest_imported(
    reference: str,
) -> None:
    parsed = parse(rss(item(f"Bad {reference} one", guid="bad"), GOOD), now=NOW)
    assert [p.title for p in parsed.posts] == ["Polls have closed"]
    assert parsed.rejected == ["entry 1: holds a lone surrogate (like &#xD800;), not text"]


def test_a_feed_of_only_surrogate_entries_is_one_source_error() -> None:
    with pytest.raises(SourceError, match="no usable entry: entry 1: holds a lone surrogate"):
        parse(rss(item("&#xD800;", guid="a")), now=NOW)


@pytest.mark.parametrize(
    ("date", "reason"),
    [
        ("Fri, 31 Dec 9999 23:59:59 GMT", "is more than a day in the future"),
        ("Mon, 01 Jan 1883 10:00:00 GMT", "is before 1900"),
        ("Sat, 06 Jul 2024 13:00:00 GMT", "is more than a day in the future"),
    ],
)
def test_implausible_dates_are_rejected_with_their_reason(date: str, reason: str) -> None:
    parsed = parse(rss(item("Odd clock", guid="odd", date=date), GOOD), now=NOW)
    assert [p.title for p in parsed.posts] == ["Polls have closed"]
    (rejection,) = parsed.rejected
    assert rejection.startswith("entry 1: published ") and rejection.endswith(reason)


def test_a_time_within_a_day_ahead_is_kept_for_timezones_ahead_of_the_server() -> None:
    parsed = parse(rss(item("Early", guid="e", date="Sat, 06 Jul 2024 11:00:00 GMT")), now=NOW)
    assert [p.title for p in parsed.posts] == ["Early"]


def test_an_unreadable_date_rejects_that_entry_only() -> None:
    parsed = parse(rss(item("Sometime", guid="s", date="sometime soon"), GOOD), now=NOW)
    assert [p.title for p in parsed.posts] == ["Polls have closed"]
    assert parsed.rejected == ["entry 1: unreadable date 'sometime soon'"]


@pytest.mark.parametrize(
    "advert",
    [
        item("Featured Advertiser: Harbour Motors summer sale", guid="ad1"),
        item("Sponsored: Ten ways to save on energy", guid="ad2"),
        item("Harbour Motors summer sale", guid="ad3", extra="<category>Sponsored</category>"),
        item("Summer sale", guid="ad4", extra="<category>Partner content</category>"),
        item(
            "Summer sale", guid="ad5", extra="<author>ads@x.example (Featured Advertiser)</author>"
        ),
        item("Promoção de verão", guid="ad6", extra="<category>Publicidade</category>"),
    ],
)
def test_sponsored_entries_are_skipped_and_counted_not_rejected(advert: str) -> None:
    parsed = parse(rss(advert, GOOD), now=NOW)
    assert [p.title for p in parsed.posts] == ["Polls have closed"]
    assert parsed.skipped == {"sponsored": 1}
    assert parsed.rejected == []


def test_three_adverts_count_three() -> None:
    ads = [item(f"Sponsored: offer {n}", guid=f"ad{n}") for n in range(3)]
    assert parse(rss(*ads, GOOD), now=NOW).skipped == {"sponsored": 3}


def test_news_about_advertising_is_not_an_advert() -> None:
    story = item("Advertising watchdog bans misleading energy adverts", guid="news")
    parsed = parse(rss(story, GOOD), now=NOW)
    assert len(parsed.posts) == 2 and parsed.skipped == {}


def test_read_more_promos_and_trailers_leave_the_body_wherever_they_stand() -> None:
    body = (
        "&lt;p&gt;The count is under way.&lt;/p&gt;"
        "&lt;p&gt;Read more: Everything you need to know about the vote&lt;/p&gt;"
        "&lt;p&gt;Turnout looks high. Continue reading...&lt;/p&gt;"
        "&lt;p&gt;Read full article &amp;gt;&amp;gt;&lt;/p&gt;"
    )
    entry = (
        f"<item><title>Count</title><guid>c</guid><description>{body}</description>"
        "<pubDate>Thu, 04 Jul 2024 22:00:00 GMT</pubDate></item>"
    )
    (post,) = parse(rss(entry), now=NOW).posts
    assert post.body == ("The count is under way.", "Turnout looks high.")


def test_relative_links_resolve_against_the_url_the_feed_came_from() -> None:
    entry = item("Relative", guid="r", extra="<link>/live/entry-1</link>")
    (post,) = parse(rss(entry), url="https://news.example/feeds/live.xml", now=NOW).posts
    assert post.url == "https://news.example/live/entry-1"


def test_xml_base_applies_to_relative_atom_links() -> None:
    atom = b"""<?xml version='1.0' encoding='utf-8'?>
<feed xmlns='http://www.w3.org/2005/Atom' xml:base='https://news.example/blog/'>
  <title>Blog</title><id>urn:blog</id>
  <entry><title>One</title><id>urn:1</id><link href='posts/one'/>
    <updated>2024-07-04T22:00:00Z</updated><content>Text.</content></entry>
</feed>"""
    (post,) = parse(atom, now=NOW).posts
    assert post.url == "https://news.example/blog/posts/one"


def test_outlet_is_never_an_email_address_and_a_known_host_reads_as_readers_know_it() -> None:
    feed = (
        "<rss version='2.0'><channel><title>mirror - News</title>"
        "<link>https://www.mirror.co.uk/news/</link>"
        "<managingEditor>desk@mirror.co.uk</managingEditor>" + GOOD + "</channel></rss>"
    ).encode()
    parsed = parse(feed, now=NOW)
    assert parsed.coverage.source == "The Mirror"


def test_a_feed_without_a_name_is_named_after_its_host() -> None:
    feed = (
        "<rss version='2.0'><channel><title>Latest updates from our newsroom tonight</title>"
        "<link>https://www.corkbeo.ie/news/</link>" + GOOD + "</channel></rss>"
    ).encode()
    assert parse(feed, now=NOW).coverage.source == "Cork Beo"
    unknown = feed.replace(b"www.corkbeo.ie", b"www.harbourtimes.example")
    assert parse(unknown, now=NOW).coverage.source == "Harbourtimes"


def test_raw_surrogate_bytes_reject_their_entry_without_garbling_the_others() -> None:
    """UTF-8-encoded surrogates (ED A0 80) are invalid UTF-8; left alone they make feedparser
    read the whole feed as windows-1252, turning every "ç" of the good entries into "Ã§"."""
    raw = rss(item("Bad one", guid="bad"), item("Ação", guid="ok")).replace(
        b"Bad one", b"Bad \xed\xa0\x80 one"
    )
    parsed = parse(raw, now=NOW)
    assert [p.title for p in parsed.posts] == ["Ação"]
    assert parsed.rejected == ["entry 1: holds a lone surrogate (like &#xD800;), not text"]


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("<author>desk@news.example (Jo Shelley)</author>", ("Jo Shelley",)),
        ("<author>desk@news.example</author>", ()),
        (
            "<dc:creator xmlns:dc='http://purl.org/dc/elements/1.1/'>Jo Shelley</dc:creator>",
            ("Jo Shelley",),
        ),
    ],
)
def test_bylines_are_names_never_bare_email_addresses(
    author: str, expected: tuple[str, ...]
) -> None:
    (post,) = parse(rss(item("Count", guid="c", extra=author)), now=NOW).posts
    assert post.authors == expected
