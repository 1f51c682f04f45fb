"""Webhook mode end to end: Telegram (the emulator) → nginx with TLS → `liveblog-bot run`.

nginx runs deploy/nginx/liveblog-bot.conf itself, with only its port, certificate paths and
upstream port substituted, under a private prefix in tmp_path. The emulator gets its own
instance here, started with NODE_EXTRA_CA_CERTS so that Node trusts the proxy's self-signed
certificate (the session emulator of conftest.py was started without it).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.bot_process import BotProcess
from tests.e2e.emulator import Emulator, new_bot_token

REPO = Path(__file__).resolve().parents[2]
NGINX_SITE = REPO / "deploy" / "nginx" / "liveblog-bot.conf"
APT_HINT = "apt-get install -y --no-install-recommends nginx openssl"
NATO = "What did NATO say about fighting vehicles?"
WEBHOOK_PATH = "/telegram"  # the path deploy/nginx/liveblog-bot.conf forwards


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail(f"the webhook test needs {name}: {APT_HINT}")
    return found


@dataclass(frozen=True)
class Tls:
    certificate: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificate))


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A self-signed certificate for 127.0.0.1, as an operator's certbot would provide one."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Tls(cert, key)


@pytest.fixture(scope="module")
def tls_emulator(tls: Tls) -> Iterator[Emulator]:
    """An emulator whose webhook deliveries (Node's https) trust the proxy's certificate."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NODE_EXTRA_CA_CERTS", str(tls.certificate))
        emulator = Emulator().start()  # the child reads os.environ as patched here
    try:
        yield emulator
    finally:
        emulator.__exit__(None, None, None)


@dataclass(frozen=True)
class Proxy:
    port: int
    bot_port: int
    prefix: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def site_config(port: int, bot_port: int, tls: Tls) -> str:
    """The shipped site file with this test's addresses; fail if a line to replace is gone."""
    text = NGINX_SITE.read_text(encoding="utf-8")
    replacements = [
        (r"listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        (r"\n\s*listen \[::\]:443 ssl;", ""),  # the test host may have no IPv6
        (r"ssl_certificate /\S+;", f"ssl_certificate {tls.certificate};"),
        (r"ssl_certificate_key /\S+;", f"ssl_certificate_key {tls.key};"),
        (r"proxy_pass http://127\.0\.0\.1:8443;", f"proxy_pass http://127.0.0.1:{bot_port};"),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text)
        assert count >= 1, f"{NGINX_SITE} no longer has {pattern!r}"
    return text


@pytest.fixture(scope="module")
def proxy(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """nginx with the shipped site file, in the foreground, under a private prefix."""
    prefix = tmp_path_factory.mktemp("nginx")
    port, bot_port = _free_port(), _free_port()
    (prefix / "site.conf").write_text(site_config(port, bot_port, tls), encoding="utf-8")
    (prefix / "nginx.conf").write_text(
        f"""
daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
""",
        encoding="utf-8",
    )
    nginx = _tool("nginx")
    command = [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_listening(port, process)
        yield Proxy(port, bot_port, prefix)
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful stop
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while True:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"nginx exited at start: {err}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("nginx did not listen within 10 s") from None
            time.sleep(0.05)


@dataclass
class WebhookBot:
    process: BotProcess
    secret: str
    proxy: Proxy
    tls: Tls

    def post(self, body: bytes, secret: str | None, *, direct: bool = False) -> httpx.Response:
        """POST to the webhook through the proxy (or straight to the bot's own port)."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        if direct:
            url = f"http://127.0.0.1:{self.proxy.bot_port}{WEBHOOK_PATH}"
            return httpx.post(url, content=body, headers=headers, timeout=10)
        with httpx.Client(verify=self.tls.client_context(), timeout=10) as client:
            return client.post(f"{self.proxy.url}{WEBHOOK_PATH}", content=body, headers=headers)

    def health(self) -> httpx.Response:
        with httpx.Client(verify=self.tls.client_context(), timeout=10) as client:
            return client.get(f"{self.proxy.url}/healthz")


@pytest.fixture
def webhook_bot(
    tls_emulator: Emulator, proxy: Proxy, tls: Tls, tmp_path: Path
) -> Iterator[WebhookBot]:
    """`liveblog-bot run` in webhook mode behind the proxy, serving once /healthz says 200."""
    # Every test's bot registers the same proxy URL; the emulator finds a delivery's secret
    # by URL, so forget the previous test's webhook.
    tls_emulator.reset()
    secret = secrets.token_urlsafe(24)
    bot = BotProcess(
        tls_emulator,
        new_bot_token(),
        tmp_path / "bot.db",
        {
            "LIVEBLOG_TELEGRAM_WEBHOOK_URL": f"{proxy.url}{WEBHOOK_PATH}",
            "LIVEBLOG_TELEGRAM_WEBHOOK_SECRET": secret,
            "LIVEBLOG_TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
            "LIVEBLOG_TELEGRAM_WEBHOOK_PORT": str(proxy.bot_port),
            # JSON at DEBUG: every line, uvicorn's too, must pass our formatter and redaction.
            "LIVEBLOG_LOG_FORMAT": "json",
            "LIVEBLOG_LOG_LEVEL": "DEBUG",
        },
    )
    try:
        bot.start()  # returns once the bot registered its commands (before it listens)
        served = WebhookBot(bot, secret, proxy, tls)
        deadline = time.monotonic() + 20
        while served.health().status_code != 200:
            if bot.process is not None and bot.process.poll() is not None:
                raise AssertionError(f"the bot exited:\n{bot.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"/healthz never said 200:\n{bot.log()}")
            time.sleep(0.1)
        yield served
    finally:
        bot.close()


def _update(user_id: int, text: str) -> dict[str, object]:
    """A Telegram update as Telegram would POST it: a private message from `user_id`."""
    command = text.split()[0]
    message: dict[str, object] = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Mallory"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Mallory"},
        "text": text,
    }
    if command.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": 10_000 + secrets.randbelow(10_000), "message": message}


def test_the_bot_registers_the_proxy_url_with_its_secret_and_answers_through_it(
    webhook_bot: WebhookBot, tls_emulator: Emulator
) -> None:
    token = webhook_bot.process.token
    (registered,) = tls_emulator.calls(token, "setWebhook")
    assert registered["params"]["url"] == f"{webhook_bot.proxy.url}{WEBHOOK_PATH}"
    assert registered["params"]["secret_token"] == webhook_bot.secret
    alice = tls_emulator.user(token, first_name="Alice")
    alice.send_message(NATO)  # the emulator POSTs it over TLS to nginx, which forwards it
    (reply,) = alice.wait_for_replies(1, timeout=10)
    assert "98% of the <b>fighting</b> <b>vehicles</b>" in reply.text
    access_log = (webhook_bot.proxy.prefix / "access.log").read_text()
    assert f'"POST {WEBHOOK_PATH} HTTP/1.1" 200' in access_log


def test_a_post_without_the_right_secret_is_refused_and_changes_nothing(
    webhook_bot: WebhookBot, tls_emulator: Emulator
) -> None:
    alice = tls_emulator.user(webhook_bot.process.token)
    forged = json.dumps(_update(alice.id, "/timezone Europe/Kyiv")).encode()
    assert webhook_bot.post(forged, None).status_code == 403
    assert webhook_bot.post(forged, "not-the-secret").status_code == 403
    assert webhook_bot.post(forged, webhook_bot.secret[:-1]).status_code == 403
    alice.chat.assert_no_reply(within=0.5)
    alice.send_command("/timezone")  # the genuine user: the forged change did not happen
    (reply,) = alice.wait_for_replies(1, timeout=10)
    assert "Times are shown in UTC" in reply.text
    assert webhook_bot.process.log().count("wrong or missing secret token (HTTP 403)") == 3


def test_malformed_and_oversized_bodies_are_refused_with_one_line_and_no_traceback(
    webhook_bot: WebhookBot, tls_emulator: Emulator
) -> None:
    secret = webhook_bot.secret
    assert webhook_bot.post(b'{"update_id": 1, "message": ', secret).status_code == 400
    assert webhook_bot.post(b"\xff\xfe not even text", secret).status_code == 400
    assert webhook_bot.post(b'["a", "list"]', secret).status_code == 400
    too_big = b'{"update_id": 1, "pad": "' + b"x" * (1024 * 1024) + b'"}'
    assert webhook_bot.post(too_big, secret).status_code == 413  # nginx: client_max_body_size
    assert webhook_bot.post(too_big, secret, direct=True).status_code == 413  # the bot itself
    alice = tls_emulator.user(webhook_bot.process.token)
    alice.send_message(NATO)  # still serving
    assert "98% of the" in alice.wait_for_replies(1, timeout=10)[0].text
    log = webhook_bot.process.log()
    assert "Traceback" not in log
    assert log.count("is not JSON (HTTP 400)") == 2
    assert log.count("not a Telegram update (HTTP 400)") == 1
    assert log.count("over 1 MiB (HTTP 413)") == 1  # only the direct one reached the bot


def test_healthz_is_200_through_the_proxy_while_the_bot_runs(webhook_bot: WebhookBot) -> None:
    response = webhook_bot.health()
    assert response.status_code == 200
    assert response.text == "ok\n"


def test_sigterm_stops_the_webhook_bot_cleanly(
    webhook_bot: WebhookBot, tls_emulator: Emulator
) -> None:
    alice = tls_emulator.user(webhook_bot.process.token)
    alice.send_message(NATO)
    alice.wait_for_replies(1, timeout=10)
    assert webhook_bot.process.stop() == 0
    log = webhook_bot.process.log()
    assert "Traceback" not in log
    records = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    loggers = {r["logger"] for r in records}
    assert {"uvicorn.error", "bot.telegram.webhook", "httpx"} <= loggers
    assert records[-1]["message"] == "stopped"
    assert "/sendMessage" in log  # DEBUG shows the Bot API requests, with the token redacted
    assert webhook_bot.process.token.split(":")[1] not in log
    assert webhook_bot.health().status_code == 502  # nginx: nothing behind it any more
