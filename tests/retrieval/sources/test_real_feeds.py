"""Real published feeds of seven flavours, imported from saved files as an operator would.

Expected values were written from reading the XML in tests/fixtures/real/feeds/ (see its
README for where each feed comes from), not from the importer's output.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from retrieval.importing import read_location
from retrieval.models import Post
from retrieval.sources import Parsed

FEEDS = Path(__file__).parents[2] / "fixtures" / "real" / "feeds"
BRT = timezone(timedelta(hours=-3))
TRAILERS = (
    "Continue reading",
    "submitted by",
    "[link]",
    "comments]",
    "originally published in",
    "appeared first on",
    "Read More",
    "Related:",
    "Photo by",
    "[...]",
)


def imported(name: str) -> Parsed:
    (parsed,) = read_location(str(FEEDS / name))
    return parsed


def by_title(parsed: Parsed) -> dict[str, Post]:
    return {post.title: post for post in parsed.posts}


@pytest.mark.parametrize("name", sorted(p.name for p in FEEDS.iterdir() if p.suffix != ".md"))
def test_no_body_of_any_real_feed_keeps_a_trailer_or_promo_line(name: str) -> None:
    parsed = imported(name)
    assert parsed.posts and not parsed.rejected
    for post in parsed.posts:
        for paragraph in post.body:
            assert not any(t.lower() in paragraph.lower() for t in TRAILERS), paragraph


def test_reddit_rss_posts_credit_the_submitter_and_lose_the_trailer() -> None:
    parsed = imported("reddit-frontpage.rss")
    assert parsed.coverage.source == "Reddit"
    assert parsed.coverage.url == "https://www.reddit.com/.rss"
    posts = by_title(parsed)
    assert [p.title for p in parsed.posts] == [
        "We are Aziz Ansari and Alan Yang from Master of None - Ask Us Anything",
        "The water is too deep, so he improvises",
        "The tapestry above my bed made a pretty sweet reflection in my coffee this morning.",
    ]
    water = posts["The water is too deep, so he improvises"]
    assert water.published.value == datetime(2015, 11, 12, 21, 16, 39, tzinfo=UTC)
    assert water.authors == ("cakebeerandmorebeer",)
    assert water.url == (
        "https://www.reddit.com/r/funny/comments/3skxqc/the_water_is_too_deep_so_he_improvises/"
    )
    assert water.body == ()  # a picture post: the trailer was all the text
    ama = posts["We are Aziz Ansari and Alan Yang from Master of None - Ask Us Anything"]
    assert ama.authors == ("azizansariAMA",)
    assert ama.body[0] == "It's Aziz Ansari."
    assert ama.body[-1].startswith("THANKS FOR EVERYTHING GUYS.")


def test_reddit_atom_takes_the_entry_author_and_the_feeds_self_link() -> None:
    parsed = imported("reddit-home.atom")
    assert parsed.coverage.source == "Reddit"
    assert parsed.coverage.url == "https://www.reddit.com/.rss"
    first = parsed.posts[0]
    assert first.title == "How the British as seen by Americans and Europeans"
    assert first.authors == ("/u/AngryRedditorsBelow",)
    assert first.published.value == datetime(2016, 1, 26, 20, 31, 34, tzinfo=UTC)
    assert first.url == (
        "https://www.reddit.com/r/funny/comments/42tizy/"
        "how_the_british_as_seen_by_americans_and_europeans/"
    )


def test_portuguese_dates_and_undeclared_latin_1_are_read() -> None:
    parsed = imported("uol-noticias-pt.rss")
    assert parsed.coverage.title == "UOL Noticias"
    assert parsed.coverage.source == "UOL"
    assert [p.published.value for p in parsed.posts] == [
        datetime(2018, 9, 24, 19, 42, 40, tzinfo=BRT),
        datetime(2018, 9, 24, 19, 38, 0, tzinfo=BRT),
        datetime(2018, 9, 24, 19, 35, 7, tzinfo=BRT),
        datetime(2018, 9, 24, 19, 32, 0, tzinfo=BRT),
    ]
    first = parsed.posts[0]
    assert (
        first.title == "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno"
    )
    assert first.url == (
        "https://noticias.uol.com.br/politica/eleicoes/2018/noticias/2018/09/24/"
        "ibope-bolsonaro-perde-de-haddad-ciro-e-alckmin-em-simulacoes-de-2-turno.htm"
    )
    assert first.body[0].startswith("Líder na pesquisa Ibope de intenção de voto")
    assert parsed.posts[-1].title == "Dow Jones fecha em baixa de 0,68%"


def test_german_atom_feed_names_its_author_as_outlet_and_its_self_link_as_url() -> None:
    parsed = imported("heise-developer-de.atom")
    assert parsed.coverage.title == "heise developer neueste Meldungen"
    assert parsed.coverage.source == "heise online"
    assert parsed.coverage.url == "http://www.heise.de/developer/rss/news-atom.xml"
    wildfly = by_title(parsed)["Java-Anwendungsserver: Red Hat gibt WildFly 10 frei"]
    assert wildfly.published.value == datetime(2016, 2, 1, 16, 22, tzinfo=UTC)
    assert wildfly.updated is not None
    assert wildfly.updated.value == datetime(2016, 2, 1, 16, 54, 50, tzinfo=UTC)
    assert wildfly.url == (
        "http://www.heise.de/developer/meldung/"
        "Java-Anwendungsserver-Red-Hat-gibt-WildFly-10-frei-3088438.html"
        "?wt_mc=rss.developer.beitrag.atom"
    )
    assert wildfly.body[0].startswith("Die nun verfügbare Version 10")


def test_relative_entry_links_of_a_saved_feed_resolve_against_its_own_links() -> None:
    parsed = imported("github-releases-gulp.atom")
    assert parsed.coverage.source == "GitHub"
    assert [(p.title, p.url) for p in parsed.posts] == [
        ("v3.9.0", "https://github.com/gulpjs/gulp/releases/tag/v3.9.0"),
        ("v3.8.11", "https://github.com/gulpjs/gulp/releases/tag/v3.8.11"),
        ("v3.8.10", "https://github.com/gulpjs/gulp/releases/tag/v3.8.10"),
    ]
    assert parsed.posts[0].authors == ("contra",)
    assert parsed.posts[0].published.value == datetime(2015, 6, 1, 21, 49, 41, tzinfo=UTC)


def test_guardian_items_keep_their_standfirst_and_text_without_continue_reading() -> None:
    parsed = imported("guardian-us.rss")
    assert parsed.coverage.source == "The Guardian"
    unity = by_title(parsed)[
        "Trump State of the Union address promised unity but emphasized discord"
    ]
    assert unity.authors == ("David Smith in Washington",)
    assert unity.published.value == datetime(2018, 1, 31, 7, 26, 5, tzinfo=UTC)
    assert unity.body[0] == (
        "The president’s ‘new American moment’ speech stirred Republican applause while "
        "Democrats showed thinly disguised contempt"
    )
    assert unity.body[-1].startswith("Donald Trump has promised a “new American moment”")


def test_rdf_feed_entries_keep_date_precision_and_the_outlet_is_biorxiv() -> None:
    parsed = imported("biorxiv-plant-biology.rdf")
    assert parsed.coverage.title == "bioRxiv Subject Collection: Plant Biology"
    assert parsed.coverage.source == "bioRxiv"
    first = parsed.posts[0]
    assert first.title.startswith("Wheat inositol pyrophosphate kinase (TaVIH2-3B)")
    assert (first.published.precision, first.published.value) == ("date", date(2019, 8, 27))
    assert first.url == "http://biorxiv.org/cgi/content/short/743294v1?rss=1"
    assert parsed.posts[1].published.value == date(2019, 8, 24)


def test_medium_feed_is_medium_not_its_webmaster_address_and_loses_its_footer() -> None:
    parsed = imported("medium-invironment.rss")
    assert parsed.coverage.source == "Medium"  # not "yourfriends@medium.com" (webMaster)
    assert parsed.coverage.url == "https://medium.com/feed/invironment/tagged/food"  # rel=self
    (post,) = parsed.posts
    assert post.title == "THE CREATIVE FORAGER"
    assert post.authors == ("Jeremy Puma",)
    assert post.published.value == datetime(2018, 4, 9, 18, 55, 38, tzinfo=UTC)
    assert post.url == (
        "https://medium.com/invironment/the-creative-forager-125af37d838f"
        "?source=rss----d12c403d4976--food"
    )
    assert post.body[0] == "Using Wild Ingredients in the Kitchen"
    assert post.body[-1] == (
        "OKAY! What are you waiting for, the “zombie apocalypse”? Get your copy, and cook "
        "some wild foods today!"
    )
    assert not any("originally published" in paragraph for paragraph in post.body)


def test_wordpress_excerpts_end_with_an_ellipsis_not_read_more_or_the_post_appeared() -> None:
    parsed = imported("wordpress-dieworkwear.rss")
    assert parsed.coverage.source == "Die, Workwear!"
    assert parsed.coverage.url == "https://dieworkwear.com/feed/"
    sales = by_title(parsed)["A Dozen Great Black Friday Sales"]
    assert sales.authors == ("Derek Guy",)
    assert sales.published.value == datetime(2023, 11, 24, 14, 32, 2, tzinfo=UTC)
    (paragraph,) = sales.body
    assert paragraph.startswith("You used to have to muscle your way into stores")
    assert paragraph.endswith("making it impossible to know what to…")
