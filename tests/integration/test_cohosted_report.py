"""A co-hosted salon's summary and report, split by museum: questions to each, answers by
each, first-response times of each, followers each gained."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select, update

from opsbot.clock import ManualClock
from opsbot.db.models import (
    Answer,
    AnswerStatus,
    Question,
    QuestionAudience,
    QuestionStatus,
    Salon,
)
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, MODERATOR, Sandbox
from opsbot.services import planning
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import one_card_each, settled, wait_for_cards
from tests.integration.partner_world import (
    PARTNER_CHAT_ID,
    PARTNER_CURATOR,
    PARTNER_HANDLE,
    seat_partner,
)
from tests.integration.test_reports import answer_on_x, ask_for_files
from tests.integration.test_salons import command

ANNA = MODERATOR.user_id


async def salon_row(bot: OpsbotApplication) -> Salon:
    async with bot.bot_data.sessionmaker.begin() as session:
        salon = await session.scalar(select(Salon).order_by(Salon.id.desc()))
    assert salon is not None
    return salon


async def both_followers_noted(bot: OpsbotApplication, *, at_start: bool) -> Salon:
    # Two reads of X after the command: up to 30 s on a loaded machine.
    for _attempt in range(600):
        salon = await salon_row(bot)
        if at_start and salon.partner_followers_at_start is not None:
            return salon
        if not at_start and salon.partner_followers_at_end is not None:
            return salon
        await asyncio.sleep(0.05)
    raise AssertionError("the partner's followers were never noted")


async def test_cohosted_salon_is_summed_up_and_reported_by_museum(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    x = sandbox.x
    partner = await seat_partner(sandbox, bot, followers=500)
    x.set_followers("museum", 1000)
    runtime = bot.bot_data
    async with runtime.sessionmaker.begin() as session:
        await planning.plan_one(
            session,
            starts_at=clock.now(),
            topic="Новый год в разных культурах",
            duration=timedelta(hours=2),
            by=ANNA,
            offsets=[],
            zone=runtime.settings.zone,
            partner_id=partner.id,
        )
    await command(sandbox, ANNA, "/start_salon", "Обязательство")
    started = await both_followers_noted(bot, at_start=True)
    assert (started.followers_at_start, started.partner_followers_at_start) == (1000, 500)
    x.set_followers("museum", 1004)
    x.set_followers(PARTNER_HANDLE, 530)

    one_card_each(bot)
    posts = {
        "host0": x.visitor_posts("guest0", "@museum Про ёлку? #museumsalon"),
        "host1": x.visitor_posts("guest1", "@museum Про игрушки? #museumsalon"),
        "partner0": x.visitor_posts("pilgrim0", f"@{PARTNER_HANDLE} Christmas? #museumsalon"),
        "partner1": x.visitor_posts("pilgrim1", f"@{PARTNER_HANDLE} Epiphany? #museumsalon"),
        "both": x.visitor_posts(
            "guest2", f"@museum @{PARTNER_HANDLE} Что общего у праздников? #museumsalon"
        ),
    }
    cards = await wait_for_cards(sandbox, len(posts), timeout=30)
    async with runtime.sessionmaker.begin() as session:
        for key, audience in (
            ("partner0", QuestionAudience.PARTNER),
            ("partner1", QuestionAudience.PARTNER),
            ("both", QuestionAudience.BOTH),
        ):
            await session.execute(
                update(Question)
                .where(Question.x_post_id == posts[key]["id"])
                .values(audience=audience)
            )

    def card_of(key: str) -> dict[str, Any]:
        return next(c for c in cards if posts[key]["text"] in c["text"])

    clock.advance(120)
    await answer_on_x(sandbox, CURATOR_EN, card_of("host0"), "С 1700 года.", "Post")
    clock.advance(120)
    await answer_on_x(sandbox, CURATOR_RU, card_of("both"), "Свет и ожидание.", "Опубликовать")
    # The post is on X a moment before the outbox records the answer: the summary counts it.
    await settled(bot)
    # The partner's curator answered from the partner's own account (posted there, not here).
    async with runtime.sessionmaker.begin() as session:
        question = await session.scalar(
            select(Question).where(Question.x_post_id == posts["partner0"]["id"])
        )
        assert question is not None
        answered_at = question.posted_at + timedelta(minutes=5)
        question.status = QuestionStatus.ANSWERED
        session.add(
            Answer(
                question_id=question.id,
                curator_id=PARTNER_CURATOR.user_id,
                text="On the 25th of December.",
                status=AnswerStatus.POSTED,
                x_post_id="1999000000000000001",
                posted_at=answered_at,
                x_created_at=answered_at,
            )
        )
    summary = await command(sandbox, ANNA, "/end_salon", "завершена")
    ended = await both_followers_noted(bot, at_start=False)
    assert (ended.followers_at_end, ended.partner_followers_at_end) == (1004, 530)

    # The card: the host's questions 2 + both 1, the partner's 2 + both 1; two answers by the
    # host's curators (Boris and Vera), one by the partner's Lena.
    text = summary["text"]
    assert "@museum: вопросов 3 (к обоим: 1) · ответов 2" in text
    assert f"@{PARTNER_HANDLE}: вопросов 3 (к обоим: 1) · ответов 1" in text
    assert "медиана первого ответа 5 минут" in text
    in_partner = await sandbox.telegram.wait_for(
        lambda: next(
            (
                m
                for m in sandbox.telegram.chat_view(PARTNER_CHAT_ID)
                if m["from"]["is_bot"] and "is over" in m["text"]
            ),
            None,
        )
    )
    assert f"@{PARTNER_HANDLE}: questions 3 (to both: 1) · answers 1" in in_partner["text"]
    assert "/draw" not in in_partner["text"]

    files = await ask_for_files(sandbox, "/report", 4)
    salon_id = ended.id
    figures = json.loads(files[f"salon-{salon_id}-report.json"])
    host, theirs = figures["museums"]
    assert host["account"] == "museum" and theirs["account"] == PARTNER_HANDLE
    assert host["questions"] == {"all": 3, "alone": 2, "both": 1}
    assert theirs["questions"] == {"all": 3, "alone": 2, "both": 1}
    assert (host["answered"], theirs["answered"]) == (2, 1)
    assert theirs["first_response"]["median_seconds"] == 300
    assert host["followers"] == {"start": 1000, "end": 1004, "difference": 4}
    assert theirs["followers"] == {"start": 500, "end": 530, "difference": 30}

    rows = list(
        csv.reader(
            io.StringIO(files[f"salon-{salon_id}-report.csv"].decode("utf-8-sig")), delimiter=";"
        )
    )
    header = rows[0]
    assert header[-2:] == ["Кому", "Ответил аккаунт"]
    by_author = {row[2]: row for row in rows[1:]}
    assert by_author["@pilgrim0"][-2:] == ["музею-партнёру", f"@{PARTNER_HANDLE}"]
    assert by_author["@guest2"][-2:] == ["обоим музеям", "@museum"]

    book = load_workbook(io.BytesIO(files[f"salon-{salon_id}-report.xlsx"]))
    summary_sheet = {row[0]: row[1] for row in book.worksheets[0].iter_rows(values_only=True)}
    assert summary_sheet[f"@{PARTNER_HANDLE}: новые подписчики"] == 30
    assert summary_sheet["@museum: ответы"] == 2


async def test_partner_followers_unknown_to_x_are_not_available(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    partner = await seat_partner(sandbox, bot)
    runtime = bot.bot_data
    async with runtime.sessionmaker.begin() as session:
        await session.execute(
            update(type(partner))
            .where(type(partner).id == partner.id)
            .values(handle="nosuchmuseum")
        )
        await planning.plan_one(
            session,
            starts_at=clock.now(),
            topic="Тема",
            duration=timedelta(hours=1),
            by=ANNA,
            offsets=[],
            zone=runtime.settings.zone,
            partner_id=partner.id,
        )
    await command(sandbox, ANNA, "/start_salon", "Обязательство")
    await command(sandbox, ANNA, "/end_salon", "завершена")
    files = await ask_for_files(sandbox, "/report", 4)
    figures = json.loads(next(v for k, v in files.items() if k.endswith(".json")))
    theirs = figures["museums"][1]
    assert theirs["followers"] == {"start": None, "end": None, "difference": None}
    book = load_workbook(io.BytesIO(next(v for k, v in files.items() if k.endswith(".xlsx"))))
    texts = {row[0]: row[2] for row in book.worksheets[0].iter_rows(values_only=True)}
    assert texts["@nosuchmuseum: новые подписчики"] == "нет данных"
