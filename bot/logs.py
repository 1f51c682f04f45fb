"""Logging for operators: readable lines or JSON objects, and never the bot token.

httpx logs every request URL, and Bot API URLs contain the token (`/bot<token>/getUpdates`),
so a filter on the root handlers rewrites the token out of every record, at every level.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# Any Bot API token shape, even one not configured here (e.g. from a stale environment).
_TOKEN_SHAPE = re.compile(r"\d{3,12}:[A-Za-z0-9_-]{20,}")


class RedactToken(logging.Filter):
    """Replace the token (and anything shaped like one) in a record's final message."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def redact(self, text: str) -> str:
        if self.token:
            text = text.replace(self.token, "<token>")
        return _TOKEN_SHAPE.sub("<token>", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text or record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False)


def announce(message: str, fmt: str) -> None:
    """One line an operator always sees, whatever the log level: in text format the line
    itself, in JSON format one object like the log lines (a log shipper reads it too)."""
    if fmt == "json":
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "liveblog_bot",
            "message": message,
        }
        line = json.dumps(entry, ensure_ascii=False)
    else:
        line = message
    print(line, file=sys.stderr, flush=True)


def redact(text: str, token: str | None) -> str:
    """`text` with the token (and anything shaped like one) taken out."""
    return RedactToken(token).redact(text)


def configure_logging(level: str, fmt: str, token: str | None) -> None:
    """Send logs to stderr in the chosen format, with the token redacted everywhere."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactToken(token))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx announces every request at INFO; keep it for DEBUG runs only.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    # numba narrates its compiler passes at DEBUG from the background warm-up thread, which
    # may still be compiling while the bot prints its last line; they are never ours to read.
    logging.getLogger("numba").setLevel(logging.WARNING)
