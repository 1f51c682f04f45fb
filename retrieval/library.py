"""The store and its BM25 index kept in step: the one object the answer core talks to."""

from __future__ import annotations

from pathlib import Path

from retrieval.index import BM25Index
from retrieval.search import Searcher
from retrieval.sources import Parsed
from retrieval.store import ImportReport, Store
from retrieval.text import tokenize


class Library:
    """Coverage on disk plus the in-memory index built from it at start."""

    def __init__(self, database: Path) -> None:
        self.store = Store(database)
        self.index = BM25Index.build(
            (post.post_id, tokenize(post.text)) for post in self.store.iter_posts()
        )
        self.searcher = Searcher(self.store, self.index)

    def ingest(self, parsed: Parsed) -> ImportReport:
        """Store parsed coverage, then index what was added or edited (never half of it)."""
        report = self.store.upsert(parsed.coverage, parsed.posts)
        for post in report.changed_posts:
            self.index.upsert(post.post_id, tokenize(post.text))
        report.rejected.extend(parsed.rejected)
        report.notes.extend(parsed.notes)
        return report

    def ingest_all(self, parsed: list[Parsed]) -> ImportReport:
        """Ingest several parsed coverages (a JSON Lines archive) as one report."""
        total = ImportReport()
        for one in parsed:
            report = self.ingest(one)
            total.added += report.added
            total.updated += report.updated
            total.unchanged += report.unchanged
            total.rejected.extend(r for r in report.rejected if r not in total.rejected)
            total.notes.extend(n for n in report.notes if n not in total.notes)
            total.changed_posts.extend(report.changed_posts)
        return total

    def close(self) -> None:
        self.store.close()
