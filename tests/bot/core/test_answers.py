"""The answer core: questions, /search paging, /latest, /start — over the sample coverage."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.core.answers import Answers, ChatPrefs
from retrieval.library import Library

UTC = ChatPrefs(ZoneInfo("UTC"))


@pytest.fixture
def answers(library: Library) -> Answers:
    return Answers(library)


@pytest.mark.parametrize(
    ("question", "expected_title"),
    [
        ("What did NATO say about fighting vehicles?", "Ukrainian soldier says troops are ready"),
        ("Is Tinder leaving Russia?", "Owner of dating app Tinder"),
        ("What did the US ambassador say about China?", "China should push Russia"),
        ("Vatican peace mission", "Kremlin says it is unaware of any Vatican"),
        # two posts tell of the derailment; either is the right one to lead with
        ("train derailment in Bryansk", ("Video shows burning train", "Russian official makes")),
        ("Melitopol explosion police", "Russian-installed official hospitalized"),
        ("Lvova-Belova deported children", "Russian commissioner for children"),
        (
            "How many Russian casualties did the White House estimate?",
            "Kremlin rejects US estimates",
        ),
        ("dating apps quitting Russia", "Owner of dating app Tinder"),
        ("is the pope involved in peace talks", "Kremlin says it is unaware of any Vatican"),
        ("weather delaying offensive", "Ukrainian ambassador cites weather"),
        ("What did McCarthy say about Ukraine aid", "White House offers rare praise"),
    ],
)
def test_questions_about_the_sample_return_the_right_post_first(
    answers: Answers, question: str, expected_title: str | tuple[str, ...]
) -> None:
    reply = answers.ask(question, UTC)
    assert reply.kind == "answer"
    assert reply.results[0].title.startswith(expected_title)
    assert 1 <= len(reply.results) <= 3


def test_the_nato_answer_quotes_the_figure_with_date_and_source(answers: Answers) -> None:
    reply = answers.ask("What did NATO say about fighting vehicles?", UTC)
    top = reply.results[0]
    assert "98% of the fighting vehicles" in top.excerpt
    assert top.published_at == "2023-05-02"
    assert top.source == "CNN"
    assert "2 May 2023 · CNN" in reply.text
    assert "NATO" in [s.text for block in reply.blocks for s in block.spans if s.style == "mark"]


def test_excerpts_are_quotes_of_at_most_300_characters(answers: Answers) -> None:
    for question in ("counteroffensive weather delay", "Russian defenses trenches Crimea"):
        for item in answers.ask(question, UTC).results:
            assert len(item.excerpt) <= 300
            body = item.excerpt.strip("…")
            post = answers.library.store.posts([item.post_id])[item.post_id]
            assert body in " ".join(post.body)


@pytest.mark.parametrize(
    "question",
    [
        "who won the world cup",
        "recipe for banana bread",
        "quantum chromodynamics lattice",
        "weather in London tomorrow",
        "how to train a dog",
        "best pizza in New York",
        "who is the president of Brazil",
        "football scores today",
    ],
)
def test_questions_the_coverage_does_not_answer_get_an_honest_nothing(
    answers: Answers, question: str
) -> None:
    reply = answers.ask(question, UTC)
    assert reply.kind == "empty"
    assert reply.results == ()
    assert reply.message is not None
    assert reply.message.startswith("Nothing in the coverage matches")
    assert "/latest" in reply.message


def test_a_question_of_only_stopwords_matches_nothing(answers: Answers) -> None:
    reply = answers.ask("what is it that they have been", UTC)
    assert reply.kind == "empty"
    assert reply.message and "Nothing in the coverage matches" in reply.message


@pytest.mark.parametrize(
    ("text", "says"), [("", "question"), ("   ", "question"), ("x" * 5000, "5,000")]
)
def test_empty_or_huge_questions_are_refused_politely(
    answers: Answers, text: str, says: str
) -> None:
    reply = answers.ask(text, UTC)
    assert reply.kind == "invalid"
    assert reply.message and says in reply.message


def test_search_pages_five_hits_with_cursors_that_lead_to_the_next_page(answers: Answers) -> None:
    first = answers.search("counteroffensive", UTC)
    assert len(first.results) == 5
    assert [b.label for b in first.buttons] == ["▶"]
    assert all(len(b.cursor.encode()) <= 64 for b in first.buttons)
    second = answers.page(first.buttons[0].cursor, UTC)
    assert second.kind == "answer"
    assert not {r.post_id for r in second.results} & {r.post_id for r in first.results}
    assert second.buttons[0].label == "◀"
    back = answers.page(second.buttons[0].cursor, UTC)
    assert [r.post_id for r in back.results] == [r.post_id for r in first.results]


@pytest.mark.parametrize("cursor", ["s:forged:2", "garbage", "s::1", "s:abc:99999999", ""])
def test_a_forged_or_stale_cursor_says_the_list_expired(answers: Answers, cursor: str) -> None:
    reply = answers.page(cursor, UTC)
    assert reply.kind == "invalid"
    assert reply.message == "This list has expired — search again."


def test_latest_lists_the_newest_posts_with_a_gist(answers: Answers) -> None:
    reply = answers.latest(3, UTC)
    assert reply.results[0].title.startswith("Ukrainians say they're ready")
    assert len(reply.results) == 3
    assert reply.results[0].excerpt == "Ukraine’s counteroffensive appears imminent."


@pytest.mark.parametrize("args", ["0", "21", "five", "-3"])
def test_latest_refuses_a_count_out_of_range(answers: Answers, args: str) -> None:
    assert answers.latest_command(args, UTC).kind == "invalid"


def test_start_describes_the_loaded_coverage(answers: Answers) -> None:
    text = answers.start(UTC).text
    assert "Russia-Ukraine news" in text
    assert "CNN" in text
    assert "2 May 2023" in text
    assert "19 posts" in text


def test_times_are_shown_in_the_chats_timezone() -> None:
    from datetime import datetime

    from bot.core.formatting import show_time
    from retrieval.models import Timestamp

    stamp = Timestamp.of_time(datetime.fromisoformat("2023-05-02T11:05:00+00:00"))
    assert show_time(stamp, ZoneInfo("Europe/Kyiv")) == "2 May 2023, 14:05 EEST"
    assert show_time(Timestamp.parse("2023-05-02"), ZoneInfo("Europe/Kyiv")) == "2 May 2023"
