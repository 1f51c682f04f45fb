"""Long polling that notices a revoked token, so the bot stops instead of staying deaf.

python-telegram-bot ends its polling loop on a 401 from getUpdates but leaves the Application
running: no updates arrive and nothing tells the operator. `WatchedRequest` is the
getUpdates request: on a 401 it asks the Application to stop and answers an empty batch (no
traceback from the polling loop); `run_bot` then ends with `check`'s one line, exit 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from telegram.request import HTTPXRequest

from bot.operations import what_to_do
from bot.settings import ConfigError

log = logging.getLogger(__name__)

_EMPTY_BATCH = b'{"ok": true, "result": []}'
REVOKED = "telegram: getUpdates: HTTP 401 Unauthorized"


class WatchedRequest(HTTPXRequest):
    """The getUpdates request: a 401 stops the Application (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.revoked = False
        self.on_revoked: Callable[[], None] = lambda: None

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        """One getUpdates call; a 401 flags the token as revoked and stops the bot."""
        code, payload = await super().do_request(url, method, *args, **kwargs)
        if code == HTTPStatus.UNAUTHORIZED and url.endswith("/getUpdates"):
            if not self.revoked:  # once: stopping again would cut the shutdown short
                log.error("%s: the bot stops", REVOKED)
                self.revoked = True
                self.on_revoked()
            return HTTPStatus.OK, _EMPTY_BATCH
        return code, payload


def revoked_error() -> ConfigError:
    """The one line `run` ends with when Telegram revoked the token while it ran."""
    return ConfigError(f"{REVOKED}{what_to_do('HTTP 401')}")
