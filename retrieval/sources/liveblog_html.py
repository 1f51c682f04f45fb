"""HTML pages: live blogs (every update a post) and ordinary articles (one post).

The page is the truth and its structured data the index to it. A live blog's
`LiveBlogPosting` (JSON-LD, microdata or RDFa) lists its updates; each update's own element
on the page, found by its permalink's fragment, by an adapter for the publisher's layout
(`reach`, `guardian`) or as the page's repeated update elements, gives what the structured
data lacks, repeats for every update or cuts short: headline, time, authors, full text, a
permalink that exists on the page. A page without a live blog is read as an article
(`article`); a page that is neither is refused with its reason.

The helpers `html_to_paragraphs`, `text_to_paragraphs`, `parse_iso_timestamp` and
`title_from_body` live in `html_text` and are re-exported here for the other importers.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urldefrag

from retrieval.models import Coverage, Post, stable_id
from retrieval.sources import Parsed, SourceError, guardian, reach
from retrieval.sources.article import article_node, parse_article
from retrieval.sources.blocks import Block, read_block, repeated_updates
from retrieval.sources.html_text import (
    html_to_paragraphs,
    parse_iso_timestamp,
    text_to_paragraphs,
    title_from_body,
)
from retrieval.sources.matching import Overrides, find_blocks, merge
from retrieval.sources.page import Page, absolute, read_page
from retrieval.sources.structured import as_list, plain, publisher, resolve, text
from retrieval.sources.updates import Draft, Repeats, draft_update, strip_time_prefix

__all__ = [
    "NO_JSONLD_NOTE",
    "NO_UPDATES_NOTE",
    "html_to_paragraphs",
    "parse",
    "parse_iso_timestamp",
    "text_to_paragraphs",
    "title_from_body",
]

NO_JSONLD_NOTE = "no LiveBlogPosting structured data; read as an article"
NO_UPDATES_NOTE = "the LiveBlogPosting lists no usable updates; read as an article"
BLOCKS_ONLY_NOTE = "no LiveBlogPosting structured data; read the page's {n} update elements"

# Publisher layouts the generic rules cannot read, each returning the page's update blocks.
_ADAPTERS = (reach.entries, guardian.entries)


def parse(html: str | bytes, *, url: str | None = None, outlet: str | None = None) -> Parsed:
    """Posts of an HTML page: one per live-blog update, or one for an article.

    `url` is where the page was fetched from (None for a file); `outlet` overrides the outlet
    name the page gives (a newsroom's setting per source).
    """
    if isinstance(html, bytes):
        from retrieval.sources.detect import decode

        html = decode(html, None, what=url or "the page")
    if not html.strip():
        raise SourceError(f"{url or 'the page'} is empty")
    page = read_page(html, url)
    where = url or "the page"
    blogs = page.structured.of_type("LiveBlogPosting")
    blocks = [b for adapter in _ADAPTERS for b in adapter(page.root)]
    rejected: list[str] = []
    if blogs:
        parsed, rejected = _live_blog(page, blogs, blocks, outlet)
        if parsed is not None:
            return parsed
        note, detail = NO_UPDATES_NOTE, "no usable JSON-LD updates"
    else:
        # A publisher's update layout is a live blog; repeated timed elements (which may be a
        # list of related stories) only when the page has no article markup.
        generic = not blocks and article_node(page) is None and _says_live(page)
        parsed = _blocks_only(page, blocks, outlet, generic=generic)
        if parsed is not None:
            return parsed
        note, detail = NO_JSONLD_NOTE, "no LiveBlogPosting"
    article = parse_article(page, outlet=outlet)
    if isinstance(article, str):
        raise SourceError(f"{where} is neither a live blog nor an article: {detail}; {article}")
    article.notes.insert(0, note)
    article.rejected[:0] = rejected
    return article


# --- live blogs ---------------------------------------------------------------------------------


def _coverage(page: Page, blog: dict[str, Any], outlet: str | None, notes: list[str]) -> Coverage:
    index = page.structured.index
    canonical = page.canonical
    if canonical is None:
        ref = text(blog.get("url")) or text(resolve(blog.get("mainEntityOfPage"), index))
        canonical = urldefrag(absolute(ref, page.base) or "").url or None if ref else None
    title = plain(blog.get("headline")) or plain(blog.get("name")) or page.title or "Live blog"
    started = None
    start_text = text(blog.get("coverageStartTime"))
    if start_text:
        try:
            started, _ = parse_iso_timestamp(start_text)
        except ValueError:
            notes.append(f"coverageStartTime {start_text!r} is not an ISO 8601 date; ignored")
    return Coverage(
        coverage_id=stable_id(canonical or (urldefrag(page.url).url if page.url else title)),
        title=title,
        source=page.outlet(publisher_name=publisher(blog, index), override=outlet),
        url=canonical or page.url,
        summary=html_to_paragraphs(text(blog.get("description")) or ""),
        started=started,
    )


def _live_blog(
    page: Page, blogs: list[dict[str, Any]], blocks: list[Block], outlet: str | None
) -> tuple[Parsed | None, list[str]]:
    blog = next((b for b in blogs if text(b.get("headline") or b.get("name"))), blogs[0])
    index = page.structured.index
    notes = list(page.structured.notes)
    rejected: list[str] = []
    coverage = _coverage(page, blog, outlet, notes)
    if len({text(b.get("@id")) or text(b.get("url")) or id(b) for b in blogs}) > 1:
        notes.append(f"the page holds {len(blogs)} LiveBlogPosting blocks; read as one coverage")

    drafts: list[Draft] = []
    number = 0
    for blog_node in blogs:
        for raw_update in as_list(blog_node.get("liveBlogUpdate")):
            number += 1
            update = resolve(raw_update, index)
            if not isinstance(update, dict):
                rejected.append(f"update {number}: not a structured-data object")
                continue
            draft, reason = draft_update(number, update, index, page.base)
            if draft is None:
                rejected.append(f"update {number}: {reason}")
            else:
                drafts.append(draft)
    repeats = Repeats.of(drafts)
    found, blocks = find_blocks(page, drafts, blocks)
    overrides = Overrides()
    used: set[str] = set()
    posts: dict[str, Post] = {}
    off_page = cut_short = 0
    # A page that shows some updates but not this one: its permalink's anchor is not here.
    shows_updates = any(block is not None for block in found)
    writers_shown = any(block is not None and block.authors for block in found)
    outlets = frozenset({coverage.source.casefold(), (publisher(blog, index) or "").casefold()})
    for draft, block in zip(drafts, found, strict=True):
        if block is not None and block.anchor:
            used.add(block.anchor)
        post, cut = merge(
            page, coverage, draft, block, repeats, overrides, shows_updates, writers_shown, outlets
        )
        off_page += block is None
        cut_short += cut
        _add(posts, post, rejected, f"update {draft.number}")
    for block in blocks:
        if block.anchor and block.anchor not in used:
            extra = _post_from_block(page, coverage, block)
            if extra is None:
                rejected.append(f"page update #{block.anchor}: no time of its own")
            else:
                _add(posts, extra, rejected, f"page update #{block.anchor}")

    naive = sum(d.naive for d in drafts)
    if naive:
        notes.append(f"{naive} time(s) without a UTC offset were read as UTC")
    notes.extend(repeats.notes(len(drafts)))
    override_note = overrides.note(len(drafts))
    if override_note:
        notes.append(override_note)
    if off_page and overrides.matched:
        notes.append(
            f"{off_page} updates are not shown on the page: read from the structured data "
            f"alone{f' ({cut_short} with text cut short)' if cut_short else ''}, linked to the "
            "page (their anchors are not on it)"
        )
    elif cut_short:
        notes.append(f"{cut_short} updates' text is cut short in the structured data")
    if not posts:
        return None, rejected
    return _ordered(coverage, posts, rejected, notes), rejected


def _post_from_block(page: Page, coverage: Coverage, block: Block) -> Post | None:
    if block.published is None or not (block.headline or block.body):
        return None
    anchored = f"{urldefrag(page.canonical or page.base or '').url}#{block.anchor}"
    return Post(
        post_id=stable_id(coverage.coverage_id, "anchor", block.anchor or ""),
        coverage_id=coverage.coverage_id,
        title=strip_time_prefix(block.headline or title_from_body(block.body)),
        body=block.body,
        published=block.published,
        source=coverage.source,
        authors=block.authors,
        url=absolute(anchored, None) if block.anchor else coverage.url,
    )


def _blocks_only(
    page: Page, blocks: list[Block], outlet: str | None, *, generic: bool
) -> Parsed | None:
    """A live blog without structured data: its update elements, each with its own time."""
    if not blocks and generic:
        blocks = [read_block(e) for e in repeated_updates(page.root)]
        # Teasers of other stories have a headline and a time but no text of their own.
        blocks = [b for b in blocks if len(" ".join(b.body)) >= 60 and b.body != (b.headline,)]
    timed = [b for b in blocks if b.published is not None]
    if len(timed) < 2 or (generic and len(timed) < 3):
        return None
    notes = [*page.structured.notes, BLOCKS_ONLY_NOTE.format(n=len(blocks))]
    title = page.meta("og:title") or page.title or "Live blog"
    coverage = Coverage(
        coverage_id=stable_id(page.canonical or title),
        title=title,
        source=page.outlet(override=outlet),
        url=page.canonical,
    )
    posts: dict[str, Post] = {}
    rejected: list[str] = []
    for number, block in enumerate(blocks, start=1):
        post = _post_from_block(page, coverage, block)
        if post is None:
            rejected.append(f"page update {number}: no time of its own")
        elif block.anchor is None:
            post = replace(
                post,
                post_id=stable_id(coverage.coverage_id, post.title, post.published.isoformat()),
            )
            _add(posts, post, rejected, f"page update {number}")
        else:
            _add(posts, post, rejected, f"page update {number}")
    return _ordered(coverage, posts, rejected, notes)


_LIVE_WORDS = re.compile(
    r"\b(?:live|ticker|liveticker|minute[- ]by[- ]minute|latest updates|live updates|en direct|"
    r"in diretta|diretta|en vivo|en directo|ao vivo|na żywo)\b",
    re.I,
)


def _says_live(page: Page) -> bool:
    """Whether the page calls itself a live blog (title or URL): repeated timed elements on
    other pages are lists of teasers, comments or forum posts."""
    where = " ".join(filter(None, (page.meta("og:title"), page.title, page.canonical, page.url)))
    return bool(_LIVE_WORDS.search(where.replace("-", " ").replace("/", " ")))


def _add(posts: dict[str, Post], post: Post, rejected: list[str], label: str) -> None:
    known = posts.get(post.post_id)
    if known is None:
        posts[post.post_id] = post
    elif known.content_hash() != post.content_hash():
        rejected.append(f"{label}: same id as an earlier, different update")


def _ordered(
    coverage: Coverage, posts: dict[str, Post], rejected: list[str], notes: list[str]
) -> Parsed:
    ordered = sorted(posts.values(), key=lambda p: p.published.sort_key(), reverse=True)
    return Parsed(
        coverage=coverage,
        posts=[replace(post, position=i) for i, post in enumerate(ordered)],
        rejected=rejected,
        notes=notes,
    )
