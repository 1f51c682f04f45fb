"""Live-blog pages with schema.org LiveBlogPosting JSON-LD, and the main-text fallback."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from retrieval.models import Post, stable_id
from retrieval.sources import Parsed, SourceError
from retrieval.sources.liveblog_html import NO_JSONLD_NOTE, html_to_paragraphs, parse

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sources"
STORM_URL = "https://news.example.org/weather/storm-live"
PDT = timezone(timedelta(hours=-7))


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def page(*blocks: object, head: str = "", body: str = "<p>Live updates.</p>") -> str:
    """An HTML page with one JSON-LD script per block (strings are inserted verbatim)."""
    scripts = "".join(
        '<script type="application/ld+json">'
        + (block if isinstance(block, str) else json.dumps(block))
        + "</script>"
        for block in blocks
    )
    return f"<!doctype html><html><head>{head}{scripts}</head><body>{body}</body></html>"


def blog(*updates: dict[str, object], **fields: object) -> dict[str, object]:
    return {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "headline": "Test live blog",
        "liveBlogUpdate": list(updates),
        **fields,
    }


def update(
    headline: str, published: str = "2024-05-01T10:00:00Z", **fields: object
) -> dict[str, object]:
    return {
        "@type": "BlogPosting",
        "headline": headline,
        "datePublished": published,
        "articleBody": f"Body of {headline}.",
        **fields,
    }


def by_title(parsed: Parsed) -> dict[str, Post]:
    return {post.title: post for post in parsed.posts}


@pytest.fixture(scope="module")
def apple() -> Parsed:
    return parse(fixture("liveblog_schema_org.html"))


@pytest.fixture(scope="module")
def storm() -> Parsed:
    return parse(fixture("liveblog_graph_blocks.html"), url=STORM_URL)


# --- the schema.org example ---------------------------------------------------------------------


def test_every_live_blog_update_becomes_a_post_newest_first(apple: Parsed) -> None:
    assert [p.title for p in apple.posts] == [
        "Coming up: Apple Watch",
        "iPhone is growing at nearly twice the rate of the rest of the smartphone market",
        "It's time to get started",
    ]
    assert [p.position for p in apple.posts] == [0, 1, 2]
    assert apple.rejected == [] and apple.notes == []


def test_coverage_takes_headline_start_time_and_publisher_from_the_page(apple: Parsed) -> None:
    coverage = apple.coverage
    assert coverage.title == "Apple Spring Forward Event Live Blog"
    assert coverage.source == "TechCrunch"
    assert coverage.started is not None and coverage.started.precision == "time"
    assert coverage.started.value == datetime(2015, 3, 9, 11, 30, tzinfo=PDT)
    assert coverage.summary == ("Welcome to live coverage of the Apple Spring Forward event.",)
    assert all(post.coverage_id == coverage.coverage_id for post in apple.posts)
    assert all(post.source == "TechCrunch" for post in apple.posts)


def test_times_keep_their_offset_and_date_modified_becomes_updated(apple: Parsed) -> None:
    started = by_title(apple)["It's time to get started"]
    assert started.published.value == datetime(2015, 3, 9, 13, 8, tzinfo=PDT)
    assert started.published.isoformat() == "2015-03-09T13:08:00-07:00"
    assert started.updated is not None
    assert started.updated.value == datetime(2015, 3, 9, 13, 10, tzinfo=PDT)


def test_missing_date_modified_leaves_updated_empty(apple: Parsed) -> None:
    assert by_title(apple)["Coming up: Apple Watch"].updated is None


def test_plain_text_article_body_keeps_its_paragraphs(apple: Parsed) -> None:
    assert by_title(apple)["It's time to get started"].body == (
        "The event is about to begin. We're in our seats.",
        "The lights are dimming.",
    )


def test_update_without_article_body_is_a_headline_only_post(apple: Parsed) -> None:
    iphone = apple.posts[1]
    assert iphone.body == ()
    assert iphone.url == "https://techcrunch.com/2015/03/08/apple-watch-event-live-blog/#update-2"


def test_author_and_permalink_of_each_update_are_kept(apple: Parsed) -> None:
    watch = by_title(apple)["Coming up: Apple Watch"]
    assert watch.authors == ("Darrell Etherington",)
    assert watch.url == "https://techcrunch.com/2015/03/08/apple-watch-event-live-blog/#update-3"


def test_bytes_and_text_of_a_page_give_the_same_posts() -> None:
    from_bytes = parse((FIXTURES / "liveblog_schema_org.html").read_bytes())
    from_text = parse(fixture("liveblog_schema_org.html"))
    assert from_bytes.posts == from_text.posts


# --- @graph, several blocks, references, messy bodies -------------------------------------------


def test_updates_referenced_by_id_across_graph_and_script_blocks_are_read(storm: Parsed) -> None:
    assert storm.coverage.title == "Storm Ciarán live: winds of 100mph hit the south coast"
    assert storm.coverage.source == "The Daily Example"  # publisher given as an @id reference
    assert len(storm.posts) == 3


def test_a_block_of_bad_json_is_skipped_with_a_note(storm: Parsed) -> None:
    assert any(note.startswith("JSON-LD block 2 skipped: bad JSON") for note in storm.notes)
    assert NO_JSONLD_NOTE not in storm.notes


def test_html_in_a_body_becomes_paragraphs_without_markup_or_scripts(storm: Parsed) -> None:
    trains = storm.posts[0]
    assert trains.title == "Trains cancelled & roads closed"
    assert trains.body == (
        "Rail operators have cancelled all services west of Exeter.",
        "GWR: no trains until noon",
        "SWR: replacement buses",
        "Check before you travel – more below.",
        "Roads: the A30 is closed at Bodmin.",
    )
    assert not any("trackUpdate" in paragraph for paragraph in trains.body)


def test_several_authors_people_and_organisations_are_all_named(storm: Parsed) -> None:
    assert storm.posts[0].authors == ("Alex Rivers", "Sam Okafor", "PA Media")
    assert storm.posts[1].authors == ("Priya Shah",)  # a plain string author


def test_relative_permalink_resolves_against_the_page_url(storm: Parsed) -> None:
    assert storm.posts[0].url == STORM_URL + "?page=1#post-1003"


def test_update_without_url_links_to_the_page_and_its_id(storm: Parsed) -> None:
    assert storm.posts[1].url == STORM_URL + "#post-1002"


def test_time_without_offset_is_read_as_utc_and_noted(storm: Parsed) -> None:
    warning = by_title(storm)["Met Office issues amber warning"]
    assert warning.published.value == datetime(2023, 11, 2, 8, 10, tzinfo=UTC)
    assert any("without a UTC offset were read as UTC" in note for note in storm.notes)


def test_date_without_time_keeps_date_precision(storm: Parsed) -> None:
    welcome = storm.posts[2]
    assert welcome.published.precision == "date"
    assert welcome.published.value == date(2023, 11, 2)


def test_update_without_headline_takes_its_title_from_the_start_of_its_body(
    storm: Parsed,
) -> None:
    welcome = storm.posts[2]
    assert welcome.title.startswith("Good morning and welcome to our coverage of Storm Ciarán")
    assert welcome.title.endswith("…") and len(welcome.title) <= 91


def test_update_without_any_date_is_rejected_with_its_reason(storm: Parsed) -> None:
    assert storm.rejected == ["update 4: 'An update without a date' has no datePublished"]


def test_coverage_id_is_derived_from_the_page_url(storm: Parsed) -> None:
    assert storm.coverage.coverage_id == stable_id(STORM_URL)
    again = parse(fixture("liveblog_graph_blocks.html"), url=STORM_URL + "#post-1002")
    assert again.coverage.coverage_id == storm.coverage.coverage_id


def test_coverage_id_falls_back_to_the_headline_without_any_url() -> None:
    parsed = parse(page(blog(update("One"))))
    assert parsed.coverage.coverage_id == stable_id("Test live blog")


def test_jsonld_as_a_top_level_array_is_read() -> None:
    parsed = parse(page([{"@type": "WebSite", "name": "x"}, blog(update("In an array"))]))
    assert [p.title for p in parsed.posts] == ["In an array"]


def test_full_schema_org_type_iris_are_recognised() -> None:
    node = blog(update("Typed by IRI"))
    node["@type"] = "http://schema.org/LiveBlogPosting"
    assert [p.title for p in parse(page(node)).posts] == ["Typed by IRI"]


def test_the_same_blog_in_two_blocks_gives_each_post_once() -> None:
    node = blog(update("Once", **{"@id": "#a"}), update("Twice", **{"@id": "#b"}))
    parsed = parse(page(node, node), url="https://example.com/live")
    assert sorted(p.title for p in parsed.posts) == ["Once", "Twice"]


def test_base_href_is_the_base_for_relative_permalinks() -> None:
    html = page(
        blog(update("Based", url="entry/7")),
        head='<base href="https://cdn.example.com/blog/">',
    )
    assert parse(html, url="https://example.com/live").posts[0].url == (
        "https://cdn.example.com/blog/entry/7"
    )


def test_relative_permalink_without_a_page_url_is_dropped_not_kept_broken() -> None:
    assert parse(page(blog(update("Rel", url="/x#1")))).posts[0].url is None


# --- stable ids across versions of a page -------------------------------------------------------


@pytest.fixture(scope="module")
def versions() -> tuple[dict[str, Post], dict[str, Post]]:
    first = parse(fixture("liveblog_v1.html"))
    second = parse(fixture("liveblog_v2.html"))
    assert first.coverage.coverage_id == second.coverage.coverage_id
    return by_title(first), by_title(second)


def test_edited_post_keeps_its_id_and_changes_its_content_hash(
    versions: tuple[dict[str, Post], dict[str, Post]],
) -> None:
    before, after = versions
    old, new = before["Amendment on library hours"], after["Amendment on library hours"]
    assert new.post_id == old.post_id
    assert new.content_hash() != old.content_hash()
    assert new.body[-1] == "Update: the amendment passed 6-3."
    assert new.updated is not None and old.updated is None


def test_new_post_is_added_and_unchanged_posts_hash_the_same(
    versions: tuple[dict[str, Post], dict[str, Post]],
) -> None:
    before, after = versions
    assert set(after) - set(before) == {"Budget approved"}
    assert after["Budget approved"].authors == ("Dana Lee", "Marcus Bell")
    for title in ("Council convenes", "Public comment opens"):
        assert after[title].post_id == before[title].post_id
        assert after[title].content_hash() == before[title].content_hash()


def test_post_ids_differ_between_updates(
    versions: tuple[dict[str, Post], dict[str, Post]],
) -> None:
    _, after = versions
    assert len({post.post_id for post in after.values()}) == len(after) == 4


# --- fallback and refusals ----------------------------------------------------------------------


def test_page_without_liveblog_is_one_article_post_with_its_whole_text() -> None:
    parsed = parse(fixture("liveblog_no_jsonld.html"), url="https://gazette.example/live/marathon")
    assert NO_JSONLD_NOTE in parsed.notes
    [post] = parsed.posts
    assert post.title == "Marathon day live"
    assert post.published.isoformat() == "2024-04-21T07:00:00+01:00"
    assert post.body[0] == "Elite women's race under way"
    assert "The defending champion is in the leading group of eight." in post.body
    assert post.body[-1].startswith("The bridge and the river road are closed until 4pm")
    assert "Home" not in post.body and "© Riverside Gazette" not in post.body
    assert post.url == "https://gazette.example/live/marathon"
    assert parsed.coverage.source == "Riverside Gazette"


def test_page_with_no_jsonld_and_no_text_is_refused_in_one_line() -> None:
    with pytest.raises(SourceError) as error:
        parse("<html><head><title>x</title></head><body><div></div></body></html>")
    assert "neither a live blog nor an article: no LiveBlogPosting" in str(error.value)
    assert "\n" not in str(error.value)


def test_empty_page_is_refused() -> None:
    with pytest.raises(SourceError, match="empty"):
        parse("   \n", url="https://example.com/live")


def test_blog_whose_updates_are_all_unusable_is_refused_with_a_reason() -> None:
    html = page(blog({"@type": "BlogPosting", "headline": "No date"}), body="")
    with pytest.raises(SourceError) as error:
        parse(html, url="https://example.com/live")
    assert "no usable JSON-LD updates" in str(error.value)
    assert "\n" not in str(error.value)


def test_binary_bytes_are_refused_not_parsed() -> None:
    with pytest.raises(SourceError, match="binary"):
        parse(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


# --- html_to_paragraphs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "paragraphs"),
    [
        ("<p>One</p><p>Two</p>", ("One", "Two")),
        ("line one<br>still one<br><br>two", ("line one still one", "two")),
        ("<div>a<div>b</div>c</div>", ("a", "b", "c")),
        ("<p>Fish &amp; chips&nbsp;&mdash; <i>hot</i></p>", ("Fish & chips — hot",)),
        ("<style>p {color: red}</style><p>shown</p><!-- hidden -->", ("shown",)),
        ("plain text\n\nsecond paragraph", ("plain text", "second paragraph")),
        ("x < y and y > z", ("x < y and y > z",)),
        ("", ()),
    ],
)
def test_html_to_paragraphs_keeps_what_a_reader_sees(
    markup: str, paragraphs: tuple[str, ...]
) -> None:
    assert html_to_paragraphs(markup) == paragraphs


def test_update_with_a_plain_id_links_to_page_url_hash_id() -> None:
    node = blog(
        update("Token", **{"@id": "post-9"}),
        update("Identifier", identifier="77"),
    )
    parsed = parse(page(node), url="https://example.com/live?x=1#top")
    assert {p.title: p.url for p in parsed.posts} == {
        "Token": "https://example.com/live?x=1#post-9",
        "Identifier": "https://example.com/live?x=1#77",
    }


def test_an_article_without_any_publication_date_is_refused_with_that_reason() -> None:
    text = "<p>" + "The council met on a wet evening and argued about the new bridge. " * 6 + "</p>"
    html = page({"@type": "NewsArticle", "headline": "Council argues about the bridge"}, body=text)
    with pytest.raises(SourceError) as error:
        parse(html, url="https://example.com/news/bridge")
    assert str(error.value) == (
        "https://example.com/news/bridge is neither a live blog nor an article: no LiveBlogPosting;"
        " an article without a publication date (no datePublished, article:published_time)"
    )
