"""Logging that never shows a secret.

Libraries log what they send: httpx logs the Bot API URL, which carries the bot token, and
tweepy logs request headers at DEBUG, which carry the bearer token and OAuth keys. Rather than
trusting every library, the formatter masks each configured secret (and its URL-encoded forms)
in the final line, tracebacks included. oauthlib's DEBUG lines carry the OAuth signature base
string, where the consumer key and access token appear percent-encoded twice.

Partners' X tokens are not settings: they come from the database. Each is handed to `hide`
before it is first used, and from then on every log record masks it wherever it is logged,
whatever handler formats it. oauthlib and requests-oauthlib log the tokens of the PIN flow
(and every signature base string) at DEBUG before anyone could hide them: they are kept at
INFO. While a partner is asked for its PIN, seven-digit numbers are masked too: Telegram's
client logs every message it receives at DEBUG, the PIN among them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
# Libraries that log OAuth tokens and secrets at DEBUG, before the bot could hide them.
QUIET_AT_DEBUG = ("oauthlib", "requests_oauthlib")
_PIN = re.compile(r"(?<![0-9])[0-9]{7}(?![0-9])")


def _variants(secrets: Iterable[str]) -> set[str]:
    variants: set[str] = set()
    for secret in secrets:
        if len(secret) < 4:
            continue
        once = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
        variants.update(once)
        variants.update(quote(form, safe="") for form in once)
    return variants


class _Hidden:
    """Secrets learned while running; every log record masks them."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.pins_pending = 0

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if self.pins_pending:
            text = _PIN.sub(MASK, text)
        return text


_hidden = _Hidden()


class _MaskedRecord(logging.LogRecord):
    def getMessage(self) -> str:
        return _hidden.mask(super().getMessage())


def hide(*secrets: str) -> None:
    """Mask these values in every log record from now on."""
    if logging.getLogRecordFactory() is not _MaskedRecord:
        logging.setLogRecordFactory(_MaskedRecord)
    for level_name in QUIET_AT_DEBUG:
        logger = logging.getLogger(level_name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    known = set(_hidden.secrets) | _variants(secrets)
    _hidden.secrets = sorted(known, key=len, reverse=True)


def pin_awaited() -> None:
    """A partner is asked for its PIN: seven-digit numbers are masked until `pin_settled`."""
    hide()
    _hidden.pins_pending += 1


def pin_settled() -> None:
    _hidden.pins_pending = max(_hidden.pins_pending - 1, 0)


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        variants = _variants(secrets)
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted(variants, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _hidden.mask(text)

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
