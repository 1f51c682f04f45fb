"""`Reply` → terminal text (rich markup when the terminal shows colour, plain text otherwise)."""

from __future__ import annotations

from rich.text import Text

from bot.core.reply import Reply, Span

_STYLES = {"plain": "", "bold": "bold", "mark": "bold yellow", "italic": "italic", "code": "cyan"}


BUTTON_COMMANDS = {"◀": "/prev", "▶": "/next"}


def render(reply: Reply, *, buttons: bool = False) -> Text:
    """The reply as rich Text: one paragraph per block, links spelled out after their text.

    With `buttons`, page buttons are shown as the chat commands that press them.
    """
    out = Text()
    for n, block in enumerate(reply.blocks):
        if n:
            out.append("\n" if block.joined else "\n\n")
        for span in block.spans:
            out.append(span.text, style=_style(span))
            if span.link and span.link != span.text:
                out.append(f" <{span.link}>", style="dim")
    if buttons and reply.buttons:
        out.append("\n\n")
        labels = [f"{b.label} {BUTTON_COMMANDS.get(b.label, '')}".strip() for b in reply.buttons]
        out.append("   ".join(labels), style="dim")
    return out


def _style(span: Span) -> str:
    style = _STYLES[span.style]
    return f"{style} link {span.link}".strip() if span.link else style
