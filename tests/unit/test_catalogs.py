"""The catalogs match the code: no stale template, nothing untranslated or fuzzy."""

from __future__ import annotations

import re
import string

import pytest
from babel.messages.pofile import read_po

from opsbot.catalogs import LANGUAGES, ROOT, extract, po_path, template_path
from opsbot.i18n import Translator, pick_language, translator

LOCALES = ROOT / "locales"


def _ids(catalog: object) -> set[object]:
    return {message.id for message in catalog if message.id}  # type: ignore[attr-defined]


def test_template_is_up_to_date() -> None:
    with template_path(LOCALES).open("rb") as handle:
        committed = read_po(handle)
    current = extract(ROOT / "opsbot")
    missing = _ids(current) - _ids(committed)
    extra = _ids(committed) - _ids(current)
    assert not missing and not extra, (
        "locales/opsbot.pot is stale; run `python -m opsbot.catalogs update` "
        f"(missing {sorted(map(str, missing))}, obsolete {sorted(map(str, extra))})"
    )


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_complete(language: str) -> None:
    with template_path(LOCALES).open("rb") as handle:
        template = read_po(handle)
    with po_path(LOCALES, language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    assert _ids(catalog) >= _ids(template), f"{language}: run `python -m opsbot.catalogs update`"
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        if not all(strings):
            problems.append(f"untranslated: {message.id!r}")
            continue
        expected = set().union(*(_fields(i) for i in ids))
        for translated in strings:
            if _fields(translated) - expected:
                problems.append(f"unknown placeholder in {translated!r}")
        if re.search(r"<(?!/?(b|i|u|s|code|pre|a|blockquote)\b)", "".join(strings)):
            problems.append(f"unsupported HTML in {strings!r}")
    assert problems == []


def test_russian_plural_forms() -> None:
    _ = translator("ru")
    with po_path(LOCALES, "ru").open("rb") as handle:
        catalog = read_po(handle, locale="ru")
    assert catalog.num_plurals == 3
    plurals = [m for m in catalog if isinstance(m.id, tuple)]
    assert plurals, "the Russian catalog should carry at least one plural message"
    for message in plurals:
        singular, plural = message.id
        values = {name: "x" for name in _fields(singular) | _fields(plural)}
        forms = {_.ngettext(singular, plural, n, **{**values, "count": n}) for n in (1, 2, 5)}
        assert len(forms) >= 2, message.id


def test_translations_differ_per_language() -> None:
    assert translator("ru")("Take") != translator("en")("Take")


def test_values_are_escaped_for_html() -> None:
    _: Translator = translator("en")
    text = _("🙈 Hidden by {curator}", curator="<b>Eve</b> & co")
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in text


@pytest.mark.parametrize(
    ("chosen", "telegram", "default", "expected"),
    [
        ("en", "ru", "ru", "en"),
        (None, "en-GB", "ru", "en"),
        (None, "de", "ru", "ru"),
        (None, None, "en", "en"),
        ("xx", "ru", "en", "ru"),
    ],
)
def test_pick_language(
    chosen: str | None, telegram: str | None, default: str, expected: str
) -> None:
    assert pick_language(chosen, telegram, default) == expected
