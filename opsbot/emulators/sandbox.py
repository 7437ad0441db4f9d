"""Both emulators with a small museum world in them: a staff group with a moderator and two
curators, and the museum's X account. Used by `opsbot sandbox`, the demo and the tests."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field
from typing import Any

from opsbot.emulators.telegram import TelegramEmulator
from opsbot.emulators.x import XEmulator
from opsbot.settings import Settings


@dataclass(frozen=True)
class Person:
    user_id: int
    first_name: str
    username: str
    language_code: str


STAFF_CHAT_ID = -1001000000001
MODERATOR = Person(1001, "Anna", "anna_moderator", "ru")
CURATOR_EN = Person(1002, "Boris", "boris_curator", "en")
CURATOR_RU = Person(1003, "Vera", "vera_curator", "ru")
OUTSIDER = Person(2001, "Olga", "olga_outside", "ru")
MUSEUM_HANDLE = "museum"

# Made-up credentials: the emulators accept exactly these, like the real services would.
CREDENTIALS = {
    "telegram_token": "7000000001:AAsandbox-telegram-token-not-real",
    "x_bearer_token": "AAAAsandbox-bearer-token-not-real",
    "x_api_key": "sandbox-api-key",
    "x_api_secret": "sandbox-api-secret-not-real",
    "x_access_token": "1-sandbox-access-token",
    "x_access_token_secret": "sandbox-access-token-secret-not-real",
}


@dataclass
class Sandbox:
    telegram: TelegramEmulator
    x: XEmulator
    staff_chat_id: int = STAFF_CHAT_ID
    credentials: dict[str, str] = field(default_factory=lambda: dict(CREDENTIALS))

    def environment(self) -> dict[str, str]:
        """The OPSBOT_* variables that point a bot at this sandbox."""
        return {
            "OPSBOT_TELEGRAM_TOKEN": self.credentials["telegram_token"],
            "OPSBOT_STAFF_CHAT_ID": str(self.staff_chat_id),
            "OPSBOT_X_ACCOUNT": MUSEUM_HANDLE,
            "OPSBOT_X_BEARER_TOKEN": self.credentials["x_bearer_token"],
            "OPSBOT_X_API_KEY": self.credentials["x_api_key"],
            "OPSBOT_X_API_SECRET": self.credentials["x_api_secret"],
            "OPSBOT_X_ACCESS_TOKEN": self.credentials["x_access_token"],
            "OPSBOT_X_ACCESS_TOKEN_SECRET": self.credentials["x_access_token_secret"],
            "OPSBOT_TELEGRAM_API_URL": self.telegram.base_url,
            "OPSBOT_X_API_URL": self.x.base_url,
        }

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "telegram_token": self.credentials["telegram_token"],
            "staff_chat_id": self.staff_chat_id,
            "x_account": MUSEUM_HANDLE,
            "x_bearer_token": self.credentials["x_bearer_token"],
            "x_api_key": self.credentials["x_api_key"],
            "x_api_secret": self.credentials["x_api_secret"],
            "x_access_token": self.credentials["x_access_token"],
            "x_access_token_secret": self.credentials["x_access_token_secret"],
            "telegram_api_url": self.telegram.base_url,
            "x_api_url": self.x.base_url,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    async def stop(self) -> None:
        await self.telegram.stop()
        await self.x.stop()


async def start_sandbox(
    *,
    telegram_port: int = 0,
    x_port: int = 0,
    telegram_options: dict[str, Any] | None = None,
    x_options: dict[str, Any] | None = None,
    forum: bool = False,
) -> Sandbox:
    telegram = TelegramEmulator(token=CREDENTIALS["telegram_token"], **(telegram_options or {}))
    x = XEmulator(
        museum_username=MUSEUM_HANDLE,
        museum_name="Государственный исторический музей",
        bearer_token=CREDENTIALS["x_bearer_token"],
        api_key=CREDENTIALS["x_api_key"],
        api_secret=CREDENTIALS["x_api_secret"],
        access_token=CREDENTIALS["x_access_token"],
        access_token_secret=CREDENTIALS["x_access_token_secret"],
        **(x_options or {}),
    )
    for person in (MODERATOR, CURATOR_EN, CURATOR_RU, OUTSIDER):
        telegram.add_user(
            person.user_id,
            person.first_name,
            username=person.username,
            language_code=person.language_code,
        )
    telegram.add_group(STAFF_CHAT_ID, "Museum staff", forum=forum)
    telegram.add_member(STAFF_CHAT_ID, MODERATOR.user_id, "creator")
    telegram.add_member(STAFF_CHAT_ID, CURATOR_EN.user_id, "member")
    telegram.add_member(STAFF_CHAT_ID, CURATOR_RU.user_id, "member")
    telegram.add_bot_to_group(STAFF_CHAT_ID, MODERATOR.user_id, status="administrator")
    await telegram.start(port=telegram_port)
    await x.start(port=x_port)
    return Sandbox(telegram=telegram, x=x)


async def serve_forever(*, telegram_port: int, x_port: int) -> None:
    sandbox = await start_sandbox(telegram_port=telegram_port, x_port=x_port)
    print(f"Telegram Bot API emulator: {sandbox.telegram.base_url}")
    print(f"X API emulator:            {sandbox.x.base_url}")
    print("Point the bot at them with:")
    for name, value in sandbox.environment().items():
        print(f"  export {name}={value}")
    print("Control APIs: see `pydoc opsbot.emulators.telegram` and `pydoc opsbot.emulators.x`.")
    print("Press Ctrl-C to stop.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sandbox.stop()
