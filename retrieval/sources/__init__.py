"""Importers: one module per coverage format, each turning raw content into `Parsed`.

Every importer raises `SourceError` with a one-line reason a user can act on; nothing else
escapes, so callers can refuse bad input without a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from retrieval.models import Coverage, Post


class SourceError(Exception):
    """Content that cannot be imported; the message is one line saying why."""


_QUOTED = re.compile(r""":?\s*(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
_FIELD_NAME = re.compile(r""":?\s*['"][a-z_]{1,12}['"]""")


def without_quotes(reason: str) -> str:
    """A rejection reason without the values it quotes from the content ("bad date in
    'published': '2023-02-30'" -> "bad date in 'published'"), for a `SourceError` that may be
    shown in a chat (a polled source's last error): a message never echoes what a server sent.
    Quoted field names (a short lower-case word) stay."""
    kept = _QUOTED.sub(lambda m: m.group(0) if _FIELD_NAME.fullmatch(m.group(0)) else "", reason)
    return " ".join(kept.split())


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
