"""Starting `liveblog-bot run` end to end: the first line names the mode; a wrong or revoked
token and an unreachable Bot API end in one line, exit 2, with the token nowhere."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.bot_process import CONSOLE_SCRIPT, BotProcess
from tests.e2e.emulator import BOT_USERNAME, Emulator, TelegramUser


def _run(
    env: dict[str, str], database: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`liveblog-bot run` with stdin closed (the terminal chat then ends at once)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
    full.update(env, LIVEBLOG_DATABASE=str(database))
    return subprocess.run(
        [str(CONSOLE_SCRIPT), "run"],
        env=full,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_first_line_says_the_terminal_chat_runs_because_no_token_is_set(
    tmp_path: Path,
) -> None:
    done = _run({}, tmp_path / "chat.db")
    assert done.returncode == 0, done.stderr
    first = done.stderr.splitlines()[0]
    assert first == "terminal chat: no LIVEBLOG_TELEGRAM_TOKEN set — see README"


def test_the_first_line_names_the_telegram_bot(
    start_bot: Callable[..., BotProcess],
) -> None:
    bot = start_bot()
    first = bot.log().splitlines()[0]
    assert first.startswith(f"Telegram bot @{BOT_USERNAME} (polling, http://127.0.0.1:")


def test_a_wrong_token_ends_in_one_line_without_the_token_and_exit_2(
    emulator: Emulator, bot_token: str, tmp_path: Path
) -> None:
    emulator.revoke(bot_token)  # Telegram answers 401 Unauthorized to everything
    for level, fmt in (("INFO", "text"), ("DEBUG", "json")):
        env = {**emulator.bot_env(bot_token), "LIVEBLOG_LOG_LEVEL": level}
        env["LIVEBLOG_LOG_FORMAT"] = fmt
        done = _run(env, tmp_path / f"{fmt}.db")
        assert done.returncode == 2
        output = done.stdout + done.stderr
        lines = output.splitlines()
        if level == "INFO":
            assert len(lines) == 1, output
        line = lines[-1]  # at DEBUG the requests were logged first (redacted)
        assert "Traceback" not in output
        assert line.startswith("liveblog-bot: telegram: getMe: HTTP 401 Unauthorized — ")
        assert "@BotFather" in line and "LIVEBLOG_TELEGRAM_TOKEN" in line
        assert bot_token.split(":")[1] not in output


def test_an_unreachable_bot_api_ends_in_one_line_and_exit_2(bot_token: str, tmp_path: Path) -> None:
    env = {"LIVEBLOG_TELEGRAM_TOKEN": bot_token, "LIVEBLOG_TELEGRAM_API_URL": "http://127.0.0.1:9"}
    done = _run(env, tmp_path / "down.db")
    assert done.returncode == 2
    (line,) = (done.stdout + done.stderr).splitlines()
    assert line.startswith("liveblog-bot: telegram: getMe: cannot reach the Bot API")
    assert line.endswith(
        "check LIVEBLOG_TELEGRAM_API_URL and this machine's network, then start again"
    )
    assert bot_token.split(":")[1] not in line


def test_a_token_revoked_while_running_stops_the_bot_with_one_line_and_exit_2(
    start_bot: Callable[..., BotProcess],
    tg_user: Callable[..., TelegramUser],
    emulator: Emulator,
) -> None:
    bot = start_bot(env={"LIVEBLOG_LOG_LEVEL": "DEBUG"})
    alice = tg_user()
    alice.send_command("/latest 1")
    alice.wait_for_replies(1, timeout=15)
    emulator.revoke(bot.token)
    assert bot.process is not None
    deadline = time.monotonic() + 30
    while bot.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bot.process.poll() == 2, "a bot whose token was revoked must stop, not stay deaf"
    log = bot.log()
    assert (
        log.rstrip()
        .splitlines()[-1]
        .startswith(
            "liveblog-bot: telegram: getUpdates: HTTP 401 Unauthorized — the token is wrong or "
            "was revoked"
        )
    )
    assert bot.token.split(":")[1] not in log
    assert "Traceback" not in log
