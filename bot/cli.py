"""`liveblog-bot`: the one entry point. Parses arguments and calls the core; nothing more.

Exit codes: 0 success (also "no results"), 2 bad input or configuration, 1 internal error.
Every failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from retrieval.sources.formats import FORMATS

if TYPE_CHECKING:  # the heavy modules (pydantic, numba, the index) load after parsing
    from bot.core.reply import Reply
    from bot.settings import Settings
    from retrieval.library import Library
    from retrieval.sources.formats import Format

log = logging.getLogger("liveblog_bot")
EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2
MAX_LIMIT = 100


class UsageError(Exception):
    """Bad command-line input; the message is the one line shown."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see liveblog-bot --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="liveblog-bot", description="Follow live news coverage from Telegram.")
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    commands.add_parser("run", help="the Telegram bot if a token is set, else the terminal chat")
    commands.add_parser("chat", help="terminal chat: questions and the bot's commands")
    ask = commands.add_parser("ask", help="the answer a user would get")
    ask.add_argument("question", nargs="+")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    search = commands.add_parser("search", help="ranked hits")
    search.add_argument("query", nargs="+")
    search.add_argument(
        "--limit", type=_limit, default=5, help=f"hits a page (at most {MAX_LIMIT})"
    )
    search.add_argument("--page", type=_positive, default=1)
    search.add_argument("--json", action="store_true")
    latest = commands.add_parser("latest", help="the N newest posts")
    latest.add_argument("count", nargs="?", type=_positive, default=None)
    latest.add_argument("--json", action="store_true")
    timeline = commands.add_parser("timeline", help="the matching posts in time order")
    timeline.add_argument("query", nargs="+")
    timeline.add_argument("--page", type=_positive, default=1)
    timeline.add_argument("--json", action="store_true")
    importer = commands.add_parser("import", help="import coverage from a file or URL")
    importer.add_argument("location", metavar="PATH-or-URL")
    importer.add_argument("--format", choices=FORMATS, help="skip format detection")
    importer.add_argument(
        "--outlet", metavar="NAME", help='credit the posts to this outlet, e.g. "The Mirror"'
    )
    sources = commands.add_parser("sources", help="sources the bot keeps fresh while it runs")
    source_commands = sources.add_subparsers(dest="sources_command", parser_class=_Parser)
    add = source_commands.add_parser("add", help="poll a live-blog page or feed")
    add.add_argument("url", metavar="URL")
    add.add_argument("--every", default="5m", help="polling interval, e.g. 30s, 5m, 1h")
    add.add_argument("--format", choices=FORMATS, help="skip format detection")
    add.add_argument(
        "--outlet", metavar="NAME", help='credit its posts to this outlet, e.g. "The Mirror"'
    )
    source_commands.add_parser("list", help="sources with their last success and error")
    remove = source_commands.add_parser("remove", help="stop polling a source")
    remove.add_argument("source_id", metavar="ID", type=_positive)
    stats = commands.add_parser("stats", help="coverages, posts, index size")
    stats.add_argument("--json", action="store_true")
    backup = commands.add_parser("backup", help="consistent copy of the database, also live")
    backup.add_argument("path", metavar="PATH", help="file to write (not an existing one)")
    backup.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    commands.add_parser("check", help="one line per health check; exit 0 only when all pass")
    return parser


class _VersionAction(argparse.Action):
    """`--version`, reading the installed metadata only when asked (importlib.metadata is
    slow to import, and `--help` must answer at once)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help=str(kwargs.get("help", "")))

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("liveblog-bot")
        except PackageNotFoundError:  # run from a source tree that was never installed
            found = "unknown"
        print(f"liveblog-bot {found}")
        parser.exit()


def _limit(text: str) -> int:
    count = _positive(text)
    if count > MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"at most {MAX_LIMIT} hits a page, got {count}")
    return count


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; map every known failure to its exit code and one line."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"liveblog-bot: {exc}", file=sys.stderr)
        return EXIT_INPUT
    from bot.logs import redact
    from bot.settings import ConfigError, load_settings
    from retrieval.sources import SourceError
    from retrieval.storage.store import StoreError

    token: str | None = None
    try:
        settings = load_settings()
        from bot.logs import configure_logging
        from retrieval.index.memory import map_large_allocations

        token = settings.telegram_token.get_secret_value() if settings.telegram_token else None
        configure_logging(settings.log_level, settings.log_format, token)
        map_large_allocations()  # before the index: its freed arrays go back to the OS
        return _dispatch(args, settings)
    except (UsageError, ConfigError, SourceError, StoreError) as exc:
        print(f"liveblog-bot: {redact(str(exc), token)}", file=sys.stderr)
        return EXIT_INPUT
    except MemoryError:
        print("liveblog-bot: that needs more memory than this machine has", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as exc:  # the last line of defence: one line, never a traceback
        problem = _database_problem(exc) if isinstance(exc, sqlite3.OperationalError) else None
        if problem is not None:
            print(f"liveblog-bot: {problem}", file=sys.stderr)
            return EXIT_INPUT
        log.debug("internal error", exc_info=True)
        line = redact(f"internal error: {type(exc).__name__}: {exc}", token)
        print(f"liveblog-bot: {line}", file=sys.stderr)
        return EXIT_INTERNAL


def _database_problem(exc: sqlite3.OperationalError) -> str | None:
    """The one line for a database the environment keeps us from using (exit 2), if it is one."""
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return "the database is read-only: check LIVEBLOG_DATABASE and its folder's permissions"
    if "disk is full" in text or "disk i/o error" in text:
        return f"the database could not be written ({exc}): free some disk space"
    if "unable to open" in text:
        return "the database cannot be opened: check LIVEBLOG_DATABASE and its folder"
    return None


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    command = args.command or "run"
    if command in ("run", "chat"):
        _announce_mode(settings, chat_only=command == "chat")
    if command in ("backup", "check"):  # before Library(): they never create or index a database
        return _operate(command, args, settings)
    from zoneinfo import ZoneInfo

    from bot.core.answers import LATEST_DEFAULT, Answers, ChatPrefs, MemorySessions
    from bot.core.timeline import Timelines
    from retrieval.library import Library, open_served

    # `run` and `chat` serve for hours: kernels compile in a thread (until then the index
    # answers with numpy, exactly) and what start-up loaded is kept from the collector.
    serving = command in ("run", "chat")
    library = open_served(settings.database) if serving else Library(settings.database)
    try:
        if serving:
            return _run(library, settings, chat_only=command == "chat")
        sessions = MemorySessions()
        answers = Answers(library, sessions)
        prefs = ChatPrefs(ZoneInfo(settings.timezone))
        if command == "ask":
            return _emit(answers.ask(" ".join(args.question), prefs), args.json)
        if command == "search":
            query = " ".join(args.query)
            return _emit(answers.search(query, prefs, args.page, args.limit), args.json)
        if command == "latest":
            return _emit(answers.latest(args.count or LATEST_DEFAULT, prefs), args.json)
        if command == "timeline":
            reply = Timelines(library, sessions).timeline(" ".join(args.query), prefs, args.page)
            return _emit(reply, args.json)
        if command == "import":
            return _import(
                library, args.location, args.format, settings.max_source_bytes, args.outlet
            )
        if command == "sources":
            return _sources(library, args)
        if command == "stats":
            return _stats(library, args.json)
        raise UsageError(f"unknown command {command!r}")
    finally:
        library.close()


def _operate(command: str, args: argparse.Namespace, settings: Settings) -> int:
    """`backup` and `check` (bot/operations.py): one line per result."""
    from pathlib import Path

    from bot.operations import OperationError, backup, run_checks

    if command == "check":
        checks = run_checks(settings)
        for check in checks:
            print(check.line())
        return EXIT_OK if all(c.ok for c in checks) else EXIT_INTERNAL
    try:
        done = backup(settings.database, Path(args.path), force=args.force)
    except OperationError as exc:
        print(f"liveblog-bot: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(f"backed up {done.posts} posts to {done.path} ({done.size:,} bytes, integrity ok)")
    return EXIT_OK


def _import(
    library: Library, location: str, fmt: Format | None, max_bytes: int, outlet: str | None
) -> int:
    """Import with a progress bar on a terminal; the counts line always ends it."""
    from bot.progress import import_progress, ingest_with_progress
    from retrieval.importing import read_location
    from retrieval.polling import check_outlet

    outlet = check_outlet(outlet)
    with import_progress() as progress:
        progress.stage(f"Reading {location}")
        parsed = read_location(location, fmt, max_bytes=max_bytes, outlet=outlet)
        report = ingest_with_progress(library, parsed, progress)
    for line in report.notes + report.rejected:
        print(line)
    print(report.summary())
    return EXIT_OK


def _sources(library: Library, args: argparse.Namespace) -> int:
    """`sources add|list|remove`: the registry the running bot polls."""
    from retrieval.polling import Sources

    registry = Sources(library.store.db)
    if args.sources_command == "add":
        source = registry.add(args.url, args.every, fmt=args.format, outlet=args.outlet)
        shown = f" as {source.outlet}" if source.outlet else ""
        print(f"added source #{source.id}: {source.url}{shown}, every {source.every}")
    elif args.sources_command == "remove":
        source = registry.remove(args.source_id)
        print(f"removed source #{source.id}: {source.url}")
    elif args.sources_command == "list":
        listed = registry.list()
        if not listed:
            print("no sources yet: liveblog-bot sources add URL [--every 5m]")
        for source in listed:
            ok = (
                source.last_success.isoformat(timespec="seconds")
                if source.last_success
                else "never"
            )
            shown = f" as {source.outlet}" if source.outlet else ""
            line = f"#{source.id} {source.url}{shown} every {source.every} · last success {ok}"
            if source.last_error:
                line += f" · last error ({source.consecutive_failures}×): {source.last_error}"
            print(line)
    else:
        raise UsageError("sources needs add, list or remove (see liveblog-bot sources --help)")
    return EXIT_OK


def _emit(reply: Reply, as_json: bool) -> int:
    from rich.console import Console

    from bot.terminal.render import render

    if as_json:
        print(json.dumps(reply.as_json(), ensure_ascii=False))
    else:
        Console(highlight=False, soft_wrap=True).print(render(reply))
    return EXIT_INPUT if reply.kind == "invalid" else EXIT_OK


def _stats(library: Library, as_json: bool) -> int:
    infos = library.store.coverages()
    index = library.index.stats()
    data = {
        "coverages": [
            {"title": i.coverage.title, "source": i.coverage.source, "posts": i.posts}
            for i in infos
        ],
        "posts": library.store.count_posts(),
        "index": {
            "documents": index.documents,
            "terms": index.terms,
            "postings": index.postings,
            "memory_bytes": index.memory_bytes,
            "built_at": index.built_at.isoformat() if index.built_at else None,
        },
    }
    if as_json:
        print(json.dumps(data))
        return EXIT_OK
    for info in data["coverages"]:  # type: ignore[attr-defined]
        print(f"{info['title']} ({info['source']}): {info['posts']} posts")
    print(f"posts: {data['posts']}")
    print(
        f"index: {index.documents} documents, {index.terms} terms, {index.postings} postings, "
        f"{index.memory_bytes / 1e6:.1f} MB in memory, built "
        f"{index.built_at.isoformat(timespec='seconds') if index.built_at else 'never'}"
    )
    return EXIT_OK


def ensure_sample(library: Library) -> None:
    """A fresh database gets the bundled sample, so there is always something to ask about."""
    from retrieval.importing import bundled_sample, parse_content

    if library.store.is_empty():
        report = library.ingest_all(parse_content(bundled_sample(), origin="bundled sample"))
        log.info("imported the bundled sample coverage: %s", report.summary())


def _announce_mode(settings: Settings, *, chat_only: bool) -> None:
    """The first line of `run`: which mode, and for Telegram which bot (getMe answered).

    A wrong token or an unreachable Bot API stops here with `check`'s one line (exit 2).
    """
    from bot.logs import announce
    from bot.operations import OperationError, telegram_username
    from bot.settings import ConfigError

    if chat_only or settings.telegram_token is None:
        why = "" if chat_only else ": no LIVEBLOG_TELEGRAM_TOKEN set — see README"
        announce(f"terminal chat{why}", settings.log_format)
        return
    try:
        name = telegram_username(settings)
    except OperationError as exc:  # a wrong token, an unreachable Bot API: exit 2
        raise ConfigError(str(exc)) from None
    how = f"webhook {settings.telegram_webhook_url}" if settings.telegram_webhook_url else "polling"
    announce(f"Telegram bot @{name} ({how}, {settings.telegram_api_url})", settings.log_format)


def _run(library: Library, settings: Settings, *, chat_only: bool) -> int:
    """`run`: the Telegram bot with a token, else the terminal chat (`chat`: always that);
    a database with no coverage gets the bundled sample first."""
    from bot.core.dispatch import CommandCore
    from bot.core.state import ChatState

    ensure_sample(library)
    if chat_only or settings.telegram_token is None:
        from bot.terminal.chat import chat

        state = ChatState(library.store.db, settings.timezone)
        core = CommandCore(library, state, examples=tuple(settings.example_questions))
        chat(core)
        return EXIT_OK
    from bot.telegram.app import run_bot

    run_bot(settings, library)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
