"""The store and its BM25 index kept in step: the one object the answer core talks to.

The index is saved beside the database (`liveblog.db.index/`), stamped with the store
generation it holds every post of and that generation's random token. At start the saved index
is loaded (seconds, even for a large archive) and the posts written since are indexed (each
post records the generation that last wrote it), as long as the store still has the stamped
generation with the same token (a store restored from a backup and written to since may reach
the same number with other posts); otherwise it is rebuilt from the store. It is saved again
after imports and on close. A save writes the whole index (at a million posts ~450 MB and a
second or more), so a large index is saved after imports at most every `SAVE_INTERVAL_S`, a
small one every time: a crash costs a catch-up (or a rebuild), never a wrong answer.

Catching up costs about one upsert per missing post, a rebuild a pass over the whole store:
past `rebuild_threshold` missing posts (a killed import of a large archive) start-up rebuilds
instead (measured in `benchmarks/bench_startup.py`). A saved index that fails its checksums or
was written by another text analyzer (`retrieval.text.analyzer_identity`) is rebuilt too,
with one log line saying why.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from retrieval.index import BM25Index, IndexDamagedError, IndexLoadError, IndexStaleError
from retrieval.models import Post
from retrieval.search import Searcher
from retrieval.sources import Parsed
from retrieval.storage.store import ImportReport, Store
from retrieval.text import analyzer_identity, tokenize_many

log = logging.getLogger(__name__)
_STAMP = "library.json"
#: Indexes of this many posts or more are saved after imports at most every SAVE_INTERVAL_S.
LARGE_INDEX = 100_000
SAVE_INTERVAL_S = 600.0
#: Catching up (bulk upserts, one merge) costs about what a rebuild costs per post, plus the
#: load and the merge: it stays faster until most of the store is missing. Measured
#: (benchmarks/bench_startup.py): 200k missing of 250k, catch-up 18.5 s against a 21.0 s
#: rebuild; of 1M, catch-up 22.7 s. Past this share of the store, rebuild.
CATCH_UP_SHARE = 0.75
CATCH_UP_MIN = 10_000


def rebuild_threshold(posts: int) -> int:
    """How many posts missing from a saved index start-up still catches up with: beyond
    it, a rebuild from the store is faster."""
    return max(CATCH_UP_MIN, int(posts * CATCH_UP_SHARE))


class Library:
    """Coverage on disk plus its index, loaded or rebuilt at start."""

    def __init__(self, database: Path, *, persist_index: bool = True) -> None:
        self.store = Store(database)
        self.index_dir = database.with_name(database.name + ".index") if persist_index else None
        # The index holds every post as the store had it at this generation (and maybe later
        # writes too): re-indexing the posts written since brings it up to date.
        self._indexed = 0
        self._dirty = False
        #: Why the saved index was refused as damaged at start (it was rebuilt), for `check`.
        self.index_damage: str | None = None
        self.index = self._open_index()
        self.searcher = Searcher(self.store, self.index)
        self._saved_at = time.monotonic()  # loaded or just rebuilt and saved

    def _open_index(self) -> BM25Index:
        index_dir = self.index_dir
        stamp = self._stamp(index_dir) if index_dir is not None else None
        if index_dir is not None and stamp and self.store.generation_token(stamp[0]) == stamp[1]:
            index = self._load_current(index_dir, stamp[0])
            if index is not None:
                return index
        return self._rebuild()

    def _load_current(self, index_dir: Path, generation: int) -> BM25Index | None:
        """The saved index brought up to date, or None (logged) when a rebuild is due."""
        posts = self.store.count_posts()
        limit = rebuild_threshold(posts)
        missing = self.store.count_since(generation, limit + 1)
        if missing > limit:
            log.info(
                "rebuilding the index: more than %d of %d posts were written since it was "
                "saved, and rebuilding is faster than catching up",
                limit,
                posts,
            )
            return None
        try:
            index = BM25Index.load(index_dir, analyzer=analyzer_identity())
        except IndexStaleError as exc:
            log.info("rebuilding the index: %s", exc)
            return None
        except IndexLoadError as exc:
            if isinstance(exc, IndexDamagedError):
                self.index_damage = str(exc)
            log.warning("rebuilding the index: %s", exc)
            return None
        self._indexed = generation
        caught_up = self._catch_up(index)
        if len(index) != self.store.count_posts():
            log.warning("rebuilding the index: it does not hold the store's posts")
            return None
        if caught_up:
            log.info("index brought up to date: %d posts written since", caught_up)
        return index

    def _rebuild(self) -> BM25Index:
        self._indexed = self.store.generation()  # first: the build may see later writes too
        index = BM25Index.build(_tokenized(self.store.texts()))  # streamed from the store
        index.analyzer = analyzer_identity()
        self._save(index)
        return index

    def _catch_up(self, index: BM25Index) -> int:
        """Index the posts written since `_indexed` (by this process or another one)."""
        generation = self.store.generation()  # first: later writes are only indexed twice
        count = index.upsert_many(_tokenized(self.store.texts(since=self._indexed)))
        self._indexed = generation
        self._dirty = self._dirty or count > 0
        return count

    @staticmethod
    def _stamp(index_dir: Path) -> tuple[int, str] | None:
        """(generation, token) the saved index was stamped with, if it can be read."""
        try:
            stamp = json.loads((index_dir / _STAMP).read_text(encoding="utf-8"))
            return int(stamp["generation"]), str(stamp["token"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save(self, index: BM25Index) -> None:
        """Save the index, then stamp it; a crash between the two only forces a rebuild."""
        if self.index_dir is None:
            return
        stamp = {"generation": self._indexed, "token": self.store.generation_token(self._indexed)}
        try:
            index.save(self.index_dir)
            tmp = self.index_dir / f"{_STAMP}.tmp"
            tmp.write_text(json.dumps(stamp), encoding="utf-8")
            os.replace(tmp, self.index_dir / _STAMP)
            self._saved_at = time.monotonic()
        except OSError as exc:
            log.warning("could not save the index beside the database: %s", exc)

    def refresh(self) -> list[Post]:
        """Index what another process wrote since we last looked (`liveblog-bot import` while
        the bot runs); returns the posts that are new to the index (edits are not news).

        Cheap when nothing changed: one read of the store's generation.
        """
        if self.store.generation() == self._indexed:
            return []
        generation = self.store.generation()
        new: list[Post] = []

        def written() -> Iterator[tuple[str, str]]:
            for post in self.store.posts_since(self._indexed):
                if post.post_id not in self.index:  # asked before its own upsert
                    new.append(post)
                yield post.post_id, post.text

        if self.index.upsert_many(_tokenized(written())):  # a 200k import: one merge
            self._dirty = True
        self._indexed = generation
        return new

    def ingest(self, parsed: Parsed) -> ImportReport:
        """Store parsed coverage, then index what was added or edited (never half of it),
        and whatever another process wrote in the meantime."""
        report = self.store.upsert(parsed.coverage, parsed.posts)
        if report.changed_posts:
            self._catch_up(self.index)
        report.rejected.extend(parsed.rejected)
        report.notes.extend(parsed.notes)
        report.count_skipped(parsed.skipped)
        return report

    def ingest_all(self, parsed: list[Parsed]) -> ImportReport:
        """Ingest several parsed coverages (a JSON Lines archive) as one report."""
        total = ImportReport()
        for one in parsed:
            total.merge(self.ingest(one))
        return total

    def save_index(self, *, force: bool = False) -> bool:
        """Persist the index if anything changed since it was last saved, unless it is large
        and was saved less than `SAVE_INTERVAL_S` ago (``force`` saves regardless).

        Returns whether it saved. Skipping is safe: an index older than the store is rebuilt
        at the next start.
        """
        if not self._dirty:
            return False
        recently = time.monotonic() - self._saved_at < SAVE_INTERVAL_S
        if not force and len(self.index) >= LARGE_INDEX and recently:
            return False
        self._save(self.index)
        self._dirty = False
        return True

    def close(self) -> None:
        self.save_index(force=True)
        self.store.close()


def open_served(database: Path) -> Library:
    """The library as a long-running process (the bot, the terminal chat) serves it: kernels
    compiling in the background, the saved index loaded, then everything alive so far frozen
    out of the cyclic garbage collector's sight (`gc.freeze`).

    Those objects (the loaded modules, the index's vocabulary) live as long as the process,
    yet a full collection walks them all: a 15-30 ms stall of every thread with a million
    posts loaded, about one question in a hundred (measured with `benchmarks/bench_answers.py`).
    Reference counting still frees whatever of them is let go.
    """
    BM25Index.warm_up(background=True)
    library = Library(database)
    gc.freeze()
    return library


def _tokenized(texts: Iterator[tuple[str, str]]) -> Iterator[tuple[str, list[str]]]:
    """(post id, terms) of each (post id, text), tokenized in bulk; the archive never sits
    in memory."""
    ids: list[str] = []

    def only_texts() -> Iterator[str]:
        for post_id, text in texts:
            ids.append(post_id)
            yield text

    for n, terms in enumerate(tokenize_many(only_texts())):
        yield ids[n], terms
        ids[n] = ""  # the index keeps its own compact copy of the ids
