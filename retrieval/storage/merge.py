"""Merging coverages that were stored twice (imported from a file and from its URL).

Run by the schema migration that gives coverages their identity. Within one identity the
first-imported coverage stays; the other copies' posts are matched to its posts
(`retrieval.storage.identity.match_posts`): a matched pair becomes one post under the staying
id holding the newest version (the one written last), a post only a copy has moves over. The
ids that go are kept as aliases and every record naming them (alerts, digests sent) is moved
to the id that stays, so no chat is alerted or sent a post twice. Nothing is lost.
"""

from __future__ import annotations

import json
import secrets

from sqlite_utils import Database

from retrieval.storage.identity import PostFace, coverage_identity, match_posts

#: Columns copied from the newest version of a post onto the id that stays.
_CONTENT = (
    "title",
    "body",
    "published",
    "sort_key",
    "source",
    "authors",
    "url",
    "position",
    "updated",
    "content_hash",
    "ingested_at",
)
_COPY_NEWEST = ", ".join(
    f"{name} = (SELECT {name} FROM posts WHERE post_id = ?1)" for name in _CONTENT
)
#: Tables that name a post by id next to a chat.
_REFERENCES = ("alerts", "digest_sent_posts")


def merge_duplicate_coverages(db: Database) -> int:
    """Give every coverage its identity, merging those that share one; returns posts merged."""
    rows = db.execute(
        "SELECT coverage_id, url FROM coverages ORDER BY imported_at, rowid"
    ).fetchall()
    groups: dict[str, list[str]] = {}
    for coverage_id, url in rows:
        groups.setdefault(coverage_identity(url, coverage_id), []).append(coverage_id)
    merged = 0
    generation: int | None = None
    for identity, ids in groups.items():
        keep, *copies = ids
        if copies:
            if generation is None:
                generation = _next_generation(db)
            _take_latest_metadata(db, keep, ids[-1])
            for copy in copies:
                merged += _merge_posts(db, keep, copy, generation)
                db.execute("DELETE FROM coverages WHERE coverage_id = ?", [copy])
        db.execute("UPDATE coverages SET identity = ? WHERE coverage_id = ?", [identity, keep])
    return merged


def faces(db: Database, coverage_id: str) -> list[PostFace]:
    """What matching needs of a coverage's stored posts."""
    rows = db.execute(
        "SELECT post_id, url, title, published FROM posts WHERE coverage_id = ? ORDER BY rowid",
        [coverage_id],
    ).fetchall()
    return [PostFace(row[0], row[1], row[2] or "", row[3] or "") for row in rows]


def _merge_posts(db: Database, keep: str, copy: str, generation: int) -> int:
    matches = match_posts(faces(db, copy), faces(db, keep))
    for gone, stays in matches.items():
        if _written_later(db, gone, stays):
            db.execute(
                f"UPDATE posts SET {_COPY_NEWEST}, generation = ?3 WHERE post_id = ?2",
                [gone, stays, generation],
            )
        db.execute("DELETE FROM posts WHERE post_id = ?", [gone])
        db.execute(
            "INSERT OR REPLACE INTO post_aliases (alias_id, post_id) VALUES (?, ?)", [gone, stays]
        )
        db.execute("UPDATE post_aliases SET post_id = ? WHERE post_id = ?", [stays, gone])
        _repoint_references(db, gone, stays)
    db.execute("UPDATE posts SET coverage_id = ? WHERE coverage_id = ?", [keep, copy])
    return len(matches)


def _written_later(db: Database, one: str, other: str) -> bool:
    """Whether post ``one`` was written after ``other`` (generation, then time of ingest)."""
    row = db.execute(
        "SELECT (SELECT generation FROM posts WHERE post_id = ?1), "
        "(SELECT ingested_at FROM posts WHERE post_id = ?1), "
        "(SELECT generation FROM posts WHERE post_id = ?2), "
        "(SELECT ingested_at FROM posts WHERE post_id = ?2)",
        [one, other],
    ).fetchone()
    return (row[0] or 0, row[1] or "") > (row[2] or 0, row[3] or "")


def _repoint_references(db: Database, gone: str, stays: str) -> None:
    for table in _REFERENCES:
        db.execute(f"UPDATE OR IGNORE {table} SET post_id = ? WHERE post_id = ?", [stays, gone])
        db.execute(f"DELETE FROM {table} WHERE post_id = ?", [gone])
    rows = db.execute(
        "SELECT chat_id, local_date, post_ids FROM digest_deliveries WHERE instr(post_ids, ?)",
        [gone],
    ).fetchall()
    for chat_id, local_date, post_ids in rows:
        ids = [stays if post_id == gone else post_id for post_id in json.loads(post_ids)]
        db.execute(
            "UPDATE digest_deliveries SET post_ids = ? WHERE chat_id = ? AND local_date = ?",
            [json.dumps(list(dict.fromkeys(ids))), chat_id, local_date],
        )


def _take_latest_metadata(db: Database, keep: str, latest: str) -> None:
    """The staying coverage shows what its latest import said (title, outlet, URL…)."""
    if latest == keep:
        return
    columns = ("title", "source", "url", "summary", "started", "imported_at")
    assignments = ", ".join(
        f"{name} = (SELECT {name} FROM coverages WHERE coverage_id = ?1)" for name in columns
    )
    db.execute(f"UPDATE coverages SET {assignments} WHERE coverage_id = ?2", [latest, keep])


def _next_generation(db: Database) -> int:
    """A new generation for the merged posts, so a saved index sees they changed."""
    row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    generation = (int(row[0]) if row else 0) + 1
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?)", [str(generation)]
    )
    db.execute(
        "INSERT OR REPLACE INTO generations (generation, token) VALUES (?, ?)",
        [generation, secrets.token_hex(8)],
    )
    return generation
