"""Settings: the documented names and defaults, and one line naming a bad variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("LIVEBLOG_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_match_the_design() -> None:
    s = load_settings()
    assert s.database == Path("./data/liveblog.db")
    assert s.telegram_token is None
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.timezone == "UTC"
    assert s.admins == []
    assert (s.log_level, s.log_format) == ("INFO", "text")


def test_values_come_from_the_environment_and_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("LIVEBLOG_TIMEZONE=Europe/Kyiv\n")
    monkeypatch.setenv("LIVEBLOG_ADMINS", "12, 34")
    monkeypatch.setenv("LIVEBLOG_TELEGRAM_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    s = load_settings()
    assert s.timezone == "Europe/Kyiv"
    assert s.admins == [12, 34]
    assert s.telegram_token is not None
    assert "ABCDEF" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LIVEBLOG_TIMEZONE", "Mars/Olympus"),
        ("LIVEBLOG_ADMINS", "alice,bob"),
        ("LIVEBLOG_LOG_LEVEL", "LOUD"),
        ("LIVEBLOG_LOG_FORMAT", "xml"),
        ("LIVEBLOG_TELEGRAM_API_URL", "ftp://example"),
    ],
)
def test_an_invalid_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith(f"{name}:")
    assert "\n" not in str(error.value)
