"""The Ministry's periodic returns: a month's salons summed, one row per salon; and the
`opsbot report` and `opsbot archive` commands run as the museum's web team would."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import html5lib
from openpyxl import load_workbook

from opsbot.db.models import (
    Answer,
    AnswerStatus,
    Question,
    QuestionStatus,
    Salon,
    SalonStatus,
    StaffMember,
    UsageKind,
)
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, STAFF_CHAT_ID, Sandbox
from opsbot.services import usage
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication
from tests.environment import without_opsbot_settings
from tests.integration.test_reports import (
    ANNA,
    ask_for_files,
    documents_after,
    run_salon,
    salon_row,
)
from tests.integration.test_salons import last_id

BORIS, VERA = CURATOR_EN.user_id, CURATOR_RU.user_id
OCTOBER = datetime(2026, 10, 3, 16, 0, tzinfo=UTC)


async def post_reads(bot: OpsbotApplication) -> int:
    async with bot.bot_data.sessionmaker.begin() as session:
        counts = await usage.of_month(session, usage.month_of(datetime.now(UTC)))
    return counts.get(UsageKind.POST_READ, 0)


def opsbot_env(settings: Settings) -> dict[str, str]:
    env = without_opsbot_settings()
    for name in (
        "telegram_token",
        "x_bearer_token",
        "x_api_key",
        "x_api_secret",
        "x_access_token",
        "x_access_token_secret",
    ):
        env[f"OPSBOT_{name.upper()}"] = getattr(settings, name).get_secret_value()
    env.update(
        OPSBOT_STAFF_CHAT_ID=str(settings.staff_chat_id),
        OPSBOT_X_ACCOUNT=settings.x_account,
        OPSBOT_TELEGRAM_API_URL=settings.telegram_api_url,
        OPSBOT_X_API_URL=settings.x_api_url,
        OPSBOT_DATABASE_URL=settings.database_url,
    )
    return env


async def opsbot(settings: Settings, cwd: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opsbot",
        *args,
        env=opsbot_env(settings),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
    return int(process.returncode or 0), stdout.decode(), stderr.decode()


def question(salon: Salon, n: int, minute: int, **values: Any) -> Question:
    assert salon.started_at is not None
    return Question(
        x_post_id=str(1_800_000_000_000_000_000 + salon.id * 1000 + n),
        author_id=values.pop("author_id", str(500 + n)),
        author_handle=f"guest{n}",
        text=f"Вопрос {n} гостиной {salon.id}",
        posted_at=salon.started_at + timedelta(minutes=minute),
        source="mentions",
        replyable=values.pop("replyable", True),
        salon_id=salon.id,
        **values,
    )


def answered(q: Question, curator: int, seconds: int) -> Answer:
    return Answer(
        question_id=q.id,
        curator_id=curator,
        text=f"Ответ на {q.text}",
        status=AnswerStatus.POSTED,
        x_post_id=str(int(q.x_post_id) + 500),
        posted_at=q.posted_at + timedelta(seconds=seconds),
    )


async def seed_three_salons(bot: OpsbotApplication) -> None:
    """Three October salons (and one in November, outside the month)."""
    async with bot.bot_data.sessionmaker.begin() as session:
        session.add_all(
            [
                StaffMember(telegram_id=BORIS, first_name="Boris"),
                StaffMember(telegram_id=VERA, first_name="Vera"),
            ]
        )
        salons = []
        for n, (start, followers) in enumerate(
            [(0, (100, 105)), (7, (105, 110)), (14, (110, 111)), (35, (111, 150))]
        ):
            begun = OCTOBER + timedelta(days=start)
            salon = Salon(
                topic=f"Тема {n}",
                status="ended",
                started_at=begun,
                planned_end_at=begun + timedelta(hours=1),
                ended_at=begun + timedelta(hours=1),
                followers_at_start=followers[0],
                followers_at_end=followers[1],
            )
            session.add(salon)
            salons.append(salon)
        await session.flush()
        a, b, c, november = salons
        # A: three questions, two replyable; Boris answers one in 120 s.
        qa = [question(a, 1, 1), question(a, 2, 2), question(a, 3, 3, replyable=False)]
        # B: two replyable questions, the first by A's first asker come back; Vera answers
        # in 60 s, Boris in 300 s.
        qb = [question(b, 4, 1, author_id=qa[0].author_id), question(b, 5, 2)]
        # C: one replyable, one not, one hidden as spam, one a day after the end.
        qc = [
            question(c, 6, 1),
            question(c, 7, 2, replyable=False),
            question(c, 8, 3, status=QuestionStatus.HIDDEN),
            question(c, 9, 60 * 5, after_salon=True),
        ]
        qn = [question(november, 10, 1)]
        session.add_all(qa + qb + qc + qn)
        await session.flush()
        qa[0].status = qb[0].status = qb[1].status = QuestionStatus.ANSWERED
        # October's X bill, as the usage ledger counted it.
        await usage.add(session, "2026-10", UsageKind.POST_READ, 100)
        await usage.add(session, "2026-10", UsageKind.USER_READ, 2)
        await usage.add(session, "2026-10", UsageKind.REPLY, 3)
        session.add_all(
            [answered(qa[0], BORIS, 120), answered(qb[0], VERA, 60), answered(qb[1], BORIS, 300)]
        )


async def test_month_report_sums_three_salons(
    sandbox: Sandbox, bot: OpsbotApplication, settings: Settings, tmp_path: Path
) -> None:
    await seed_three_salons(bot)
    files = await ask_for_files(sandbox, "/report month 2026-10", 3)
    data = json.loads(files["report-2026-10.json"])
    assert data["period"] == "2026-10"
    total = data["total"]
    assert total["questions"] == {
        "all": 7,
        "replyable": 5,
        "answered": 3,
        "answered_replyable": 3,
        "answered_share_of_replyable": 0.6,
        "hidden": 1,
        "after_salon": 1,
        "open": 4,
    }
    # Seven questions of six people: the one who came to two salons counts once.
    assert total["participants"] == {"all": 6, "askers": 6, "replied_to_prompts": 0}
    assert sum(s["participants"]["askers"] for s in data["salons"]) == 7
    assert total["first_response"] == {
        "answered": 3,
        "median_seconds": 120.0,
        "p90_seconds": 300.0,
    }
    assert {c["name"]: c["answers"] for c in total["curators"]} == {"Boris": 2, "Vera": 1}
    boris = next(c for c in total["curators"] if c["name"] == "Boris")
    assert boris["first_response"]["median_seconds"] == 210.0
    assert total["followers"]["difference"] == 5 + 5 + 1
    assert [s["questions"]["all"] for s in data["salons"]] == [3, 2, 2]
    assert total["museum_posts"]["impressions"] is None
    # 100 search reads at $0.005, 2 user reads at $0.010, 3 replies at $0.010.
    assert total["x_spend"] == {"posts": 3, "reads": 102, "estimated_usd": "0.55"}

    book = load_workbook(io.BytesIO(files["report-2026-10.xlsx"]))
    assert book.sheetnames == ["Сводка", "Гостиные", "Вопросы"]
    rows = list(book["Гостиные"].iter_rows(values_only=True))
    # A row per salon, and the period's total last.
    assert len(rows) == 1 + 3 + 1
    header = rows[0]
    assert [r[header.index("Вопросы")] for r in rows[1:]] == [3, 2, 2, 7]
    assert [r[header.index("Новые подписчики")] for r in rows[1:]] == [5, 5, 1, 11]
    assert [r[header.index("Участники")] for r in rows[1:]] == [3, 2, 2, 6]
    assert rows[-1][0] == "Итого"
    assert isinstance(rows[1][header.index("Начало")], datetime)
    table = list(
        csv.reader(io.StringIO(files["report-2026-10.csv"].decode("utf-8-sig")), delimiter=";")
    )
    assert len(table) == 5 and table[0] == list(header)
    assert table[-1][0] == "Итого"
    assert table[-1][header.index("Участники")] == "6"
    assert table[-1][header.index("Вопросы")] == "7"

    # A quarter in the staff group: October's three salons and November's, answered under
    # the command.
    before = last_id(sandbox)
    asked = sandbox.telegram.user_sends(STAFF_CHAT_ID, ANNA, "/report quarter 2026-Q4")
    sent = await documents_after(sandbox, before, 3)
    assert {m["reply_to_message_id"] for m in sent} == {asked["message_id"]}
    assert sent[0]["text"] == "2026-Q4: 4 гостиные, вопросов — 8, отвечено — 3."
    files = {m["document"]["filename"]: m["document"]["content"] for m in sent}
    assert sorted(files) == ["report-2026-Q4.csv", "report-2026-Q4.json", "report-2026-Q4.xlsx"]
    data = json.loads(files["report-2026-Q4.json"])
    assert data["period"] == "2026-Q4"
    assert [s["topic"] for s in data["salons"]] == ["Тема 0", "Тема 1", "Тема 2", "Тема 3"]
    assert data["total"]["questions"]["all"] == 8
    assert data["total"]["followers"]["difference"] == 5 + 5 + 1 + 39
    rows = list(load_workbook(io.BytesIO(files["report-2026-Q4.xlsx"]))["Гостиные"].values)
    assert [r[rows[0].index("Вопросы")] for r in rows[1:]] == [3, 2, 2, 1, 8]
    assert rows[-1][0] == "Итого"

    # The same through the command line, in English, and a quarter takes all four salons.
    out = tmp_path / "q4.json"
    code, _out, stderr = await opsbot(
        settings, tmp_path, "report", "--quarter", "2026-Q4", "--format", "json", "--out", str(out)
    )
    assert code == 0, stderr
    quarter = json.loads(out.read_text())
    assert quarter["total"]["questions"]["all"] == 8
    # The period's page writes its moments the reader's way (Moscow time, in Russian).
    page = tmp_path / "october.html"
    code, _out, stderr = await opsbot(
        settings, tmp_path, "report", "--month", "2026-10", "--format", "html", "--out", str(page)
    )
    assert code == 0, stderr
    assert "<td>03.10.2026, 19:00</td>" in page.read_text()
    code, _out, stderr = await opsbot(
        settings, tmp_path, "report", "--month", "2026-13", "--out", str(out)
    )
    assert code == 2 and "2026-12" in stderr
    assert "Traceback" not in stderr


async def test_archive_command_builds_the_site_without_withdrawn_posts(
    sandbox: Sandbox, bot: OpsbotApplication, settings: Settings, tmp_path: Path
) -> None:
    posts = await run_salon(sandbox, bot)
    salon = await salon_row(bot)
    site = tmp_path / "site"
    before = await post_reads(bot)
    code, stdout, stderr = await opsbot(settings, tmp_path, "archive", "--out", str(site))
    assert code == 0, stderr
    assert "1 hidden as spam, 0 deleted or protected" in stdout
    # The lookup's posts (8 questions, 3 answers, one of them two posts) are in the bot's
    # usage ledger, as X bills them.
    assert await post_reads(bot) - before == 12
    page = (site / f"salon-{salon.id}.html").read_text()
    assert posts["guest4"]["text"] in page

    sandbox.x.delete_post(posts["guest4"]["id"])
    assert salon.started_at is not None
    begun = salon.started_at - timedelta(days=30)
    async with bot.bot_data.sessionmaker.begin() as session:
        older = Salon(
            topic="Рождественские открытки",
            status=SalonStatus.ENDED,
            started_at=begun,
            ended_at=begun + timedelta(hours=1),
        )
        session.add(older)
        await session.flush()
        older_id = older.id
    assert older_id > salon.id
    code, stdout, stderr = await opsbot(settings, tmp_path, "archive", "--out", str(site))
    assert code == 0, stderr
    assert "2 salon pages and index.html" in stdout
    assert "1 deleted or protected on X" in stdout
    parser = html5lib.HTMLParser(strict=True)
    for name in ("index.html", f"salon-{salon.id}.html", f"salon-{older_id}.html"):
        parser.parse((site / name).read_bytes())
    page = (site / f"salon-{salon.id}.html").read_text()
    assert posts["guest4"]["text"] not in page
    assert posts["guest5"]["text"] in page
    index = (site / "index.html").read_text()
    assert f'href="salon-{salon.id}.html"' in index
    assert "Новогодние традиции" in index
    # Newest first: by when the salons took place, not by when they were recorded.
    newer = index.index(f'href="salon-{salon.id}.html"')
    assert newer < index.index(f'href="salon-{older_id}.html"')
    assert "Рождественские открытки" in index

    # The report from the command line, the file a clerk opens.
    report = tmp_path / "report.xlsx"
    code, _out, stderr = await opsbot(
        settings,
        tmp_path,
        "report",
        "--salon",
        str(salon.id),
        "--language",
        "en",
        "--out",
        str(report),
    )
    assert code == 0, stderr
    assert load_workbook(report).sheetnames == ["Summary", "Questions"]
    sheet = tmp_path / "report.csv"
    code, _out, stderr = await opsbot(
        settings,
        tmp_path,
        "report",
        "--salon",
        str(salon.id),
        "--format",
        "csv",
        "--out",
        str(sheet),
    )
    assert code == 0, stderr
    raw = sheet.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header = table[0]
    assert header[:4] == ["Гостиная", "№", "Автор", "Вопрос"]
    assert {row[0] for row in table[1:]} == {str(salon.id)}
    # Every question the salon had, one since deleted on X too: the report is the staff's.
    assert sorted(row[header.index("Вопрос")] for row in table[1:]) == sorted(
        p["text"] for handle, p in posts.items() if handle != "spammer"
    )
    # The museum's answers as X holds them, without the handle X puts before a reply.
    on_x = {
        p["in_reply_to_tweet_id"]: p["text"]
        for p in sandbox.x.museum_posts()
        if p.get("in_reply_to_tweet_id")
    }
    answers = {row[header.index("Вопрос")]: row[header.index("Ответ музея")] for row in table[1:]}
    for handle in ("guest0", "guest1"):
        expected = on_x[posts[handle]["id"]].removeprefix(f"@{handle} ")
        assert answers[posts[handle]["text"]] == expected
    assert "Игрушки — с XIX века." in answers[posts["guest1"]["text"]]
    for kind in ("html", "png"):
        out = tmp_path / f"report.{kind}"
        code, _out, stderr = await opsbot(
            settings, tmp_path, "report", "--format", kind, "--out", str(out)
        )
        assert code == 0, stderr
    page = (tmp_path / "report.html").read_bytes()
    html5lib.HTMLParser(strict=True).parse(page)
    assert "Новые подписчики" in page.decode() and "<script" not in page.decode()
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")
