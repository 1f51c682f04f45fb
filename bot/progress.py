"""A progress display for long imports in a terminal (`liveblog-bot import` of a big archive).

Importing a large JSON Lines archive takes long enough that a silent terminal looks hung, so
the CLI shows what it is doing: a spinner while the file is read and parsed (importers cannot
say how far they are), then a bar of posts stored and indexed out of the total. When stdout is
not a terminal (a pipe, a file, `--json`, cron) nothing is drawn, so output stays parseable.

Typical use in the CLI::

    with import_progress() as progress:
        progress.stage("Reading coverage")
        parsed = read_location(location)
        report = ingest_with_progress(library, parsed, progress)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from retrieval.library import Library
from retrieval.sources import Parsed
from retrieval.storage.store import ImportReport

INGEST_STEP = 1000


class ImportProgress:
    """Stages of an import and how far the current one is; does nothing when not shown."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    @property
    def shown(self) -> bool:
        return self._progress is not None

    def stage(self, description: str, total: int | None = None) -> None:
        """Start a new stage; `total` None shows a spinner with no count (unknown length)."""
        if self._progress is None:
            return
        if self._task is not None:
            self._progress.remove_task(self._task)  # one line: the stage under way
        self._task = self._progress.add_task(description, total=total)

    def advance(self, count: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, count)


class _PostCount(ProgressColumn):
    """ "1,200/52,000 posts", or nothing while the total is unknown (reading a file)."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        return Text(f"{int(task.completed):,}/{int(task.total):,} posts", style="progress.download")


@contextmanager
def import_progress(
    *, console: Console | None = None, enabled: bool | None = None
) -> Iterator[ImportProgress]:
    """Draw import progress on `console` (stdout) while the block runs, if it is a terminal.

    `enabled` forces the decision (tests, a `--quiet` flag); the display is transient, so the
    CLI's summary line is what remains on screen.
    """
    console = console or Console()
    show = console.is_terminal if enabled is None else enabled
    if not show:
        yield ImportProgress(None)
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        _PostCount(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        yield ImportProgress(progress)


def ingest_with_progress(
    library: Library,
    parsed: Sequence[Parsed],
    progress: ImportProgress,
    *,
    step: int = INGEST_STEP,
) -> ImportReport:
    """`library.ingest_all`, `step` posts at a time, advancing `progress` as posts are stored.

    Each step is its own transaction: parsing has already accepted the content, so only a disk
    failure could stop midway, and then the steps before it are kept (re-importing finishes the
    job, as unchanged posts are skipped).
    """
    total_posts = sum(len(one.posts) for one in parsed)
    progress.stage("Storing and indexing", total=total_posts)
    total = ImportReport()
    for one in parsed:
        chunks = [one.posts[i : i + step] for i in range(0, len(one.posts), step)] or [[]]
        for n, chunk in enumerate(chunks):
            first = n == 0
            part = Parsed(
                one.coverage,
                chunk,
                rejected=list(one.rejected) if first else [],
                notes=list(one.notes) if first else [],
                skipped=dict(one.skipped) if first else {},
            )
            total.merge(library.ingest(part))
            progress.advance(len(chunk))
    return total
