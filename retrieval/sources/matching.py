"""Which element of the page is a live-blog update's, and the post the two make together.

An update's structured data (`Draft`) and its element on the page (`Block`) are found for each
other by the permalink's fragment, by the start of a headline or text that the structured
data cut short, or by order for microdata blogs; the page's values win where the structured
data repeats the blog's or cuts them short. `Overrides` counts what the page changed, for the
import's notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urldefrag

from retrieval.models import Coverage, Post, Timestamp
from retrieval.sources.blocks import Block, element_by_anchor, read_block, repeated_updates
from retrieval.sources.html_text import title_from_body
from retrieval.sources.page import Page, absolute
from retrieval.sources.updates import Draft, Repeats, strip_time_prefix


@dataclass
class Overrides:
    """How often the page's HTML replaced a structured-data value, for the import's notes."""

    headline: int = 0
    time: int = 0
    authors: int = 0
    text: int = 0
    link: int = 0
    matched: int = 0

    def note(self, total: int) -> str | None:
        if not self.matched:
            return None
        parts = [
            f"{name} {count}"
            for name, count in (
                ("headline", self.headline),
                ("time", self.time),
                ("author", self.authors),
                ("text", self.text),
                ("link", self.link),
            )
            if count
        ]
        if not parts:
            return None
        return (
            f"page HTML read for {self.matched} of {total} updates; it overrode the "
            f"structured data: {', '.join(parts)}"
        )


def find_blocks(
    page: Page, drafts: list[Draft], blocks: list[Block]
) -> tuple[list[Block | None], list[Block]]:
    """Each update's element on the page (None where the page does not show it), and the page's
    update elements: the adapter's `blocks`, else its repeated update elements."""
    by_anchor = {b.anchor: b for b in blocks if b.anchor}
    by_headline = {b.headline.casefold(): b for b in blocks if b.headline}
    ordered = positional(page, drafts, blocks)
    found = [
        block_for(page, draft, by_anchor, by_headline) or (ordered[i] if ordered else None)
        for i, draft in enumerate(drafts)
    ]
    if all(found):
        return found, blocks
    # Updates without a usable anchor: the page's own repeated update elements, matched by the
    # start of their headline or text (structured data often cuts both short).
    if not blocks:
        blocks = [read_block(e) for e in repeated_updates(page.root)]
    taken = {id(b) for b in found if b is not None}
    for i, draft in enumerate(drafts):
        if found[i] is None:
            match = by_prefix(draft, [c for c in blocks if id(c) not in taken])
            if match is not None:
                found[i] = match
                taken.add(id(match))
    return found, blocks


# CMSs that make an HTML id of an update's id prefix it: the Guardian's `@id` "646219…" is the
# page's `block-646219…`.
_ID_PREFIXES = ("", "block-", "post-", "entry-", "update-", "liveblog-entry-")


def block_for(
    page: Page, draft: Draft, by_anchor: dict[str, Block], by_headline: dict[str, Block]
) -> Block | None:
    if draft.fragment:
        anchors = [f"{prefix}{draft.fragment}" for prefix in _ID_PREFIXES]
        for anchor in anchors:
            if anchor in by_anchor:
                return by_anchor[anchor]
        for anchor in anchors:
            element = element_by_anchor(page.anchors, anchor)
            if element is not None and len(element.text_content()) < 50_000:
                return read_block(element, anchor=anchor)
    if draft.headline and draft.headline.casefold() in by_headline:
        return by_headline[draft.headline.casefold()]
    return None


# What cutting a value short leaves at its end: "…", "...", half an entity ("&rdq").
_CUT_END = re.compile(r"(?:&[#a-z0-9]{0,8})?(?:\.\.\.|…)\s*$|&[#a-z0-9]{0,8}\s*$", re.I)


def stem(value: str) -> str:
    """A value without what cutting it short left at its end ("…", "...", "&rdq")."""
    return _CUT_END.sub("", value).strip().casefold()


def by_prefix(draft: Draft, candidates: list[Block]) -> Block | None:
    """The first candidate whose headline or text starts as the draft's. A page that shows the
    headline as the first paragraph (la Repubblica) is matched on that paragraph and on the
    text after it."""
    head = stem(draft.headline or "")
    text = stem(" ".join(draft.body))
    for block in candidates:
        heads = [(block.headline or "").casefold()]
        texts = [" ".join(block.body).casefold()]
        if not block.headline and len(block.body) > 1:
            heads.append(block.body[0].casefold())
            texts.append(" ".join(block.body[1:]).casefold())
        if len(head) >= 20 and any(h.startswith(head) for h in heads):
            return block
        if len(text) >= 40 and any(t.startswith(text) for t in texts):
            return block
    return None


def shown_headline(
    headline: str | None, body: tuple[str, ...]
) -> tuple[str | None, tuple[str, ...]]:
    """The headline as the page shows it, and the text without it.

    A first paragraph that is the headline (la Repubblica shows it so, its JSON-LD cuts it
    "…dissanguata&rdq…") is the headline, not text; a structured headline that is only the
    start of the text (the Times of India's first 100 characters) is no headline at all.
    """
    if not headline or not body:
        return headline, body
    uncut = _CUT_END.sub("", headline).rstrip()
    was_cut = uncut != headline
    first = body[0]
    if len(body) > 1 and (first == headline or (was_cut and first.startswith(uncut))):
        return first, body[1:]
    if " ".join(body).startswith(uncut):
        return None, body
    return headline, body


def positional(page: Page, drafts: list[Draft], blocks: list[Block]) -> list[Block]:
    """Update elements matched by order: for microdata blogs, whose updates have no anchors."""
    if blocks or not drafts or any(d.fragment for d in drafts):
        return []
    elements = repeated_updates(page.root)
    if len(elements) != len(drafts):
        return []
    return [read_block(e) for e in elements]


def merge(
    page: Page,
    coverage: Coverage,
    draft: Draft,
    block: Block | None,
    repeats: Repeats,
    overrides: Overrides,
    shows_updates: bool,
    writers_shown: bool,
    outlets: frozenset[str] = frozenset(),
) -> tuple[Post, bool]:
    """One post from an update's structured data and, when found, its element on the page.

    `outlets`: the outlet's and publisher's names (casefolded); an update credited to them
    names no writer."""
    own_headline = None if repeats.headline else draft.headline
    own_time = None if repeats.time else draft.published
    own_authors = () if repeats.authors else draft.authors
    headline = own_headline
    body = draft.body
    published = own_time
    authors = own_authors
    url = draft.url
    cut = draft.cut_short
    if block is not None:
        overrides.matched += 1
        if block.headline and block.headline != own_headline:
            overrides.headline += 1
            headline = block.headline
        if block.body and block.body != body:
            overrides.text += 1
            body = block.body
            cut = False
        if (published is None or draft.naive) and block.published is not None:
            overrides.time += 1
            published = block.published
        if block.authors != authors and (block.authors or writers_shown):
            # A layout that names each update's writer and names none here: nobody is credited.
            overrides.authors += 1
            authors = block.authors
        if block.anchor and block.anchor != draft.fragment:
            # The structured data's permalink names no element of the page; the block's id does.
            anchored = f"{urldefrag(page.canonical or page.base or '').url}#{block.anchor}"
            url = absolute(anchored, None)
            overrides.link += 1
        elif not block.anchor and draft.fragment and draft.fragment not in page.anchors:
            # The permalink names no element of the page (the Times of India's "#post1") and
            # the update's element has no id: the page itself is the link that works.
            url = coverage.url
            overrides.link += 1
    elif shows_updates and draft.fragment:
        url = coverage.url
    if url is None:
        url = coverage.url
    if published is None:
        # Every update carries the blog's own time: the day is all that is known of its own.
        published = Timestamp.of_date(draft.published.day)
    if block is None or not block.headline:
        headline, body = shown_headline(headline, body)
    title = strip_time_prefix(headline or title_from_body(body))
    outlets = outlets | {coverage.source.casefold(), (draft.publisher or "").casefold()}
    authors = tuple(a for a in authors if a.casefold() not in outlets)
    post = Post(
        post_id=draft.post_id(coverage.coverage_id),
        coverage_id=coverage.coverage_id,
        title=title,
        body=body,
        published=published,
        source=coverage.source,
        authors=authors,
        url=url,
        updated=draft.updated if published == draft.published else None,
    )
    return post, cut
