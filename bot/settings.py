"""The one place configuration is read: environment variables prefixed LIVEBLOG_, or `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ConfigError(Exception):
    """A setting has an invalid value; the message names the variable."""


class Settings(BaseSettings):
    """Runtime configuration. The token is a SecretStr so it never prints by accident."""

    model_config = SettingsConfigDict(
        env_prefix="LIVEBLOG_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database: Path = Path("./data/liveblog.db")
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = Field(default=8443, ge=1, le=65535)
    timezone: str = "UTC"
    admins: Annotated[list[int], NoDecode] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    channels: str = Field(default="", description="Telegram channels whose posts are coverage")
    flood_limit: int = Field(default=20, ge=1, description="questions per user per minute")
    allow_private_sources: bool = False  # sources added from Telegram may reach internal hosts
    max_source_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="largest file or download an import reads"
    )
    telegram_description: str = Field(
        default=(
            "I answer questions about live news coverage with quotes from it — each with its "
            "time, outlet and link — and say so when nothing matches. Ask in plain words, "
            "follow a topic, or get a daily digest."
        ),
        max_length=512,
        description="what Telegram shows before a user presses Start (setMyDescription)",
    )
    telegram_short_description: str = Field(
        default="Answers about live news coverage, with quotes and sources.",
        max_length=120,
        description="the bot's profile line and share text (setMyShortDescription)",
    )
    example_questions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "What did NATO say about fighting vehicles?",
            "What happened in Bakhmut?",
        ],
        description="the two example questions /start offers as buttons ('|'-separated)",
    )

    @field_validator(
        "telegram_token", "telegram_webhook_secret", "telegram_webhook_url", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("telegram_webhook_url")
    @classmethod
    def _https_webhook(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be an https:// URL (Telegram delivers webhooks over TLS)")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        import re

        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("channels")
    @classmethod
    def _channel_list(cls, value: str) -> str:
        from retrieval.channels import parse_channel_list
        from retrieval.sources import SourceError

        try:
            parse_channel_list(value)
        except SourceError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @field_validator("admins", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError("must be comma-separated numeric Telegram user ids")
            return [int(p) for p in parts]
        return value

    @field_validator("example_questions", mode="before")
    @classmethod
    def _bar_separated(cls, value: object) -> object:
        if isinstance(value, str):
            questions = [q.strip() for q in value.split("|") if q.strip()]
            if any(len(q.encode()) > 62 for q in questions):
                raise ValueError("each question must fit 62 bytes (a Telegram button's data)")
            return questions
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def load_settings() -> Settings:
    """Read settings, turning a validation failure into one line naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"LIVEBLOG_{field.upper()}: {message}") from None
    except UnicodeDecodeError:
        raise ConfigError(".env: not UTF-8 text; write it as NAME=value lines") from None
    except OSError as exc:
        raise ConfigError(f".env: cannot be read ({exc.strerror or exc})") from None
