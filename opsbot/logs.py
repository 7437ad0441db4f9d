"""Logging that never shows a secret.

Libraries log what they send: httpx logs the Bot API URL, which carries the bot token, and
tweepy logs request headers at DEBUG, which carry the bearer token and OAuth keys. Rather than
trusting every library, the formatter masks each configured secret (and its URL-encoded forms)
in the final line, tracebacks included. oauthlib's DEBUG lines carry the OAuth signature base
string, where the consumer key and access token appear percent-encoded twice.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        variants: set[str] = set()
        for secret in secrets:
            if len(secret) < 4:
                continue
            once = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
            variants.update(once)
            variants.update(quote(form, safe="") for form in once)
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted(variants, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def configure_logging(level: str, secrets: Iterable[str]) -> RedactingFormatter:
    formatter = RedactingFormatter(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Every poll and long-poll would otherwise log a line at INFO, and alembic a line for each
    # of its plugins on every start.
    if root.level > logging.DEBUG:
        for name in ("httpx", "apscheduler", "alembic.runtime.plugins"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return formatter
