"""Live-blog layouts described in issue 12, built here in the shapes the issue reports (what
their structured data repeats or cuts short, where the page keeps the real values).

Real pages of the Guardian, the Times of India, la Repubblica and NDTV are in
test_real_live_blogs.py; no public repository reachable here keeps a real page of the WordPress
Liveblog plugin (tests/fixtures/real/README.md says where we looked), so its case is only
built here. These small pages pin the rules in variations the real ones do not show.
"""

from __future__ import annotations

import json
from datetime import datetime

from retrieval.sources.liveblog_html import parse

LONG = " ".join(["The minister said the talks would resume on Monday in Geneva."] * 20)


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def html(head: str, body: str) -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


# --- the Guardian: every update carries the blog's headline, time and bylines ------------------

GUARDIAN_URL = "https://www.theguardian.com/world/live/2024/mar/01/ukraine-war-live"


def guardian_page() -> str:
    byline = [{"@type": "Person", "name": "Léonie Chao-Fong"}, {"@type": "Person", "name": "Tom Ambrose"}]
    blog_values = {"headline": "Ukraine war live", "datePublished": "2024-03-01T06:00:00.000Z", "author": byline}
    updates = [
        {"@type": "BlogPosting", "@id": f"block-65e1a{n}", "articleBody": LONG[:1000], **blog_values}
        for n in (1, 2)
    ]
    head = (
        f'<link rel="canonical" href="{GUARDIAN_URL}">'
        '<meta property="og:site_name" content="the Guardian">'
        + ld({"@type": "LiveBlogPosting", **blog_values, "liveBlogUpdate": updates})
    )
    blocks = "".join(
        f'<article id="block-65e1a{n}" class="block"><header><p class="block-time">'
        f'<time datetime="2024-03-01T{t}+00:00">{t[:5]} GMT</time></p><h2>{title}</h2></header>'
        f'<div class="block-elements"><p>{LONG}</p><p>Last words of update {n}.</p></div>'
        f'<footer><p class="byline">{writer}</p><div class="share-buttons">Share</div></footer></article>'
        for n, t, title, writer in [
            (2, "10:05:00", "Zelenskyy meets Nato chief", "Tom Ambrose"),
            (1, "09:41:00", "Russian strike on Odesa", "Léonie Chao-Fong"),
        ]
    )
    return html(head, f'<div id="liveblog-body">{blocks}</div>')


def test_guardian_updates_take_headline_time_author_text_and_block_link_from_the_page() -> None:
    parsed = parse(guardian_page(), url=GUARDIAN_URL)
    first, second = parsed.posts
    assert [p.title for p in parsed.posts] == ["Zelenskyy meets Nato chief", "Russian strike on Odesa"]
    assert first.published.value == datetime.fromisoformat("2024-03-01T10:05:00+00:00")
    assert first.authors == ("Tom Ambrose",) and second.authors == ("Léonie Chao-Fong",)
    assert first.url == f"{GUARDIAN_URL}#block-65e1a2"
    assert first.body == (LONG, "Last words of update 2.")  # not cut at 1,000 characters
    assert parsed.coverage.source == "The Guardian"
    notes = " / ".join(parsed.notes)
    assert "all 2 updates carry the headline 'Ukraine war live'" in notes
    assert "page HTML read for 2 of 2 updates" in notes


def test_a_blog_whose_updates_all_carry_its_time_keeps_the_day_when_the_page_has_no_time() -> None:
    page = guardian_page().replace("<time", "<span").replace("</time>", "</span>")
    parsed = parse(page, url=GUARDIAN_URL)
    assert {p.published.isoformat() for p in parsed.posts} == {"2024-03-01"}
    assert any("keeps the day only" in note for note in parsed.notes)


# --- Times of India: headlines prefixed "19:02(IST)", headline and body cut at ~100 chars -------

TOI_URL = "https://timesofindia.indiatimes.com/city/mumbai/mumbai-rains-live/liveblog/1.cms"


def test_times_of_india_cut_headlines_and_bodies_are_replaced_by_the_page_blocks() -> None:
    full_title = "Rain lashes Mumbai as monsoon arrives early; local trains on the harbour line run late by twenty minutes"
    full_body = "The India Meteorological Department has issued an orange alert for Mumbai and Thane for the next two days, with heavy showers expected."
    updates = [
        {
            "@type": "BlogPosting",
            "headline": f"19:02(IST) {full_title[:88]}",
            "articleBody": full_body[:97],
            "datePublished": "2024-06-09T19:02:00+05:30",
        },
        {
            "@type": "BlogPosting",
            "headline": "18:40(IST) Schools shut in Thane",
            "articleBody": "Schools in Thane will stay shut on Monday, the district collector said.",
            "datePublished": "2024-06-09T18:40:00+05:30",
        },
    ]
    head = f'<link rel="canonical" href="{TOI_URL}">' + ld(
        {"@type": "LiveBlogPosting", "headline": "Mumbai rains live", "liveBlogUpdate": updates}
    )
    items = "".join(
        f'<div class="lb-item"><time datetime="2024-06-09T{t}:00+05:30">{t} IST</time>'
        f"<h3>{title}</h3><p>{text}</p></div>"
        for t, title, text in [
            ("19:02", full_title, full_body),
            ("18:40", "Schools shut in Thane", updates[1]["articleBody"]),
            ("18:15", "Traffic slow on the Western Express Highway", "Commuters report queues at Andheri."),
        ]
    )
    parsed = parse(html(head, f"<main>{items}</main>"), url=TOI_URL)
    rain = parsed.posts[0]
    assert rain.title == full_title
    assert rain.body == (full_body,)
    assert rain.published.value.utcoffset() is not None
    assert rain.published.value.isoformat() == "2024-06-09T19:02:00+05:30"
    assert parsed.posts[1].title == "Schools shut in Thane"
    assert "page HTML read for 2 of 2 updates" in " / ".join(parsed.notes)


# --- la Repubblica: no per-update URL, a headline cut inside an entity, CMS codes ---------------

REP_URL = "https://www.repubblica.it/politica/2024/05/02/diretta/elezioni-423000000/"


def test_repubblica_updates_get_the_page_anchor_full_headline_and_no_cms_codes() -> None:
    updates = [
        {
            "@type": "BlogPosting",
            "headline": "Meloni: &ldquo;Il governo andrà avanti&rdq",
            "articleBody": "[[ge:rep-locali:roma:423000001]] La premier ha parlato ai giornalisti a Palazzo Chigi dopo il consiglio dei ministri.",
            "datePublished": "2024-05-02T12:30:00+02:00",
        },
        {
            "@type": "BlogPosting",
            "headline": "Schlein: “Una manovra senza coraggio”",
            "articleBody": "La segretaria del Pd ha commentato la legge di bilancio in un video sui social.",
            "datePublished": "2024-05-02T11:10:00+02:00",
        },
    ]
    head = f'<link rel="canonical" href="{REP_URL}">' + ld(
        {"@type": "LiveBlogPosting", "headline": "Elezioni, la diretta", "liveBlogUpdate": updates}
    )
    posts = "".join(
        f'<article class="live-post"><a name="{anchor}"></a><time datetime="2024-05-02T{t}:00+02:00">{t}</time>'
        f"<h3>{title}</h3><p>{text}</p></article>"
        for anchor, t, title, text in [
            ("p2", "12:30", "Meloni: “Il governo andrà avanti”", "[[ge:rep-locali:roma:423000001]] La premier ha parlato ai giornalisti a Palazzo Chigi dopo il consiglio dei ministri."),
            ("p1", "11:10", "Schlein: “Una manovra senza coraggio”", updates[1]["articleBody"]),
            ("p0", "10:00", "Si apre la giornata", "Buongiorno e benvenuti alla diretta."),
        ]
    )
    parsed = parse(html(head, posts), url=REP_URL)
    meloni = parsed.posts[0]
    assert meloni.title == "Meloni: “Il governo andrà avanti”"
    assert meloni.url == f"{REP_URL}#p2"
    assert meloni.body == ("La premier ha parlato ai giornalisti a Palazzo Chigi dopo il consiglio dei ministri.",)
    assert parsed.posts[1].url == f"{REP_URL}#p1"
    # The page's own third post, which the structured data does not list, is kept too.
    assert parsed.posts[2].title == "Si apre la giornata"


# --- NDTV: microdata `itemprop="liveBlogUpdate"` updates with +05:30 times and #N anchors -----

NDTV_URL = "https://www.ndtv.com/india-news/budget-2024-live-updates-5000000"


def test_microdata_live_blog_updates_are_posts_with_their_times_and_anchors() -> None:
    updates = "".join(
        f'<div itemprop="liveBlogUpdate" itemscope itemtype="https://schema.org/BlogPosting" id="{n}">'
        f'<meta itemprop="url" content="{NDTV_URL}#{n}">'
        f'<span itemprop="datePublished" content="2024-07-23T{t}:00+05:30">{t} (IST)</span>'
        f'<h2 itemprop="headline">{title}</h2><div itemprop="articleBody"><p>{text}</p></div></div>'
        for n, t, title, text in [
            (3, "12:45", "Finance Minister ends speech", "The speech lasted 83 minutes."),
            (2, "12:10", "New tax regime slabs revised", "The standard deduction rises to Rs 75,000."),
            (1, "11:00", "Budget speech begins", "Nirmala Sitharaman begins her seventh budget speech."),
        ]
    )
    page = html(
        f'<link rel="canonical" href="{NDTV_URL}"><meta property="og:site_name" content="NDTV">',
        f'<div itemscope itemtype="https://schema.org/LiveBlogPosting"><h1 itemprop="headline">Budget 2024 live</h1>{updates}</div>',
    )
    parsed = parse(page, url=NDTV_URL)
    assert [p.title for p in parsed.posts] == [
        "Finance Minister ends speech",
        "New tax regime slabs revised",
        "Budget speech begins",
    ]
    assert [p.url for p in parsed.posts] == [f"{NDTV_URL}#{n}" for n in (3, 2, 1)]
    assert parsed.posts[0].published.value.isoformat() == "2024-07-23T12:45:00+05:30"
    assert parsed.posts[1].body == ("The standard deduction rises to Rs 75,000.",)
    assert parsed.coverage.title == "Budget 2024 live"


# --- WordPress Liveblog plugin: entries with their author, JSON-LD permalinks to #id ----------

WP_URL = "https://news.example.org/2024/05/02/council-vote-live/"


def test_wordpress_liveblog_entries_are_credited_to_their_own_authors() -> None:
    updates = [
        {
            "@type": "BlogPosting",
            "url": f"{WP_URL}#liveblog-entry-{n}",
            "datePublished": f"2024-05-02T{t}:00-04:00",
            "articleBody": text,
            "author": {"@type": "Person", "name": "Newsroom"},
        }
        for n, t, text in [(12, "19:30", "The motion passed 7-2."), (11, "19:05", "Public comment is now closed.")]
    ]
    head = ld({"@type": "LiveBlogPosting", "headline": "Council vote live", "liveBlogUpdate": updates})
    entries = "".join(
        f'<div class="liveblog-entry" id="liveblog-entry-{n}"><aside class="liveblog-entry-aside">'
        f'<a class="liveblog-meta-time" href="#liveblog-entry-{n}">{t}</a></aside>'
        f'<div class="liveblog-entry-inner"><header class="liveblog-meta">'
        f'<span class="liveblog-author-name">{writer}</span></header>'
        f'<div class="liveblog-entry-text"><p>{text}</p></div></div></div>'
        for n, t, writer, text in [
            (12, "7:30 pm", "Dana Whitfield", "The motion passed 7-2."),
            (11, "7:05 pm", "Marco Ruiz", "Public comment is now closed."),
        ]
    )
    parsed = parse(html(head, entries), url=WP_URL)
    assert [(p.authors, p.url) for p in parsed.posts] == [
        (("Dana Whitfield",), f"{WP_URL}#liveblog-entry-12"),
        (("Marco Ruiz",), f"{WP_URL}#liveblog-entry-11"),
    ]
    assert parsed.posts[0].published.value.isoformat() == "2024-05-02T19:30:00-04:00"
    assert parsed.posts[0].title == "The motion passed 7-2."


# --- a live blog without any structured data ---------------------------------------------------


def test_a_live_blog_without_structured_data_is_read_from_its_timed_update_elements() -> None:
    items = "".join(
        f'<div class="update" id="u{n}"><time datetime="2024-04-21T{t}:00+01:00">{t}</time>'
        f"<h2>{title}</h2><p>{text}</p></div>"
        for n, t, title, text in [
            (3, "11:20", "Winner crosses the line", "A course record by 40 seconds, and the crowd on the bridge roars her home."),
            (2, "10:05", "Halfway", "The leading group is down to four as the course turns along the river road."),
            (1, "09:00", "They're off", "The elite field sets off in sunshine from the park, with 12,000 runners behind."),
        ]
    )
    page = html('<meta property="og:title" content="Marathon live">', f"<main>{items}</main>")
    parsed = parse(page, url="https://gazette.example/live/marathon")
    assert [p.title for p in parsed.posts] == ["Winner crosses the line", "Halfway", "They're off"]
    assert parsed.posts[0].url == "https://gazette.example/live/marathon#u3"
    assert parsed.posts[2].body == ("The elite field sets off in sunshine from the park, with 12,000 runners behind.",)
    assert parsed.coverage.title == "Marathon live"
