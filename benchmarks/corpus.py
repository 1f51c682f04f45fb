"""Deterministic synthetic archive of live-blog posts for the index benchmark.

Posts are resampled sentences of the bundled CNN coverage in which some words are swapped for
words of a Zipf-distributed synthetic vocabulary, so that the archive has the head of real
coverage (the same names and verbs again and again) and a long, growing tail of rare words.
The same size and seed give the same posts on every machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from retrieval.text import sentences, tokenize

SAMPLE = Path(__file__).resolve().parents[1] / "retrieval/data/cnn-russia-ukraine-2023-05-02.txt"
SEED = 20230502
_SYLLABLES = [
    "ka", "lo", "mi", "ren", "tus", "vor", "zan", "pel", "dri", "gon", "hab", "jik",
    "mur", "nes", "orb", "qua", "sil", "tev", "ulm", "wex", "yar", "bix", "cof", "fen",
]  # fmt: skip


def synthetic_word(rank: int) -> str:
    """A pronounceable word for a vocabulary rank (distinct ranks give distinct words)."""
    parts = []
    n = rank + len(_SYLLABLES)  # at least two syllables
    while n:
        n, r = divmod(n, len(_SYLLABLES))
        parts.append(_SYLLABLES[r])
    return "".join(parts)


def sample_sentences() -> list[list[str]]:
    """The bundled coverage's sentences, each as its whitespace-separated words."""
    text = SAMPLE.read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [s.split() for p in paragraphs for s in sentences(p)]


def _tail_ranks(rng: np.random.Generator, size: int, cap: int) -> np.ndarray:
    """Zipf-like ranks (density ~ rank^-1.5) from rank 100 on, below ``cap``.

    The synthetic words extend the sample's vocabulary with its tail: starting at rank 1,
    Zipf's first words would be in most posts, as stopwords are.
    """
    ranks = 100.0 * rng.random(size) ** -2.0  # Pareto(xm=100, alpha=0.5)
    while (over := ranks >= cap).any():
        ranks[over] = 100.0 * rng.random(int(over.sum())) ** -2.0
    return ranks.astype(np.int64)


def generate_posts(n: int, seed: int = SEED) -> Iterator[tuple[str, str]]:
    """``n`` posts as (post id, text): 1–5 sentences, ~20% of words from a Zipf vocabulary."""
    rng = np.random.default_rng(seed)
    pool = sample_sentences()
    vocab_cap = 1 << 21
    batch = 10_000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        n_sentences = rng.integers(1, 6, size=size)
        picks = rng.integers(0, len(pool), size=int(n_sentences.sum()))
        words_needed = sum(len(pool[p]) for p in picks.tolist())
        replace = rng.random(words_needed) < 0.2
        ranks = _tail_ranks(rng, words_needed, vocab_cap)
        pos = 0
        cursor = 0
        for i in range(size):
            words: list[str] = []
            for p in picks[cursor : cursor + n_sentences[i]].tolist():
                sentence = pool[p]
                flags = replace[pos : pos + len(sentence)]
                if flags.any():
                    sentence = list(sentence)
                    for j in np.flatnonzero(flags).tolist():
                        sentence[j] = synthetic_word(int(ranks[pos + j]))
                words.extend(sentence)
                pos += len(pool[p])
            cursor += int(n_sentences[i])
            yield f"post-{start + i:07d}", " ".join(words)


def generate_queries(
    posts: Sequence[tuple[str, str]], n: int = 200, seed: int = SEED + 1
) -> list[list[str]]:
    """``n`` queries of 2–4 distinct terms, each taken from one random post (as users do)."""
    rng = np.random.default_rng(seed)
    queries: list[list[str]] = []
    while len(queries) < n:
        _, text = posts[int(rng.integers(len(posts)))]
        distinct = list(dict.fromkeys(tokenize(text)))
        want = int(rng.integers(2, 5))
        if len(distinct) < want:
            continue
        chosen = rng.choice(len(distinct), size=want, replace=False)
        queries.append([distinct[int(j)] for j in chosen])
    return queries


def iter_cached(path: Path) -> Iterator[tuple[str, str]]:
    """Stream (post id, text) from a corpus file without holding it in memory."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            post_id, _, text = line.rstrip("\n").partition("\t")
            yield post_id, text


def corpus_file(n: int, cache_dir: Path, seed: int = SEED) -> Path:
    """The file of the generated posts, written on first use."""
    path = cache_dir / f"corpus-{n}-{seed}.tsv"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for post_id, text in generate_posts(n, seed):
                fh.write(f"{post_id}\t{text}\n")
        tmp.replace(path)
    return path


def cached_posts(n: int, cache_dir: Path, seed: int = SEED) -> list[tuple[str, str]]:
    """The generated posts, kept in a file so that every benchmark process reads the same."""
    return list(iter_cached(corpus_file(n, cache_dir, seed)))
