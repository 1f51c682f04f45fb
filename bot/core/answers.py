"""The answer core: a command or a question, plus the chat's preferences, becomes a `Reply`.

Transport-free on purpose: the Telegram adapter, the terminal chat and the CLI all call this,
so every surface gives the same answer. Answers are quotes from the coverage, never invented.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.core.formatting import show_time
from bot.core.reply import Block, Button, Reply, ResultItem, Span, invalid
from retrieval.library import Library
from retrieval.models import Post
from retrieval.search import CANDIDATES, Hit
from retrieval.text import sentences, tokenize

ASK_HITS = 3
SEARCH_PAGE = 5
INLINE_PAGE = 10
INLINE_MAX_OFFSET = 200
COMPLETE_MIN = 3  # letters of a half-typed last word before inline mode completes it
_SUFFIXES = ("", "e", "s", "y", "es", "ed", "al", "ing", "ion", "ive")
LATEST_DEFAULT = 5
LATEST_MAX = 20
QUESTION_MAX = 1000
CURSOR_PREFIX = "s"

GREETING = (
    "Hello! Ask me about the coverage in plain words, for example "
    "“What did NATO say about fighting vehicles?” or “Is Tinder leaving Russia?”."
)


@dataclass(frozen=True)
class ChatPrefs:
    """What a chat chose: the timezone its times are shown in."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))


@dataclass(frozen=True)
class InlineItem:
    """One inline-mode result: its data for the result list and the message it sends."""

    result: ResultItem
    message: Reply
    description: str = ""  # "2 May 2023 · CNN — excerpt", the time in the user's timezone


@dataclass(frozen=True)
class InlineAnswer:
    items: tuple[InlineItem, ...]
    next_offset: str


class SearchSessions(Protocol):
    """Where a search's query is kept so page buttons can carry a short token instead."""

    def remember(self, query: str) -> str: ...

    def recall(self, token: str) -> str | None: ...


class MemorySessions:
    """Search sessions for one process (terminal chat); the oldest are forgotten first."""

    def __init__(self, capacity: int = 1000) -> None:
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    def remember(self, query: str) -> str:
        token = secrets.token_urlsafe(6)
        self._queries[token] = query
        while len(self._queries) > self._capacity:
            self._queries.popitem(last=False)
        return token

    def recall(self, token: str) -> str | None:
        return self._queries.get(token)


_CURSOR = re.compile(rf"^{CURSOR_PREFIX}:([A-Za-z0-9_-]{{1,24}}):(\d{{1,4}})$")


class Answers:
    """Commands and questions → replies, over one `Library`."""

    def __init__(self, library: Library, sessions: SearchSessions | None = None) -> None:
        self.library = library
        self.sessions: SearchSessions = sessions or MemorySessions()

    # -- commands ---------------------------------------------------------------------------

    def start(self, prefs: ChatPrefs) -> Reply:
        """What coverage is loaded: title, source, date range, post count."""
        infos = self.library.store.coverages()
        if not infos:
            return Reply((Block.of("No coverage is loaded yet."),), kind="info")
        blocks = [Block.of("I follow live news coverage and answer with quotes from it.")]
        for info in infos:
            span = ""
            if info.first and info.last:
                first, last = (
                    show_time(info.first, prefs.timezone),
                    show_time(info.last, prefs.timezone),
                )
                span = first if first == last else f"{first} – {last}"
            blocks.append(
                Block.of(
                    Span(info.coverage.title, "bold", info.coverage.url),
                    f" ({info.coverage.source}) · {span} · {info.posts} posts",
                )
            )
        blocks.append(Block.of("Ask a question, or try /latest, /search or /help."))
        return Reply(tuple(blocks), kind="info")

    def ask(self, question: str, prefs: ChatPrefs) -> Reply:
        """Up to three cited excerpts, or an honest "nothing matches"."""
        problem = check_query(question, what="question")
        if problem:
            return problem
        result = self.library.searcher.search(
            question, limit=ASK_HITS, count_all=False, distinct=True
        )
        if result.small_talk:
            return Reply((Block.of(GREETING),), kind="info", query=question, message=GREETING)
        if not result.hits:
            return nothing(question)
        blocks = [block for hit in result.hits for block in hit_blocks(hit, prefs)]
        if result.corrected:
            blocks.insert(0, Block.of(Span(f"Showing results for “{result.corrected}”", "italic")))
        return Reply(tuple(blocks), query=question, results=result_items(result.hits))

    def search(
        self, query: str, prefs: ChatPrefs, page: int = 1, page_size: int = SEARCH_PAGE
    ) -> Reply:
        """A ranked list, `SEARCH_PAGE` hits a page, with ◀ ▶ buttons carrying a cursor."""
        if not query.strip():
            return invalid("Tell me what to search for, e.g. /search counteroffensive")
        problem = check_query(query, what="search")
        if problem:
            return problem
        return self._search_page(query, prefs, page, page_size, token=None)

    def page(self, cursor: str, prefs: ChatPrefs) -> Reply:
        """The page a ◀ ▶ button points to; a forged or forgotten cursor has "expired"."""
        match = _CURSOR.match(cursor)
        query = self.sessions.recall(match.group(1)) if match else None
        if match is None or query is None:
            return invalid("This list has expired — search again.")
        page = int(match.group(2))
        return self._search_page(query, prefs, page, SEARCH_PAGE, token=match.group(1))

    def _search_page(
        self, query: str, prefs: ChatPrefs, page: int, page_size: int, token: str | None
    ) -> Reply:
        page = max(page, 1)
        if (page - 1) * page_size >= CANDIDATES:  # past every candidate: count, read no more
            page = -(-CANDIDATES // page_size) + 1
        result = self.library.searcher.search(query, limit=page_size, offset=(page - 1) * page_size)
        if result.total == 0:
            return nothing(query)
        pages = -(-result.total // page_size)
        if not result.hits:
            counted = "is only 1 page" if pages == 1 else f"are only {pages} pages"
            return invalid(f"There {counted} of results for “{query}”.")
        first = (page - 1) * page_size + 1
        blocks = [
            Block.of(
                Span(f"Results {first}–{first + len(result.hits) - 1} of {result.total}", "bold"),
                f" for “{query}”",
            )
        ]
        for number, hit in enumerate(result.hits, start=first):
            blocks.extend(hit_blocks(hit, prefs, number=number))
        buttons = page_buttons(CURSOR_PREFIX, self.sessions, query, token, page, pages)
        return Reply(tuple(blocks), query=query, results=result_items(result.hits), buttons=buttons)

    def latest_command(self, args: str, prefs: ChatPrefs) -> Reply:
        """/latest [N]: parse N, then the digest of the newest posts."""
        if not args:
            return self.latest(LATEST_DEFAULT, prefs)
        if not args.isdigit() or not 1 <= int(args) <= LATEST_MAX:
            return invalid(f"/latest takes a number from 1 to {LATEST_MAX}, e.g. /latest 5")
        return self.latest(int(args), prefs)

    def latest(self, count: int, prefs: ChatPrefs) -> Reply:
        """The newest posts: time, title, one-sentence gist, link."""
        count = max(1, min(count, LATEST_MAX))
        posts = self.library.store.latest(count)
        if not posts:
            return Reply(
                (Block.of("No coverage is loaded yet."),),
                kind="empty",
                message="No coverage is loaded yet.",
            )
        blocks = [Block.of(Span(f"The {len(posts)} newest posts", "bold"))]
        for post in posts:
            blocks.append(
                Block.of(
                    f"{show_time(post.published, prefs.timezone)} · ",
                    Span(post.title, "bold", post.url),
                    " — ",
                    Span(gist(post), "italic"),
                )
            )
        items = tuple(_item(post, gist(post), None) for post in posts)
        return Reply(tuple(blocks), results=items)

    def inline(self, query: str, offset: str, prefs: ChatPrefs) -> InlineAnswer:
        """Inline mode: 10 hits a page (`offset` as Telegram hands it back); no query → latest."""
        start = int(offset) if offset.isdigit() else 0
        if start >= INLINE_MAX_OFFSET or len(query) > QUESTION_MAX:
            return InlineAnswer((), "")
        if query.strip():
            query = self.complete(query)
            result = self.library.searcher.search(query, limit=INLINE_PAGE, offset=start)
            pairs = [(hit.post, hit.excerpt.text, hit_blocks(hit, prefs)) for hit in result.hits]
            total = result.total
        else:
            posts = self.library.store.latest(INLINE_PAGE, start)
            pairs = [(post, gist(post), _post_blocks(post, gist(post), prefs)) for post in posts]
            total = start + len(posts) + (1 if len(posts) == INLINE_PAGE else 0)
        items = tuple(
            InlineItem(
                _item(post, text, None),
                Reply(tuple(blocks)),
                f"{show_time(post.published, prefs.timezone)} · {post.source} — {text}",
            )
            for post, text, blocks in pairs
        )
        more = start + len(items) < min(total, INLINE_MAX_OFFSET) and len(items) == INLINE_PAGE
        return InlineAnswer(items, str(start + len(items)) if more else "")

    def complete(self, query: str) -> str:
        """The query with its half-typed last word completed from the index vocabulary
        ("counteroff" → "counteroffensive"), so results stay steady while the user types.

        A finished word (followed by a space, or one the coverage uses) is left as it is."""
        if query[-1:].isspace():
            return query
        head, _, last = query.rpartition(" ")
        terms = tokenize(last)
        if len(last) < COMPLETE_MIN or len(terms) != 1:
            return query
        index = self.library.index
        if index.document_frequency(terms[0]):
            return query
        raw = last.lower()
        # A stem can be shorter than the word typed so far ("invasi…" is indexed as "invas").
        prefixes = (terms[0], raw, raw[:-1], raw[:-2])
        for prefix in dict.fromkeys(p for p in prefixes if len(p) >= COMPLETE_MIN):
            for term, _ in index.terms_with_prefix(prefix):
                word = _surface(term)
                if word:
                    return f"{head} {word}".strip()
        return query


def _surface(term: str) -> str | None:
    """A word that tokenizes to the index term `term` (a stem is not always its own stem)."""
    for suffix in _SUFFIXES:
        if tokenize(term + suffix) == [term]:
            return term + suffix
    return None


def page_buttons(
    prefix: str, sessions: SearchSessions, query: str, token: str | None, page: int, pages: int
) -> tuple[Button, ...]:
    """◀ ▶ for a paged list: cursors "prefix:token:page", the query kept behind the token."""
    if pages <= 1:
        return ()
    token = token or sessions.remember(query)
    buttons = []
    if page > 1:
        buttons.append(Button("◀", f"{prefix}:{token}:{page - 1}"))
    if page < pages:
        buttons.append(Button("▶", f"{prefix}:{token}:{page + 1}"))
    return tuple(buttons)


def gist(post: Post) -> str:
    """The post's first sentence: what a reader needs to decide whether to open it."""
    for paragraph in post.body:
        found = sentences(paragraph)
        if found:
            first = found[0]
            return first if len(first) <= 200 else first[:199].rsplit(" ", 1)[0] + "…"
    return ""


def check_query(text: str, *, what: str) -> Reply | None:
    if not text.strip():
        return invalid("Ask me a question in a few words, e.g. “What did NATO say about tanks?”")
    if len(text) > QUESTION_MAX:
        return invalid(
            f"That {what} is {len(text):,} characters long; please keep it under {QUESTION_MAX:,}."
        )
    return None


def nothing(query: str) -> Reply:
    shown = query if len(query) <= 80 else query[:79] + "…"
    message = (
        f"Nothing in the coverage matches “{shown}”. "
        "Try other words, or /latest for the newest posts."
    )
    return Reply((Block.of(message),), kind="empty", query=query, message=message)


def hit_blocks(hit: Hit, prefs: ChatPrefs, number: int | None = None) -> list[Block]:
    post = hit.post
    attribution = [show_time(post.published, prefs.timezone), post.source]
    if post.authors:
        attribution.append("by " + ", ".join(post.authors))
    title = Block.of(
        *([f"{number}. "] if number is not None else []), Span(post.title, "bold", post.url)
    )
    return [title, Block.of(" · ".join(attribution), joined=True), Block(_excerpt_spans(hit), True)]


def _post_blocks(post: Post, text: str, prefs: ChatPrefs) -> list[Block]:
    """A post shown without a query: title, attribution, gist."""
    attribution = [show_time(post.published, prefs.timezone), post.source]
    if post.authors:
        attribution.append("by " + ", ".join(post.authors))
    return [
        Block.of(Span(post.title, "bold", post.url)),
        Block.of(" · ".join(attribution), joined=True),
        Block.of(Span(text, "italic"), joined=True),
    ]


def _excerpt_spans(hit: Hit) -> tuple[Span, ...]:
    # Quote marks around the excerpt, unless it already opens with a quotation of its own.
    text, at = hit.excerpt.text, 0
    quoted = text.startswith(("“", '"'))
    spans = [Span("Photo caption: ", "italic")] if hit.excerpt.caption else []
    spans += [] if quoted else [Span("“")]
    for start, end in hit.excerpt.marks:
        if start > at:
            spans.append(Span(text[at:start]))
        spans.append(Span(text[start:end], "mark"))
        at = end
    if at < len(text):
        spans.append(Span(text[at:]))
    if not quoted:
        spans.append(Span("”"))
    return tuple(spans)


def result_items(hits: tuple[Hit, ...]) -> tuple[ResultItem, ...]:
    return tuple(_item(hit.post, hit.excerpt.text, round(hit.score, 6)) for hit in hits)


def _item(post: Post, excerpt: str, score: float | None) -> ResultItem:
    return ResultItem(
        post_id=post.post_id,
        title=post.title,
        excerpt=excerpt,
        published_at=post.published.isoformat(),
        source=post.source,
        authors=post.authors,
        url=post.url,
        score=score,
    )
