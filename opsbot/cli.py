"""The `opsbot` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

from opsbot.failures import ExitCode, StartupError
from opsbot.logs import RedactingFormatter, configure_logging
from opsbot.settings import (
    DatabaseSettings,
    SettingsError,
    load_database_settings,
    load_settings,
    load_telegram_settings,
)

log = logging.getLogger("opsbot")
AnySettings = TypeVar("AnySettings", bound=DatabaseSettings)


def _load(loader: Callable[[], AnySettings]) -> AnySettings:
    try:
        return loader()
    except SettingsError as exc:
        print(f"opsbot: {exc}", file=sys.stderr)
        raise SystemExit(ExitCode.SETTINGS) from None


def _refuse(error: StartupError, formatter: RedactingFormatter) -> int:
    """One line for a cause the person can fix: no traceback, no secret."""
    print(f"opsbot: {formatter.redact(str(error))}", file=sys.stderr)
    return error.code


def cmd_run(args: argparse.Namespace) -> int:
    settings = _load(load_settings)
    formatter = configure_logging(args.log_level or settings.log_level, settings.secrets())
    from opsbot.runtime import run_until_signal

    try:
        asyncio.run(run_until_signal(settings))
    except StartupError as exc:
        return _refuse(exc, formatter)
    log.info("opsbot stopped")
    return ExitCode.OK


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    # Only the database: a migration step (a container's, say) is not given the bot's tokens.
    settings = _load(load_database_settings)
    formatter = configure_logging(args.log_level or settings.log_level, settings.secrets())
    from opsbot.db.engine import create_engine
    from opsbot.db.migrate import upgrade
    from opsbot.failures import reach_database

    async def _upgrade() -> None:
        await reach_database(settings.database_url)
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(_upgrade())
    except StartupError as exc:
        return _refuse(exc, formatter)
    print("database is up to date")
    return ExitCode.OK


def cmd_check(args: argparse.Namespace) -> int:
    settings = _load(load_settings)
    configure_logging(args.log_level or "WARNING", settings.secrets())
    from opsbot.check import run_checks

    return asyncio.run(run_checks(settings))


def cmd_health(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING", [])
    from opsbot import health

    return health.run(args)


def cmd_find_group(args: argparse.Namespace) -> int:
    settings = _load(load_telegram_settings)
    configure_logging(args.log_level or "WARNING", settings.secrets())
    from opsbot.find_group import find_groups

    return asyncio.run(
        find_groups(settings.telegram_token.get_secret_value(), settings.telegram_api_url)
    )


def cmd_sandbox(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "INFO", [])
    from opsbot.emulators.sandbox import serve_forever

    asyncio.run(serve_forever(telegram_port=args.telegram_port, x_port=args.x_port))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING", [])
    from opsbot.demo import run_demo

    return asyncio.run(run_demo(language=args.language, keep_running=args.keep_running))


def cmd_report(args: argparse.Namespace) -> int:
    settings = _load(load_settings)
    configure_logging(args.log_level or "WARNING", settings.secrets())
    from opsbot import publish

    return asyncio.run(publish.report(settings, args))


def cmd_archive(args: argparse.Namespace) -> int:
    settings = _load(load_settings)
    configure_logging(args.log_level or "WARNING", settings.secrets())
    from opsbot import publish

    return asyncio.run(publish.build_archive(settings, args))


def cmd_rotate_secrets(args: argparse.Namespace) -> int:
    settings = _load(load_settings)
    configure_logging(args.log_level or settings.log_level, settings.secrets())
    from opsbot.secret_rotation import rotate
    from opsbot.services.sealed import SealError

    if settings.secret_key is None:
        print("opsbot: OPSBOT_SECRET_KEY is not set", file=sys.stderr)
        return ExitCode.SETTINGS
    try:
        count = asyncio.run(rotate(settings.database_url, settings.secret_key.get_secret_value()))
    except SealError as exc:
        print(f"opsbot: {exc}; nothing was changed", file=sys.stderr)
        return ExitCode.SETTINGS
    print(f"sealed again with the newest key: the tokens of {count} partner(s)")
    return ExitCode.OK


def cmd_new_secret_key(args: argparse.Namespace) -> int:
    from opsbot.services.sealed import new_key

    print(new_key())
    return ExitCode.OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opsbot", description="Runs a museum's live Q&A sessions on X from Telegram."
    )
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING (default from OPSBOT_LOG_LEVEL)")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="migrate the database, then run the bot until stopped")
    run.set_defaults(func=cmd_run)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply all migrations").set_defaults(func=cmd_db_upgrade)

    commands.add_parser(
        "new-secret-key", help="print a new key for OPSBOT_SECRET_KEY"
    ).set_defaults(func=cmd_new_secret_key)
    commands.add_parser(
        "rotate-secrets",
        help="seal the partners' X tokens again with the first key of OPSBOT_SECRET_KEY",
    ).set_defaults(func=cmd_rotate_secrets)

    check = commands.add_parser("check", help="check the settings against Telegram and X")
    check.set_defaults(func=cmd_check)

    health = commands.add_parser(
        "health", help="exit 0 if the running bot heard from Telegram and X lately, else 1"
    )
    from opsbot import health as health_check

    health_check.add_arguments(health)
    health.set_defaults(func=cmd_health)

    commands.add_parser(
        "find-group",
        help="list the groups the bot is in, with their ids (needs only OPSBOT_TELEGRAM_TOKEN)",
    ).set_defaults(func=cmd_find_group)

    sandbox = commands.add_parser(
        "sandbox", help="run local emulators of Telegram and X for trying the bot out"
    )
    sandbox.add_argument("--telegram-port", type=int, default=8081)
    sandbox.add_argument("--x-port", type=int, default=8082)
    sandbox.set_defaults(func=cmd_sandbox)

    verify = commands.add_parser(
        "verify-draw",
        help="recompute a salon's draw from its published export and check both hashes",
    )
    from opsbot import verify as verify_draw

    verify_draw.add_arguments(verify)
    verify.set_defaults(func=verify_draw.run)

    from opsbot import publish

    report = commands.add_parser(
        "report", help="a salon's (or a month's, a quarter's) figures as JSON, CSV, xlsx, HTML, PNG"
    )
    publish.add_report_arguments(report)
    report.set_defaults(func=cmd_report)
    archive = commands.add_parser(
        "archive", help="write the public archive of the salons as a static site"
    )
    publish.add_archive_arguments(archive)
    archive.set_defaults(func=cmd_archive)

    demo = commands.add_parser(
        "demo", help="the whole loop against the emulators, no tokens needed"
    )
    demo.add_argument("--language", choices=["ru", "en"], default="ru")
    demo.add_argument(
        "--keep-running", action="store_true", help="leave everything running to play with"
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except SystemExit:
        raise
    except Exception:
        # Through logging, whose formatter masks secrets: a bare traceback could show a token.
        log.critical("opsbot stopped on an unexpected error", exc_info=True)
        return ExitCode.UNEXPECTED
