"""Real published pages (tests/fixtures/real, origins in its README), read as the page shows them.

Every expected value below was written from reading the page itself (its visible update
elements, bylines and times), not from the importer's output. Each post is compared field
by field: headline, time with offset (to the minute the page shows), authors, a permalink
whose fragment names an element of the page, where the text starts and ends, and no chrome
(captions, credits, promos) in the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urldefrag

import pytest

from retrieval.sources.liveblog_html import parse
from tests.retrieval.sources.real_pages import (
    CHROME,
    REAL,
    Blog,
    Update,
    assert_body,
    minute,
    page_ids,
    parsed,
    u,
)

CORKBEO = Blog(
    file="corkbeo_live_2020-10-06.html",
    canonical="https://www.corkbeo.ie/news/local-news/level-3-live-cork-ireland-19056312",
    outlet="Cork Beo",
    updates=tuple(
        u(a, f"2020-10-06T{t}+01:00", w, h, f, la)
        for a, t, w, h, f, la in [
            ("2259242", "21:22", "Frances Watkins", "Goodnight", "We are logging off for the night", "Goodnight and stay safe."),
            ("2259210", "21:01", "Frances Watkins", "In case you missed this earlier", "Coronavirus Ireland: One death and 432 new cases", "One death and 432 new cases"),
            ("2259175", "20:36", "Frances Watkins", "Another Cork favourite preparing to shut up shop for the next three weeks", None, None),
            ("2259111", "20:03", "Frances Watkins", "Cork County Council share update on services", "Cork County Council have given an update this evening", "Civic Amenity Sites will continue to operate."),
            ("2259057", "19:29", "Frances Watkins", "Princes Street is very quiet this evening ahead of level 3 restrictions starting tomorrow", None, None),
            ("2259033", "19:17", "Frances Watkins", "One of Cork's oldest pubs to remain open for next three weeks", "The Oval on South Main Street will still be serving", "due to arrive in the next few days."),
            ("2258956", "18:28", None, "Coronavirus Ireland: One death and 432 new cases", "Coronavirus Ireland: One death and 432 new cases", "One death and 432 new cases"),
            ("2258894", "17:52", "Frances Watkins", "Cork University Hospital suspends visiting until further notice due to level 3 restrictions", "Cork University Hospital suspends visiting", "due to level 3 restrictions"),
            ("2258866", "17:32", "Frances Watkins", "CUH will not be allowing visitors from tomorrow", "Cork University Hospital have announced that they will not", "in cases of end of life care."),
            ("2258856", "17:24", "Frances Watkins", "Shelbourne Bar says they are looking forward to greeting customers again", None, None),
            ("2258751", "15:54", "Frances Watkins", "Cork doctor issues advice on when to stay at home to stop the spread of Covid-19", "Cork doctor issues advice on when to stay at home", "to stop the spread of Covid-19"),
            ("2258639", "14:43", "Gavin O'Callaghan", "Cobh", "Leonardo's Kimbo Cafe in Cobh will be staying open", "They're also doing a full takeaway menu."),
            ("2258591", "14:05", "Gavin O'Callaghan", "A plea from a Cork restaurant", None, None),
            ("2258551", "13:27", "Gavin O'Callaghan", "Sports", None, None),
            ("2258534", "13:11", "Gavin O'Callaghan", "Mallow Swimming Pool - closed 'until further notice' after midnight", '"It is with a very heavy heart we bring the news', 'information to people not on social media."'),
            ("2258480", "12:37", "Gavin O'Callaghan", "More on Idle Hour's decision", None, None),
            ("2258453", "12:18", "Gavin O'Callaghan", "Idle Hour", "Popular drinking hole The Idle Hour will be closing", 'is being told to reduce social contacts".'),
            ("2258359", "11:14", "Gavin O'Callaghan", "Iyers cafe", None, None),
            ("2258354", "11:11", "Gavin O'Callaghan", "Are barbers and hairdressers open?", "Yes - a few people have asked this question.", "The barbers are open for business."),
            ("2258348", "11:07", "Gavin O'Callaghan", "Tourist attractions - Mizen Head's 'The Mizen' to close", 'They said: "The Mizen will be closed from tomorrow.', 'Hope to see you next year and we’ll do it again!"'),
            ("2258337", "11:03", "Gavin O'Callaghan", "Lunch?", "Popular Cobh spot Seasalt will be staying open", "They'll be following the same measures."),
            ("2258331", "11:00", "Gavin O'Callaghan", "Bus services", "West Cork Connect will be running as normal", "There'll be no change to their schedule."),
            ("2258327", "10:57", "Gavin O'Callaghan", "Local pubs", "Some pubs around Cork have already been making announcements", "They will be doing takeaways from then on."),
            ("2258270", "10:09", "Gavin O'Callaghan", "NPHET's letter", "Ireland could see up to 2,300 new cases of coronavirus per day", "the best decision we can given the evidence we have.”"),
            ("2258217", "09:13", "Gavin O'Callaghan", "Thousands of jobs at risk as pubs and restaurants slam 'devastating' decision", "Distraught pub and hotel groups have slammed the decision", "will restore confidence to a battered trade.”"),
            ("2258190", "08:44", "Gavin O'Callaghan", "'Circuit breaker' plan - NPHET vs Government", "Last night Tanaiste Leo Varadkar revealed", 'without being able to answer very basic questions."'),
        ]
    ),
)

MIRROR_URL = "https://www.mirror.co.uk/news/uk-news/uk-riots-live-hotel-rotherham-33386398"
MIRROR = Blog(
    file="mirror_live_2024-08-05.html",
    canonical=MIRROR_URL,
    outlet="The Mirror",
    updates=tuple(
        u(a, f"2024-08-05T{t}+01:00", w, h, f, la)
        for a, t, w, h, f, la in [
            ("751105", "21:00", "Antony Clements-Thrower", "Loud bang heard at Plymouth scene", 'Local reporters have said a "loud bang"', "if it is related to the ongoing incident."),
            ("751101", "20:42", None, "Plymouth protests erupt in violence as multiple people injured by rioters 'throwing stones'", "Multiple people are injured after several missiles", 'damaged tonight and "arrests are ongoing".'),
            ("751098", "20:24", "Antony Clements-Thrower", "Bus routes changed to avoid potential trouble in Plymouth", "A number of routes in Plymouth were either changed", "Plymouth Citybus (@plymouthbus) August 5, 2024"),
            ("751096", "20:19", "Antony Clements-Thrower", "Plymouth MP warns protesters they will face 'full force of the law'", "An MP in Plymouth has slammed those", "Luke Pollard MP (@LukePollard) August 5, 2024"),
            ("751095", "20:11", "Antony Clements-Thrower", "Crutch among items thrown as Plymouth scenes continue to fester", "As the two groups in Plymouth continue to face off", "although it is not clear by which side."),
            ("751092", "20:01", "Antony Clements-Thrower", "Large group of anti-racism activists ready in Plymouth", "More pictures of anti-racism activists in Plymouth", '"Love and Respect," and "Where is the love?"'),
            ("751090", "19:55", "Antony Clements-Thrower", 'Plymouth police promise "robust" action', "Police in Plymouth are at the scene of the planned protests", "as such behaviours will not be tolerated.”"),
            ("751088", "19:48", "Antony Clements-Thrower", "Bottles thrown as scenes in Plymouth turn ugley", "Reporters from PlymouthLive have reported bottles", "which was quickly stopped by police."),
            ("751087", "19:39", "Sophie Bateman", "Rioters hauled in front of courts after weekend of violence", "Hundreds of people have been arrested", "although the last one was 12 years ago."),
            ("751086", "19:20", "Sophie Bateman", "Tensions escalate in Plymouth", "Rival groups of demonstrators are squaring off", "far right protest had been scheduled for 7pm."),
            ("751085", "19:15", "Sophie Bateman", 'Southport locals blow "bubbles to heaven" at vigil for victims', "Children are blowing bubbles and have left chalk messages", 'while Wendy Chalke will be singing."'),
            ("751084", "19:11", None, "Muslim graves desecrated in Burnley", "Gravestones in the Muslim section of Burnley Cemetery", "urge you not to react to the provocation.”"),
            ("751083", "19:04", "Antony Clements-Thrower", "Balaclava-clad group seen forming a ring amid reports of far right march", "Hundreds of people in balaclavas and masks", "pictured in Bordesley Green, Birmingham tonight."),
            ("751080", "18:47", "Antony Clements-Thrower", "Amnesty International slams hate crimes committed in UK", "Amnesty International has slammed the “utterly unacceptable”", "attacks targeting specific communities.”"),
            ("751077", "18:25", "Antony Clements-Thrower", "'Unrest and violence around the country is deplorable'", "The Local Government Association has described the violence", "as possible for communities affected.”"),
            ("751069", "17:56", None, "Exact date far right thugs plan to plunge UK into chaos with 39 more protests", "Far right thugs have planned another day of action", "or “be cowed”, reports the Express."),
            ("751066", "17:35", None, "Sky News stops Birmingham broadcast as rioters swear and make gun signs", "A Sky News journalist was forced to interrupt", "she adds before being forced off air."),
            ("751065", "17:24", None, "Manchester mayor Andy Burnham says city 'must not let rioters prevail'", "Manchester mayor Andy Burnham has warned", "in rioting and looting on the streets."),
            ("751062", "17:10", "Joseph Gamp", "Teacher at Southport hub brands far-right rioters an 'embarrassment to the human race'", "A teacher at a community hub where three kids were murdered", 'It’s embarrassing to the human race."'),
            ("751058", "16:59", "Joseph Gamp", "Cleveland Police and Crime Commissioner pays tribute to Teeside's 'community spirit'", "Police and Crime Commissioner Matt Storey said:", "and advice at this difficult time.”"),
            ("751057", "16:56", "Joseph Gamp", "Police Federation says officers will become ‘fatigued’ amid riots", "Police officers will have their rest days cancelled", "will be becoming fatigued at some point.”"),
            ("751053", "16:36", "Joseph Gamp", "Southport: One child remains in hospital one week after horror knife attack", "A spokesman for Merseyside Police said one child remained", "all other patients have now been discharged."),
            ("751051", "16:27", "Joseph Gamp", "GP staff urged to travel in groups amid reports of attacks", "There is a “zero tolerance” on racism in the NHS", "in the aftermath of the Southport stabbings."),
            ("751050", "16:23", "Joseph Gamp", "Police are not “anti-protest” but are “anti-crime”", "Speaking this afternoon, National Police Chiefs’ Council chairman", "and it is completely unacceptable.”"),
            ("751047", "16:17", None, "Police have made 378 arrests since last week - and the total will rise each day", "Police have made 378 arrests so far", "Bureau and a library completely destroyed.”"),
            ("751045", "16:12", None, "More countries issue travel alerts warning passengers not to go to UK amid riots", "More countries have advised people from travelling", "suspect's background, ethnicity and religion."),
            ("751044", "16:08", "Joseph Gamp", "Volunteers help paint over racist graffiti at Tamworth Holiday Express", "Around 20 volunteers including local councillors", "don’t want this happening again, ever.”"),
            ("751039", "15:59", None, "Police to step up presence in Plymouth tonight", "Devon and Cornwall Police say they will step up", 'minimal disruption to the local community."'),
            ("751038", "15:51", "Joseph Gamp", "Hero woman's iconic speech slamming vile thugs who burnt down library in riots", "A woman has been praised after she compared", 'perpetrators as "knuckle-dragging racists".'),
            ("751035", "15:36", None, "How YOU can help the clean-up and those whose lives were destroyed", "Communities have been left picking up the pieces", "to help people in need in your communities."),
        ]
    ),
    # In the page's JSON-LD only (the page shows the newest 30): no writer of their own.
    off_page=tuple(
        u(a, f"2024-08-05T{t}+01:00", None, h, f, la)
        for a, t, h, f, la in [
            ("751033", "15:30", "Exclusive: Inside Rotherham asylum seeker hotel as far-right thugs attacked building and alarm wails", "Shocking new footage show the scenes of devastation", "extinguishers."),
            ("751030", "15:26", "Violent disorder slammed as 'fascist violence fuelled by racism and Islamophobia'", "An MP for the Green Party has slammed", "investment in supporting community cohesion.”"),
            ("751029", "15:20", "Merseyside's political leaders committed to restoring “peace and safety”", "Merseyside's political leaders have said", "we are here for you, now and always.”"),
            ("751028", "15:19", "Police patrols being stepped up in Teeside amid fears of more violent disorder", "Police patrols are being stepped up in Teesside", "violence and fear across Teesside.”"),
            ("751023", "14:57", "Rioter who threw bricks at police remanded in custody", "A man in his 60s has been remanded", "at Liverpool Crown Court on August 29."),
            ("751021", "14:49", "Thug in Sunderland riot tried to hide behind balaclava - but was 'identified by tattoos'", "A balaclava-wearing yob who threw a stone", 'his case was "too serious for this court".'),
        ]
    ),
)

EXPRESS = Blog(
    file="express_live_2024-07-18.html",
    canonical="https://www.express.co.uk/news/royal/1924698/prince-harry-meghan-markle-live-grifters",
    outlet="Express",
    updates=tuple(
        u(f"live-1924698-{a}", f"2024-07-18T{t}+01:00", "Jon King", h, f, la)
        for a, t, h, f, la in [
            ("qq0im", "11:48", "The only person Prince Harry and Meghan Markle trust to look after Archie and Lilibet", "Meghan Markle's mum, Doria Ragland", 'a "more traditional" approach when it comes to childcare.'),
            ("8eoz5", "10:05", "Meghan Markle 'turned and hissed' at a staffer leaving her in 'tears'", 'A pregnant Meghan Markle reportedly "turned and hissed"', 'with rage about something, and demand to leave."'),
            ("w9xfwb", "08:36", "Meghan Markle fails to compete with Princess Kate as survey reveals very telling results", 'Meghan Markle is "still less popular"', "36 percent of adults and disliked by 24 percent."),
            ("xoo59l", "08:13", "Meghan Markle pal says Prince Harry 'fit plans for UK fame' after Suits", "Meghan Markle's whirlwind romance with Prince Harry", "the UK might be the place for her to be."),
            ("p98xk", "07:32", "Royal expert tears into Meghan Markle after she said 'she had rotten time in UK'", "Meghan Markle has been torn apart by a royal expert", "the couple stepping down as working royals in 2020."),
            ("gac8e6", "07:22", "Unusual way Donald Trump 'saved' Prince Harry from huge 'kick in the teeth'", "Prince Harry's backlash for the ESPY Award acceptance", "the most important story in the news cycle."),
            ("u9vshc", "07:09", "Prince Harry's heartbreaking 8-word response after King Charles evicted him from Frogmore", "Prince Harry made a heartbreaking response to King Charles", '"Don\'t you want to see your grandkids anymore?"'),
            ("ugf1e", "07:06", "Prince Harry and Meghan celebrate as Lilibet's godfather receives prestigious award", "Prince Harry and Meghan Markle are poised to join", "for his contributions to the media industry."),
            ("bbir0k", "07:06", "Meghan Markle shows true colours with tragic blog post about dad Thomas Markle", "Meghan Markle's now-defunct blog The Tig", "special memories from her childhood with him."),
        ]
    ),
)

BLOGS = {"Cork Beo": CORKBEO, "The Mirror": MIRROR, "Express": EXPRESS}


@dataclass(frozen=True)
class Article:
    file: str
    canonical: str
    outlet: str
    title: str
    time: str
    authors: tuple[str, ...]
    first: str
    last: str
    not_in_body: tuple[str, ...] = ()


ARTICLES = {
    "The Guardian": Article(
        "guardian_article_2024-02-24.html",
        "https://www.theguardian.com/world/2024/feb/24/death-toll-in-valencia-fire-rises-to-10-as-remains-of-last-missing-person-found",
        "The Guardian",
        "Death toll in Valencia fire rises to 10 as remains of last missing person found",
        "2024-02-24T11:42+00:00",
        ("Guardian staff reporter",),
        "The death toll from a fire that left two residential buildings charred ruins",
        "might have worsened it.",
        ("The gutted remains of the two buildings", "The most pressing stories and debates for Europeans"),
    ),
    "The Times of India": Article(
        "toi_article_2024-09-02.html",
        "https://timesofindia.indiatimes.com/world/pakistan/anti-terror-op-turns-sinister-pakistani-netizens-being-walled-off-as-army-raises-spectre-of-digital-terrorism/articleshow/112898501.cms",
        "The Times of India",
        "Anti-terror op turns sinister: Pakistani netizens being 'walled off' as army raises spectre of 'digital terrorism'",
        "2024-09-02T17:07+05:30",
        ("Aashish Saxena",),
        'NEW DELHI: Pakistan\'s "whole-of-system approach" to countering militancy',
        "restrict sources of propaganda content.",
        ("8 morning habits that can help sharpen memory",),
    ),
    "la Repubblica": Article(
        "repubblica_article_2025-01-05.html",
        "https://roma.repubblica.it/cronaca/2025/01/05/news/laziale_ebreo_striscione_antisemita_tangenziale-423921494/",
        "la Repubblica",
        '"Laziale ebreo" e due svastiche: striscione antisemita sulla tangenziale alla vigilia del derby',
        "2025-01-05T14:44+00:00",
        ("Luca Monaco",),
        'A Roma spunta lo striscione shock: "Laziale ebreo"',
        "il clima intorno allo stadio Olimpico è teso ma tranquillo.",
    ),
    "BBC News": Article(
        "bbc_article_2024-08-01.html",
        "https://www.bbc.com/news/explainers-63159607",
        "BBC News",
        "Office for Budget Responsibility: What is the OBR and what does it do?",
        "2022-10-10T13:21+00:00",
        (),  # the BBC prints no bylines on explainers; its JSON-LD names the organisation
        "The Office for Budget Responsibility (OBR) monitors the UK government's spending plans",
        "whose five-year term began in October 2020.",
        ("Copyright 2024 BBC",),
    ),
    "AP News": Article(
        "apnews_article_2024-09-03.html",
        "https://apnews.com/article/trump-harris-presidential-election-2024-labor-day-151f82b59473d29a448ef1cea9afe471",
        "AP News",
        "The presidential campaigns brace for an intense sprint to Election Day",
        "2024-09-03T04:03+00:00",
        ("STEVE PEOPLES", "THOMAS BEAUMONT", "AMELIA THOMSON-DEVEAUX"),
        "LA CROSSE, Wis. (AP) — After a summer of historic tumult",
        "There’s still a lot of hay out there in the field.”",
        ("contributed to this report", "Copyright 2024 The Associated Press"),
    ),
    "Reuters": Article(
        "reuters_article_2024-03-07.html",
        "https://www.reuters.com/world/middle-east/israeli-tank-likely-scenario-fired-machine-gun-reporters-after-deadly-shelling-2024-03-07/",
        "Reuters",
        "Israeli tank 'likely' fired machine gun at reporters after deadly shelling, report finds",
        "2024-03-07T07:55+00:00",
        ("Maya Gebeily", "Anthony Deutsch"),
        "BEIRUT/THE HAGUE, March 7 (Reuters) - An Israeli tank crew killed a Reuters reporter",
        "No results have been made public.",
        ("Reporting by Maya Gebeilly", "Our Standards", "opens new tab"),
    ),
    "The New York Times": Article(
        "nytimes_article_2020-08-16.html",
        "https://www.nytimes.com/2020/08/16/business/california-blackouts.html",
        "The New York Times",
        "Rolling Blackouts in California Have Power Experts Stumped",
        "2020-08-16T19:40-04:00",
        ("Ivan Penn",),
        "As temperatures began to rise in California on Friday and again on Saturday",
        "“Tomorrow evening, the wolf arrives.”",
        ("The California Independent System Operator grid control center",),
    ),
    "NDTV": Article(
        "ndtv_article_2020-04-07.html",
        "https://www.ndtv.com/india-news/coronavirus-us-president-donald-trump-says-there-may-be-retaliation-if-india-doesnt-clear-export-of-2207327",
        "NDTV",
        'COVID-19: Trump Talks "Retaliation" If India Rejects Export Of Key Drug',
        "2020-04-07T15:49+05:30",
        ("Swati Bhasin",),
        'US President Donald Trump has said "there may be retaliation"',
        "according to an official statement.",
        ("Coronavirus: US President Donald Trump said he spoke to PM Modi on Sunday.",),
    ),
}


def blog_cases() -> list[tuple[str, Update]]:
    return [(name, update) for name, blog in BLOGS.items() for update in blog.updates]


@pytest.mark.parametrize(
    ("publisher", "update"), blog_cases(), ids=[f"{n}#{u.anchor}" for n, u in blog_cases()]
)
def test_every_live_blog_update_reads_as_the_page_shows_it(publisher: str, update: Update) -> None:
    blog = BLOGS[publisher]
    posts = {urldefrag(p.url or "").fragment: p for p in parsed(blog.file).posts}
    post = posts[update.anchor]
    assert post.title == update.title
    assert minute(post) == datetime.fromisoformat(update.time)
    assert post.published.value.utcoffset() is not None
    assert post.authors == update.authors
    assert post.url == f"{blog.canonical}#{update.anchor}"
    assert update.anchor in page_ids(blog.file)
    assert_body(post.body, update.first, update.last)
    assert post.source == blog.outlet


@pytest.mark.parametrize("update", MIRROR.off_page, ids=[u.anchor for u in MIRROR.off_page])
def test_updates_only_in_the_structured_data_keep_its_text_without_the_blogs_byline(
    update: Update,
) -> None:
    posts = {p.title: p for p in parsed(MIRROR.file).posts}
    post = posts[update.title]
    assert minute(post) == datetime.fromisoformat(update.time)
    assert post.authors == ()  # the JSON-LD gives each the blog's list of four writers
    assert post.url == MIRROR.canonical  # its anchor is on another page of the blog
    assert update.anchor not in page_ids(MIRROR.file)
    assert_body(post.body, update.first, update.last)


@pytest.mark.parametrize("publisher", list(BLOGS))
def test_a_live_blog_is_one_coverage_at_its_canonical_url(publisher: str) -> None:
    blog = BLOGS[publisher]
    result = parsed(blog.file)
    assert result.coverage.url == blog.canonical
    assert result.coverage.source == blog.outlet
    assert len(result.posts) == len(blog.updates) + len(blog.off_page)
    assert result.rejected == []


def test_the_import_notes_say_where_page_html_overrode_the_json_ld() -> None:
    notes = " / ".join(parsed(MIRROR.file).notes)
    assert "all 36 updates carry the byline list (Lucy Thornton, Tim Hanlon, Phoebe Tonks, …)" in notes
    assert "page HTML read for 30 of 36 updates" in notes
    assert "6 updates are not shown on the page" in notes


def test_a_blog_imported_from_a_file_and_from_its_url_is_the_same_coverage() -> None:
    content = (REAL / MIRROR.file).read_bytes()
    from_file = parse(content)
    from_url = parse(content, url=MIRROR_URL + "?service=responsive#comments")
    assert from_file.coverage.coverage_id == from_url.coverage.coverage_id
    assert [p.post_id for p in from_file.posts] == [p.post_id for p in from_url.posts]


def test_a_newsroom_can_name_the_outlet_itself() -> None:
    content = (REAL / CORKBEO.file).read_bytes()
    result = parse(content, outlet="CorkBeo.ie")
    assert result.coverage.source == "CorkBeo.ie"
    assert {p.source for p in result.posts} == {"CorkBeo.ie"}


@pytest.mark.parametrize("publisher", list(ARTICLES))
def test_an_article_is_one_post_read_as_the_page_shows_it(publisher: str) -> None:
    expected = ARTICLES[publisher]
    result = parsed(expected.file)
    [post] = result.posts
    assert post.title == expected.title
    assert minute(post) == datetime.fromisoformat(expected.time)
    assert post.authors == expected.authors
    assert post.url == expected.canonical == result.coverage.url
    assert post.source == expected.outlet == result.coverage.source
    assert expected.first in " ".join(post.body[:2]), post.body[:2]
    assert post.body[-1].endswith(expected.last), post.body[-1]
    text = "\n".join(post.body)
    for chrome in (*expected.not_in_body, *CHROME):
        assert chrome not in text
