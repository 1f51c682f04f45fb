"""The getUpdates request that notices a revoked token, on a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from telegram.error import InvalidToken

from bot.telegram.polling import WatchedRequest, revoked_error


class _Unauthorized(BaseHTTPRequestHandler):
    """Answers every Bot API call like Telegram does for a revoked token."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bot123:abc"
    server.shutdown()
    server.server_close()


def test_a_401_from_get_updates_stops_the_bot_once_without_an_exception(api: str) -> None:
    request = WatchedRequest()
    stops: list[int] = []
    request.on_revoked = lambda: stops.append(1)

    async def poll_twice() -> list[object]:
        await request.initialize()
        try:
            return [await request.post(f"{api}/getUpdates") for _ in range(2)]
        finally:
            await request.shutdown()

    assert asyncio.run(poll_twice()) == [[], []]  # an empty batch: no traceback from PTB's loop
    assert request.revoked and stops == [1]  # stopping twice would cut the shutdown short


def test_other_methods_keep_telegrams_answer(api: str) -> None:
    request = WatchedRequest()

    async def send() -> object:
        await request.initialize()
        try:
            return await request.post(f"{api}/sendMessage")
        finally:
            await request.shutdown()

    with pytest.raises(InvalidToken):
        asyncio.run(send())
    assert not request.revoked


def test_the_line_says_what_to_do() -> None:
    assert str(revoked_error()) == (
        "telegram: getUpdates: HTTP 401 Unauthorized — the token is wrong or was revoked: get "
        "the current one from @BotFather (/token) and set LIVEBLOG_TELEGRAM_TOKEN"
    )
