"""Operator commands: an online backup of the database, and health checks.

Both open the database file directly, never through `Library` first: `check` must not create
an empty database where none is, nor migrate an old one it is asked about, and `backup` has no
use for an index. Neither prints or logs the bot token.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.settings import Settings
from retrieval.storage.store import SCHEMA_VERSION, count_posts_in

TELEGRAM_TIMEOUT = 10.0  # seconds for each Bot API call of `check`


class OperationError(Exception):
    """An operator command cannot do what was asked; the message is the one line shown."""


# -- backup ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    """What was written: where, how many posts, how many bytes."""

    path: Path
    posts: int
    size: int


def backup(database: Path, target: Path, *, force: bool = False) -> BackupResult:
    """Write a consistent copy of `database` to `target`, also while the bot writes to it.

    sqlite3's online backup API copies every page inside one read transaction: in WAL mode
    writers go on meanwhile, and the copy is the database as of one commit. A file copy could
    catch a half-written page or miss what still sits in the -wal file. Pages, not rows, are
    copied, so rowids (the index's build order) survive and a restored bot ranks ties as the
    original did. The copy is written beside `target` and renamed over it only once
    `PRAGMA integrity_check` passed, so a failed backup never damages an older one.
    """
    _check_target(database, target, force)
    with closing(_open_readonly(database)) as source:
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        try:
            try:
                os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except OSError as exc:
                raise OperationError(f"cannot write {target}: {exc.strerror}") from None
            try:
                with closing(sqlite3.connect(partial)) as copy:
                    source.backup(copy)
                    # One self-contained file (no -wal beside it); the bot turns WAL back on.
                    copy.execute("PRAGMA journal_mode=DELETE")
                    verdict = [row[0] for row in copy.execute("PRAGMA integrity_check")]
                    if verdict != ["ok"]:
                        raise OperationError(f"the copy failed integrity_check: {verdict[0]}")
                    posts = count_posts_in(copy)
            except sqlite3.Error as exc:
                raise OperationError(f"cannot back up {database} to {target}: {exc}") from None
            _fsync(partial)
            os.replace(partial, target)
            _fsync(target.parent)
        finally:
            partial.unlink(missing_ok=True)
    return BackupResult(target, posts, target.stat().st_size)


def _check_target(database: Path, target: Path, force: bool) -> None:
    if target.is_dir():
        raise OperationError(f"{target} is a directory; give a file name")
    if not target.parent.is_dir():
        raise OperationError(f"the folder {target.parent} does not exist")
    if target.exists():
        if target.resolve() == database.resolve():
            raise OperationError(f"{target} is the database itself")
        if not force:
            raise OperationError(f"{target} exists; add --force to overwrite it")


def _open_readonly(database: Path) -> sqlite3.Connection:
    """The database read-only; it must exist (opening it must never create one)."""
    if not database.is_file():
        raise OperationError(f"no database at {database} (check LIVEBLOG_DATABASE)")
    try:
        conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise OperationError(f"cannot read the database {database}: {exc}") from None
    return conn


def _fsync(path: Path) -> None:
    """Flush to disk, so a backup that reported success survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- check -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One health check's verdict and the line an operator reads."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAIL':<4} {self.name}: {self.detail}"


def run_checks(settings: Settings, *, client: httpx.Client | None = None) -> list[Check]:
    """Every check, in order; a check that depends on a failed one says so instead of running.

    Settings were already validated by `load_settings` (an invalid one never gets here).
    """
    mode = (
        f"webhook {settings.telegram_webhook_url}"
        if settings.telegram_webhook_url
        else ("polling" if settings.telegram_token else "terminal chat (no token)")
    )
    checks = [Check("settings", True, f"database {settings.database}, {mode}")]
    database = _check_database(settings.database)
    checks.append(database)
    if database.ok:
        checks.append(_check_index(settings.database))
    else:
        checks.append(Check("index", False, "not checked: the database failed"))
    if settings.telegram_token is None:
        checks.append(Check("telegram", True, "no LIVEBLOG_TELEGRAM_TOKEN: nothing to ask"))
        return checks
    token = settings.telegram_token.get_secret_value()
    own_client = client is None
    http = client or httpx.Client(timeout=TELEGRAM_TIMEOUT)
    try:
        call = _bot_api(http, f"{settings.telegram_api_url}/bot{token}", token)
        checks.append(_check_get_me(call))
        if checks[-1].ok:
            checks.append(_check_webhook(call, settings.telegram_webhook_url))
        else:
            checks.append(Check("webhook", False, "not checked: getMe failed"))
    finally:
        if own_client:
            http.close()
    return checks


def _check_database(database: Path) -> Check:
    try:
        with closing(_open_readonly(database)) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            posts = count_posts_in(conn)
    except OperationError as exc:
        return Check("database", False, str(exc))
    if version < SCHEMA_VERSION:
        return Check(
            "database",
            False,
            f"schema {version}, this liveblog-bot needs {SCHEMA_VERSION}: "
            "`liveblog-bot run` migrates it",
        )
    if version > SCHEMA_VERSION:
        return Check(
            "database",
            False,
            f"schema {version} was written by a newer liveblog-bot (this one knows "
            f"{SCHEMA_VERSION})",
        )
    return Check("database", True, f"{database}: schema {version} (current), {posts} posts")


def _check_index(database: Path) -> Check:
    """Open the index as the bot does at start, and compare its size with the store's.

    As the database's owner (the service's user, the container's user) this loads the saved
    index when it is current, in seconds even for a large archive, verifying every file's
    checksum (a damaged one is rebuilt and saved, and the check fails saying so). Anyone else
    (root checking a service's database) builds it in memory only, and verifies the saved
    files without writing: a saved index it wrote would belong to a user the service cannot
    overwrite it as.
    """
    from retrieval.index import BM25Index, IndexDamagedError, IndexLoadError
    from retrieval.library import Library  # its imports (numpy, the index) only when needed
    from retrieval.storage.store import StoreError

    try:
        own = database.stat().st_uid == os.geteuid()
        library = Library(database, persist_index=own)
    except (StoreError, OSError) as exc:
        return Check("index", False, str(exc))
    try:
        documents = library.index.stats().documents
        posts = library.store.count_posts()
        damage = library.index_damage
    finally:
        library.close()
    if not own:
        try:
            BM25Index.load(database.with_name(database.name + ".index"))
        except IndexDamagedError as exc:
            damage = str(exc)
        except IndexLoadError:
            pass  # none saved, or stale: the bot rebuilds it, nothing is damaged
    if damage:
        rebuilt = "rebuilt from the store" if own else "the bot rebuilds it at start"
        return Check("index", False, f"the saved index was damaged ({damage}); {rebuilt}")
    if documents != posts:
        return Check("index", False, f"{documents} documents for {posts} posts in the store")
    return Check("index", True, f"{documents} documents = {posts} posts")


BotApiCall = Callable[[str], dict[str, Any]]


def _bot_api(http: httpx.Client, base: str, token: str) -> BotApiCall:
    """A Bot API caller whose every error message has the token taken out."""

    def call(method: str) -> dict[str, Any]:
        try:
            response = http.post(f"{base}/{method}")
        except httpx.HTTPError as exc:
            raise OperationError(
                _redact(f"{method}: cannot reach the Bot API ({type(exc).__name__}: {exc})", token)
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("ok"):
            description = body.get("description", "") if isinstance(body, dict) else ""
            raise OperationError(
                _redact(f"{method}: HTTP {response.status_code} {description}".rstrip(), token)
            )
        result = body.get("result")
        return result if isinstance(result, dict) else {}

    return call


def _redact(text: str, token: str) -> str:
    return text.replace(token, "<token>")


def _check_get_me(call: BotApiCall) -> Check:
    try:
        me = call("getMe")
    except OperationError as exc:
        return Check("telegram", False, f"{exc}{what_to_do(str(exc))}")
    return Check("telegram", True, f"@{me.get('username', '?')} answers getMe with this token")


def what_to_do(problem: str) -> str:
    """The advice that goes with a failed Bot API call (the same for `check` and `run`)."""
    if "HTTP 401" in problem or "HTTP 404" in problem:
        return (
            " — the token is wrong or was revoked: get the current one from @BotFather "
            "(/token) and set LIVEBLOG_TELEGRAM_TOKEN"
        )
    if "cannot reach" in problem:
        return " — check LIVEBLOG_TELEGRAM_API_URL and this machine's network, then start again"
    return ""


def telegram_username(settings: Settings, *, client: httpx.Client | None = None) -> str:
    """The bot's @username from getMe, before `run` starts the bot.

    Raises `OperationError` with `check`'s one line (token taken out) and what to do, so a wrong
    token or an unreachable Bot API ends the start in one line instead of a traceback.
    """
    if settings.telegram_token is None:
        raise OperationError("LIVEBLOG_TELEGRAM_TOKEN is not set")
    token = settings.telegram_token.get_secret_value()
    http = client or httpx.Client(timeout=TELEGRAM_TIMEOUT)
    try:
        check = _check_get_me(_bot_api(http, f"{settings.telegram_api_url}/bot{token}", token))
    finally:
        if client is None:
            http.close()
    if not check.ok:
        raise OperationError(f"telegram: {check.detail}")
    return check.detail.split()[0].lstrip("@")


def _check_webhook(call: BotApiCall, configured: str | None) -> Check:
    """The webhook Telegram has must be ours in webhook mode, and absent in polling mode."""
    try:
        info = call("getWebhookInfo")
    except OperationError as exc:
        return Check("webhook", False, str(exc))
    current = str(info.get("url") or "")
    pending = info.get("pending_update_count", 0)
    if configured is None:
        if current:
            return Check(
                "webhook",
                False,
                f"Telegram delivers to {current}, but LIVEBLOG_TELEGRAM_WEBHOOK_URL is unset "
                "(polling mode)",
            )
        return Check("webhook", True, "none set (polling mode)")
    if current != configured:
        return Check(
            "webhook",
            False,
            f"Telegram has {current or 'no webhook'}, LIVEBLOG_TELEGRAM_WEBHOOK_URL is "
            f"{configured}",
        )
    last_error = info.get("last_error_message")
    suffix = f"; last delivery error: {last_error}" if last_error else ""
    return Check("webhook", True, f"{current}, {pending} updates pending{suffix}")
