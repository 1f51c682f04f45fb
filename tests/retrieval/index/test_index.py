"""The BM25 index gives exactly rank-bm25's BM25Okapi scores, before and after edits.

Every expectation is computed in the test by a fresh ``rank_bm25.BM25Okapi`` over the documents
the index should hold at that moment, so a wrong score, a wrong tie order or a stale statistic
after an edit fails the comparison.
"""

from __future__ import annotations

import functools
import itertools
import json
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

import retrieval.index.merge as merge_module
from retrieval.index import BM25Index, IndexLoadError
from retrieval.index import kernels as bm25_kernels
from retrieval.index.arrays import term_counts
from retrieval.text import tokenize, tokenize_many

SAMPLE = Path(__file__).resolve().parents[3] / "retrieval/data/cnn-russia-ukraine-2023-05-02.txt"
TOL = 1e-9

Doc = tuple[str, list[str]]


# --------------------------------------------------------------------------- fixtures


@functools.cache
def _sample_paragraphs() -> tuple[Doc, ...]:
    text = SAMPLE.read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return tuple((f"p{i}", tokenize(p)) for i, p in enumerate(paragraphs))


def sample_paragraphs() -> list[Doc]:
    """The bundled coverage split into paragraphs, one document each."""
    return [(doc_id, list(tokens)) for doc_id, tokens in _sample_paragraphs()]


def generated_posts(n: int, seed: int = 20230502) -> list[Doc]:
    """Posts made of resampled sample passages plus Zipf-distributed rare words."""
    rng = random.Random(seed)
    pool = [tokens for _, tokens in sample_paragraphs() if tokens]
    zipf = np.random.default_rng(seed).zipf(1.3, size=n * 4)
    posts = []
    for i in range(n):
        tokens: list[str] = []
        for _ in range(rng.randint(1, 3)):
            source = rng.choice(pool)
            start = rng.randrange(len(source))
            tokens.extend(source[start : start + rng.randint(3, 25)])
        tokens.extend(f"w{int(z)}" for z in zipf[4 * i : 4 * i + rng.randint(0, 4)])
        posts.append((f"post-{i}", tokens))
    return posts


def queries_from(docs: Sequence[Doc], n: int, seed: int = 7) -> list[list[str]]:
    """Queries of 1–4 tokens drawn from the documents, some with unknown or repeated tokens."""
    rng = random.Random(seed)
    with_tokens = [tokens for _, tokens in docs if tokens]
    queries = []
    for i in range(n):
        tokens = rng.choice(with_tokens)
        query = [rng.choice(tokens) for _ in range(rng.randint(1, 4))]
        if i % 7 == 3:
            query.append("zzz-not-a-term")
        if i % 11 == 5:
            query.append(query[0])
        queries.append(query)
    return queries


# ------------------------------------------------------------------------- comparison


def expected_top(
    docs: Sequence[Doc], query: Sequence[str], k: int, bm25: BM25Okapi | None = None
) -> list[tuple[str, float]]:
    """Reference top-k: rank-bm25 scores, documents with a query token, earlier-added first."""
    if not docs:
        return []
    if bm25 is None:
        bm25 = BM25Okapi([tokens for _, tokens in docs])
    scores = bm25.get_scores(list(query))
    wanted = set(query)
    hits = [i for i, (_, tokens) in enumerate(docs) if wanted.intersection(tokens)]
    hits.sort(key=lambda i: (-scores[i], i))
    return [(docs[i][0], float(scores[i])) for i in hits[:k]]


def assert_same_ranking(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    """Same ids in the same order and scores within 1e-9 (ids may swap only on a 1e-9 tie)."""
    assert len(got) == len(want), (got, want)
    want_score = dict(want)
    assert len({doc_id for doc_id, _ in got}) == len(got), got
    for (got_id, got_score), (want_id, score) in zip(got, want, strict=True):
        assert abs(got_score - score) <= TOL, (got_id, got_score, want_id, score)
        if got_id != want_id:
            assert got_id in want_score and abs(want_score[got_id] - score) <= TOL, (got, want)


def document_frequencies(docs: Sequence[Doc]) -> Counter[str]:
    """How many documents hold each term."""
    return Counter(term for _, tokens in docs for term in set(tokens))


def assert_index_matches(index: BM25Index, docs: Sequence[Doc], queries: list[list[str]]) -> None:
    assert len(index) == len(docs)
    bm25 = BM25Okapi([tokens for _, tokens in docs])
    for query in queries:
        assert_same_ranking(index.top_k(query, 10), expected_top(docs, query, 10, bm25))


class Mirror:
    """What the index should hold: documents in the order they were first added."""

    def __init__(self) -> None:
        self.docs: dict[str, list[str]] = {}

    def upsert(self, doc_id: str, tokens: list[str]) -> None:
        self.docs[doc_id] = tokens

    def remove(self, doc_id: str) -> None:
        self.docs.pop(doc_id, None)

    def items(self) -> list[Doc]:
        return list(self.docs.items())


def index_with_unmerged_changes(
    n: int, seed: int, edited: str, removed: str
) -> tuple[BM25Index, Mirror]:
    """An index of ``n`` generated posts with an edit, an addition and a removal in its delta
    (merges held off), and the mirror of what it should hold."""
    docs = generated_posts(n, seed=seed)
    index = BM25Index.build(docs)
    index._MERGE_MIN = 10**9
    mirror = Mirror()
    for doc_id, tokens in docs:
        mirror.upsert(doc_id, tokens)
    for doc_id, tokens in [(edited, ["kremlin", "drone"]), ("new", ["drone", "kyiv"])]:
        index.upsert(doc_id, tokens)
        mirror.upsert(doc_id, tokens)
    index.remove(removed)
    mirror.remove(removed)
    return index, mirror


@pytest.fixture(params=["pruned", "exhaustive"])
def search(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the block-max kernel (when numba is there) and with plain numpy scoring."""
    monkeypatch.setattr(BM25Index, "_use_kernel", request.param == "pruned")
    return str(request.param)


# ------------------------------------------------------------------------------ tests


def test_top_10_matches_rank_bm25_on_the_sample_paragraphs(search: str) -> None:
    docs = sample_paragraphs()
    queries = [*queries_from(docs, 60), tokenize("Ukraine counteroffensive"), tokenize("Kremlin")]
    assert_index_matches(BM25Index.build(docs), docs, queries)


def test_top_10_matches_rank_bm25_on_5000_generated_posts(search: str) -> None:
    docs = generated_posts(5000)
    queries = queries_from(docs, 60)
    assert_index_matches(BM25Index.build(docs), docs, queries)


def test_top_10_matches_rank_bm25_with_unmerged_edits_and_removals(search: str) -> None:
    docs = generated_posts(5000, seed=17)
    index = BM25Index.build(docs)
    index._MERGE_MIN = 10**9  # keep every change in the delta and every tombstone in place
    mirror = Mirror()
    for doc_id, tokens in docs:
        mirror.upsert(doc_id, tokens)
    rng = random.Random(5)
    for _, tokens in generated_posts(400, seed=18):
        target = f"post-{rng.randrange(6000)}"  # edits existing posts and adds new ones
        index.upsert(target, tokens)
        mirror.upsert(target, tokens)
        gone = f"post-{rng.randrange(5000)}"
        index.remove(gone)
        mirror.remove(gone)
    assert_index_matches(index, mirror.items(), queries_from(docs, 50, seed=19))


def test_scores_stay_exact_when_the_average_length_drifts_before_a_merge(search: str) -> None:
    """Long new posts raise avgdl far above the one the block bounds were computed for."""
    docs = generated_posts(2000, seed=23)
    index = BM25Index.build(docs)
    index._MERGE_MIN = 10**9
    mirror = Mirror()
    for doc_id, tokens in docs:
        mirror.upsert(doc_id, tokens)
    for i in range(1500):
        tokens = [f"filler{(i * 7 + j) % 50}" for j in range(200)]
        index.upsert(f"long-{i}", tokens)
        mirror.upsert(f"long-{i}", tokens)
    assert_index_matches(index, mirror.items(), queries_from(docs, 50, seed=24))


@pytest.mark.skipif(bm25_kernels.saat is None, reason="numba is not installed")
def test_the_pruned_search_runs_the_compiled_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the tests above: with numba, 'pruned' really exercises the kernel."""
    calls = []
    kernel = bm25_kernels.saat
    assert kernel is not None

    def counting(*args: object) -> object:
        calls.append(1)
        return kernel(*args)

    monkeypatch.setattr(bm25_kernels, "saat", counting)
    docs = generated_posts(2000, seed=41)
    index = BM25Index.build(docs)
    assert_index_matches(index, docs, queries_from(docs, 10, seed=42))
    assert len(calls) == 10


def test_top_10_matches_rank_bm25_when_posts_arrive_one_by_one(search: str) -> None:
    docs = generated_posts(5000, seed=3)
    index = BM25Index()
    for doc_id, tokens in docs:
        index.upsert(doc_id, tokens)
    assert_index_matches(index, docs, queries_from(docs, 50, seed=8))


def test_common_term_queries_match_rank_bm25(search: str) -> None:
    docs = generated_posts(5000, seed=11)
    counts = document_frequencies(docs)
    common = sorted(counts, key=lambda t: -counts[t])[:12]
    queries = [[a, b] for a, b in itertools.pairwise(common)]
    queries += [common[i : i + 4] for i in range(0, 8)]
    queries += [[t, "w1", "w2"] for t in common[:5]]
    assert_index_matches(BM25Index.build(docs), docs, queries)


@pytest.mark.parametrize("k", [10, 60])
def test_a_word_most_posts_hold_beside_rarer_ones_matches_rank_bm25_at_answer_depth(
    search: str, k: int
) -> None:
    """The answer path asks for 60 candidates; a word in most posts ("ukrain" in a Ukraine
    archive) has long impact layers that the kernel completes layer by layer, dropping the
    candidates that can no longer make the top k between them."""
    docs = generated_posts(20_000, seed=29)
    counts = document_frequencies(docs)
    by_df = sorted(counts, key=lambda term: -counts[term])
    rng = random.Random(k)
    mid = [t for t in by_df if 200 <= counts[t] <= 2_000]
    rare = [t for t in by_df if counts[t] <= 20]
    queries = [[by_df[i], *rng.sample(mid, 2), rng.choice(rare)] for i in range(6)]
    queries += [[by_df[0], by_df[i], rng.choice(mid)] for i in range(1, 6)]
    bm25 = BM25Okapi([tokens for _, tokens in docs])
    index = BM25Index.build(docs)
    for query in queries:
        assert_same_ranking(index.top_k(query, k), expected_top(docs, query, k, bm25))


@pytest.mark.parametrize("n_terms", [5, 6, 7, 12, 13, 20])
def test_questions_either_side_of_the_kernels_size_switches_match_rank_bm25(
    search: str, n_terms: int
) -> None:
    """The kernel keeps its per-slot term marks in a byte up to 6 terms and in 32 bits past
    that, and sums the bounds of unread terms from a table up to 12 terms, by a loop past."""
    docs = generated_posts(4000, seed=43)
    counts = document_frequencies(docs)
    by_df = sorted(counts, key=lambda term: -counts[term])
    rng = random.Random(n_terms)
    queries = [rng.sample(by_df[:60], n_terms) for _ in range(8)]
    queries += [rng.sample(by_df[:10], 2) + rng.sample(by_df[200:], n_terms - 2) for _ in range(8)]
    assert_index_matches(BM25Index.build(docs), docs, queries)


def test_ties_among_repeated_posts_go_to_the_earliest_whatever_the_pruning(search: str) -> None:
    """Many identical posts: equal inputs must give equal scores, whichever order the pruning
    visits terms in, so that the earliest copy always wins the tie."""
    rng = random.Random(31)
    distinct = generated_posts(150, seed=29)
    docs = [(f"copy-{i}", rng.choice(distinct)[1]) for i in range(4000)]
    index = BM25Index.build(docs)
    bm25 = BM25Okapi([tokens for _, tokens in docs])
    for query in queries_from(distinct, 120, seed=30):
        want = expected_top(docs, query, 10, bm25)
        assert index.top_k(query, 10) == [(doc_id, pytest.approx(s, abs=TOL)) for doc_id, s in want]


def test_questions_with_many_distinct_terms_match_rank_bm25(search: str) -> None:
    """Past 30 distinct terms the kernel hands over to plain numpy scoring."""
    docs = generated_posts(3000, seed=37)
    vocabulary = sorted({t for _, tokens in docs for t in tokens})
    rng = random.Random(38)
    queries = [rng.sample(vocabulary, 40) for _ in range(5)] + [vocabulary[:29], vocabulary[:31]]
    assert_index_matches(BM25Index.build(docs), docs, queries)


def test_every_score_matches_rank_bm25() -> None:
    docs = sample_paragraphs()
    index = BM25Index.build(docs)
    bm25 = BM25Okapi([tokens for _, tokens in docs])
    for query in queries_from(docs, 10, seed=1):
        scores = bm25.get_scores(query)
        for (doc_id, _), want in zip(docs, scores, strict=True):
            assert abs(index.score(query, doc_id) - want) <= TOL


def test_custom_parameters_match_rank_bm25() -> None:
    docs = generated_posts(600, seed=5)
    index = BM25Index.build(docs, k1=0.9, b=0.4, epsilon=0.5)
    bm25 = BM25Okapi([tokens for _, tokens in docs], k1=0.9, b=0.4, epsilon=0.5)
    for query in queries_from(docs, 20, seed=2):
        scores = bm25.get_scores(query)
        got = dict(index.top_k(query, len(docs)))
        for doc_id, score in got.items():
            assert abs(score - scores[int(doc_id.split("-")[1])]) <= TOL


def test_top_k_returns_every_document_containing_a_query_token_and_no_other() -> None:
    docs = sample_paragraphs()
    index = BM25Index.build(docs)
    query = tokenize("Russian drones attack Kyiv")
    got = index.top_k(query, k=len(docs))
    assert {doc_id for doc_id, _ in got} == {d for d, t in docs if set(query) & set(t)}
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)


def test_top_k_returns_at_most_k_results() -> None:
    index = BM25Index.build(sample_paragraphs())
    assert len(index.top_k(tokenize("Ukraine"), k=3)) == 3
    assert index.top_k(tokenize("Ukraine"), k=0) == []


def test_ties_go_to_the_document_added_first() -> None:
    docs = [("c", ["x", "y"]), ("a", ["x", "y"]), ("b", ["x", "y"]), ("d", ["z"]), ("e", ["q"])]
    index = BM25Index.build(docs)
    assert [doc_id for doc_id, _ in index.top_k(["x"], 10)] == ["c", "a", "b"]
    assert [doc_id for doc_id, _ in index.top_k(["x"], 2)] == ["c", "a"]


def test_an_edited_document_keeps_its_place_among_ties() -> None:
    index = BM25Index.build([("first", ["x"]), ("second", ["x"]), ("other", ["y", "z"])])
    index.upsert("first", ["x", "w"])
    index.upsert("first", ["x"])
    assert [doc_id for doc_id, _ in index.top_k(["x"], 10)] == ["first", "second"]


def test_a_removed_and_re_added_document_goes_behind_its_ties() -> None:
    index = BM25Index.build([("first", ["x"]), ("second", ["x"]), ("other", ["y", "z"])])
    index.remove("first")
    index.upsert("first", ["x"])
    assert [doc_id for doc_id, _ in index.top_k(["x"], 10)] == ["second", "first"]


def test_scores_stay_exact_after_an_edit() -> None:
    docs = sample_paragraphs()
    index = BM25Index.build(docs)
    mirror = Mirror()
    for doc_id, tokens in docs:
        mirror.upsert(doc_id, tokens)
    edited = tokenize("Ukraine says Russian drones hit Kyiv overnight; Kremlin denies it")
    index.upsert("p20", edited)
    mirror.upsert("p20", edited)
    queries = [*queries_from(docs, 30, seed=4), tokenize("Kremlin drones overnight")]
    assert_index_matches(index, mirror.items(), queries)


def test_scores_stay_exact_after_removals() -> None:
    docs = sample_paragraphs()
    index = BM25Index.build(docs)
    mirror = Mirror()
    for doc_id, tokens in docs:
        mirror.upsert(doc_id, tokens)
    for doc_id, _ in docs[::3]:
        index.remove(doc_id)
        mirror.remove(doc_id)
    assert_index_matches(index, mirror.items(), queries_from(docs, 30, seed=9))


def test_random_upserts_edits_and_removes_match_a_fresh_bm25(search: str) -> None:
    """A long mixed sequence, checked along the way, including across delta merges."""
    rng = random.Random(42)
    pool = generated_posts(800, seed=21)
    index = BM25Index()
    index._MERGE_MIN = 64  # merge often, so that merged and unmerged states are both checked
    mirror = Mirror()
    queries = queries_from(pool, 12, seed=6)
    for step in range(1200):
        doc_id = f"d{rng.randrange(300)}"
        if rng.random() < 0.2:
            index.remove(doc_id)
            mirror.remove(doc_id)
        else:
            tokens = rng.choice(pool)[1]
            index.upsert(doc_id, tokens)
            mirror.upsert(doc_id, tokens)
        if step % 150 == 149:
            assert_index_matches(index, mirror.items(), queries)
    assert_index_matches(index, mirror.items(), queries)


def test_a_bulk_upsert_matches_a_fresh_bm25(search: str) -> None:
    """`upsert_many` (the library's catch-up): new posts, edits of merged posts and of posts
    still in the delta, and an id twice in one batch, then one merge."""
    docs = generated_posts(1500, seed=91)
    index = BM25Index.build(docs)
    index._MERGE_MIN = 10**9
    mirror = Mirror()
    for doc_id, tokens in docs:
        mirror.upsert(doc_id, tokens)
    for doc_id, tokens in generated_posts(30, seed=92):  # unmerged edits before the batch
        index.upsert(doc_id, tokens)
        mirror.upsert(doc_id, tokens)
    index.remove("post-40")
    mirror.remove("post-40")
    rng = random.Random(93)
    batch = [(f"post-{rng.randrange(2000)}", tokens) for _, tokens in generated_posts(600, 94)]
    batch += [("post-5", ["kremlin", "drone"]), ("post-5", ["kremlin"]), ("post-40", ["drone"])]
    assert index.upsert_many(iter(batch)) == len(batch)
    for doc_id, tokens in batch:
        mirror.upsert(doc_id, tokens)
    queries = [*queries_from(mirror.items(), 30, seed=95), ["kremlin", "drone"]]
    assert_index_matches(index, mirror.items(), queries)
    assert index.stats().documents == len(mirror.items())
    index.upsert("post-7", ["drone", "drone"])  # and it keeps taking single upserts
    mirror.upsert("post-7", ["drone", "drone"])
    assert_index_matches(index, mirror.items(), queries)


def test_a_merge_that_runs_out_of_memory_leaves_the_index_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index, mirror = index_with_unmerged_changes(1500, 51, "post-3", "post-9")
    real = merge_module.segment_from_forward
    failures: list[int] = []

    def failing_once(*args: object) -> object:
        if not failures:
            failures.append(1)
            raise MemoryError
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(merge_module, "segment_from_forward", failing_once)
    with pytest.raises(MemoryError):
        index._merge()
    queries = [*queries_from(mirror.items(), 20, seed=52), ["kremlin", "drone"]]
    assert_index_matches(index, mirror.items(), queries)
    index._merge()
    assert_index_matches(index, mirror.items(), queries)


def test_merges_without_the_compiled_run_copy_match_a_fresh_bm25(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bm25_kernels, "gather_runs", None)
    rng = random.Random(61)
    pool = generated_posts(400, seed=62)
    index = BM25Index.build(pool[:200])
    index._MERGE_MIN = 40
    mirror = Mirror()
    for doc_id, tokens in pool[:200]:
        mirror.upsert(doc_id, tokens)
    queries = queries_from(pool, 12, seed=63)
    for step in range(400):
        doc_id = f"post-{rng.randrange(300)}"
        if rng.random() < 0.2:
            index.remove(doc_id)
            mirror.remove(doc_id)
        else:
            tokens = rng.choice(pool)[1]
            index.upsert(doc_id, tokens)
            mirror.upsert(doc_id, tokens)
        if step % 100 == 99:
            assert_index_matches(index, mirror.items(), queries)


def test_a_merge_of_removals_only_and_of_edits_only_stays_exact() -> None:
    docs = generated_posts(600, seed=71)
    index = BM25Index.build(docs)
    index._MERGE_MIN = 10**9
    mirror = Mirror()
    for doc_id, tokens in docs:
        mirror.upsert(doc_id, tokens)
    queries = queries_from(docs, 20, seed=72)
    for doc_id, _ in docs[::7]:
        index.remove(doc_id)
        mirror.remove(doc_id)
    index._merge()
    assert_index_matches(index, mirror.items(), queries)
    for (doc_id, _), (_, tokens) in zip(docs[1::5], docs[2::5], strict=False):
        index.upsert(doc_id, tokens)
        mirror.upsert(doc_id, tokens)
    index._merge()
    assert_index_matches(index, mirror.items(), queries)
    slots = range(len(index._ids))
    assert [doc_id for doc_id, _ in mirror.items()] == [index._ids.doc_id(s) for s in slots]


def test_a_merge_that_fails_copying_the_forward_index_leaves_the_index_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index, mirror = index_with_unmerged_changes(800, 81, "post-5", "post-11")
    real = merge_module.gathered
    calls: list[int] = []

    def failing_second(*args: object) -> object:
        calls.append(1)
        if len(calls) == 2:  # the first copies the edited postings aside, the second the rest
            raise MemoryError
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(merge_module, "gathered", failing_second)
    with pytest.raises(MemoryError):
        index._merge()
    queries = [*queries_from(mirror.items(), 20, seed=82), ["kremlin", "drone"]]
    assert_index_matches(index, mirror.items(), queries)
    index._merge()
    assert_index_matches(index, mirror.items(), queries)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["upsert", "upsert", "remove"]),
            st.integers(0, 7),
            st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), max_size=6),
        ),
        max_size=30,
    ),
    st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), max_size=4),
)
def test_any_edit_sequence_on_a_tiny_vocabulary_matches_a_fresh_bm25(
    operations: list[tuple[str, int, list[str]]], query: list[str]
) -> None:
    """Tiny vocabularies make negative idfs and a moving epsilon floor the common case."""
    index = BM25Index()
    index._MERGE_MIN = 4
    mirror = Mirror()
    for op, n, tokens in operations:
        if op == "upsert":
            index.upsert(f"d{n}", tokens)
            mirror.upsert(f"d{n}", tokens)
        else:
            index.remove(f"d{n}")
            mirror.remove(f"d{n}")
    docs = mirror.items()
    if docs and any(docs_tokens for _, docs_tokens in docs):
        assert_same_ranking(index.top_k(query, 5), expected_top(docs, query, 5))
    else:
        assert index.top_k(query, 5) == []


def test_the_epsilon_floor_follows_the_average_idf_as_documents_change() -> None:
    docs: list[Doc] = [("a", ["x", "y"]), ("b", ["x", "z"]), ("c", ["x"]), ("d", ["w", "x"])]
    index = BM25Index.build(docs)
    mirror = Mirror()
    for doc_id, tokens in docs:
        mirror.upsert(doc_id, tokens)
    queries = [["x"], ["x", "y"], ["w", "x", "z"]]
    assert_index_matches(index, mirror.items(), queries)  # "x" in every document: idf < 0
    edits: list[Doc] = [("c", ["x", "s"]), ("e", ["v", "u"]), ("f", ["v"]), ("a", ["y"])]
    for doc_id, tokens in [*edits, ("b", ["x", "r", "r"]), ("g", ["u", "t"])]:
        index.upsert(doc_id, tokens)
        mirror.upsert(doc_id, tokens)
        assert_index_matches(index, mirror.items(), queries)
    index.remove("d")
    mirror.remove("d")
    assert_index_matches(index, mirror.items(), queries)


def test_repeated_query_tokens_count_once_per_occurrence() -> None:
    docs = sample_paragraphs()
    index = BM25Index.build(docs)
    once = index.top_k(["ukrain", "kremlin"], 10)
    twice = index.top_k(["ukrain", "ukrain", "kremlin"], 10)
    assert once != twice
    assert_same_ranking(twice, expected_top(docs, ["ukrain", "ukrain", "kremlin"], 10))


def test_unknown_query_tokens_contribute_nothing() -> None:
    docs = sample_paragraphs()
    index = BM25Index.build(docs)
    assert index.top_k(["ukrain", "qqqq"], 10) == index.top_k(["ukrain"], 10)
    assert index.top_k(["qqqq"], 10) == []
    assert index.score(["qqqq"], "p5") == 0.0


def test_empty_index_and_empty_query_return_nothing() -> None:
    assert BM25Index().top_k(["x"], 10) == []
    assert BM25Index.build([]).top_k(["x"], 10) == []
    assert BM25Index.build(sample_paragraphs()).top_k([], 10) == []
    only_empty = BM25Index.build([("a", []), ("b", [])])
    assert only_empty.top_k(["x"], 10) == []
    assert len(only_empty) == 2


def test_empty_documents_count_towards_the_average_length() -> None:
    docs: list[Doc] = [("a", []), ("b", ["x", "y", "y"]), ("c", ["y", "z"]), ("d", [])]
    index = BM25Index.build(docs)
    assert_index_matches(index, docs, [["y"], ["x", "z"], ["z", "y", "q"]])


def test_removing_every_document_empties_the_results() -> None:
    index = BM25Index.build([("a", ["x"]), ("b", ["x", "y"])])
    index.remove("a")
    index.remove("b")
    assert len(index) == 0
    assert index.top_k(["x"], 10) == []


def test_removing_an_absent_id_does_nothing() -> None:
    index = BM25Index.build([("a", ["x"])])
    index.remove("nope")
    index.remove("a")
    index.remove("a")
    assert len(index) == 0


def test_len_and_contains_follow_upserts_and_removes() -> None:
    index = BM25Index()
    index.upsert("a", ["x"])
    index.upsert("b", ["y"])
    index.upsert("a", ["z"])
    assert len(index) == 2
    assert "a" in index and "b" in index and "c" not in index and 3 not in index
    index.remove("a")
    assert len(index) == 1 and "a" not in index


def test_score_of_an_unknown_document_raises_key_error() -> None:
    with pytest.raises(KeyError):
        BM25Index.build([("a", ["x"])]).score(["x"], "b")


def test_build_with_a_repeated_id_keeps_the_last_tokens_at_the_first_position() -> None:
    index = BM25Index.build([("a", ["x"]), ("b", ["x"]), ("a", ["x", "y"]), ("c", ["q"])])
    docs: list[Doc] = [("a", ["x", "y"]), ("b", ["x"]), ("c", ["q"])]
    assert_index_matches(index, docs, [["x"], ["y"], ["x", "y"]])


@pytest.mark.parametrize("repeats", [255, 256, 70_000])
def test_term_frequencies_past_the_narrow_storage_stay_exact(
    search: str, repeats: int, tmp_path: Path
) -> None:
    """Postings keep tfs in one byte while they fit, wider once a post repeats a word more."""
    docs = generated_posts(300, seed=71)
    long_post: Doc = ("long", ["ukrain"] * repeats + ["kyiv", "russia"])
    built = [*docs[:150], long_post, *docs[150:]]
    queries = [["ukrain"], ["ukrain", "kyiv"], ["russia", "nato"], *queries_from(docs, 20, seed=72)]
    index = BM25Index.build(built)
    assert_index_matches(index, built, queries)
    index.save(tmp_path / "idx")
    assert_index_matches(BM25Index.load(tmp_path / "idx"), built, queries)
    grown = BM25Index.build(docs)  # the wide post arrives later and is merged in
    grown._MERGE_MIN = 8
    mirror = Mirror()
    for doc_id, tokens in docs:
        mirror.upsert(doc_id, tokens)
    for doc_id, tokens in [long_post, *generated_posts(20, seed=73)]:
        grown.upsert(doc_id, tokens)
        mirror.upsert(doc_id, tokens)
    assert_index_matches(grown, mirror.items(), queries)


def test_save_and_load_round_trip_exactly(tmp_path: Path) -> None:
    docs = generated_posts(1500, seed=13)
    index = BM25Index.build(docs, k1=1.2, b=0.7, epsilon=0.3)
    for doc_id, tokens in generated_posts(40, seed=14):
        index.upsert(doc_id, tokens)  # edits in the delta are saved too
    index.remove("post-7")
    index.save(tmp_path / "idx")
    loaded = BM25Index.load(tmp_path / "idx")
    assert len(loaded) == len(index)
    got, want = loaded.stats(), index.stats()
    assert (got.documents, got.terms, got.postings) == (want.documents, want.terms, want.postings)
    assert got.built_at == want.built_at
    for query in queries_from(docs, 30, seed=15):
        assert loaded.top_k(query, 10) == index.top_k(query, 10)
        assert loaded.score(query, "post-3") == index.score(query, "post-3")


def test_a_loaded_index_keeps_accepting_edits(tmp_path: Path) -> None:
    docs = sample_paragraphs()
    BM25Index.build(docs).save(tmp_path)
    index = BM25Index.load(tmp_path)
    mirror = Mirror()
    for doc_id, tokens in docs:
        mirror.upsert(doc_id, tokens)
    for doc_id, tokens in [("new", tokenize("Kremlin denies drone attack")), ("p3", ["kremlin"])]:
        index.upsert(doc_id, tokens)
        mirror.upsert(doc_id, tokens)
    index.remove("p4")
    mirror.remove("p4")
    assert_index_matches(index, mirror.items(), [*queries_from(docs, 20), ["kremlin", "drone"]])


def test_saving_again_replaces_the_index_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    BM25Index.build([("a", ["x"])]).save(tmp_path)
    BM25Index.build([("b", ["y"]), ("c", ["y"])]).save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert len(loaded) == 2 and "b" in loaded and "a" not in loaded
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("gen-")) == [
        "manifest.json"
    ]
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("gen-")]) == 1


def test_save_and_load_an_empty_index(tmp_path: Path) -> None:
    BM25Index().save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert len(loaded) == 0 and loaded.top_k(["x"], 10) == []


def test_loading_a_missing_index_raises_index_load_error(tmp_path: Path) -> None:
    with pytest.raises(IndexLoadError):
        BM25Index.load(tmp_path / "nothing-here")


def test_loading_a_corrupt_manifest_raises_index_load_error(tmp_path: Path) -> None:
    BM25Index.build([("a", ["x"])]).save(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexLoadError):
        BM25Index.load(tmp_path)


def test_loading_an_index_with_a_missing_array_raises_index_load_error(tmp_path: Path) -> None:
    BM25Index.build([("a", ["x"]), ("b", ["y"])]).save(tmp_path)
    generation = json.loads((tmp_path / "manifest.json").read_text())["generation"]
    next((tmp_path / generation).glob("*.npy")).unlink()
    with pytest.raises(IndexLoadError):
        BM25Index.load(tmp_path)


def test_loading_an_index_with_any_truncated_array_raises_index_load_error(
    tmp_path: Path,
) -> None:
    BM25Index.build(sample_paragraphs()).save(tmp_path)
    generation = json.loads((tmp_path / "manifest.json").read_text())["generation"]
    arrays = sorted((tmp_path / generation).glob("*.npy"))
    assert len(arrays) >= 10
    for array in arrays:
        whole = array.read_bytes()
        array.write_bytes(whole[:-8])
        with pytest.raises(IndexLoadError):
            BM25Index.load(tmp_path)
        array.write_bytes(whole)
    assert len(BM25Index.load(tmp_path)) == len(sample_paragraphs())


def test_stats_count_documents_terms_and_postings() -> None:
    index = BM25Index.build([("a", ["x", "y", "x"]), ("b", ["y"]), ("c", [])])
    stats = index.stats()
    assert (stats.documents, stats.terms, stats.postings) == (3, 2, 3)
    assert stats.memory_bytes > 0
    assert stats.built_at is not None and stats.built_at.tzinfo is not None
    index.upsert("d", ["z"])
    index.remove("a")
    stats = index.stats()
    assert (stats.documents, stats.terms, stats.postings) == (3, 2, 2)
    assert BM25Index().stats().built_at is None


def test_document_frequency_counts_the_current_documents() -> None:
    index = BM25Index.build([("a", ["x", "y", "x"]), ("b", ["y"])])
    index.upsert("c", ["x"])
    index.remove("b")
    assert (index.document_frequency("x"), index.document_frequency("y")) == (2, 1)
    assert index.document_frequency("never-seen") == 0


def test_tokenize_many_gives_exactly_the_tokens_of_tokenize() -> None:
    texts = [p.strip() for p in re.split(r"\n\s*\n", SAMPLE.read_text(encoding="utf-8"))]
    texts += [
        "Russia's counter-offensive \u2014 Kyiv\u2019s drones; U.S. officials' \u201cdeep concern\u201d",
        "re-election co-operation state-of-the-art don't it's Zelensky's 2,000 3.5 \u00e9t\u00e9 ca\u00f1\u00f3n",
        "",
        "THE the The and-or x\u2011ray well\u2010known",
    ]
    assert list(tokenize_many(texts, cache_size=50)) == [tokenize(t) for t in texts]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from(
                [
                    *"aZ09_'-. ,;:\n\t\"!?()[]@#",
                    "\u2019",
                    "\u2010",
                    "\u2011",
                    "\u2014",
                    "\u201c",
                    "\u00e9",
                    "\u00df",
                    "\u0416",
                    "\u4e2d",
                    "\u0661",
                    "\ud800",
                    "\U0001f600",
                ]
            ),
            max_size=60,
        ),
        max_size=8,
    ),
    st.integers(1, 40),
)
def test_tokenize_many_equals_tokenize_on_any_text(texts: list[str], cache_size: int) -> None:
    """The bulk tokenizer cuts bytes, not words: whatever the characters (ASCII punctuation,
    joiners, other scripts, lone surrogates), it must give `tokenize`'s terms."""
    assert list(tokenize_many(texts, cache_size=cache_size)) == [tokenize(t) for t in texts]


def test_term_counts_by_chunk_equal_one_bincount() -> None:
    terms = np.array([3, 0, 3, 1, 3, 0, 2, 5, 5], dtype=np.int32)
    for chunk in (1, 2, 4, 100):
        counts = term_counts(terms, 7, chunk=chunk)
        assert counts.tolist() == np.bincount(terms, minlength=7).tolist()
    assert term_counts(terms[:0], 3).tolist() == [0, 0, 0]


@pytest.mark.skipif(bm25_kernels.saat is None, reason="numba is not installed")
def test_warm_up_prepares_the_query_kernel_for_both_query_sizes() -> None:
    """In a fresh process (the kernels compile once per process), warming up leaves the
    kernel ready for short and long questions, so the first real one does not wait."""
    code = (
        "from retrieval.index import kernels as bm25_kernels\n"
        "from retrieval.index import BM25Index\n"
        "before = len(bm25_kernels.saat.signatures)\n"
        "BM25Index.warm_up()\n"
        "print(before, len(bm25_kernels.saat.signatures))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "2"]
