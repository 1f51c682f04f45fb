"""The terminal chat: the bot's commands and plain questions, answered in the terminal."""

from __future__ import annotations

from rich.console import Console

from bot.core.answers import Answers, ChatPrefs
from bot.core.reply import Button
from bot.terminal.render import BUTTON_COMMANDS, render

PROMPT = "you › "


def chat(answers: Answers, prefs: ChatPrefs, console: Console | None = None) -> None:
    """Read questions until end of input (Ctrl-D) or Ctrl-C; answer each one."""
    console = console or Console(highlight=False)
    console.print(render(answers.start(prefs)))
    console.print("[dim]Type a question or a command (/help); Ctrl-D to leave.[/dim]")
    buttons: tuple[Button, ...] = ()
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
        pressed = _pressed(line.strip(), buttons)
        reply = answers.page(pressed.cursor, prefs) if pressed else answers.handle(line, prefs)
        buttons = reply.buttons or buttons
        console.print(render(reply, buttons=True))
        console.print()


def _pressed(line: str, buttons: tuple[Button, ...]) -> Button | None:
    """The page button that /next or /prev refers to, if the last list had one."""
    return next((b for b in buttons if BUTTON_COMMANDS.get(b.label) == line), None)
