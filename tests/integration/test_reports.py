"""After the salon: /report's figures and files, and the public archive, over real HTTP."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import statistics
from collections import Counter
from datetime import datetime
from decimal import Decimal
from functools import partial
from html import unescape
from itertools import pairwise
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import html5lib
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from opsbot import verify
from opsbot.clock import ManualClock
from opsbot.db.models import Answer, Duty, Salon, UsageKind
from opsbot.emulators.base import Fault
from opsbot.emulators.sandbox import (
    CURATOR_EN,
    CURATOR_RU,
    MODERATOR,
    STAFF_CHAT_ID,
    Sandbox,
)
from opsbot.services.budget import Prices
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    buttons,
    message_by_id,
    one_card_each,
    press_and_wait,
    settled,
    wait_for_cards,
    write_answer,
)
from tests.integration.test_salons import command, last_id

ANNA = MODERATOR.user_id


async def documents_after(
    sandbox: Sandbox, before: int, count: int, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The next `count` files the bot sent to the staff group after message `before`."""

    def arrived() -> list[dict[str, Any]] | None:
        found = [
            m
            for m in sandbox.telegram.chat_view(STAFF_CHAT_ID)
            if m["message_id"] > before and m.get("document") and m["from"]["is_bot"]
        ]
        return found if len(found) >= count else None

    arrived.__name__ = f"{count}_documents_from_the_bot"
    return await sandbox.telegram.wait_for(arrived, timeout)  # type: ignore[no-any-return]


async def ask_for_files(sandbox: Sandbox, text: str, count: int) -> dict[str, bytes]:
    before = last_id(sandbox)
    sandbox.telegram.user_sends(STAFF_CHAT_ID, ANNA, text)
    found = await documents_after(sandbox, before, count)
    return {m["document"]["filename"]: m["document"]["content"] for m in found}


async def salon_row(bot: OpsbotApplication) -> Salon:
    async with bot.bot_data.sessionmaker.begin() as session:
        salon = await session.scalar(select(Salon).order_by(Salon.id.desc()))
    assert salon is not None
    return salon


async def followers_noted(bot: OpsbotApplication, *, at_start: bool) -> Salon:
    # A read of X after the command: up to 30 s on a loaded machine.
    for _attempt in range(600):
        salon = await salon_row(bot)
        value = salon.followers_at_start if at_start else salon.followers_at_end
        if value is not None:
            return salon
        await asyncio.sleep(0.05)
    raise AssertionError("the followers were never noted")


def nearest_rank_p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


async def answer_on_x(
    sandbox: Sandbox, curator: Any, card: dict[str, Any], text: str, post: str
) -> None:
    before = len(sandbox.x.museum_posts())
    preview = await write_answer(sandbox, curator.user_id, card, text)
    await press_and_wait(sandbox, curator.user_id, preview, post)
    await sandbox.telegram.wait_for(lambda: len(sandbox.x.museum_posts()) > before, 20)


async def answer_in_two_parts(
    sandbox: Sandbox, curator: Any, card: dict[str, Any], text: str
) -> None:
    """An answer too long for one post, split by the curator into a thread of two."""
    before = len(sandbox.x.museum_posts())
    preview = await write_answer(sandbox, curator.user_id, card, text)
    split = next(label for label in buttons(preview) if label.startswith("Split into"))
    await press_and_wait(sandbox, curator.user_id, preview, split)
    threaded = await sandbox.telegram.wait_for(
        lambda: (m := message_by_id(sandbox, preview["message_id"])) and "Post" in buttons(m) and m
    )
    await press_and_wait(sandbox, curator.user_id, threaded, "Post")
    await sandbox.telegram.wait_for(lambda: len(sandbox.x.museum_posts()) == before + 2, 20)


# Long enough that X needs two posts for it.
LONG_ANSWER = " ".join(["История"] * 37)


def x_time(post: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))


async def run_salon(
    sandbox: Sandbox, bot: OpsbotApplication, *, prompt: bool = False, slow_x: bool = False
) -> dict[str, Any]:
    """A scripted salon: 8 questions (6 may be answered), 1 hidden, 3 answers by two curators
    (Boris's second in two parts); with `prompt`, the museum asks Q1 and two more visitors
    reply to it and quote it without asking anything. With `slow_x`, X answers the first
    answer's post a second after making it."""
    x = sandbox.x
    x.set_followers("museum", 1000)
    await command(sandbox, ANNA, "/start_salon Новогодние традиции 2h", "Обязательство")
    await followers_noted(bot, at_start=True)
    x.set_followers("museum", 1012)
    one_card_each(bot)
    posts = {}
    if prompt:
        await command(sandbox, ANNA, "/ask Какая ваша любимая игрушка?", "Q1")
        [asked] = [p for p in x.museum_posts() if p["text"].startswith("Q1:")]
        posts["replier"] = x.visitor_posts("replier", "Шар! #museumsalon", reply_to=asked["id"])
        posts["quoter"] = x.visitor_posts("quoter", "Сосулька #museumsalon", quote_of=asked["id"])
    for n in range(6):
        posts[f"guest{n}"] = x.visitor_posts(
            f"guest{n}", f"@museum Вопрос про ёлку {n} #museumsalon"
        )
    for n in (6, 7):
        posts[f"guest{n}"] = x.visitor_posts(f"guest{n}", f"Без упоминания {n} #museumsalon")
    posts["spammer"] = x.visitor_posts("spammer", "@museum купите крипту #museumsalon")
    cards = await wait_for_cards(sandbox, len(posts), timeout=30)

    def card_of(handle: str) -> dict[str, Any]:
        text = posts[handle]["text"]
        return next(c for c in cards if text in c["text"])

    await press_and_wait(sandbox, ANNA, card_of("spammer"), "Скрыть")
    if slow_x:
        x.inject_fault(Fault(endpoint="createPosts", status=0, delay=1.0, accept=True))
    await answer_on_x(sandbox, CURATOR_EN, card_of("guest0"), "Ёлку ставили с 1700 года.", "Post")
    await answer_on_x(
        sandbox, CURATOR_RU, card_of("guest1"), "Игрушки — с XIX века.", "Опубликовать"
    )
    await answer_in_two_parts(sandbox, CURATOR_EN, card_of("guest2"), LONG_ANSWER)
    # The thread's last part is on X a moment before the outbox records it, and the
    # figures count only what is recorded.
    await settled(bot)
    await command(sandbox, ANNA, "/end_salon", "завершена")
    await followers_noted(bot, at_start=False)
    return posts


# The reads X bills, by the kind the museum's price list names them.
READ_KINDS = {
    "getUsersMentions": UsageKind.OWNED_READ,
    "getUsersPosts": UsageKind.OWNED_READ,
    "searchPostsRecent": UsageKind.POST_READ,
    "getPostsById": UsageKind.POST_READ,
    "getPostsByIds": UsageKind.POST_READ,
    "getUsersMe": UsageKind.USER_READ,
}


def x_bill(sandbox: Sandbox, since: float, until: float, prices: Prices) -> tuple[int, int, str]:
    """Posts made, items read and their price, from what the X emulator took and returned."""
    reads: Counter[UsageKind] = Counter()
    for request in sandbox.x.requests:
        if since <= request.at < until and request.endpoint in READ_KINDS:
            reads[READ_KINDS[request.endpoint]] += request.returned
    made = [p for p in sandbox.x.museum_posts() if since <= x_time(p).timestamp() < until]
    usd = sum(prices.of(kind) * count for kind, count in reads.items())
    for post in made:
        if (post.get("entities") or {}).get("urls"):
            usd += prices.link_post
        else:
            usd += prices.reply if post.get("in_reply_to_tweet_id") else prices.post
    return len(made), sum(reads.values()), str(Decimal(str(round(usd, 3))))


async def test_report_figures_and_files(
    sandbox: Sandbox, bot: OpsbotApplication, settings: Settings, clock: ManualClock
) -> None:
    posts = await run_salon(sandbox, bot, prompt=True, slow_x=True)
    x = sandbox.x
    replies = [p for p in x.museum_posts() if p.get("in_reply_to_tweet_id")]
    assert len(replies) == 4
    for n, reply in enumerate(replies):
        x.set_post_metrics(reply["id"], impression_count=100 * (n + 1), like_count=n + 1)

    asked = clock.timestamp()
    files = await ask_for_files(sandbox, "/report", 4)
    salon = await salon_row(bot)
    data = json.loads(files[f"salon-{salon.id}-report.json"])

    # By hand, from X: each question's post time and the museum's first reply to it there.
    by_id = {p["id"]: p for p in posts.values()}
    answered_by = {"guest0": CURATOR_EN, "guest1": CURATOR_RU, "guest2": CURATOR_EN}
    seconds: dict[int, list[float]] = {}
    for handle, curator in answered_by.items():
        [first] = [r for r in replies if r["in_reply_to_tweet_id"] == posts[handle]["id"]]
        taken = (x_time(first) - x_time(by_id[first["in_reply_to_tweet_id"]])).total_seconds()
        seconds.setdefault(curator.user_id, []).append(taken)
    everyone = [s for values in seconds.values() for s in values]
    boris = seconds[CURATOR_EN.user_id]
    vera = seconds[CURATOR_RU.user_id]
    # X's created_at has milliseconds; the bot reads them from the reply's id.
    near = partial(pytest.approx, abs=0.002)
    # The bot heard of Boris's first answer a second after X made it: its clock would not do.
    async with bot.bot_data.sessionmaker.begin() as session:
        recorded = await session.scalar(
            select(Answer.posted_at).where(Answer.part == 1).order_by(Answer.id).limit(1)
        )
    assert recorded is not None
    assert (recorded - x_time(replies[0])).total_seconds() >= 0.9

    assert data["questions"] == {
        "all": 10,
        "replyable": 8,
        "answered": 3,
        "answered_replyable": 3,
        "answered_share_of_replyable": 0.375,
        "hidden": 1,
        "after_salon": 0,
        "open": 7,
    }
    # The replier and the quoter answered the prompt and asked nothing.
    assert data["participants"] == {"all": 10, "askers": 8, "replied_to_prompts": 2}
    assert data["first_response"]["answered"] == 3
    assert data["first_response"]["median_seconds"] == near(statistics.median(everyone))
    assert data["first_response"]["p90_seconds"] == near(nearest_rank_p90(everyone))
    curators = {c["name"]: c for c in data["curators"]}
    assert curators["Boris"]["answers"] == 2
    assert curators["Boris"]["first_response"]["median_seconds"] == near(statistics.median(boris))
    assert curators["Boris"]["first_response"]["p90_seconds"] == near(nearest_rank_p90(boris))
    assert curators["Vera"]["first_response"]["p90_seconds"] == near(vera[0])
    # Both parts of the threaded answer, in order; its time is its first part's on X.
    [threaded] = [r for r in data["rows"] if r["author"] == "guest2"]
    parts = [r for r in replies if r["in_reply_to_tweet_id"] == posts["guest2"]["id"]]
    parts += [r for r in replies if r["in_reply_to_tweet_id"] == parts[0]["id"]]
    assert len(parts) == 2
    on_x = [p["text"].removeprefix("@guest2 ") for p in parts]
    assert threaded["answer"] == "\n\n".join(on_x)
    assert "(1/2)" in on_x[0] and "(2/2)" in on_x[1]
    answered_at = datetime.fromisoformat(threaded["answered_at"])
    assert (answered_at - x_time(parts[0])).total_seconds() == near(0)
    assert data["followers"] == {"start": 1000, "end": 1012, "difference": 12}
    # The four replies and the prompt Q1: likes, and X's reply and quote of Q1 and the
    # thread's second part under its first.
    assert data["museum_posts"] == {"count": 5, "impressions": 1000, "engagements": 13}
    # A read is the salon's from its start on (the day after it included), until the report.
    assert salon.started_at is not None
    made, reads, usd = x_bill(sandbox, salon.started_at.timestamp(), asked, settings.x_prices)
    assert made == 5 and reads > 0
    assert data["x_spend"] == {"posts": made, "reads": reads, "estimated_usd": usd}
    open_links = {q["url"] for q in data["open_questions"]}
    assert open_links == {
        f"https://x.com/{h}/status/{posts[h]['id']}"
        for h in ("guest3", "guest4", "guest5", "guest6", "guest7", "replier", "quoter")
    }
    assert data["winners"] == []

    book = load_workbook(io.BytesIO(files[f"salon-{salon.id}-report.xlsx"]))
    assert book.sheetnames == ["Сводка", "Вопросы"]
    sheet = book["Вопросы"]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 10
    header = rows[0]
    text_col, asked_col = header.index("Вопрос"), header.index("Время вопроса")
    assert {r[text_col] for r in rows[1:]} == {
        p["text"] for h, p in posts.items() if h != "spammer"
    }
    assert all(isinstance(r[asked_col], datetime) for r in rows[1:])
    summary = {r[0]: r[1] for r in book["Сводка"].iter_rows(values_only=True)}
    assert summary["Вопросы"] == 10
    assert summary["Новые подписчики"] == 12
    assert summary["Показы постов музея"] == 1000

    raw = files[f"salon-{salon.id}-report.csv"]
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == list(header)
    assert len(table) == 11
    assert posts["guest0"]["text"] in {row[text_col] for row in table}
    # Numbers as the reader's Excel reads them: a decimal comma in Russian.
    minutes_col = header.index("Первый ответ, минут")
    in_book = {r[text_col]: r[minutes_col] for r in rows[1:]}
    in_csv = {r[text_col]: r[minutes_col] for r in table[1:]}
    answered = posts["guest0"]["text"]
    assert isinstance(in_book[answered], float)
    assert in_csv[answered] == str(in_book[answered]).replace(".", ",")
    answer_col = header.index("Ответ музея")
    threaded_text = posts["guest2"]["text"]
    assert {r[text_col]: r[answer_col] for r in rows[1:]}[threaded_text] == threaded["answer"]
    assert {r[text_col]: r[answer_col] for r in table[1:]}[threaded_text] == threaded["answer"]

    png = files[f"salon-{salon.id}-report.png"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert height > width >= 600

    drawn = await command(sandbox, ANNA, "/draw 2", "Победители")
    winners = [line[3:] for line in drawn["text"].splitlines() if line.startswith("• @")]
    assert len(winners) == 2

    # The asker's language: the same report in English for a moderator who reads English.
    await command(sandbox, ANNA, "/language en", "English")
    files = await ask_for_files(sandbox, f"/report {salon.id}", 4)
    book = load_workbook(io.BytesIO(files[f"salon-{salon.id}-report.xlsx"]))
    assert book.sheetnames == ["Summary", "Questions"]
    # The draw made since the first report: its winners, in the draw's order.
    assert json.loads(files[f"salon-{salon.id}-report.json"])["winners"] == winners
    summary_rows = {r[0]: r[1:] for r in book["Summary"].iter_rows(values_only=True)}
    named = ", ".join(f"@{w}" for w in winners)
    assert summary_rows["Winners of the draw"] == (named, named)


def headings(document: Element) -> list[tuple[int, str]]:
    """The page's outline as a screen reader walks it: (level, text) in document order."""
    return [
        (int(e.tag[1]), "".join(e.itertext()))
        for e in document.iter()
        if e.tag in ("h1", "h2", "h3", "h4", "h5", "h6")
    ]


async def test_archive_leaves_out_spam_deleted_and_protected(
    sandbox: Sandbox, bot: OpsbotApplication, settings: Settings, tmp_path: Path
) -> None:
    posts = await run_salon(sandbox, bot, prompt=True)
    salon = await salon_row(bot)
    # Anna was on duty and answered nothing: a host all the same.
    async with bot.bot_data.sessionmaker.begin() as session:
        session.add(Duty(salon_id=salon.id, telegram_id=ANNA))
    drawn = await command(sandbox, ANNA, "/draw 2", "Победители")
    winners = [line[3:] for line in drawn["text"].splitlines() if line.startswith("• @")]
    files = await ask_for_files(sandbox, "/archive", 1)
    page = files[f"salon-{salon.id}.html"].decode()
    hosts = page.split("Ведущие: ")[1].split("</p>")[0]
    assert hosts.endswith("</a>, Anna, Boris, Vera")
    parser = html5lib.HTMLParser(strict=True)
    document = parser.parse(page)
    assert document is not None
    for external in ("<script", "<link", "<iframe", "<img", "src=", "@import", "url("):
        assert external not in page
    assert '<html lang="ru">' in page
    assert "Новогодние традиции" in page
    assert posts["guest0"]["text"] in page
    assert "купите крипту" not in page
    # The answer is threaded under its question.
    article = page[page.index(posts["guest0"]["text"]) :].split("</article>")[0]
    assert "Ёлку ставили с 1700 года." in article
    assert salon.commitment in page
    # Anyone can check the draw from the page alone.
    assert all(f"@{w}" in page for w in winners) and len(winners) == 2
    export = tmp_path / "draw.json"
    export.write_text(unescape(page.split("<pre>")[1].split("</pre>")[0]))
    assert verify.main([str(export)]) == 0

    tree = html5lib.parse(page, namespaceHTMLElements=False)
    assert tree.get("lang") == "ru"
    outline = headings(tree)
    # One h1, the salon; its sections; a question under its section, an answer under it.
    assert outline[0] == (1, "Новогодние традиции")
    assert [text for level, text in outline if level == 1] == ["Новогодние традиции"]
    assert [text for level, text in outline if level == 2] == [
        "Вопросы музея",
        "Вопросы и ответы",
        "Розыгрыш",
    ]
    assert sorted(text for level, text in outline if level == 3) == sorted(
        f"@{handle}" for handle in posts if handle != "spammer"
    )
    assert [text for level, text in outline if level == 4] == ["Ответ музея"] * 3
    assert all(b <= a + 1 for (a, _a), (b, _b) in pairwise(outline))
    # Each question says its language, for a screen reader's voice.
    asked = [article.find("p") for article in tree.iter("article")]
    assert [p.get("lang") for p in asked if p is not None] == ["ru"] * 10
    # The museum's prompt, with its link to the post on X.
    [prompt] = [p for p in sandbox.x.museum_posts() if p["text"].startswith("Q1:")]
    [prompts] = [
        section
        for section in tree.iter("section")
        if headings(section)[:1] == [(2, "Вопросы музея")]
    ]
    assert "Какая ваша любимая игрушка?" in "".join(prompts.itertext())
    assert [a.get("href") for a in prompts.iter("a")] == [
        f"https://x.com/{settings.x_account}/status/{prompt['id']}"
    ]

    sandbox.x.delete_post(posts["guest1"]["id"])
    sandbox.x.set_protected("guest3")
    files = await ask_for_files(sandbox, f"/archive {salon.id}", 1)
    page = files[f"salon-{salon.id}.html"].decode()
    assert posts["guest1"]["text"] not in page
    assert "Игрушки — с XIX века." not in page
    assert posts["guest3"]["text"] not in page
    assert posts["guest0"]["text"] in page

    # The salon's page in both languages, as a setting of the salon.
    files = await ask_for_files(sandbox, f"/archive {salon.id} both", 1)
    page = files[f"salon-{salon.id}.html"].decode()
    assert 'Вопросы и ответы / <span lang="en">Questions and answers</span>' in page
    html5lib.HTMLParser(strict=True).parse(page)
    async with bot.bot_data.sessionmaker.begin() as session:
        assert await session.scalar(select(Salon.archive_language)) == "both"


async def test_files_asked_for_in_private_go_to_the_staff_group(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    await run_salon(sandbox, bot)
    salon = await salon_row(bot)
    telegram = sandbox.telegram
    for n, (text, count) in enumerate((("/report", 4), ("/archive", 1)), start=1):
        before = last_id(sandbox)
        telegram.user_sends(ANNA, ANNA, text)
        found = await documents_after(sandbox, before, count)
        assert all(str(salon.id) in m["document"]["filename"] for m in found)

        def answered(n: int = n) -> list[dict[str, Any]] | None:
            said = [m for m in telegram.chat_view(ANNA) if m["from"]["is_bot"]]
            return said if len(said) >= n else None

        told = await telegram.wait_for(answered)
        assert told[n - 1]["text"] == "Файлы отправлены в группу сотрудников."
    assert not [m for m in telegram.chat_view(ANNA) if m.get("document")]


async def test_report_and_archive_answer_bad_input_clearly(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    await command(sandbox, ANNA, "/report", "Гостиных ещё не было")
    await command(sandbox, ANNA, "/archive", "Гостиных ещё не было")
    await command(sandbox, ANNA, "/report 99", "Гостиной №99 нет.")
    await command(sandbox, ANNA, "/archive 99 both", "Гостиной №99 нет.")
    await command(sandbox, ANNA, "/report abc", "Использование: /report")
    await command(sandbox, ANNA, "/report month 2026-13", "Использование: /report")
    await command(sandbox, ANNA, "/archive 1 2", "Использование: /archive")
    await command(sandbox, ANNA, "/report month 2026-10", "За 2026-10 гостиных не было.")
    await command(sandbox, CURATOR_RU.user_id, "/report", "только модераторы")
    await command(sandbox, CURATOR_EN.user_id, "/archive", "Only moderators")
