"""The tokenizer every index term and query term goes through."""

from __future__ import annotations

from retrieval.text import sentences, tokenize


def test_spellings_of_counteroffensive_all_meet_the_same_term() -> None:
    query = set(tokenize("counteroffensive"))
    for text in ("counter-offensive", "counteroffensive", "counteroffensives", "Counter‑Offensive"):
        assert query <= set(tokenize(text)), text


def test_words_are_lowercased_stemmed_and_stopwords_dropped() -> None:
    assert tokenize("What did NATO say about the fighting vehicles?") == [
        "nato",
        "say",
        "fight",
        "vehicl",
    ]
    assert tokenize("the and of it they have been") == []


def test_possessives_and_curly_apostrophes_do_not_split_words() -> None:
    assert tokenize("Russia’s Kremlin's") == ["russia", "kremlin"]


def test_unicode_words_are_kept() -> None:
    assert tokenize("Київ Zaporizhzhia") == ["київ", "zaporizhzhia"]


def test_sentences_split_without_breaking_abbreviations() -> None:
    assert sentences("Current U.S. Ambassador Burns spoke. He left.") == (
        "Current U.S. Ambassador Burns spoke.",
        "He left.",
    )
