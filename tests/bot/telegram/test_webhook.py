"""The webhook server's own rules, in-process (tests/e2e/test_webhook_proxy.py runs it for real
behind nginx): what is queued, what is refused, what /healthz says."""

from __future__ import annotations

import asyncio
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram import Bot, Update

with warnings.catch_warnings():  # starlette 1.x suggests another HTTP client for its TestClient
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bot.settings import ConfigError, Settings
from bot.telegram.webhook import MAX_BODY_BYTES, SECRET_HEADER, WebhookConfig, create_app, serve

SECRET = "correct-horse_battery-staple"
UPDATE = {
    "update_id": 7,
    "message": {
        "message_id": 1,
        "date": 1_683_000_000,
        "chat": {"id": 42, "type": "private", "first_name": "Ann"},
        "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
        "text": "counteroffensive",
    },
}


class FakeApplication:
    """What the server uses of a PTB Application: `running`, `bot`, `update_queue`."""

    def __init__(self, *, running: bool = True) -> None:
        self.running = running
        self.bot = Bot("123456789:" + "A" * 35)
        self.update_queue: asyncio.Queue[object] = asyncio.Queue()

    def queued(self) -> list[object]:
        items = []
        while not self.update_queue.empty():
            items.append(self.update_queue.get_nowait())
        return items


def config(database: Path, url: str = "https://bot.example.org/telegram") -> WebhookConfig:
    return WebhookConfig(url=url, secret=SECRET, listen="127.0.0.1", port=8443, database=database)


@pytest.fixture
def app(library: object, db_path: Path) -> FakeApplication:
    return FakeApplication()


@pytest.fixture
def client(app: FakeApplication, db_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(app, config(db_path))) as test_client:  # type: ignore[arg-type]
        yield test_client


def test_an_update_with_the_secret_is_queued_as_a_telegram_update(
    client: TestClient, app: FakeApplication
) -> None:
    response = client.post("/telegram", json=UPDATE, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 200
    (update,) = app.queued()
    assert isinstance(update, Update)
    assert update.update_id == 7
    assert update.effective_message is not None
    assert update.effective_message.text == "counteroffensive"


@pytest.mark.parametrize("secret", [None, "", SECRET.upper(), SECRET + "x"])
def test_a_wrong_or_missing_secret_is_403_and_queues_nothing(
    client: TestClient, app: FakeApplication, secret: str | None
) -> None:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    assert client.post("/telegram", json=UPDATE, headers=headers).status_code == 403
    assert app.queued() == []


def test_a_chunked_body_over_1_mib_is_413_without_a_content_length(
    client: TestClient, app: FakeApplication
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"update_id": 1, "pad": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    response = client.post("/telegram", content=chunks(), headers={SECRET_HEADER: SECRET})
    assert response.status_code == 413
    assert app.queued() == []


@pytest.mark.parametrize(
    "body",
    [b"{", b"\xff\xfe", b"[]", b'{"message": {}}', b'{"update_id": "7"}', b"null"],
    ids=["truncated", "not-utf8", "a-list", "no-update-id", "string-id", "null"],
)
def test_a_body_that_is_not_a_telegram_update_is_400_and_logged_once(
    client: TestClient, app: FakeApplication, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.post("/telegram", content=body, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert app.queued() == []
    (record,) = [r for r in caplog.records if r.name == "bot.telegram.webhook"]
    assert record.exc_info is None
    assert "(HTTP 400)" in record.getMessage()


def test_only_post_on_the_webhook_path_and_get_on_healthz_are_served(client: TestClient) -> None:
    assert client.get("/telegram").status_code == 405
    assert client.post("/other", json=UPDATE, headers={SECRET_HEADER: SECRET}).status_code == 404
    assert client.post("/healthz").status_code == 405


def test_healthz_is_200_while_the_application_runs_and_the_database_answers(
    client: TestClient,
) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")


def test_healthz_is_503_while_the_application_is_not_running(
    library: object, db_path: Path
) -> None:
    app = FakeApplication(running=False)
    with TestClient(create_app(app, config(db_path))) as client:  # type: ignore[arg-type]
        assert client.get("/healthz").status_code == 503


def test_healthz_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    not_a_database = tmp_path / "liveblog.db"
    not_a_database.write_bytes(b"this is not SQLite" * 100)
    for database in (tmp_path / "missing.db", not_a_database):
        app = FakeApplication()
        with TestClient(create_app(app, config(database))) as client:  # type: ignore[arg-type]
            response = client.get("/healthz")
        assert response.status_code == 503
        assert response.text == "database does not answer\n"


def test_webhook_mode_needs_a_secret_and_keeps_healthz_for_itself(tmp_path: Path) -> None:
    base = {"_env_file": None, "database": tmp_path / "x.db", "telegram_token": "1:x"}
    no_secret = Settings(**base, telegram_webhook_url="https://b.example.org/t")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="LIVEBLOG_TELEGRAM_WEBHOOK_SECRET"):
        WebhookConfig.from_settings(no_secret)
    on_health = Settings(
        **base,  # type: ignore[arg-type]
        telegram_webhook_url="https://b.example.org/healthz",
        telegram_webhook_secret=SECRET,
    )
    with pytest.raises(ConfigError, match="LIVEBLOG_TELEGRAM_WEBHOOK_URL: the path /healthz"):
        WebhookConfig.from_settings(on_health)


def test_a_busy_port_is_one_config_error_before_telegram_is_asked(db_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = WebhookConfig(
            url="https://bot.example.org/telegram",
            secret=SECRET,
            listen="127.0.0.1",
            port=port,
            database=db_path,
        )
        # FakeApplication has no initialize(): reaching Telegram would be an AttributeError.
        with pytest.raises(ConfigError, match=f"WEBHOOK_PORT: cannot listen on 127.0.0.1:{port}"):
            asyncio.run(serve(FakeApplication(), taken))  # type: ignore[arg-type]
