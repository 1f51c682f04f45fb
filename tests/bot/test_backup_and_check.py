"""`liveblog-bot backup` and `liveblog-bot check`, run as an operator runs them: the console
script in its own process, configured only through LIVEBLOG_ variables."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from bot.operations import Check, run_checks
from bot.settings import Settings
from retrieval.importing import parse_content
from retrieval.index import BM25Index
from retrieval.library import Library
from retrieval.storage.store import SCHEMA_VERSION
from tests.e2e.emulator import BOT_USERNAME, Emulator, new_bot_token

CLI = Path(sys.executable).with_name("liveblog-bot")
QUESTIONS = ["What did NATO say about fighting vehicles?", "who won the world cup"]
BATCH = 5  # posts per import of the writer; each import is one transaction


def liveblog(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the console script with only the given LIVEBLOG_ settings (cwd has no .env)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
    return subprocess.run(
        [str(CLI), *args],
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def batch(n: int) -> bytes:
    """A JSON Lines import of BATCH new posts about nothing the questions ask."""
    lines = [
        json.dumps(
            {
                "id": f"writer-{n}-{i}",
                "title": f"Harbour bulletin {n}.{i}",
                "body": f"Ferry timetable number {n} item {i} for the harbour pier.",
                "published": "2023-05-03T08:00:00+00:00",
                "source": "Harbour Gazette",
                "coverage": "Harbour bulletins",
            }
        )
        for i in range(BATCH)
    ]
    return ("\n".join(lines) + "\n").encode()


class Writer(threading.Thread):
    """Imports batches into the live database in a loop, as the bot's imports would."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.batches = 0
        self.error: BaseException | None = None
        self.halt = threading.Event()
        self.first = threading.Event()

    def run(self) -> None:
        library = Library(self.database)
        try:
            while not self.halt.is_set():
                library.ingest_all(parse_content(batch(self.batches), origin="writer"))
                self.batches += 1
                self.first.set()
        except BaseException as exc:  # surfaced by the test
            self.error = exc
            self.first.set()
        finally:
            library.close()


def integrity(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]


def post_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])


def answers(cwd: Path, *databases: Path) -> list[list[dict[str, object]]]:
    """`ask --json` of every question against each database (all processes at once)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
    running = [
        [
            subprocess.Popen(
                [str(CLI), "ask", "--json", question],
                env={**base, "LIVEBLOG_DATABASE": str(database)},
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for question in QUESTIONS
        ]
        for database in databases
    ]
    results = []
    for processes in running:
        results.append([])
        for process in processes:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            results[-1].append(json.loads(out))
    return results


# -- backup ------------------------------------------------------------------------------------


def test_a_backup_taken_while_imports_run_is_consistent_and_restores_the_same_answers(
    library: Library, db_path: Path, tmp_path: Path
) -> None:
    env = {"LIVEBLOG_DATABASE": str(db_path)}
    sample_posts = library.store.count_posts()
    copy = tmp_path / "backups" / "liveblog.db"
    copy.parent.mkdir()
    writer = Writer(db_path)
    writer.start()
    try:
        assert writer.first.wait(30) and writer.error is None, writer.error
        before = writer.batches
        taken = liveblog(tmp_path, "backup", str(copy), env=env)
        during = writer.batches - before
    finally:
        writer.halt.set()
        writer.join(30)
    assert writer.error is None, writer.error
    assert taken.returncode == 0, taken.stderr
    assert during > 0  # the writer committed imports while the backup process ran
    assert integrity(copy) == ["ok"]
    copied = post_count(copy)
    assert copied >= sample_posts + BATCH
    assert (copied - sample_posts) % BATCH == 0  # whole imports only: one commit's snapshot
    assert f"backed up {copied} posts to {copy}" in taken.stdout

    # Quiet now: a second backup over the first needs --force, then equals the live database.
    refused = liveblog(tmp_path, "backup", str(copy), env=env)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"liveblog-bot: {copy} exists; add --force to overwrite it"
    ]
    assert liveblog(tmp_path, "backup", str(copy), "--force", env=env).returncode == 0
    assert integrity(copy) == ["ok"]
    assert post_count(copy) == post_count(db_path)

    # Restore as deploy/README.md says, over a location where another database lived (its
    # bot stopped): remove its -wal, -shm and saved index, put the copy in place, start.
    restored = tmp_path / "restored" / "liveblog.db"
    older = Library(restored)
    older.ingest_all(parse_content(batch(999), origin="older"))
    older.close()
    assert Path(f"{restored}.index").is_dir()
    for stale in (Path(f"{restored}-wal"), Path(f"{restored}-shm")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(f"{restored}.index")
    shutil.copyfile(copy, restored)
    live_answers, restored_answers = answers(tmp_path, db_path, restored)
    assert live_answers[0]["results"], "the NATO question must have hits to compare"
    assert restored_answers == live_answers


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing-folder/copy.db", "the folder {tmp}/missing-folder does not exist"),
        (".", "{tmp} is a directory; give a file name"),
        ("/sys/liveblog-backup.db", "cannot write /sys/liveblog-backup.db: "),
    ],
    ids=["missing-folder", "a-directory", "unwritable"],
)
def test_a_backup_to_a_bad_path_is_one_line_and_exit_2(
    library: Library, db_path: Path, tmp_path: Path, target: str, message: str
) -> None:
    path = target if target.startswith("/") else str(tmp_path / target)
    done = liveblog(tmp_path, "backup", path, env={"LIVEBLOG_DATABASE": str(db_path)})
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    resolved = str(tmp_path / ".") if target == "." else str(tmp_path)
    assert line.startswith("liveblog-bot: " + message.format(tmp=resolved).rstrip(".")), line
    assert done.stdout == ""
    assert not list(tmp_path.glob(".*partial*"))


def test_a_backup_of_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    done = liveblog(
        tmp_path, "backup", str(tmp_path / "copy.db"), env={"LIVEBLOG_DATABASE": str(missing)}
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip() == f"liveblog-bot: no database at {missing} (check LIVEBLOG_DATABASE)"
    )
    assert not missing.exists()
    assert not (tmp_path / "copy.db").exists()


# -- check -------------------------------------------------------------------------------------
# The console script where its output and exit code are the point; `run_checks` in-process
# for the rest (same code, a second less each).


@pytest.fixture(scope="module")
def api() -> Iterator[Emulator]:
    """A Bot API for getMe / getWebhookInfo: the end-to-end emulator."""
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Settings from keyword arguments only: no LIVEBLOG_ variable or .env of this machine."""
    for name in list(os.environ):
        if name.startswith("LIVEBLOG_"):
            monkeypatch.delenv(name)

    def make(**values: object) -> Settings:
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


def lines(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """check's output as {check name: "ok …" / "FAIL …"}."""
    out = {}
    for line in done.stdout.splitlines():
        verdict, rest = line.split(maxsplit=1)
        name, detail = rest.split(": ", 1)
        out[name] = f"{verdict} {detail}"
    return out


def verdicts(checks: list[Check]) -> dict[str, str]:
    return {c.name: f"{'ok' if c.ok else 'FAIL'} {c.detail}" for c in checks}


def test_check_passes_on_a_current_database_without_a_token(
    library: Library, db_path: Path, tmp_path: Path
) -> None:
    done = liveblog(tmp_path, "check", env={"LIVEBLOG_DATABASE": str(db_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    got = lines(done)
    assert list(got) == ["settings", "database", "index", "telegram"]
    assert got["database"] == f"ok {db_path}: schema {SCHEMA_VERSION} (current), 19 posts"
    assert got["index"] == "ok 19 documents = 19 posts"
    assert got["telegram"].startswith("ok no LIVEBLOG_TELEGRAM_TOKEN")


def test_check_fails_on_a_missing_database_and_does_not_create_it(tmp_path: Path) -> None:
    missing = tmp_path / "data" / "liveblog.db"
    done = liveblog(tmp_path, "check", env={"LIVEBLOG_DATABASE": str(missing)})
    assert done.returncode == 1
    got = lines(done)
    assert got["database"].startswith("FAIL no database at")
    assert got["index"] == "FAIL not checked: the database failed"
    assert not missing.exists() and not missing.parent.exists()


@pytest.mark.parametrize(
    ("version", "says"),
    [
        (0, f"FAIL schema 0, this liveblog-bot needs {SCHEMA_VERSION}"),
        (99, "FAIL schema 99 was written by a newer"),
    ],
)
def test_check_fails_on_a_schema_that_is_not_current_and_leaves_it_alone(
    library: Library, db_path: Path, settings: Callable[..., Settings], version: int, says: str
) -> None:
    library.store.db.execute(f"PRAGMA user_version = {version}")
    got = verdicts(run_checks(settings(database=db_path)))
    assert got["database"].startswith(says), got["database"]
    assert got["index"] == "FAIL not checked: the database failed"
    assert library.store.db.execute("PRAGMA user_version").fetchone()[0] == version


def test_check_fails_when_the_index_disagrees_with_the_store(
    library: Library,
    db_path: Path,
    settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build = BM25Index.build.__func__  # type: ignore[attr-defined]

    def lossy(cls: type[BM25Index], docs: Iterable[object], **kwargs: object) -> BM25Index:
        return build(cls, list(docs)[:-1], **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(BM25Index, "build", classmethod(lossy))
    shutil.rmtree(f"{db_path}.index", ignore_errors=True)  # no saved index: build it
    got = verdicts(run_checks(settings(database=db_path)))
    assert got["index"] == "FAIL 18 documents for 19 posts in the store"


def test_check_fails_on_a_damaged_saved_index_and_the_next_one_passes(
    library: Library, db_path: Path, settings: Callable[..., Settings]
) -> None:
    library.close()
    index_dir = Path(f"{db_path}.index")
    docs = index_dir / json.loads((index_dir / "manifest.json").read_text())["generation"]
    data = bytearray((docs / "docs.npy").read_bytes())
    data[-1] ^= 0x01  # one changed byte, same length
    (docs / "docs.npy").write_bytes(bytes(data))
    got = verdicts(run_checks(settings(database=db_path)))
    assert got["index"].startswith("FAIL the saved index was damaged (")
    assert "docs.npy fails its checksum" in got["index"]
    assert got["index"].endswith("rebuilt from the store")
    assert verdicts(run_checks(settings(database=db_path)))["index"] == "ok 19 documents = 19 posts"


def test_check_asks_telegram_with_the_token_and_never_shows_it(
    library: Library, db_path: Path, tmp_path: Path, api: Emulator
) -> None:
    token = new_bot_token()
    env = {
        "LIVEBLOG_DATABASE": str(db_path),
        "LIVEBLOG_TELEGRAM_TOKEN": token,
        "LIVEBLOG_TELEGRAM_API_URL": api.url,
    }
    done = liveblog(tmp_path, "check", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    got = lines(done)
    assert got["telegram"] == f"ok @{BOT_USERNAME} answers getMe with this token"
    assert got["webhook"] == "ok none set (polling mode)"
    assert [c["method"] for c in api.calls(token)] == ["getMe", "getWebhookInfo"]
    assert token.split(":")[1] not in done.stdout + done.stderr


def test_check_fails_when_the_webhook_does_not_match_the_mode(
    library: Library, db_path: Path, settings: Callable[..., Settings], api: Emulator
) -> None:
    token = new_bot_token()
    hook = "https://bot.example.org/telegram"
    api.post(f"/bot{token}/setWebhook", {"url": hook})
    polling = {"database": db_path, "telegram_token": token, "telegram_api_url": api.url}
    assert verdicts(run_checks(settings(**polling)))["webhook"] == (
        f"FAIL Telegram delivers to {hook}, but LIVEBLOG_TELEGRAM_WEBHOOK_URL is unset "
        "(polling mode)"
    )
    webhook = {**polling, "telegram_webhook_url": hook, "telegram_webhook_secret": "s3cret"}
    assert verdicts(run_checks(settings(**webhook)))["webhook"].startswith(f"ok {hook}")
    moved = {**webhook, "telegram_webhook_url": "https://other.example.org/telegram"}
    assert verdicts(run_checks(settings(**moved)))["webhook"].startswith(
        f"FAIL Telegram has {hook}"
    )
    api.post(f"/bot{token}/deleteWebhook")
    assert verdicts(run_checks(settings(**webhook)))["webhook"].startswith(
        "FAIL Telegram has no webhook"
    )


@pytest.mark.parametrize("failure", ["unreachable", "refused"])
def test_check_fails_when_the_bot_api_does_not_answer_getme(
    library: Library,
    db_path: Path,
    settings: Callable[..., Settings],
    api: Emulator,
    failure: str,
) -> None:
    token = new_bot_token()
    url = api.url
    if failure == "unreachable":
        with socket.socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    else:
        api.flood("getMe", token=token, retry_after=7)
    checks = run_checks(settings(database=db_path, telegram_token=token, telegram_api_url=url))
    got = verdicts(checks)
    expected = "cannot reach the Bot API" if failure == "unreachable" else "HTTP 429"
    assert got["telegram"].startswith(f"FAIL getMe: {expected}"), got["telegram"]
    assert got["webhook"] == "FAIL not checked: getMe failed"
    assert not any(token.split(":")[1] in c.line() for c in checks)


def test_check_with_an_invalid_setting_names_it_and_exits_2(tmp_path: Path) -> None:
    done = liveblog(
        tmp_path, "check", env={"LIVEBLOG_TELEGRAM_WEBHOOK_URL": "http://bot.example.org/hook"}
    )
    assert done.returncode == 2
    assert done.stderr.startswith("liveblog-bot: LIVEBLOG_TELEGRAM_WEBHOOK_URL: must be an https")
    assert done.stdout == ""
