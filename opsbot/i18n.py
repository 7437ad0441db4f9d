"""Translations per person: Russian and English gettext catalogs in `locales/`.

Message ids are English with named placeholders. Every message the bot sends is HTML, so a
`Translator` escapes the values it fills in unless they are marked as `Html` already; `plain`
is for the few texts that are not HTML (callback answers, posts on X).
"""

from __future__ import annotations

import gettext
import html
import logging
from functools import cache
from pathlib import Path

from opsbot.catalogs import DOMAIN

log = logging.getLogger(__name__)
_PACKAGE = Path(__file__).resolve().parent

SUPPORTED_LANGUAGES = ("ru", "en")


class Html(str):
    """A piece of HTML built by the bot itself, safe to insert without escaping."""

    __slots__ = ()


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; it is translated where it is shown."""
    return message


def locales_path() -> Path:
    for candidate in (_PACKAGE / "_locales", _PACKAGE.parent / "locales"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the opsbot locales folder is missing from this installation")


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    try:
        return gettext.translation(DOMAIN, locales_path(), languages=[language])
    except FileNotFoundError:
        log.warning("no compiled catalog for %s; showing English texts", language)
        return gettext.NullTranslations()


def _escape(value: object) -> object:
    if isinstance(value, Html | int | float):
        return value
    return html.escape(str(value), quote=False)


class Translator:
    __slots__ = ("_catalog", "language")

    def __init__(self, language: str) -> None:
        self.language = language
        self._catalog = _catalog(language)

    def __call__(self, message: str, /, **values: object) -> Html:
        text = self._catalog.gettext(message)
        return Html(text.format(**{k: _escape(v) for k, v in values.items()}))

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> Html:
        text = self._catalog.ngettext(singular, plural, n)
        return Html(text.format(**{k: _escape(v) for k, v in values.items()}))

    def plain(self, message: str, /, **values: object) -> str:
        return self._catalog.gettext(message).format(**values)


@cache
def translator(language: str) -> Translator:
    return Translator(language if language in SUPPORTED_LANGUAGES else "en")


def pick_language(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """A person's explicit choice, else their Telegram app's language, else the museum's default."""
    if chosen in SUPPORTED_LANGUAGES:
        return chosen
    if telegram_code:
        code = telegram_code.split("-")[0].lower()
        if code in SUPPORTED_LANGUAGES:
            return code
    return default
