"""The storage room's one exception type."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot be opened or used; the message says which file and why."""
