"""One write, one transaction, with the write lock taken first.

sqlite-utils 4 commits every statement `Database.execute` runs outside an open transaction, so
``with db.conn:`` does not group statements; `write` opens the transaction explicitly
(``BEGIN IMMEDIATE``: what is read inside is still true when it is written, also between
processes) and commits it whole, or rolls it back whole on any exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database


@contextmanager
def write(db: Database) -> Iterator[Database]:
    """``with write(db):`` — everything inside commits together or not at all."""
    if db.conn.in_transaction:  # nested: the outer transaction decides
        yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    try:
        db.conn.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
