"""The bot under test as its own process: the same `liveblog-bot run` a user starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from tests.e2e.emulator import Emulator

CONSOLE_SCRIPT = Path(sys.executable).with_name("liveblog-bot")


class BotProcess:
    """Starts `liveblog-bot run` against the emulator and stops it with SIGTERM.

    stderr goes to a file so a chatty DEBUG run can never block on a full pipe, and the
    test can read every log line afterwards.
    """

    def __init__(
        self, emulator: Emulator, token: str, database: Path, env: dict[str, str] | None = None
    ) -> None:
        self.emulator = emulator
        self.token = token
        self.database = database
        self.extra_env = env or {}
        self.process: subprocess.Popen[str] | None = None
        self._log: IO[str] = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            "w+", suffix=".log", delete=False
        )
        self.returncode: int | None = None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
        env.update(self.emulator.bot_env(self.token))
        env["LIVEBLOG_DATABASE"] = str(self.database)
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 30.0) -> BotProcess:
        """Start and wait until the bot registered its commands (it is then polling)."""
        self.process = subprocess.Popen(
            [str(CONSOLE_SCRIPT), "run"],
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while not self.emulator.calls(self.token, "setMyCommands"):
            if self.process.poll() is not None:
                raise AssertionError(f"the bot exited at start:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot did not start in {timeout:g} s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, as systemd or Ctrl-C would; return the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"the bot ignored SIGTERM for {timeout:g} s") from None
        self.returncode = self.process.returncode
        return self.returncode

    def log(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        self.stop()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)
