"""The command core end to end on each surface: Telegram (the bot process on the emulator) and
the terminal chat (the `liveblog-bot chat` process on a pipe), plus another process's imports."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.bot_process import CONSOLE_SCRIPT, BotProcess
from tests.e2e.emulator import BOT_USERNAME, Emulator, TelegramChat, TelegramUser

NEW_POST = {
    "title": "Zaporizhzhia reactor switched to diesel generators",
    "body": "The Zaporizhzhia nuclear plant lost its last power line and runs on diesel "
    "generators, the IAEA said.",
    "published": "2023-05-02T18:30:00+00:00",
    "source": "Kyiv Desk",
    "coverage": "Nuclear safety",
    "url": "https://example.org/live#zaporizhzhia-diesel",
}
QUESTION = "Is the Zaporizhzhia reactor on diesel generators?"


def import_elsewhere(database: Path, tmp_path: Path) -> None:
    """`liveblog-bot import` as another process, on the same database file."""
    archive = tmp_path / "new.jsonl"
    archive.write_text(json.dumps(NEW_POST) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
    env["LIVEBLOG_DATABASE"] = str(database)
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "import", str(archive)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout


def test_timeline_works_in_a_private_chat_and_in_a_group(
    start_bot: Callable[..., BotProcess],
    tg_user: Callable[..., TelegramUser],
    tg_group: Callable[..., TelegramChat],
) -> None:
    start_bot()
    alice = tg_user()
    alice.send_command("/timeline counteroffensive")
    (reply,) = alice.wait_for_replies(1, timeout=15)
    assert "Timeline of “counteroffensive”" in reply.text
    assert "oldest first" in reply.text and "2 May 2023" in reply.text

    group = tg_group(title="Desk", supergroup=True)
    bob = group.member(first_name="Bob")
    bob.send_command(f"/timeline@{BOT_USERNAME} Wagner")
    (in_group,) = group.wait_for_replies(1, timeout=15)
    assert "Timeline of “Wagner”" in in_group.text
    bob.send_command(f"/help@{BOT_USERNAME}")
    (help_text,) = group.wait_for_replies(1, timeout=15)
    assert f"/timeline@{BOT_USERNAME} WORDS" in help_text.text


def test_a_running_bot_answers_about_a_post_another_process_imported(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser], tmp_path: Path
) -> None:
    database = tmp_path / "shared.db"
    start_bot(database=database)
    alice = tg_user()
    alice.send_command("/follow Zaporizhzhia diesel")
    (followed,) = alice.wait_for_replies(1, timeout=15)
    assert "Following" in followed.text

    import_elsewhere(database, tmp_path)
    imported_at = time.monotonic()
    (alert,) = alice.wait_for_replies(1, timeout=5)  # the alert for the follow
    assert "Zaporizhzhia reactor switched to diesel generators" in alert.text
    alice.send_message(QUESTION)
    (answer,) = alice.wait_for_replies(1, timeout=5)
    assert "Zaporizhzhia reactor switched to diesel generators" in answer.text
    assert time.monotonic() - imported_at < 10


class TerminalSession:
    """`liveblog-bot chat` with its input on a pipe, its output collected as it comes."""

    def __init__(self, database: Path, env: dict[str, str] | None = None) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
        environment.update({"LIVEBLOG_DATABASE": str(database), "COLUMNS": "200"})
        environment.update(env or {})
        self.process = subprocess.Popen(
            [str(CONSOLE_SCRIPT), "chat"],
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.output = ""
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read(1):
            with self._lock:
                self.output += chunk

    def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if text in self.output:
                    return self.output
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared in:\n{self.output}")

    def close(self) -> int:
        if self.process.poll() is None:
            self.say("/quit")
            try:
                self.process.wait(30)  # saving the index may compile its merge first
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def test_the_terminal_chat_runs_what_its_help_lists(tmp_path: Path) -> None:
    database = tmp_path / "terminal.db"
    session = TerminalSession(database)
    try:
        session.wait_for("Type a question")
        import_elsewhere(database, tmp_path)
        session.say("/help")
        session.wait_for("/quit — leave")
        session.say("/timezone Kyiv")
        session.wait_for("Did you mean Europe/Kyiv?")
        session.say("/timezone Europe/Kyiv")
        session.wait_for("Times are now shown in Europe/Kyiv")
        session.say("/timeline Zaporizhzhia")
        session.wait_for("Timeline of “Zaporizhzhia”")
        session.wait_for("21:30 · Zaporizhzhia reactor")  # 18:30 UTC in Kyiv's summer time
        session.say("/follow Kherson dam")
        session.wait_for("Following Kherson dam")
        session.say("/following")
        session.wait_for("1. Kherson dam")
        session.say("/subscribe 08:00")
        session.wait_for("Daily digests are delivered to Telegram chats")
        session.say("/digest")
        session.wait_for("posts since")
    finally:
        assert session.close() == 0
    again = TerminalSession(database)  # the terminal's state is remembered
    try:
        again.say("/timezone")
        again.wait_for("Times are shown in Europe/Kyiv")
    finally:
        again.close()


def test_the_terminal_chat_prints_alerts_for_what_it_follows(tmp_path: Path) -> None:
    database = tmp_path / "terminal.db"
    session = TerminalSession(database)
    try:
        session.wait_for("Type a question")
        session.say("/follow Zaporizhzhia diesel")
        session.wait_for("Following Zaporizhzhia diesel")
        import_elsewhere(database, tmp_path)
        session.wait_for("New post for what you follow", timeout=10)
        session.wait_for("Zaporizhzhia reactor switched to diesel generators")
    finally:
        assert session.close() == 0


def test_one_flood_guard_covers_every_command_and_inline_has_its_own_budget(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser]
) -> None:
    start_bot(env={"LIVEBLOG_FLOOD_LIMIT": "3"})
    alice = tg_user()
    for _ in range(6):  # typing "@bot Tin…" sends a query per keystroke: within its own budget
        assert alice.inline_query("Tinder")["results"]
    for command in ("/start", "/timezone Europe/Kyiv", "/timeline Wagner"):
        alice.send_command(command)
    assert len(alice.wait_for_replies(3, timeout=15)) == 3  # inline did not use them up
    alice.send_command("/start")
    alice.send_command("/following")
    (slow,) = alice.wait_for_replies(1, timeout=10)
    assert "slow down" in slow.text
    alice.chat.assert_no_reply(within=1.5)  # one warning per flood, and no work done


def test_a_user_whose_chat_is_rate_limited_never_slows_another(
    start_bot: Callable[..., BotProcess], tg_user: Callable[..., TelegramUser], emulator: Emulator
) -> None:
    bot = start_bot()
    alice, bob = tg_user(), tg_user()
    emulator.flood("sendMessage", token=bot.token, retry_after=4, times=1)  # hits Alice's answer
    alice.send_message("Is Tinder leaving Russia?")
    deadline = time.monotonic() + 10
    while not any(c["status"] == 429 for c in emulator.calls(bot.token, "sendMessage")):
        assert time.monotonic() < deadline, "Alice's answer was never attempted"
        time.sleep(0.05)
    asked = time.monotonic()
    bob.send_message("What did NATO say about fighting vehicles?")
    (answer,) = bob.wait_for_replies(1, timeout=10)
    assert "98% of the" in answer.text
    assert time.monotonic() - asked < 2.0  # Alice's chat waits out its 4 s; Bob's does not
    (late,) = alice.wait_for_replies(1, timeout=10)
    assert "Tinder" in late.text
