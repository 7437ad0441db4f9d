"""The environment a test gives a child `opsbot` process: this one's, less any OPSBOT_ setting
that would leak in from the machine running the tests."""

from __future__ import annotations

import os


def without_opsbot_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
