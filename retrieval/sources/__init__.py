"""Importers: one module per coverage format, each turning raw content into `Parsed`.

Every importer raises `SourceError` with a one-line reason a user can act on; nothing else
escapes, so callers can refuse bad input without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.models import Coverage, Post


class SourceError(Exception):
    """Content that cannot be imported; the message is one line saying why."""


@dataclass
class Parsed:
    """What one import of one source yields.

    `rejected` lists parts that were skipped with their reason (e.g. "line 7: not JSON"),
    `notes` says how the content was read (e.g. "no JSON-LD; main text extracted"),
    `skipped` counts entries left out on purpose by reason (e.g. {"sponsored": 3}).
    """

    coverage: Coverage
    posts: list[Post]
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
