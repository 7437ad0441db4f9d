"""The `opsbot` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from opsbot.logs import configure_logging
from opsbot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("opsbot")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"opsbot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    configure_logging(args.log_level or settings.log_level, settings.secrets())
    from opsbot.runtime import run_until_signal

    log.info("opsbot starting")
    asyncio.run(run_until_signal(settings))
    log.info("opsbot stopped")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings()
    configure_logging(args.log_level or settings.log_level, settings.secrets())
    from opsbot.db.engine import create_engine
    from opsbot.db.migrate import upgrade

    async def _upgrade() -> None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(_upgrade())
    print("database is up to date")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    settings = _settings()
    configure_logging(args.log_level or "WARNING", settings.secrets())
    from opsbot.check import run_checks

    return asyncio.run(run_checks(settings))


def cmd_health(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING", [])
    from opsbot import health

    return health.run(args)


def cmd_sandbox(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "INFO", [])
    from opsbot.emulators.sandbox import serve_forever

    asyncio.run(serve_forever(telegram_port=args.telegram_port, x_port=args.x_port))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING", [])
    from opsbot.demo import run_demo

    return asyncio.run(run_demo(language=args.language, keep_running=args.keep_running))


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

    check = commands.add_parser("check", help="check the settings against Telegram and X")
    check.set_defaults(func=cmd_check)

    health = commands.add_parser(
        "health", help="exit 0 if the running bot heard from Telegram and X lately, else 1"
    )
    from opsbot import health as health_check

    health_check.add_arguments(health)
    health.set_defaults(func=cmd_health)

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
        return 1
