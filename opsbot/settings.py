"""Settings from OPSBOT_* environment variables and an optional `.env` file."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from opsbot.services.schedule_parse import parse_duration

SUPPORTED_LANGUAGES = ("ru", "en")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable and is safe to print."""


def normalise_database_url(value: str) -> str:
    """Accept the URLs people write and pick the async driver the project ships."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise ValueError("expected a sqlite:/// or postgresql:// URL")
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        return f"sqlite+aiosqlite://{rest}"
    raise ValueError("expected a sqlite:/// or postgresql:// URL")


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPSBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
    )

    telegram_token: SecretStr
    staff_chat_id: int
    moderator_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    x_account: str
    x_bearer_token: SecretStr
    x_api_key: SecretStr
    x_api_secret: SecretStr
    x_access_token: SecretStr
    x_access_token_secret: SecretStr
    hashtags: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["#museumsalon", "#музейнаягостиная"]
    )
    database_url: str = "sqlite+aiosqlite:///opsbot.sqlite3"
    timezone: str = "Europe/Moscow"
    default_language: str = "ru"
    poll_live_seconds: float = Field(default=15.0, gt=0)
    poll_idle_seconds: float = Field(default=300.0, gt=0)
    telegram_api_url: str = "https://api.telegram.org"
    x_api_url: str | None = None
    x_timeout_seconds: float = Field(default=30.0, gt=0)
    # Telegram's documented flood limits; tests shrink the windows to keep runs short.
    telegram_group_rate: int = Field(default=20, gt=0)
    telegram_group_period: float = Field(default=60.0, gt=0)
    telegram_global_rate: int = Field(default=30, gt=0)
    telegram_global_period: float = Field(default=1.0, gt=0)
    reminder_offsets: Annotated[list[timedelta], NoDecode] = Field(
        default_factory=lambda: [timedelta(hours=24), timedelta(hours=1), timedelta(minutes=10)]
    )
    salon_default_minutes: int = Field(default=60, ge=15, le=240)
    lottery_cooldown_days: int = Field(default=30, ge=0)
    log_level: str = "INFO"

    @field_validator("moderator_ids", "hashtags", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("reminder_offsets", mode="before")
    @classmethod
    def _offsets(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        offsets = []
        for part in value.split(","):
            if not part.strip():
                continue
            parsed = parse_duration(part.strip())
            if parsed is None or parsed <= timedelta(0) or parsed > timedelta(days=7):
                raise ValueError("expected offsets such as 24h,1h,10m (up to 7 days)")
            offsets.append(parsed)
        return sorted(set(offsets), reverse=True)

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, value: list[str]) -> list[str]:
        tags = [tag if tag.startswith("#") else f"#{tag}" for tag in value]
        if not tags or any(len(tag) < 2 or " " in tag for tag in tags):
            raise ValueError("expected comma-separated hashtags such as #museumsalon")
        return tags

    @field_validator("x_account")
    @classmethod
    def _account(cls, value: str) -> str:
        handle = value.strip().removeprefix("@")
        if not handle or not all(ch.isalnum() or ch == "_" for ch in handle):
            raise ValueError("expected the museum's X handle, such as @museum")
        return handle

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; use an IANA name such as Europe/Moscow") from None
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"expected one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("telegram_api_url", "x_api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def hashtag(self) -> str:
        """The hashtag appended to the museum's posts: the first one configured."""
        return self.hashtags[0]

    def secrets(self) -> list[str]:
        """Every secret value, so that logging can redact them wherever they appear."""
        return [
            s.get_secret_value()
            for s in (
                self.telegram_token,
                self.x_bearer_token,
                self.x_api_key,
                self.x_api_secret,
                self.x_access_token,
                self.x_access_token_secret,
            )
            if s.get_secret_value()
        ]


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "OPSBOT_" + str(error["loc"][0]).upper() if error["loc"] else "OPSBOT_*"
        if error["type"] == "missing":
            raise SettingsError(f"{name} is not set") from None
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name} is malformed: {message}") from None
