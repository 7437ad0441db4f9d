"""The report's definitions, by hand: percentiles, periods, and what a period sums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from matplotlib.figure import Figure

from opsbot.db.models import Answer, Question, QuestionStatus, Salon
from opsbot.reports import chart, periods
from opsbot.reports.make import formats
from opsbot.reports.sheets import csv_delimiter
from opsbot.reports.summary import lines
from opsbot.services import report
from opsbot.services.budget import Prices
from opsbot.services.report import Figures, Row, SalonRecord, Spend, Times, period_total

MOSCOW = ZoneInfo("Europe/Moscow")
BORIS = 101
PRICES = Prices(
    owned_read=0.001, post_read=0.005, user_read=0.01, post=0.015, reply=0.01, link_post=0.2
)


@pytest.mark.parametrize(
    ("seconds", "median", "p90"),
    [
        ([], None, None),
        ([42.0], 42.0, 42.0),
        ([30.0, 10.0], 20.0, 30.0),
        # Ten answers: the 9th fastest is the 90th percentile by nearest rank.
        ([float(n) for n in range(10, 0, -1)], 5.5, 9.0),
        ([float(n) for n in range(1, 12)], 6.0, 10.0),
    ],
)
def test_first_response_median_and_nearest_rank_p90(
    seconds: list[float], median: float | None, p90: float | None
) -> None:
    times = Times.of(seconds)
    assert (times.count, times.median, times.p90) == (len(seconds), median, p90)


def test_periods_are_local_months_and_quarters() -> None:
    december = periods.parse("month", "2026-12", MOSCOW)
    assert december is not None
    assert december.start == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    assert december.end == datetime(2026, 12, 31, 21, 0, tzinfo=UTC)
    quarter = periods.parse("quarter", "2026-Q4", MOSCOW)
    assert quarter is not None and quarter.name == "2026-Q4"
    assert (quarter.start.month, quarter.end.year, quarter.end.month) == (10, 2027, 1)
    assert periods.parse("quarter", "2026-4", MOSCOW) == quarter
    assert quarter.months() == ["2026-10", "2026-11", "2026-12"]
    assert december.months() == ["2026-12"]
    for kind, text in [("month", "2026-13"), ("month", "12-2026"), ("quarter", "2026-Q5")]:
        assert periods.parse(kind, text, MOSCOW) is None


def salon(number: int, **values: object) -> Figures:
    figures = Figures(number, f"Тема {number}", None, None)
    for name, value in values.items():
        setattr(figures, name, value)
    return figures


def test_a_period_sums_its_salons_and_keeps_unknowns_unknown() -> None:
    a = salon(
        1,
        questions=4,
        answered=2,
        followers_start=10,
        followers_end=13,
        impressions=100,
        spend=Spend(2, None, Decimal("0.020")),
    )
    b = salon(
        2,
        questions=6,
        answered=1,
        followers_start=20,
        followers_end=21,
        impressions=None,
        spend=Spend(1, None, Decimal("0.015")),
    )
    total = period_total([a, b])
    assert (total.questions, total.answered) == (10, 3)
    assert total.followers_delta == 4
    assert total.impressions is None
    assert total.spend == Spend(3, None, Decimal("0.035"))


def test_what_nobody_measured_reads_not_available_never_zero() -> None:
    figures = salon(3, questions=2)
    text = {line.label: line.text for line in lines(figures, formats("en", MOSCOW))}
    assert text["New followers"] == "not available"
    assert text["Impressions of the museum's posts"] == "not available"
    assert text["Questions"] == "2"
    russian = {line.label: line.text for line in lines(figures, formats("ru", MOSCOW))}
    assert russian["Новые подписчики"] == "нет данных"


def test_csv_is_split_the_way_the_readers_excel_splits_it() -> None:
    assert csv_delimiter("ru") == ";"
    assert csv_delimiter("en") == ","


def test_one_curators_eleven_answers_give_a_p90_below_the_slowest() -> None:
    """Figures by hand from stored rows: eleven answers by one curator, one of them a thread."""
    start = datetime(2026, 12, 20, 16, 0, tzinfo=UTC)
    salon_row = Salon(id=7, topic="Ёлка", started_at=start, ended_at=start + timedelta(hours=2))
    asked = [
        Question(
            id=n,
            x_post_id=str(1000 + n),
            author_id=str(500 + n),
            author_handle=f"guest{n}",
            text=f"Вопрос {n}",
            posted_at=start + timedelta(minutes=n),
            replyable=True,
            status=QuestionStatus.ANSWERED,
            after_salon=False,
            salon_seq=n,
        )
        for n in range(1, 12)
    ]
    # Answered in 1, 2, ... 11 minutes by X's clock; the bot's own clock lagged a minute.
    answers = {
        q.id: [
            Answer(
                id=q.id,
                question_id=q.id,
                curator_id=BORIS,
                text=f"Ответ {q.id}",
                part=1,
                parts=1,
                x_post_id=str(2000 + q.id),
                x_created_at=q.posted_at + timedelta(minutes=q.id),
                posted_at=q.posted_at + timedelta(minutes=q.id + 1),
            )
        ]
        for q in asked
    }
    answers[3].append(
        Answer(id=100, question_id=3, curator_id=BORIS, text="(2/2)", part=2, parts=2)
    )
    record = SalonRecord(salon_row, asked, answers, {BORIS: "Boris"}, [], None, "museum")
    figures = report.figures(record, None, PRICES)
    [boris] = figures.curators
    assert boris.answers == 11
    # Nearest rank: the 10th of eleven (ceil(0.9 * 11) = 10), not the slowest, the 11th.
    assert boris.first_response == Times(11, 6 * 60.0, 10 * 60.0)
    assert figures.first_response.p90 != max(r.first_response or 0 for r in figures.rows)
    assert next(r for r in figures.rows if r.number == 3).answer == "Ответ 3\n\n(2/2)"


def test_a_period_counts_a_returning_visitor_once() -> None:
    a = salon(1, asker_ids={"1", "2"}, responder_ids={"3"})
    b = salon(2, asker_ids={"2", "4"}, responder_ids={"1"})
    total = period_total([a, b])
    assert (total.askers, total.prompt_responders, total.participants) == (3, 2, 4)


def chart_texts(figures: Figures, language: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The chart's titles, legends and axis label as drawn for a reader of `language`: read
    from the figure it renders, so the PNG carries exactly these."""
    drawn: list[Figure] = []

    class Kept(Figure):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            drawn.append(self)

    monkeypatch.setattr(chart, "Figure", Kept)
    png = chart.salon_chart(figures, formats(language, MOSCOW))
    assert png.startswith(b"\x89PNG")
    [figure] = drawn
    top, bottom = figure.axes
    suptitle = figure.get_suptitle()
    legends = [[t.get_text() for t in axes.get_legend().get_texts()] for axes in (top, bottom)]
    return [
        suptitle,
        top.get_title(),
        *legends[0],
        bottom.get_title(),
        *legends[1],
        bottom.get_xlabel(),
    ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "ru",
            [
                "Гостиная №7: Ёлка",
                "Вопросы и ответы за каждые пять минут",
                "Вопросы",
                "Ответы",
                "Первый ответ, минут",
                "медиана",
                "Время вопроса",
            ],
        ),
        (
            "en",
            [
                "Salon #7: Ёлка",
                "Questions and answers per five minutes",
                "Questions",
                "Answers",
                "First response, minutes",
                "median",
                "Question asked at",
            ],
        ),
    ],
)
def test_chart_labels_follow_the_readers_language(
    language: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime(2026, 12, 20, 16, 0, tzinfo=UTC)
    asked = start + timedelta(minutes=3)
    figures = Figures(7, "Ёлка", start, start + timedelta(hours=1))
    figures.rows = [
        Row(
            number=1,
            author="guest1",
            text="Вопрос",
            posted_at=asked,
            url="https://x.com/guest1/status/1",
            replyable=True,
            status="answered",
            after_salon=False,
            answered_at=asked + timedelta(minutes=4),
            first_response=240.0,
        )
    ]
    figures.first_response = Times.of([240.0])
    assert chart_texts(figures, language, monkeypatch) == expected
