"""Webhook mode: a small ASGI server (Starlette on uvicorn) in front of the PTB Application.

Why not PTB's `run_webhook`: its tornado server has no health endpoint for a proxy or an
orchestrator to ask, and no limit on what a caller may send. This follows python-telegram-bot's
`examples/customwebhookbot`: Telegram POSTs each update to our path, we check it and put it on
`application.update_queue`, and the Application handles it exactly as with long polling.

    POST <path>    X-Telegram-Bot-Api-Secret-Token must match (else 403, nothing processed);
                   a body over 1 MiB is 413, a body that is not a JSON update is 400
    GET  /healthz  200 while the Application runs and the database answers, else 503

Every refusal is one log line (never a traceback): the internet is noisy, and an operator
reading the log must see the refusals, not drown in them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.settings import ConfigError, Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# nginx's `client_max_body_size 1m` is 1 MiB; the same limit here guards a bot run without it.
MAX_BODY_BYTES = 1024 * 1024
HEALTH_PATH = "/healthz"
# How long in-flight webhook requests may take to finish once a stop is asked for.
GRACEFUL_SECONDS = 5

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class WebhookConfig:
    """Where Telegram delivers (the public https URL) and where we listen (behind the proxy)."""

    url: str
    secret: str
    listen: str
    port: int
    database: Path

    @property
    def path(self) -> str:
        """The URL's path is the path we serve: the proxy forwards it unchanged."""
        return urlparse(self.url).path or "/"

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookConfig:
        if settings.telegram_webhook_url is None:
            raise ConfigError("LIVEBLOG_TELEGRAM_WEBHOOK_URL: required in webhook mode")
        if settings.telegram_webhook_secret is None:
            raise ConfigError("LIVEBLOG_TELEGRAM_WEBHOOK_SECRET: required in webhook mode")
        config = cls(
            url=settings.telegram_webhook_url,
            secret=settings.telegram_webhook_secret.get_secret_value(),
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            database=settings.database,
        )
        if config.path == HEALTH_PATH:
            raise ConfigError(f"LIVEBLOG_TELEGRAM_WEBHOOK_URL: the path {HEALTH_PATH} is reserved")
        return config


def create_app(application: AnyApplication, config: WebhookConfig) -> Starlette:
    """The ASGI app: the webhook route and the health route, nothing else."""

    async def webhook(request: Request) -> Response:
        """Check one delivery and queue the update; the Application answers it later."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), config.secret.encode()):
            return _refuse(request, 403, "wrong or missing secret token")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _refuse(request, 413, f"body of {int(declared)} bytes is over 1 MiB")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _refuse(request, 413, "body is over 1 MiB")
        try:
            data = json.loads(body)
        except ValueError:  # also UnicodeDecodeError
            return _refuse(request, 400, f"body of {len(body)} bytes is not JSON")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return _refuse(request, 400, "JSON that is not a Telegram update")
        try:
            update = Update.de_json(data, application.bot)
        except Exception as exc:  # any shape PTB cannot read: refuse it, keep serving
            return _refuse(request, 400, f"update PTB cannot read ({type(exc).__name__})")
        await application.update_queue.put(update)
        return Response(status_code=200)

    async def health(request: Request) -> Response:
        """200 while updates can be handled: the Application runs and the database answers."""
        if not application.running:
            return PlainTextResponse("stopped\n", status_code=503)
        if not await asyncio.to_thread(database_answers, config.database):
            return PlainTextResponse("database does not answer\n", status_code=503)
        return PlainTextResponse("ok\n")

    return Starlette(
        routes=[
            Route(config.path, webhook, methods=["POST"]),
            Route(HEALTH_PATH, health, methods=["GET"]),
        ]
    )


def _refuse(request: Request, status: int, reason: str) -> Response:
    client = request.client.host if request.client else "?"
    log.warning("webhook: refused a POST from %s: %s (HTTP %d)", client, reason, status)
    return PlainTextResponse(f"{reason}\n", status_code=status)


def database_answers(database: Path) -> bool:
    """`SELECT 1` through a fresh read-only connection: the file is there and readable."""
    if not database.is_file():
        return False
    try:
        conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return True


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ours also stops the Application.

    uvicorn re-raises a captured SIGTERM after it has shut down, which would kill the process
    before the Application has stopped; our handler only asks the server to exit.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    """Bind before telling Telegram anything: a busy port is one line, not a half-started bot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"LIVEBLOG_TELEGRAM_WEBHOOK_PORT: cannot listen on {host}:{port} ({exc.strerror})"
        ) from None
    sock.set_inheritable(True)
    return sock


async def serve(application: AnyApplication, config: WebhookConfig) -> None:
    """Run the Application behind the webhook server until SIGINT or SIGTERM."""
    sock = _bind(config.listen, config.port)
    server = _Server(
        uvicorn.Config(
            create_app(application, config),
            log_config=None,  # our handlers (text/json, token redacted) format uvicorn's lines
            access_log=False,  # the proxy keeps the access log
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
    )
    loop = asyncio.get_running_loop()

    def request_stop() -> None:
        log.info("stop requested")
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop)
    try:
        await application.initialize()
        try:
            if application.post_init:
                await application.post_init(application)
            await application.bot.set_webhook(
                config.url, secret_token=config.secret, allowed_updates=Update.ALL_TYPES
            )
            await application.start()
            try:
                log.info("webhook: serving %s on %s:%d", config.path, config.listen, config.port)
                await server.serve(sockets=[sock])
            finally:
                await application.stop()
                if application.post_stop:
                    await application.post_stop(application)
        finally:
            await application.shutdown()
            if application.post_shutdown:
                await application.post_shutdown(application)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        sock.close()


def run_webhook(application: AnyApplication, settings: Settings) -> None:
    """Serve webhooks until SIGINT/SIGTERM (the blocking entry point `run_bot` calls)."""
    asyncio.run(serve(application, WebhookConfig.from_settings(settings)))
