"""Settings from OPSBOT_* environment variables and an optional `.env` file.

An empty value is the same as no value: the default applies, so `.env.example` copied as it
is stays valid. `opsbot db upgrade` reads only `DatabaseSettings`, so a migration step needs
no token. An error names the variable and never repeats its value, which may be a secret.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from opsbot.i18n import SUPPORTED_LANGUAGES
from opsbot.services.budget import Prices
from opsbot.services.schedule_parse import parse_duration
from opsbot.services.sealed import split_keys, valid_keys


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable and is safe to print."""


def normalise_database_url(value: str) -> str:
    """Accept the URLs people write and pick the async driver the project ships."""
    scheme, sep, rest = value.partition("://")
    if sep and scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        url = f"postgresql+asyncpg://{rest}"
    elif sep and scheme in ("sqlite", "sqlite+aiosqlite"):
        url = f"sqlite+aiosqlite://{rest}"
    else:
        raise ValueError("expected a sqlite:/// or postgresql:// URL")
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        # SQLAlchemy's message quotes the URL, password included.
        raise ValueError(
            "expected sqlite:///path or postgresql://user:password@host:port/db"
        ) from None
    return url


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _base_url(value: str) -> str:
    """`scheme://host[:port]`: the clients add their own paths (`/bot<token>/`, `/2/`)."""
    # The messages never quote the value: a URL pasted from a browser may hold the token.
    parts = urlsplit(value)
    try:
        has_host = bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:  # urllib parses the port lazily, and says so quoting it
        has_host = False
    if parts.scheme not in ("http", "https") or not has_host:
        raise ValueError("expected an http:// or https:// URL: scheme://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("expected only scheme://host[:port], without a path (nor a token)")
    return value.rstrip("/")


def _reminder_offsets(value: str) -> list[timedelta]:
    if value.strip().lower() == "none":
        return []
    offsets = set()
    for part in value.split(","):
        parsed = parse_duration(part.strip()) if part.strip() else None
        if parsed is None or parsed <= timedelta(0) or parsed > timedelta(days=7):
            raise ValueError("expected offsets such as 24h,1h,10m (up to 7 days), or none")
        offsets.add(parsed)
    return sorted(offsets, reverse=True)


class DatabaseSettings(BaseSettings):
    """What `opsbot db upgrade` needs: the database, and how much to log."""

    model_config = SettingsConfigDict(
        env_prefix="OPSBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        hide_input_in_errors=True,
    )

    database_url: str = "sqlite+aiosqlite:///opsbot.sqlite3"
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        return normalise_database_url(value)

    def secrets(self) -> list[str]:
        """Every secret value, so that logging can redact them wherever they appear."""
        password = make_url(self.database_url).password
        return [str(password)] if password else []


class TelegramSettings(DatabaseSettings):
    """What `opsbot find-group` needs: the bot's token and where the Bot API is."""

    telegram_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"

    @field_validator("telegram_api_url")
    @classmethod
    def _telegram_url(cls, value: str) -> str:
        return _base_url(value)

    def secrets(self) -> list[str]:
        token = self.telegram_token.get_secret_value()
        return super().secrets() + ([token] if token else [])


class Settings(TelegramSettings):
    staff_chat_id: int
    moderator_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Whose answers a moderator approves before they go out: nobody, every curator, or the
    # curators switched on with /approval @curator on. Moderators never need approval.
    approval: Literal["off", "curators", "listed"] = "off"
    x_account: str
    x_bearer_token: SecretStr
    x_api_key: SecretStr
    x_api_secret: SecretStr
    x_access_token: SecretStr
    x_access_token_secret: SecretStr
    hashtags: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["#museumsalon", "#музейнаягостиная"]
    )
    timezone: str = "Europe/Moscow"
    default_language: str = "ru"
    poll_live_seconds: float = Field(default=3.0, gt=0)
    poll_idle_seconds: float = Field(default=300.0, gt=0)
    x_api_url: str | None = None
    x_timeout_seconds: float = Field(default=30.0, gt=0)
    # Telegram's documented flood limits; tests shrink the windows to keep runs short.
    telegram_group_rate: int = Field(default=20, gt=0)
    telegram_group_period: float = Field(default=60.0, gt=0)
    telegram_global_rate: int = Field(default=30, gt=0)
    telegram_global_period: float = Field(default=1.0, gt=0)
    # Telegram's advice for a chat with one person: about one message a second.
    telegram_private_rate: int = Field(default=1, gt=0)
    telegram_private_period: float = Field(default=1.0, gt=0)
    reminder_offsets: Annotated[list[timedelta], NoDecode] = Field(
        default_factory=lambda: [timedelta(hours=24), timedelta(hours=1), timedelta(minutes=10)]
    )
    salon_default_minutes: int = Field(default=60, ge=15, le=240)
    # A Take with no answer dialogue open lapses after this long during a live salon.
    take_minutes: int = Field(default=10, ge=3, le=240)
    lottery_cooldown_days: int = Field(default=30, ge=0)
    # A live salon's question nobody took for this long brings one nudge; at most one a period.
    nudge_minutes: int = Field(default=5, ge=1, le=60)
    # Authors with more followers on X than this are priority senders, like those on /vips.
    vip_followers: int = Field(default=10_000, ge=0)
    # The month's X budget in US dollars; unset, the spend is counted and shown all the same.
    x_monthly_budget: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    # X's pay-per-use prices in US dollars (docs.x.com pricing, since February 2026).
    x_price_search_read: float = Field(default=0.005, ge=0, allow_inf_nan=False)
    # The account's own data, such as its mentions timeline (since April 2026).
    x_price_owned_read: float = Field(default=0.001, ge=0, allow_inf_nan=False)
    x_price_user_read: float = Field(default=0.010, ge=0, allow_inf_nan=False)
    x_price_post: float = Field(default=0.015, ge=0, allow_inf_nan=False)
    # A reply to an account that summoned the museum (mentioned or quoted it).
    x_price_reply: float = Field(default=0.010, ge=0, allow_inf_nan=False)
    x_price_link_post: float = Field(default=0.20, ge=0, allow_inf_nan=False)
    # Fernet keys that encrypt partners' X tokens in the database, newest first: a new key is
    # prepended, `opsbot rotate-secrets` re-encrypts, then the old one is dropped.
    secret_key: Annotated[SecretStr | None, NoDecode] = None

    @field_validator("moderator_ids", "hashtags", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("staff_chat_id")
    @classmethod
    def _staff_chat(cls, value: int) -> int:
        if value >= 0:
            raise ValueError(
                "a positive id is a person, but group ids are negative, such as "
                "-1001234567890: add the bot to the staff group, send a message there and run "
                "`opsbot find-group`"
            )
        return value

    @field_validator("reminder_offsets", mode="before")
    @classmethod
    def _offsets(cls, value: object) -> object:
        return _reminder_offsets(value) if isinstance(value, str) else value

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

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not valid_keys(value.get_secret_value()):
            raise ValueError(
                "expected Fernet keys separated by commas, newest first; make one with "
                "`opsbot new-secret-key`"
            )
        return value

    @field_validator("x_api_url")
    @classmethod
    def _x_url(cls, value: str | None) -> str | None:
        return None if value is None else _base_url(value)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def x_prices(self) -> Prices:
        return Prices(
            owned_read=self.x_price_owned_read,
            post_read=self.x_price_search_read,
            user_read=self.x_price_user_read,
            post=self.x_price_post,
            reply=self.x_price_reply,
            link_post=self.x_price_link_post,
        )

    @property
    def hashtag(self) -> str:
        """The hashtag appended to the museum's posts: the first one configured."""
        return self.hashtags[0]

    def secrets(self) -> list[str]:
        return (
            super().secrets()
            + [
                s.get_secret_value()
                for s in (
                    self.x_bearer_token,
                    self.x_api_key,
                    self.x_api_secret,
                    self.x_access_token,
                    self.x_access_token_secret,
                )
                if s.get_secret_value()
            ]
            + (split_keys(self.secret_key.get_secret_value()) if self.secret_key else [])
        )


AnySettings = TypeVar("AnySettings", bound=DatabaseSettings)


def _load(kind: type[AnySettings], overrides: dict[str, object]) -> AnySettings:
    """Read the settings, turning pydantic's report into one line that names the variable."""
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "OPSBOT_" + str(error["loc"][0]).upper() if error["loc"] else "OPSBOT_*"
        if error["type"] == "missing":
            raise SettingsError(f"{name} is not set") from None
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name} is malformed: {message}") from None


def load_settings(**overrides: object) -> Settings:
    return _load(Settings, overrides)


def load_database_settings(**overrides: object) -> DatabaseSettings:
    return _load(DatabaseSettings, overrides)


def load_telegram_settings(**overrides: object) -> TelegramSettings:
    return _load(TelegramSettings, overrides)
