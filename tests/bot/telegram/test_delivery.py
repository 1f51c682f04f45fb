"""The delivery policy of digests and alerts, against Bot API servers on 127.0.0.1 that fail
the way networks do: refused connections, answers that never come, refusals.

The claim is a real one (`AlertClaim` over the `alerts` table of a SQLite file), so each test
reads what the policy left in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.core.claims import AlertClaim
from bot.core.follows import Alert, Follows
from bot.core.reply import Block, Reply
from bot.telegram.delivery import deliver
from retrieval.library import Library

CHAT = 4242
TOKEN = "123:delivery-test"


class FakeTelegram(ThreadingHTTPServer):
    """Answers sendMessage as `behaviour` says: "ok", "slow" (never in time), 400 or 403."""

    daemon_threads = True

    def __init__(self, port: int = 0, behaviour: str = "ok") -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.behaviour = behaviour
        self.requests = 0

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    server: FakeTelegram

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests += 1
        behaviour = self.server.behaviour
        if behaviour == "slow":
            time.sleep(2)
        status, body = {
            "ok": (200, {"ok": True, "result": _message()}),
            "slow": (200, {"ok": True, "result": _message()}),
            "400": (400, {"ok": False, "error_code": 400, "description": "Bad Request: nope"}),
            "403": (
                403,
                {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                },
            ),
        }[behaviour]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the slow answer: nobody waits any more
            self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def _message() -> dict[str, Any]:
    return {"message_id": 1, "date": int(time.time()), "chat": {"id": CHAT, "type": "private"}}


def serve(server: FakeTelegram) -> FakeTelegram:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_for(port: int) -> Bot:
    request = HTTPXRequest(connect_timeout=0.5, read_timeout=0.5, write_timeout=0.5)
    return Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)


@pytest.fixture
def follows(library: Library) -> Follows:
    follows = Follows(library.store.db)
    follows.add(CHAT, "Wagner")
    return follows


@pytest.fixture
def claim(library: Library, follows: Follows) -> Iterator[AlertClaim]:
    post = library.store.latest(1)[0]
    assert follows.claim(CHAT, post.post_id)  # as alerts_for does before handing it out
    reply = Reply((Block.of("A new post about Wagner"),))
    yield AlertClaim(Alert(CHAT, post, "Wagner", reply), follows)


def test_a_message_telegram_accepts_stays_claimed(claim: AlertClaim, follows: Follows) -> None:
    server = serve(FakeTelegram())
    assert asyncio.run(deliver(bot_for(server.port), claim, delays=())) == "sent"
    assert follows.was_alerted(CHAT, claim.alert.post.post_id)
    server.shutdown()


def test_a_send_that_never_reached_telegram_is_retried_until_it_does(
    claim: AlertClaim, follows: Follows
) -> None:
    port = free_port()  # nothing listens yet: connections are refused
    server = FakeTelegram(port)
    threading.Timer(0.4, lambda: serve(server)).start()
    outcome = asyncio.run(deliver(bot_for(port), claim, delays=(0.3, 0.3, 0.3, 0.3)))
    assert outcome == "sent"
    assert server.requests == 1  # the refused attempts never reached it; one message arrived
    assert follows.was_alerted(CHAT, claim.alert.post.post_id)
    server.shutdown()


def test_a_send_that_never_gets_through_releases_its_claim(
    claim: AlertClaim, follows: Follows
) -> None:
    outcome = asyncio.run(deliver(bot_for(free_port()), claim, delays=(0.05, 0.05)))
    assert outcome == "failed"
    assert not follows.was_alerted(CHAT, claim.alert.post.post_id)  # a later run may send it


def test_a_read_timeout_keeps_the_claim_and_never_sends_twice(
    claim: AlertClaim, follows: Follows
) -> None:
    server = serve(FakeTelegram(behaviour="slow"))
    outcome = asyncio.run(deliver(bot_for(server.port), claim, delays=(0.05, 0.05)))
    assert outcome == "unknown"
    assert server.requests == 1  # it may have arrived: no second try
    assert follows.was_alerted(CHAT, claim.alert.post.post_id)
    server.shutdown()


def test_a_refused_message_is_released(claim: AlertClaim, follows: Follows) -> None:
    server = serve(FakeTelegram(behaviour="400"))
    assert asyncio.run(deliver(bot_for(server.port), claim, delays=())) == "refused"
    assert not follows.was_alerted(CHAT, claim.alert.post.post_id)
    server.shutdown()


def test_a_chat_that_blocked_the_bot_loses_its_follows(claim: AlertClaim, follows: Follows) -> None:
    server = serve(FakeTelegram(behaviour="403"))
    assert asyncio.run(deliver(bot_for(server.port), claim, delays=())) == "gone"
    assert follows.for_chat(CHAT) == []
    server.shutdown()
