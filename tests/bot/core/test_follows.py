"""Follows: which chats get which new posts, never twice, never for edits; and the commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.follows import (
    ALERTS_PER_RUN,
    FOLLOW_LIMIT,
    Alert,
    FollowCommands,
    FollowError,
    Follows,
    alerts_for,
    match,
)
from bot.core.reply import Reply
from bot.terminal.render import render
from retrieval.channels import channel_post_to_parsed
from retrieval.library import Library
from retrieval.models import Post
from retrieval.polling import ingest_new_posts
from retrieval.sources import Parsed
from retrieval.text import tokenize

POSTED = datetime(2023, 5, 3, 9, 0, tzinfo=UTC)
VATICAN = (
    "Vatican peace envoy arrives in Kyiv\n\n"
    "Cardinal Zuppi met President Zelensky to discuss the Vatican peace plan for Ukraine."
)


def channel_post(text: str = VATICAN, message_id: int = 1, edited: bool = False) -> Parsed:
    return channel_post_to_parsed(
        -1001,
        "Kyiv Desk",
        "kyivdesk",
        message_id,
        text,
        POSTED + timedelta(minutes=message_id),
        "Olena",
        POSTED + timedelta(hours=1) if edited else None,
    )


def add_new(library: Library, parsed: Parsed) -> tuple[Post, ...]:
    """Ingest like the poller and the channel handler do: the posts new to the store."""
    return ingest_new_posts(library, [parsed]).added


@pytest.fixture
def follows(library: Library) -> Follows:
    return Follows(library.store.db)


def text(reply: Reply) -> str:
    return render(reply).plain


def sent(alerts: list[Alert]) -> list[tuple[int, str]]:
    return [(alert.chat_id, alert.post.title) for alert in alerts]


# --- matching ----------------------------------------------------------------------------------


def test_new_post_alerts_the_chats_whose_follow_it_answers(
    library: Library, follows: Follows
) -> None:
    follows.add(1, "Vatican peace plan")
    follows.add(2, "Tinder dating app")
    follows.add(3, "who won the world cup")
    new = add_new(library, channel_post())

    alerts = alerts_for(library, new, follows)

    assert sent(alerts) == [(1, "Vatican peace envoy arrives in Kyiv")]
    (alert,) = alerts
    assert alert.query == "Vatican peace plan"
    shown = text(alert.reply)
    assert shown.splitlines()[0] == (
        "Vatican peace envoy arrives in Kyiv <https://t.me/kyivdesk/1>"
    )
    assert "3 May 2023, 09:01 UTC · Kyiv Desk · by Olena" in shown
    assert "“Cardinal Zuppi met President Zelensky to discuss the Vatican peace plan" in shown
    assert shown.splitlines()[-1] == "Following: Vatican peace plan — /unfollow"
    marked = [s.text for b in alert.reply.blocks for s in b.spans if s.style == "mark"]
    assert marked == ["Vatican", "peace", "plan"]
    assert [r.post_id for r in alert.reply.results] == [new[0].post_id]


def test_a_shared_word_is_not_enough_the_relevance_floor_applies(library: Library) -> None:
    (post,) = add_new(library, channel_post())
    query = "peace talks in Geneva tomorrow"
    assert library.index.score(tokenize(query), post.post_id) > 0  # BM25 alone would say yes
    assert match(library, query, post) is None
    assert match(library, "Vatican peace plan", post) is not None


def test_posts_already_in_the_coverage_are_not_candidates(
    library: Library, follows: Follows, sample: Parsed
) -> None:
    follows.add(1, "counteroffensive")
    assert add_new(library, sample) == ()  # the fixture ingested it already
    assert alerts_for(library, [], follows) == []


def test_sample_posts_match_follows_as_search_would(library: Library, sample: Parsed) -> None:
    matching = {p.title for p in sample.posts if match(library, "Tinder Russia", p)}
    assert matching == {
        hit.post.title for hit in library.searcher.search("Tinder Russia", limit=50).hits
    }
    assert "Owner of dating app Tinder says it's withdrawing from Russia" in matching
    assert not any(match(library, "who won the world cup", p) for p in sample.posts)


def test_a_post_and_chat_are_never_alerted_twice(library: Library, follows: Follows) -> None:
    follows.add(1, "Vatican peace plan")
    new = add_new(library, channel_post())
    assert len(alerts_for(library, new, follows)) == 1
    assert alerts_for(library, new, follows) == []
    assert alerts_for(library, new, Follows(library.store.db)) == []  # after a restart too
    assert follows.was_alerted(1, new[0].post_id)


def test_edits_do_not_alert_again(library: Library, follows: Follows) -> None:
    follows.add(1, "Vatican peace plan")
    assert len(alerts_for(library, add_new(library, channel_post()), follows)) == 1

    edited = channel_post(VATICAN + "\n\nThe meeting lasted an hour.", edited=True)
    ingested = ingest_new_posts(library, [edited])

    assert (ingested.report.updated, ingested.added) == (1, ())
    assert alerts_for(library, ingested.added, follows) == []
    # Even handed the edited post, the record of the first alert holds.
    assert alerts_for(library, ingested.report.changed_posts, follows) == []


def test_a_post_edited_after_a_chat_followed_does_not_alert(
    library: Library, follows: Follows
) -> None:
    add_new(library, channel_post())
    follows.add(1, "Vatican peace plan")
    edited = ingest_new_posts(library, [channel_post(VATICAN + " Updated.", edited=True)])
    assert edited.added == ()
    assert alerts_for(library, edited.added, follows) == []


def test_a_post_matching_several_follows_of_a_chat_alerts_once_with_the_best_one(
    library: Library, follows: Follows
) -> None:
    follows.add(1, "Zelensky Geneva summit")  # matches weakly or not at all
    follows.add(1, "Vatican peace plan")
    follows.add(1, "Zuppi")
    alerts = alerts_for(library, add_new(library, channel_post()), follows)
    assert len(alerts) == 1
    assert alerts[0].query in {"Vatican peace plan", "Zuppi"}


def test_every_following_chat_gets_the_post_with_times_in_its_own_zone(
    library: Library, follows: Follows
) -> None:
    follows.add(1, "Vatican peace plan")
    follows.add(2, "vatican  PEACE plan")
    zones = {1: ZoneInfo("UTC"), 2: ZoneInfo("Europe/Kyiv")}
    alerts = alerts_for(
        library, add_new(library, channel_post()), follows, zone_of=zones.__getitem__
    )
    assert [a.chat_id for a in alerts] == [1, 2]
    assert "3 May 2023, 09:01 UTC" in text(alerts[0].reply)
    assert "3 May 2023, 12:01 EEST" in text(alerts[1].reply)
    assert text(alerts[1].reply).endswith("Following: vatican PEACE plan — /unfollow")


def test_a_burst_of_new_posts_sends_the_newest_few_and_counts_the_rest(
    library: Library, follows: Follows
) -> None:
    follows.add(1, "Vatican peace plan")
    new = [
        post
        for n in range(1, ALERTS_PER_RUN + 3)
        for post in add_new(library, channel_post(f"{VATICAN} Update {n}.", message_id=n))
    ]
    alerts = alerts_for(library, new, follows)
    assert [a.post.url for a in alerts] == [
        f"https://t.me/kyivdesk/{n}" for n in range(3, ALERTS_PER_RUN + 3)
    ]
    assert text(alerts[-1].reply).endswith(
        "…and 2 more new posts match what this chat follows — try /search"
    )
    assert "more new" not in text(alerts[0].reply)


def test_posts_alerted_before_do_not_count_against_the_burst_limit(
    library: Library, follows: Follows
) -> None:
    follows.add(1, "Vatican peace plan")
    new = [
        post
        for n in range(1, ALERTS_PER_RUN + 3)
        for post in add_new(library, channel_post(f"{VATICAN} Update {n}.", message_id=n))
    ]
    assert len(alerts_for(library, new[:ALERTS_PER_RUN], follows)) == ALERTS_PER_RUN
    rest = alerts_for(library, new, follows)
    assert [a.post.post_id for a in rest] == [p.post_id for p in new[ALERTS_PER_RUN:]]
    assert "more new" not in text(rest[-1].reply)


def test_a_released_alert_can_be_sent_again(library: Library, follows: Follows) -> None:
    follows.add(1, "Vatican peace plan")
    new = add_new(library, channel_post())
    (alert,) = alerts_for(library, new, follows)
    follows.release(alert.chat_id, alert.post.post_id)
    assert sent(alerts_for(library, new, follows)) == sent([alert])


def test_posts_not_in_the_library_never_match(library: Library, follows: Follows) -> None:
    follows.add(1, "Vatican peace plan")
    (stranger,) = channel_post().posts  # parsed, never ingested
    assert alerts_for(library, [stranger], follows) == []


# --- the registry ------------------------------------------------------------------------------


def test_a_chat_may_follow_at_most_twenty_queries(follows: Follows) -> None:
    for n in range(FOLLOW_LIMIT):
        follows.add(1, f"topic{n}")
    with pytest.raises(FollowError, match="follows 20 queries, the most I keep"):
        follows.add(1, "one too many")
    assert len(follows.for_chat(1)) == FOLLOW_LIMIT
    follows.add(2, "one too many")  # the limit is per chat


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("   ", "Tell me what to follow"),
        ("the of and", "has only common words"),
        ("x" * 201, "please follow a few words"),
    ],
)
def test_unusable_queries_are_refused(follows: Follows, query: str, reason: str) -> None:
    with pytest.raises(FollowError, match=reason):
        follows.add(1, query)
    assert follows.all() == []


def test_following_the_same_words_again_is_refused_whatever_the_case(follows: Follows) -> None:
    follows.add(1, "Bakhmut")
    with pytest.raises(FollowError, match="You already follow “bakhmut”"):
        follows.add(1, "  bakhmut ")
    follows.add(2, "Bakhmut")  # another chat may


def test_forgetting_a_chat_drops_its_follows_only(follows: Follows) -> None:
    follows.add(1, "Bakhmut")
    follows.add(1, "Kherson")
    follows.add(2, "Bakhmut")
    assert follows.forget_chat(1) == 2
    assert [(f.chat_id, f.query) for f in follows.all()] == [(2, "Bakhmut")]


# --- the commands ------------------------------------------------------------------------------


@pytest.fixture
def commands(library: Library, follows: Follows) -> FollowCommands:
    return FollowCommands(library, follows)


def test_follow_confirms_and_says_how_much_already_matches(commands: FollowCommands) -> None:
    reply = commands.follow(7, "Tinder")
    assert reply.kind == "info"
    assert text(reply).startswith("Following Tinder. I'll send new posts that match.")
    assert "2 posts already match it — /search Tinder" in text(reply)
    assert "(1 of 20)" in text(reply)
    assert "1 post already matches it — /search ICC" in text(commands.follow(7, "ICC"))
    fresh = commands.follow(7, "Zuppi")
    assert "Nothing in the coverage matches it yet." in text(fresh)


@pytest.mark.parametrize(
    ("args", "message"),
    [("", "Tell me what to follow, e.g. /follow counteroffensive"), ("tinder", "already follow")],
)
def test_follow_errors_are_polite_replies(
    commands: FollowCommands, args: str, message: str
) -> None:
    commands.follow(7, "Tinder")
    reply = commands.follow(7, args)
    assert reply.kind == "invalid"
    assert reply.message is not None and message in reply.message


def test_follow_over_the_limit_is_a_polite_reply(commands: FollowCommands) -> None:
    for n in range(FOLLOW_LIMIT):
        assert commands.follow(7, f"topic{n}").kind == "info"
    reply = commands.follow(7, "Bakhmut")
    assert reply.kind == "invalid"
    assert reply.message == (
        "This chat follows 20 queries, the most I keep. "
        "Stop one first with /unfollow (/following lists them)."
    )


def test_following_lists_the_follows_numbered(commands: FollowCommands) -> None:
    assert "follows nothing yet" in text(commands.following(7))
    commands.follow(7, "Bakhmut", now=POSTED)
    commands.follow(7, "Kherson", now=POSTED + timedelta(seconds=1))
    assert text(commands.following(7)).splitlines() == [
        "This chat follows 2 of 20:",
        "",
        "1. Bakhmut",
        "2. Kherson",
        "",
        "/unfollow N stops one; /follow WORDS adds one.",
    ]


def test_unfollow_by_number_by_words_or_the_only_one(commands: FollowCommands) -> None:
    for n, query in enumerate(["Bakhmut", "Kherson", "Tinder"]):
        commands.follow(7, query, now=POSTED + timedelta(seconds=n))
    assert text(commands.unfollow(7, "2")) == "Stopped following Kherson."
    assert text(commands.unfollow(7, "TINDER")) == "Stopped following Tinder."
    assert text(commands.unfollow(7, "")) == "Stopped following Bakhmut."
    assert "follows nothing" in text(commands.unfollow(7, ""))


def test_unfollow_without_words_asks_which_when_there_are_several(
    commands: FollowCommands,
) -> None:
    commands.follow(7, "Bakhmut", now=POSTED)
    commands.follow(7, "Kherson", now=POSTED + timedelta(seconds=1))
    reply = commands.unfollow(7, "")
    assert reply.kind == "invalid"
    assert text(reply).splitlines() == [
        "Which one? Use /unfollow N or /unfollow WORDS:",
        "",
        "1. Bakhmut",
        "2. Kherson",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("Odesa", "This chat does not follow “Odesa”. /following lists its follows."),
        ("3", "This chat follows 2 queries; use a number from 1 to 2 (see /following)."),
    ],
)
def test_unfollow_of_something_not_followed_is_refused(
    commands: FollowCommands, args: str, message: str
) -> None:
    commands.follow(7, "Bakhmut")
    commands.follow(7, "Kherson")
    reply = commands.unfollow(7, args)
    assert (reply.kind, reply.message) == ("invalid", message)
    assert len(commands.follows.for_chat(7)) == 2


def test_a_followed_number_is_unfollowed_by_its_words_first(commands: FollowCommands) -> None:
    commands.follow(7, "Bakhmut", now=POSTED)
    commands.follow(7, "2024", now=POSTED + timedelta(seconds=1))
    commands.follow(7, "Kherson", now=POSTED + timedelta(seconds=2))
    assert text(commands.unfollow(7, "2024")) == "Stopped following 2024."
    assert [f.query for f in commands.follows.for_chat(7)] == ["Bakhmut", "Kherson"]
