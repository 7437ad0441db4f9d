"""A co-hosted salon's figures split by museum, by hand: how "both" is counted, whose
curator answered, each museum's times and followers, "not available" kept unknown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from opsbot.db.models import Answer, Partner, Question, QuestionAudience, QuestionStatus, Salon
from opsbot.reports import data
from opsbot.reports.make import formats
from opsbot.reports.summary import lines
from opsbot.services import report
from opsbot.services.budget import Prices
from opsbot.services.report import SalonRecord, Times

START = datetime(2026, 12, 27, 16, 0, tzinfo=UTC)
PRICES = Prices(
    owned_read=0.001, post_read=0.005, user_read=0.01, post=0.015, reply=0.01, link_post=0.2
)
BORIS, LENA = 101, 301
PARTNER = Partner(
    id=7, handle="religionmuseum", name="Religion", language="en", timezone="Europe/Berlin"
)


def question(n: int, audience: QuestionAudience, **extra: object) -> Question:
    values: dict[str, object] = {
        "id": n,
        "x_post_id": str(1000 + n),
        "author_id": str(500 + n),
        "author_handle": f"guest{n}",
        "text": f"Вопрос {n}",
        "posted_at": START + timedelta(minutes=n),
        "replyable": True,
        "status": QuestionStatus.OPEN,
        "after_salon": False,
        "salon_seq": n,
        "audience": audience,
    }
    values.update(extra)
    return Question(**values)


def answer(q: Question, curator: int, minutes: int) -> list[Answer]:
    return [
        Answer(
            id=q.id,
            question_id=q.id,
            curator_id=curator,
            text="Ответ",
            part=1,
            parts=1,
            x_post_id=str(2000 + q.id),
            x_created_at=q.posted_at + timedelta(minutes=minutes),
        )
    ]


def record(salon: Salon, partner: Partner | None) -> SalonRecord:
    asked = [
        question(1, QuestionAudience.HOST),
        question(2, QuestionAudience.PARTNER),
        question(3, QuestionAudience.PARTNER),
        question(4, QuestionAudience.BOTH),
        question(5, QuestionAudience.BOTH, status=QuestionStatus.HIDDEN),
        question(6, QuestionAudience.PARTNER, after_salon=True),
    ]
    answers = {
        1: answer(asked[0], BORIS, 2),
        2: answer(asked[1], LENA, 4),
        3: answer(asked[2], LENA, 10),
        4: answer(asked[3], LENA, 6),
    }
    return SalonRecord(
        salon,
        asked,
        answers,
        {BORIS: "Boris", LENA: "Lena"},
        [],
        None,
        "museum",
        partner=partner,
        curator_partners={BORIS: None, LENA: PARTNER.id},
    )


def test_split_counts_both_for_each_museum_and_answers_by_curator() -> None:
    salon = Salon(
        id=1,
        topic="Новый год",
        started_at=START,
        followers_at_start=1000,
        followers_at_end=1010,
        partner_followers_at_start=400,
    )
    figures = report.figures(record(salon, PARTNER), None, PRICES)
    host, theirs = figures.museums
    # Hidden and after-salon questions count for neither; "both" counts for each.
    assert (host.questions_alone, host.questions_both, host.questions) == (1, 1, 2)
    assert (theirs.questions_alone, theirs.questions_both, theirs.questions) == (2, 1, 3)
    assert figures.questions == 4  # less than 2 + 3: the question for both counted twice
    assert (host.answered, theirs.answered) == (1, 3)
    assert host.first_response == Times(1, 120.0, 120.0)
    assert theirs.first_response == Times(3, 360.0, 600.0)
    assert host.followers_delta == 10
    assert theirs.followers_delta is None  # no end reading: not available, never 0
    answered_by = {r.number: r.answered_by for r in figures.rows}
    assert answered_by[1] == "museum" and answered_by[4] == "religionmuseum"
    as_json = data.figures_dict(figures)["museums"]
    assert as_json[1]["followers"] == {"start": 400, "end": None, "difference": None}
    labels = {
        line.label: line.text for line in lines(figures, formats("ru", ZoneInfo("Europe/Moscow")))
    }
    assert labels["@religionmuseum: новые подписчики"] == "нет данных"
    assert labels["@religionmuseum: вопросы к нему (одному или вместе с другим музеем)"] == "3"


def test_a_salon_hosted_alone_has_no_split() -> None:
    salon = Salon(id=2, topic="Одна", started_at=START)
    figures = report.figures(record(salon, None), None, PRICES)
    assert figures.museums == []
    assert "museums" not in data.figures_dict(figures)
    assert all(r.audience is None and r.answered_by is None for r in figures.rows)
