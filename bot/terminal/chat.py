"""The terminal chat: the bot's commands and plain questions, answered in the terminal.

It is a chat like any other to the core (`bot.core.chat.terminal_chat`: its own id, so its
timezone and follows are remembered in the database). While it waits for the next line it runs
the same freshness loop as the Telegram bot — polled sources, another process's imports — and
prints the alerts that the chat's follows earn.
"""

from __future__ import annotations

import asyncio
import select
import sys
import time
from typing import TextIO

from rich.console import Console

from bot.core.chat import terminal_chat
from bot.core.commands import find
from bot.core.dispatch import CommandCore
from bot.core.follows import Alert
from bot.core.freshness import POLL_EVERY_SECONDS, REFRESH_EVERY_SECONDS, Freshness
from bot.terminal.render import render

PROMPT = "you › "
LEAVE = {"/quit", "/exit"}


class TerminalChat:
    """Read lines, answer each; between lines keep coverage fresh and show alerts."""

    def __init__(
        self,
        core: CommandCore,
        console: Console | None = None,
        *,
        stdin: TextIO | None = None,
        freshness: Freshness | None = None,
    ) -> None:
        self.core = core
        self.console = console or Console(highlight=False)
        self.stdin = stdin or sys.stdin
        self.chat = terminal_chat()
        self.freshness = freshness or Freshness(
            core.library, core.follows, core.state.timezone, lambda chat_id: chat_id == self.chat.id
        )
        self._polled_at = 0.0
        self._refreshed_at = 0.0

    def run(self) -> None:
        """Until end of input (Ctrl-D), /quit or Ctrl-C."""
        self.console.print(render(asyncio.run(self.core.dispatch(self.chat, "start", ""))))
        self.console.print("[dim]Type a question or a command (/help); Ctrl-D to leave.[/dim]")
        while True:
            try:
                line = self._read_line()
            except KeyboardInterrupt:
                self.console.print()
                return
            if line is None:
                self.console.print()
                return
            text = line.strip()
            if not text:
                continue
            if text in LEAVE or (text.startswith("/") and _is_quit(text)):
                return
            reply = asyncio.run(self.core.handle(self.chat, text))
            self.console.print(render(reply, buttons=True))
            self.console.print()

    def _read_line(self) -> str | None:
        """The next line; while none is typed, keep coverage fresh (where stdin can wait)."""
        self.console.print(PROMPT, end="", markup=False, highlight=False)
        self.console.file.flush()
        while not _ready(self.stdin, REFRESH_EVERY_SECONDS):
            self._show(self._fresh_alerts())
        line = self.stdin.readline()
        if line:  # answer from what another process imported meanwhile (one read if nothing)
            self._show(self.freshness.refresh())
        return line if line else None

    def _fresh_alerts(self) -> list[Alert]:
        now = time.monotonic()
        alerts: list[Alert] = []
        if now - self._refreshed_at >= REFRESH_EVERY_SECONDS:
            self._refreshed_at = now
            alerts += self.freshness.refresh()
        if now - self._polled_at >= POLL_EVERY_SECONDS:
            self._polled_at = now
            alerts += asyncio.run(self.freshness.poll())
        return alerts

    def _show(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        self.console.print()
        for alert in alerts:
            self.console.print("[bold]New post for what you follow[/bold]")
            self.console.print(render(alert.reply))
            self.console.print()
        self.console.print(PROMPT, end="", markup=False, highlight=False)
        self.console.file.flush()


def chat(core: CommandCore, console: Console | None = None) -> None:
    """The terminal chat on standard input."""
    TerminalChat(core, console).run()


def _is_quit(text: str) -> bool:
    found = find(text[1:].split(maxsplit=1)[0]) if len(text) > 1 else None
    return found is not None and found.name == "quit"


def _ready(stream: TextIO, timeout: float) -> bool:
    """Whether a line can be read now; streams that cannot be waited on always are."""
    try:
        readable = select.select([stream], [], [], timeout)[0]
    except (OSError, ValueError, TypeError):  # no file descriptor (a StringIO, pytest capture)
        return True
    return bool(readable)
