"""The services run without Telegram or X: importing all of them loads neither client."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import opsbot.services

CLIENTS = ("telegram", "tweepy", "aiohttp", "opsbot.telegram", "opsbot.x")


def test_the_services_import_neither_telegram_nor_x() -> None:
    names = [f"opsbot.services.{m.name}" for m in pkgutil.iter_modules(opsbot.services.__path__)]
    assert {"opsbot.services.outbox", "opsbot.services.salons"} <= set(names)
    # A fresh interpreter: this test process has loaded the clients for other tests.
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", script], check=True, capture_output=True, text=True
        ).stdout
    )
    leaked = [m for m in loaded if m in CLIENTS or m.startswith(tuple(f"{c}." for c in CLIENTS))]
    assert leaked == []
