"""`opsbot check`: try each setting against the real services and say what works.

One line per check; a failed one says what to do, in the same words `opsbot run` uses. The
exit code is the first failure's (see `opsbot.failures.ExitCode`), 0 when all pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url
from telegram import Bot, ChatMember
from telegram.error import TelegramError

from opsbot import failures
from opsbot.failures import ExitCode, StartupError
from opsbot.logs import RedactingFormatter
from opsbot.settings import Settings
from opsbot.x.gateway import XError, gateway_from_settings


@dataclass(frozen=True)
class Line:
    what: str
    detail: str
    failed: ExitCode | None = None

    @classmethod
    def failure(cls, what: str, error: StartupError) -> Line:
        return cls(what, str(error), error.code)


async def _check_database(settings: Settings) -> list[Line]:
    try:
        await failures.reach_database(settings.database_url)
    except StartupError as exc:
        return [Line.failure("Database", exc)]
    return [Line("Database", make_url(settings.database_url).render_as_string(hide_password=True))]


async def _check_telegram(settings: Settings) -> list[Line]:
    bot = Bot(
        settings.telegram_token.get_secret_value(),
        base_url=f"{settings.telegram_api_url}/bot",
        base_file_url=f"{settings.telegram_api_url}/file/bot",
    )
    try:
        await bot.initialize()
    except TelegramError as exc:
        return [Line.failure("Telegram token", failures.telegram(exc, settings.telegram_api_url))]
    lines = [Line("Telegram token", f"the bot is @{bot.username}")]
    try:
        member = await bot.get_chat_member(settings.staff_chat_id, bot.id)
        chat = await bot.get_chat(settings.staff_chat_id)
    except TelegramError as exc:
        lines.append(
            Line(
                "Staff group",
                f"OPSBOT_STAFF_CHAT_ID: {exc}: add the bot to the staff group, or correct the id",
                ExitCode.STAFF_GROUP,
            )
        )
    else:
        if member.status == ChatMember.ADMINISTRATOR:
            lines.append(Line("Staff group", f"administrator in “{chat.title}”"))
        else:
            lines.append(
                Line(
                    "Staff group",
                    f"the bot is {member.status} in “{chat.title}”; make it an administrator",
                    ExitCode.STAFF_GROUP,
                )
            )
    finally:
        await bot.shutdown()
    return lines


async def _check_x(settings: Settings) -> list[Line]:
    gateway = gateway_from_settings(settings)
    try:
        try:
            account = await gateway.me()
        except XError as exc:
            return [Line.failure("X user keys", failures.x(exc))]
        if account.username.lower() != settings.x_account.lower():
            mismatch = failures.x_account(account.username, settings.x_account)
            lines = [Line.failure("X user keys", mismatch)]
        else:
            lines = [Line("X user keys", f"posting as @{account.username}")]
        try:
            await gateway.mentions(account.id, None, None)
        except XError as exc:
            lines.append(Line.failure("X reading", failures.x(exc, reading=True)))
        else:
            lines.append(Line("X reading", "the museum's mentions are readable"))
        return lines
    finally:
        await gateway.close()


async def run_checks(settings: Settings) -> int:
    lines = [
        *await _check_database(settings),
        *await _check_telegram(settings),
        *await _check_x(settings),
    ]
    # Client libraries quote the token in some errors (PTB's InvalidToken does).
    redact = RedactingFormatter(settings.secrets()).redact
    for line in lines:
        status = "ok  " if line.failed is None else "FAIL"
        print(redact(f"[{status}] {line.what}: {line.detail}"))
    return next((line.failed for line in lines if line.failed is not None), ExitCode.OK)
