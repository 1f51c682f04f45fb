"""The plain-text live-blog importer on the bundled CNN page and on bad input."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.importing import parse_content
from retrieval.sources import Parsed, SourceError
from retrieval.sources.plaintext import parse

HEADLINES = [
    "Ukrainians say they're ready for a counteroffensive. Here's the latest",
    "There could be no exact date for counteroffensive start, according to member of Kherson council",
    "Owner of dating app Tinder says it's withdrawing from Russia",
    'Ukrainian soldier says troops are ready for an expected counteroffensive: "We have completed our resupply"',
    "White House offers rare praise for House Speaker McCarthy over comments supporting aid to Ukraine",
    "Ukrainians are pinning their hopes on a spring counteroffensive",
    "It's evening in Ukraine. Catch up here on the latest developments in the war",
    "Russian-installed official hospitalized by explosive device in Melitopol, Russian investigators say",
    "China should push Russia to end war in Ukraine, US ambassador says",
    'Russian commissioner for children’s rights, wanted by the ICC, says she is "not ashamed of anything"',
    "Kremlin says it is unaware of any Vatican peace plan mission for Ukraine",
    "Kremlin rejects US estimates of 100,000 Russian casualties in Ukraine since December",
    "It's mid-afternoon in Kyiv. Here's what you need to know",
    "Russia's new military defenses reveal Moscow's fear that Ukraine could achieve \"major breakthrough\"",
    "Ukrainian ambassador cites weather as reason for delay to spring offensive",
    "As Ukraine prepares counteroffensive, Russia appears in disarray",
    "Russian official makes new claim of Ukrainian attacks on Bryansk region",
    "Russia is still fighting for control of Bakhmut and has suffered major casualties. Here's the latest",
    "Video shows burning train after explosion in Russian region near Ukraine",
]

CAPTIONS = [
    "US House Speaker Kevin McCarthy during an interview on Capitol Hill",
    "Ukrainian soldiers fire artillery on the Donetsk front line on April 24, 2023.",
    "Three rows of dragon's teeth and trenches, east of Vasylivka",
    "Current U.S. Ambassador to China Nicholas Burns appears before the Senate",
    "Russian Children's Representative Maria Lvova-Belova holds a press conference",
    "Smoke rises from buildings in this aerial view of Bakhmut",
    "Overview of Russian defenses in Hoholivka",
    "Ukrainian Ambassador to the UK, Vadym Prystaiko arrives in 10 Downing Street",
    "Mikhail Mizintsev, Russia's Colonel General",
    "Ukrainian service members from a 3rd separate assault brigade",
    "Pro-Kremlin blogger and activist Sergey Karnaukhov posted videos",
    "Three rows of dragon's teeth, seen near the road, are designed to hinder tanks.",
    "DONETSK OBLAST, UKRAINE - APRIL 24",
]

CHROME = [
    "GO DEEPER",
    "Related article",
    "02:43",
    "Read the full story:",
    "Read more on the spring",
]


def test_sample_yields_exactly_its_nineteen_headlines_in_page_order(sample: Parsed) -> None:
    assert [post.title for post in sample.posts] == HEADLINES
    assert [post.position for post in sample.posts] == list(range(19))


def test_source_and_coverage_title_come_from_the_first_line(sample: Parsed) -> None:
    assert sample.coverage.title == "Russia-Ukraine news"
    assert sample.coverage.source == "CNN"
    assert {post.source for post in sample.posts} == {"CNN"}


def test_posts_carry_the_page_date_with_date_precision_only(sample: Parsed) -> None:
    for post in sample.posts:
        assert post.published.precision == "date"
        assert post.published.value == date(2023, 5, 2)
        assert post.published.isoformat() == "2023-05-02"


def test_captions_and_page_chrome_are_not_body_text(sample: Parsed) -> None:
    bodies = "\n".join(p for post in sample.posts for p in post.body)
    for caption in CAPTIONS:
        assert caption not in bodies, caption
    for chrome in CHROME:
        assert chrome not in bodies, chrome


def test_body_keeps_the_posts_own_paragraphs(sample: Parsed) -> None:
    soldier = sample.posts[3]
    assert soldier.body[0].startswith("A Ukrainian soldier, who goes by the pseudonym Artur")
    assert soldier.body[-1] == (
        "NATO officials say that 98% of the fighting vehicles pledged to Ukraine are now in "
        "the country as well."
    )
    video = sample.posts[18]
    assert video.body[0].startswith("Video footage taken at the scene")
    assert "GO DEEPER" not in video.body


def test_what_we_covered_bullets_are_the_summary_not_a_post(sample: Parsed) -> None:
    assert len(sample.coverage.summary) == 4
    assert sample.coverage.summary[0].startswith("Russia has suffered more than 100,000")
    titles = {post.title for post in sample.posts}
    assert "What we covered here" not in titles
    assert not any(s in titles for s in sample.coverage.summary)


def test_ids_are_stable_across_imports(sample_text: str) -> None:
    first = [post.post_id for post in parse(sample_text).posts]
    second = [post.post_id for post in parse(sample_text).posts]
    assert first == second
    assert len(set(first)) == 19


def test_an_edited_post_keeps_its_id_but_changes_its_fingerprint(sample_text: str) -> None:
    edited = sample_text.replace("98% of the fighting vehicles", "99% of the fighting vehicles")
    before, after = parse(sample_text).posts[3], parse(edited).posts[3]
    assert before.post_id == after.post_id
    assert before.content_hash() != after.content_hash()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"   \n\n  ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (bytes(range(256)) * 4, "binary"),
        (b"<!DOCTYPE html><html><body><h1>News</h1></body></html>", "no LiveBlogPosting"),
        (b"Just some notes\n\nwith no header line.\n", "first line"),
        (b"May 2, 2023 - Russia-Ukraine news | CNN\n\n24 Posts\n\nAll prose here.\n", "headlines"),
        (b"Someday - Russia-Ukraine news | CNN\n\nHeadline\n\nBody.\n", "date"),
    ],
)
def test_content_that_is_not_a_live_blog_is_refused_with_one_line(
    content: bytes, reason: str
) -> None:
    with pytest.raises(SourceError) as refused:
        parse_content(content)
    message = str(refused.value)
    assert reason in message
    assert "\n" not in message
