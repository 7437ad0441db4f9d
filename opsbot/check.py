"""`opsbot check`: try each setting against the real services and say what works."""

from __future__ import annotations

from sqlalchemy import text
from telegram import Bot, ChatMember
from telegram.error import TelegramError

from opsbot.db.engine import create_engine
from opsbot.logs import RedactingFormatter
from opsbot.settings import Settings
from opsbot.x.gateway import XError, gateway_from_settings

OK, FAIL = "ok  ", "FAIL"


async def _check_telegram(settings: Settings, report: list[tuple[str, str, str]]) -> None:
    bot = Bot(
        settings.telegram_token.get_secret_value(),
        base_url=f"{settings.telegram_api_url}/bot",
        base_file_url=f"{settings.telegram_api_url}/file/bot",
    )
    try:
        async with bot:
            report.append((OK, "Telegram token", f"the bot is @{bot.username}"))
            try:
                member = await bot.get_chat_member(settings.staff_chat_id, bot.id)
                chat = await bot.get_chat(settings.staff_chat_id)
            except TelegramError as exc:
                report.append((FAIL, "Staff group", f"OPSBOT_STAFF_CHAT_ID: {exc}"))
                return
            if member.status == ChatMember.ADMINISTRATOR:
                report.append((OK, "Staff group", f"administrator in “{chat.title}”"))
            else:
                report.append(
                    (
                        FAIL,
                        "Staff group",
                        f"the bot is {member.status} in “{chat.title}”; make it an administrator",
                    )
                )
    except TelegramError as exc:
        report.append(
            (FAIL, "Telegram token", f"OPSBOT_TELEGRAM_TOKEN: {type(exc).__name__}: {exc}")
        )


async def _check_x(settings: Settings, report: list[tuple[str, str, str]]) -> None:
    gateway = gateway_from_settings(settings)
    try:
        try:
            account = await gateway.me()
        except XError as exc:
            report.append(
                (
                    FAIL,
                    "X user keys",
                    f"OPSBOT_X_API_KEY/SECRET, OPSBOT_X_ACCESS_TOKEN/SECRET: {exc}",
                )
            )
            return
        if account.username.lower() != settings.x_account.lower():
            report.append(
                (
                    FAIL,
                    "X user keys",
                    f"the keys belong to @{account.username}, not @{settings.x_account}",
                )
            )
        else:
            report.append((OK, "X user keys", f"posting as @{account.username}"))
        try:
            await gateway.mentions(account.id, None, None)
            report.append((OK, "X reading", "the museum's mentions are readable"))
        except XError as exc:
            report.append((FAIL, "X reading", f"OPSBOT_X_BEARER_TOKEN: {exc}"))
    finally:
        await gateway.close()


async def _check_database(settings: Settings, report: list[tuple[str, str, str]]) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        report.append((OK, "Database", engine.url.render_as_string(hide_password=True)))
    except Exception as exc:
        report.append((FAIL, "Database", f"OPSBOT_DATABASE_URL: {type(exc).__name__}"))
    finally:
        await engine.dispose()


async def run_checks(settings: Settings) -> int:
    report: list[tuple[str, str, str]] = []
    await _check_database(settings, report)
    await _check_telegram(settings, report)
    await _check_x(settings, report)
    # Client libraries quote the token in some errors (PTB's InvalidToken does).
    redact = RedactingFormatter(settings.secrets()).redact
    for status, what, detail in report:
        print(redact(f"[{status}] {what}: {detail}"))
    return 0 if all(status == OK for status, _, _ in report) else 1
