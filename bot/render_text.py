"""`Reply` → terminal text (rich markup when the terminal shows colour, plain text otherwise)."""

from __future__ import annotations

from rich.text import Text

from bot.reply import Reply, Span

_STYLES = {"plain": "", "bold": "bold", "mark": "bold yellow", "italic": "italic", "code": "cyan"}


def render(reply: Reply) -> Text:
    """The reply as rich Text: one paragraph per block, links spelled out after their text."""
    out = Text()
    for n, block in enumerate(reply.blocks):
        if n:
            out.append("\n" if block.joined else "\n\n")
        for span in block.spans:
            out.append(span.text, style=_style(span))
            if span.link and span.link != span.text:
                out.append(f" <{span.link}>", style="dim")
    if reply.buttons:
        out.append("\n\n")
        out.append("   ".join(f"[{b.label}] {b.cursor}" for b in reply.buttons), style="dim")
    return out


def _style(span: Span) -> str:
    style = _STYLES[span.style]
    return f"{style} link {span.link}".strip() if span.link else style
