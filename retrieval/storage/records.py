"""Rows ↔ models: how a `Post` and a `Coverage` are laid out in their tables."""

from __future__ import annotations

import json
from typing import Any

from retrieval.models import Coverage, Post, Timestamp, post_text


def post_record(post: Post, digest: str, now: str) -> dict[str, Any]:
    return {
        "post_id": post.post_id,
        "coverage_id": post.coverage_id,
        "title": post.title,
        "body": json.dumps(list(post.body), ensure_ascii=False),
        "published": post.published.isoformat(),
        "sort_key": post.published.sort_key(),
        "source": post.source,
        "authors": json.dumps(list(post.authors), ensure_ascii=False),
        "url": post.url,
        "position": post.position,
        "updated": post.updated.isoformat() if post.updated else None,
        "captions": json.dumps(list(post.captions), ensure_ascii=False) if post.captions else None,
        "content_hash": digest,
        "ingested_at": now,
    }


def post_from_row(row: dict[str, Any]) -> Post:
    return Post(
        post_id=row["post_id"],
        coverage_id=row["coverage_id"],
        title=row["title"],
        body=tuple(json.loads(row["body"])),
        published=Timestamp.parse(row["published"]),
        source=row["source"],
        authors=tuple(json.loads(row["authors"] or "[]")),
        url=row["url"],
        position=row["position"],
        updated=Timestamp.parse(row["updated"]) if row["updated"] else None,
        captions=tuple(json.loads(row.get("captions") or "[]")),
    )


def text_from_row(title: str, body: str, captions: str | None) -> str:
    """`Post.text` straight from a row's columns, without building the `Post`."""
    return post_text(title, json.loads(body), json.loads(captions) if captions else ())


def coverage_record(coverage: Coverage, identity: str, now: str) -> dict[str, Any]:
    return {
        "coverage_id": coverage.coverage_id,
        "title": coverage.title,
        "source": coverage.source,
        "url": coverage.url,
        "summary": json.dumps(list(coverage.summary), ensure_ascii=False),
        "started": coverage.started.isoformat() if coverage.started else None,
        "imported_at": now,
        "identity": identity,
    }


def coverage_from_row(row: dict[str, Any]) -> Coverage:
    return Coverage(
        coverage_id=row["coverage_id"],
        title=row["title"],
        source=row["source"],
        url=row["url"],
        summary=tuple(json.loads(row["summary"] or "[]")),
        started=Timestamp.parse(row["started"]) if row["started"] else None,
    )
