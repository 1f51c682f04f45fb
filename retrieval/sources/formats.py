"""The importers' names: what `--format` accepts and what detection returns.

Kept apart from the importers so that `liveblog-bot --help` parses its arguments without
loading any of them.
"""

from __future__ import annotations

from typing import Literal, get_args

Format = Literal["liveblog_html", "feed", "jsonl", "plaintext"]
FORMATS: tuple[Format, ...] = get_args(Format)
