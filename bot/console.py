"""The terminal chat: the bot's commands and plain questions, answered in the terminal."""

from __future__ import annotations

from rich.console import Console

from bot.answers import Answers, ChatPrefs
from bot.render_text import render

PROMPT = "you › "


def chat(answers: Answers, prefs: ChatPrefs, console: Console | None = None) -> None:
    """Read questions until end of input (Ctrl-D) or Ctrl-C; answer each one."""
    console = console or Console(highlight=False)
    console.print(render(answers.start(prefs)))
    console.print("[dim]Type a question or a command (/help); Ctrl-D to leave.[/dim]")
    while True:
        try:
            line = console.input(PROMPT)
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if not line.strip():
            continue
        if line.strip() in {"/quit", "/exit"}:
            return
        reply = (
            answers.page(line.strip(), prefs)
            if line.startswith("s:")
            else answers.handle(line, prefs)
        )
        console.print(render(reply))
        console.print()
