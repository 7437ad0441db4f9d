"""Keep the gettext catalogs in step with the code: extract, update, compile.

Imports only Babel, so the build hook can use it before the package's dependencies exist.
Run ``python -m opsbot.catalogs update`` after changing a user-facing string, translate the
new entries in ``locales/*/LC_MESSAGES/opsbot.po``, and commit both.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

DOMAIN = "opsbot"
LANGUAGES = ("ru", "en")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "plain": None}
ROOT = Path(__file__).resolve().parent.parent


def template_path(locales: Path) -> Path:
    return locales / f"{DOMAIN}.pot"


def po_path(locales: Path, language: str) -> Path:
    return locales / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(source: Path) -> Catalog:
    catalog = Catalog(project="opsbot", fuzzy=False)
    method_map = [("**.py", "python")]
    for filename, lineno, message, comments, context in extract_from_dir(
        source,
        method_map,
        keywords=KEYWORDS,
        comment_tags=("TRANSLATORS:",),
        strip_comment_tags=True,
    ):
        catalog.add(
            message,
            None,
            [(str(Path(source.name) / filename), lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def write_template(catalog: Catalog, path: Path) -> None:
    with path.open("wb") as handle:
        write_po(handle, catalog, sort_output=True, width=100, include_lineno=False)


def update(locales: Path, source: Path) -> None:
    template = extract(source)
    write_template(template, template_path(locales))
    for language in LANGUAGES:
        path = po_path(locales, language)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, project="opsbot", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(
                handle,
                catalog,
                sort_output=True,
                width=100,
                ignore_obsolete=True,
                include_lineno=False,
            )


def compile_all(locales: Path) -> list[Path]:
    written = []
    for language in LANGUAGES:
        source = po_path(locales, language)
        if not source.exists():
            continue
        with source.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        target = source.with_suffix(".mo")
        with target.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    locales, source = ROOT / "locales", ROOT / "opsbot"
    if args == ["update"]:
        update(locales, source)
    elif args == ["compile"]:
        compile_all(locales)
    else:
        print("usage: python -m opsbot.catalogs update|compile", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
