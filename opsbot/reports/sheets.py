"""The spreadsheet (.xlsx) and CSV a Ministry clerk opens without help.

The spreadsheet has a summary sheet and one row per question with its answer; moments are
real date cells in the museum's time zone, durations numbers of minutes. The CSV is UTF-8
with a byte-order mark, the one way Excel opens Cyrillic CSV correctly by a double click, and
is written the way the reader's Excel splits it: `;` between fields and a decimal comma in
Russian, `,` and a decimal point in English.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from babel.numbers import get_decimal_symbol
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from opsbot.i18n import N_
from opsbot.reports.summary import Formats, Line, Value, lines
from opsbot.services.report import Figures, Row

DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
BOM = "\ufeff"
# Excel's own limit on a sheet name.
SHEET_NAME_LIMIT = 31


def question_header(fmt: Formats, joint: bool = False) -> list[str]:
    """`joint`: a co-hosted salon among them, whose rows also say which museum was asked and
    which answered."""
    _ = fmt._
    extra = (N_("For"), N_("Answered from")) if joint else ()
    return [
        _.plain(label)
        for label in (
            N_("Salon"),
            N_("No."),
            N_("Author"),
            N_("Question"),
            N_("Asked at"),
            N_("Link to the question"),
            N_("May be answered on X"),
            N_("Status"),
            N_("After the salon"),
            N_("Curator"),
            N_("The museum's answer"),
            N_("Answered at"),
            N_("Link to the answer"),
            N_("First response, minutes"),
            *extra,
        )
    ]


def _status(fmt: Formats, status: str) -> str:
    _ = fmt._
    names = {
        "open": N_("open"),
        "taken": N_("being answered"),
        "answered": N_("answered"),
        "hidden": N_("hidden"),
    }
    return _.plain(names.get(status, status))


def _audience(fmt: Formats, row: Row) -> str | None:
    names = {"host": N_("the host"), "partner": N_("the partner"), "both": N_("both museums")}
    return fmt._.plain(names[row.audience]) if row.audience in names else None


def question_values(salon: int, row: Row, fmt: Formats, joint: bool = False) -> list[Value]:
    _ = fmt._
    yes, no = _.plain(N_("yes")), _.plain(N_("no"))
    extra: list[Value] = (
        [_audience(fmt, row), f"@{row.answered_by}" if row.answered_by else None] if joint else []
    )
    return [
        salon,
        row.number,
        f"@{row.author}",
        row.text,
        fmt.local(row.posted_at),
        row.url,
        yes if row.replyable else no,
        _status(fmt, row.status),
        yes if row.after_salon else no,
        row.curator,
        row.answer,
        fmt.local(row.answered_at),
        row.answer_url,
        round(row.first_response / 60, 2) if row.first_response is not None else None,
        *extra,
    ]


def _joint(salons: Sequence[Figures]) -> bool:
    return any(figures.museums for figures in salons)


def _questions(salons: Sequence[Figures], fmt: Formats) -> tuple[list[str], Iterable[list[Value]]]:
    joint = _joint(salons)
    return question_header(fmt, joint), (
        question_values(s, r, fmt, joint) for s, r in _rows(salons)
    )


def _rows(salons: Sequence[Figures]) -> Iterable[tuple[int, Row]]:
    for figures in salons:
        for row in figures.rows:
            yield figures.salon_id, row


def _sheet_name(fmt: Formats, label: str) -> str:
    return fmt._.plain(label)[:SHEET_NAME_LIMIT]


def _write(sheet: Worksheet, header: list[str], rows: Iterable[list[Value]]) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for values in rows:
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, datetime):
                cell.number_format = DATE_FORMAT
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        width = max(len(str(c.value or "")) for c in column)
        sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 10), 60)


def _summary(sheet: Worksheet, summary: list[Line], fmt: Formats) -> None:
    _write(
        sheet,
        [fmt._.plain(N_("Figure")), fmt._.plain(N_("Value")), fmt._.plain(N_("As text"))],
        ([line.label, line.value, line.text] for line in summary),
    )


def salon_xlsx(figures: Figures, fmt: Formats) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _sheet_name(fmt, N_("Summary"))
    _summary(summary, lines(figures, fmt), fmt)
    questions = book.create_sheet(_sheet_name(fmt, N_("Questions")))
    _write(questions, *_questions([figures], fmt))
    return _save(book)


def period_xlsx(total: Figures, salons: list[Figures], fmt: Formats) -> bytes:
    """The period's total, then one row per salon, then every question of the period."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _sheet_name(fmt, N_("Summary"))
    _summary(summary, lines(total, fmt), fmt)
    per_salon = book.create_sheet(_sheet_name(fmt, N_("Salons")))
    header, rows = period_table(salons, fmt, total=total)
    _write(per_salon, header, rows)
    questions = book.create_sheet(_sheet_name(fmt, N_("Questions")))
    _write(questions, *_questions(salons, fmt))
    return _save(book)


def period_table(
    salons: list[Figures], fmt: Formats, *, total: Figures | None = None
) -> tuple[list[str], list[list[Value]]]:
    """One row per salon, the columns being the summary's figures, and the period's total
    last when given (its participants count each account once, not summed per salon)."""
    if not salons:
        return [fmt._.plain(N_("Salon"))], []
    # Per-curator lines differ from salon to salon; the period's row keeps the common ones.
    common = [line.label for line in lines(Figures(0, "", None, None), fmt)]
    rows: list[list[Value]] = []

    def row(first: Value, figures: Figures) -> list[Value]:
        by_label = {line.label: line.value for line in lines(figures, fmt)}
        return [first, *[by_label.get(label) for label in common[1:]]]

    rows = [row(figures.salon_id, figures) for figures in salons]
    if total is not None:
        rows.append(row(fmt._.plain(N_("Total")), total))
    return [fmt._.plain(N_("Salon")), *common[1:]], rows


def _save(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_delimiter(locale: str) -> str:
    """Excel's list separator: a semicolon where the decimal separator is a comma (Russian)."""
    return ";" if get_decimal_symbol(locale) == "," else ","


def _cell(value: Value, decimal: str) -> str | int:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return str(value).replace(".", decimal)
    return value


def _csv(header: list[str], rows: Iterable[list[Value]], fmt: Formats) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=csv_delimiter(fmt.locale))
    writer.writerow(header)
    decimal = get_decimal_symbol(fmt.locale)
    for values in rows:
        writer.writerow([_cell(v, decimal) for v in values])
    return out.getvalue().encode("utf-8")


def salon_csv(figures: Figures, fmt: Formats) -> bytes:
    """One row per question with its answer."""
    return _csv(*_questions([figures], fmt), fmt)


def period_csv(total: Figures, salons: list[Figures], fmt: Formats) -> bytes:
    """One row per salon and the period's total, for the Ministry's periodic returns."""
    header, rows = period_table(salons, fmt, total=total)
    return _csv(header, rows, fmt)
