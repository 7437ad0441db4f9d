"""The report as one self-contained HTML page: the summary, open questions, per salon rows.

Inline CSS only (no scripts, fonts or requests), every piece of text escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from babel.dates import format_datetime

from opsbot.i18n import N_
from opsbot.reports.sheets import period_table
from opsbot.reports.summary import Formats, lines
from opsbot.services.report import Figures

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:48rem;padding:1rem;line-height:1.45;color:#1b1b1b;background:#fff}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{border-bottom:1px solid #ddd;padding:.35rem .4rem;text-align:left;vertical-align:top}
.scroll{overflow-x:auto}a{color:#0b57d0;overflow-wrap:anywhere}
"""


# Labels, marked here for the catalogs (an f-string hides a call from the extractor).
T_FIGURES = N_("Figures")
T_SALONS = N_("Salons")
T_QUESTIONS_STILL_OPEN = N_("Questions still open")


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def report_page(
    figures: Figures,
    fmt: Formats,
    *,
    period: str | None = None,
    salons: list[Figures] | None = None,
) -> bytes:
    _ = fmt._
    title = (
        _.plain(N_("Salons of {period}: report"), period=period)
        if period
        else _.plain(N_("Salon #{number}: report"), number=figures.salon_id)
    )
    parts = [
        f'<!DOCTYPE html><html lang="{fmt.locale}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{escape(title)}</h1>",
        f"<h2>{escape(_.plain(T_FIGURES))}</h2>",
        _table(
            [_.plain(N_("Figure")), _.plain(N_("Value"))],
            [[escape(line.label), escape(line.text)] for line in lines(figures, fmt)],
        ),
    ]
    if salons:
        header, rows = period_table(salons, fmt, total=figures)
        parts.append(f"<h2>{escape(_.plain(T_SALONS))}</h2>")
        parts.append(_table(header, [[escape(fmt_value(v, fmt)) for v in row] for row in rows]))
    if figures.open_questions:
        parts.append(f"<h2>{escape(_.plain(T_QUESTIONS_STILL_OPEN))}</h2><ul>")
        for row in figures.open_questions:
            parts.append(
                f'<li><a href="{escape(row.url)}">@{escape(row.author)}</a>: '
                f"{escape(row.text)}</li>"
            )
        parts.append("</ul>")
    parts.append("</main></body></html>")
    return "".join(parts).encode()


def fmt_value(value: object, fmt: Formats) -> str:
    if value is None:
        return fmt.not_available()
    if isinstance(value, datetime):
        # The table's moments are the museum's wall clock already, without a zone.
        return format_datetime(value, "short", tzinfo=UTC, locale=fmt.locale)
    if isinstance(value, int | float):
        return fmt.number(value)
    return str(value)
