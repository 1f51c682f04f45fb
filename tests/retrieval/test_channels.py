"""Telegram channel posts as coverage, and the registry of followed channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlite_utils import Database

from retrieval.channels import (
    TITLE_MAX,
    ChannelRef,
    Channels,
    channel_post_to_parsed,
    parse_channel_list,
)
from retrieval.library import Library
from retrieval.models import Timestamp
from retrieval.sources import Parsed, SourceError

CHANNEL = -1001234567890
POSTED = datetime(2024, 7, 4, 21, 5, tzinfo=UTC)
TEXT = (
    "Polls have closed across the country\n\n"
    "Counting has begun in all 650 constituencies.\n"
    "The first result is expected before midnight.\n\n"
    "Exit polls point to a large majority."
)


def post(
    text: str = TEXT,
    *,
    message_id: int = 42,
    username: str | None = "harbourlive",
    title: str = "Harbour Times Live",
    signature: str | None = "Nia Roberts",
    date: datetime = POSTED,
    edit_date: datetime | None = None,
    channel_id: int = CHANNEL,
) -> Parsed:
    return channel_post_to_parsed(
        channel_id, title, username, message_id, text, date, signature, edit_date
    )


def test_channel_post_becomes_one_post_of_the_channel_coverage() -> None:
    parsed = post()
    (one,) = parsed.posts
    assert parsed.coverage.title == parsed.coverage.source == "Harbour Times Live"
    assert parsed.coverage.url == "https://t.me/harbourlive"
    assert one.coverage_id == parsed.coverage.coverage_id
    assert one.source == "Harbour Times Live"
    assert one.authors == ("Nia Roberts",)
    assert one.url == "https://t.me/harbourlive/42"
    assert one.published == Timestamp.of_time(POSTED)
    assert one.updated is None


def test_title_is_the_first_line_and_the_body_the_paragraphs_after_it() -> None:
    (one,) = post().posts
    assert one.title == "Polls have closed across the country"
    assert one.body == (
        "Counting has begun in all 650 constituencies. The first result is expected before midnight.",
        "Exit polls point to a large majority.",
    )


def test_single_newlines_separate_paragraphs_when_there_are_no_blank_lines() -> None:
    (one,) = post("Breaking: dam breached\nResidents are told to leave.\nMore soon.").posts
    assert one.title == "Breaking: dam breached"
    assert one.body == ("Residents are told to leave.", "More soon.")


def test_a_one_paragraph_post_is_titled_by_its_first_sentence_and_keeps_all_text() -> None:
    text = "The count is over. Turnout was 61%, the highest since 1992."
    (one,) = post(text).posts
    assert one.title == "The count is over."
    assert one.body == (text,)


def test_a_long_first_sentence_is_cut_at_a_word_within_120_characters() -> None:
    text = "Officials " + "confirm that the evacuation continues " * 6 + "tonight."
    (one,) = post(text).posts
    assert len(one.title) <= TITLE_MAX
    assert one.title.endswith("…")
    assert text.startswith(one.title[:-1])
    assert one.body == (text,)


def test_private_channel_without_username_has_no_links() -> None:
    parsed = post(username=None)
    assert parsed.coverage.url is None
    assert parsed.posts[0].url is None


def test_username_given_with_an_at_sign_still_links_correctly() -> None:
    assert post(username="@harbourlive").posts[0].url == "https://t.me/harbourlive/42"


def test_missing_signature_means_no_author() -> None:
    assert post(signature=None).posts[0].authors == ()
    assert post(signature="  ").posts[0].authors == ()


def test_dates_are_aware_utc_with_time_precision() -> None:
    kyiv = timezone(timedelta(hours=3))
    (one,) = post(date=POSTED.astimezone(kyiv)).posts
    assert one.published.precision == "time"
    assert one.published.value == POSTED
    assert isinstance(one.published.value, datetime)
    assert one.published.value.utcoffset() == timedelta(0)
    naive = post(date=POSTED.replace(tzinfo=None)).posts[0]
    assert naive.published == Timestamp.of_time(POSTED)


def test_post_without_text_is_refused() -> None:
    with pytest.raises(SourceError, match="post 42 of Harbour Times Live has no text"):
        post("  \n\n ")


def test_ids_are_stable_per_channel_and_message() -> None:
    same = post().posts[0].post_id
    assert post(text="Edited text").posts[0].post_id == same
    assert post(title="Renamed channel", username="other").posts[0].post_id == same
    assert post(message_id=43).posts[0].post_id != same
    assert post(channel_id=-100999).posts[0].post_id != same
    assert post(channel_id=-100999).coverage.coverage_id != post().coverage.coverage_id


def test_edited_post_replaces_the_old_one_in_the_library(db_path: Path) -> None:
    library = Library(db_path)
    try:
        first = library.ingest(post())
        edited = post(
            TEXT.replace("650", "632"),
            edit_date=POSTED + timedelta(minutes=3),
        )
        second = library.ingest(edited)
        assert (first.added, second.added, second.updated) == (1, 0, 1)
        assert library.store.count_posts() == 1
        (hit,) = library.searcher.search("632 constituencies", limit=5).hits
        assert hit.post.updated == Timestamp.of_time(POSTED + timedelta(minutes=3))
        assert library.searcher.search("650", limit=5).hits == ()  # the old text is gone
        assert library.ingest(post(message_id=43)).added == 1
        assert len(library.store.coverages()) == 1  # one coverage per channel
    finally:
        library.close()


# --- LIVEBLOG_CHANNELS -------------------------------------------------------------------------


def test_channel_list_reads_usernames_and_numeric_ids() -> None:
    refs = parse_channel_list(" @HarbourLive, -1001234567890,kyivindependent ,, ")
    assert refs == [
        ChannelRef(username="harbourlive"),
        ChannelRef(chat_id=-1001234567890),
        ChannelRef(username="kyivindependent"),
    ]
    assert [str(r) for r in refs] == ["@harbourlive", "-1001234567890", "@kyivindependent"]


def test_channel_list_drops_repeats_and_accepts_an_empty_value() -> None:
    assert parse_channel_list("@abcde,@ABCDE") == [ChannelRef(username="abcde")]
    assert parse_channel_list("") == []


@pytest.mark.parametrize("bad", ["@ab", "https://t.me/channel", "@with-dash", "@1startsdigit"])
def test_channel_list_names_the_bad_entry(bad: str) -> None:
    with pytest.raises(SourceError, match="is not a channel; use @username or a numeric chat id"):
        parse_channel_list(f"@goodname,{bad}")


def test_channel_refs_match_by_id_or_case_insensitive_username() -> None:
    assert ChannelRef(chat_id=CHANNEL).matches(CHANNEL, None)
    assert not ChannelRef(chat_id=CHANNEL).matches(-100, "harbourlive")
    assert ChannelRef(username="harbourlive").matches(-100, "HarbourLive")
    assert not ChannelRef(username="harbourlive").matches(CHANNEL, None)


# --- the registry ------------------------------------------------------------------------------


def test_channels_are_added_listed_and_removed(tmp_path: Path) -> None:
    channels = Channels(Database(tmp_path / "bot.db"))
    first = channels.add(CHANNEL, "Harbour Times Live", "@harbourlive", now=POSTED)
    channels.add(-100777, "Private desk", None, now=POSTED + timedelta(hours=1))
    assert (first.chat_id, first.title, first.username, first.added) == (
        CHANNEL,
        "Harbour Times Live",
        "harbourlive",
        POSTED,
    )
    assert [c.chat_id for c in channels.list()] == [CHANNEL, -100777]
    assert channels.is_followed(CHANNEL)
    assert channels.remove(CHANNEL) == first
    assert not channels.is_followed(CHANNEL)
    assert [c.title for c in channels.list()] == ["Private desk"]
    with pytest.raises(SourceError, match="is not followed"):
        channels.remove(CHANNEL)


def test_adding_a_known_channel_refreshes_its_name_and_keeps_when_it_was_added(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "bot.db")
    Channels(db).add(CHANNEL, "Old name", "oldname", now=POSTED)
    renamed = Channels(db).add(CHANNEL, "New name", None, now=POSTED + timedelta(days=1))
    assert (renamed.title, renamed.username, renamed.added) == ("New name", None, POSTED)
    assert Channels(db).list() == [renamed]
