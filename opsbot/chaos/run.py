"""One chaos run, start to finish.

The emulators run in this process; the bot is the real `opsbot run` in a child process. The
moderator opens a salon, the audience asks, the curators answer, X fails now and then and the
bot is killed again and again. Then the salon is closed, the last bot runs until it is idle,
and the figures are read and printed. Everything is bounded: the audience's count, the
curators' time, the wait for the bot to settle, and every single wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from opsbot.chaos.audience import Audience
from opsbot.chaos.bot import BotProcess
from opsbot.chaos.chat import StaffChat, card_sends
from opsbot.chaos.database import (
    RunDatabase,
    create_database,
    drop_database,
    reader,
    salon_is,
    snapshot,
    unsettled_answers,
)
from opsbot.chaos.faults import FaultPlan, XFaults
from opsbot.chaos.figures import World, compute
from opsbot.chaos.journal import Journal
from opsbot.chaos.kills import AFTER_POST, Killer
from opsbot.chaos.report import Params, Report
from opsbot.chaos.staff import Desk, StaffMember
from opsbot.db.models import SalonStatus
from opsbot.emulators.sandbox import (
    CURATOR_EN,
    CURATOR_RU,
    MODERATOR,
    MUSEUM_HANDLE,
    STAFF_CHAT_ID,
    Sandbox,
    start_sandbox,
)

# Telegram's flood windows and X's rate-limit window scaled down, as in the tests: a salon
# of minutes instead of hours, with the same limits relative to the pace.
TELEGRAM_OPTIONS = {"group_limit": (20, 2.0), "global_limit": (30, 1.0)}
X_WINDOW_SECONDS = 60.0
BOT_SETTINGS = {
    "OPSBOT_POLL_LIVE_SECONDS": "0.5",
    "OPSBOT_POLL_IDLE_SECONDS": "0.5",
    "OPSBOT_TELEGRAM_GROUP_RATE": "20",
    "OPSBOT_TELEGRAM_GROUP_PERIOD": "2",
    "OPSBOT_TELEGRAM_GLOBAL_RATE": "30",
    "OPSBOT_TELEGRAM_GLOBAL_PERIOD": "1",
    "OPSBOT_X_TIMEOUT_SECONDS": "3",
    "OPSBOT_LOG_LEVEL": "INFO",
}
X_TIMEOUT = 3.0
FAULT_RATE = 0.1
START_TIMEOUT = 60.0
COMMAND_TIMEOUT = 60.0
QUIET_SECONDS = 3.0
STAFF = (CURATOR_EN, CURATOR_RU, MODERATOR)


class ChaosError(Exception):
    """The run could not be carried out (not a figure: the bot never got going)."""


@contextlib.contextmanager
def emulator_log_to(path: Path) -> Iterator[None]:
    """The emulators' servers log each request a killed bot left half-sent: expected here,
    so it goes into the log beside the kill rather than onto the console."""
    server = logging.getLogger("aiohttp")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s emulator: %(message)s"))
    server.addHandler(handler)
    server.propagate = False
    try:
        yield
    finally:
        server.removeHandler(handler)
        server.propagate = True
        handler.close()


def bot_environment(
    sandbox: Sandbox, database: RunDatabase, settings: Mapping[str, str] = BOT_SETTINGS
) -> dict[str, str]:
    # The caller's own OPSBOT_* settings must not leak into the run, nor a .env (cwd is fresh).
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
    env.update(sandbox.environment())
    env.update(settings)
    env["OPSBOT_DATABASE_URL"] = database.url
    return env


async def run(params: Params, *, progress: Callable[[str], None] | None = None) -> Report:
    say = progress or (lambda line: None)
    owned = params.folder is None
    folder = params.folder or Path(tempfile.mkdtemp(prefix="opsbot-chaos-"))
    folder.mkdir(parents=True, exist_ok=True)
    # The bot runs in the folder: a relative path would point elsewhere from there.
    folder = folder.resolve()
    # Undone in reverse order, whatever happens: no child process, server or database left.
    async with contextlib.AsyncExitStack() as cleanup:
        journal = Journal(folder / "bot.log")
        cleanup.callback(journal.close)
        cleanup.enter_context(emulator_log_to(journal.path))
        database = await create_database(folder, params.postgres)
        if not params.keep:
            cleanup.push_async_callback(drop_database, database)
        sandbox = await start_sandbox(
            telegram_options=dict(TELEGRAM_OPTIONS), x_options={"window_seconds": X_WINDOW_SECONDS}
        )
        cleanup.push_async_callback(sandbox.stop)
        engine = reader(database)
        cleanup.push_async_callback(engine.dispose)
        bot = BotProcess(
            env=bot_environment(sandbox, database),
            folder=folder,
            telegram=sandbox.telegram,
            journal=journal,
        )
        cleanup.push_async_callback(bot.close)
        report = await _play(params, sandbox, database, engine, bot, journal, folder, say)
    if owned and not params.keep and report.ok():
        shutil.rmtree(folder, ignore_errors=True)
    return report


async def _play(
    params: Params,
    sandbox: Sandbox,
    database: RunDatabase,
    engine: AsyncEngine,
    bot: BotProcess,
    journal: Journal,
    folder: Path,
    say: Callable[[str], None],
) -> Report:
    began = time.monotonic()

    def rng(name: str) -> random.Random:
        # One generator per actor: each one's choices do not depend on how tasks interleave.
        return random.Random(f"{params.seed}:{name}")

    chat = StaffChat(sandbox.telegram, STAFF_CHAT_ID, MUSEUM_HANDLE)
    audience = Audience(
        sandbox.x,
        rng("audience"),
        journal,
        museum_replies=lambda: [
            str(p["id"]) for p in sandbox.x.museum_posts() if p.get("in_reply_to_tweet_id")
        ],
    )
    desk = Desk(chat, audience, journal)
    span = params.questions * params.pace
    killer = Killer(
        bot,
        rng("kills"),
        journal,
        random_kills=params.kills // 2,
        post_kills=params.kills - params.kills // 2,
        span=span,
    )
    faults = XFaults(sandbox.x, rng("faults"), FaultPlan(FAULT_RATE, X_TIMEOUT), journal)

    def after_post() -> None:
        killer.after_post_press(answers_left=params.answers - desk.posted())

    # Three people answering one question every `gap` seconds each (an answer takes them
    # about two): the answers spread over the salon instead of all coming at its start.
    gap = len(STAFF) * span / params.answers
    think = (max(0.2, 0.5 * gap - 2.0), max(0.6, 1.5 * gap - 2.0))
    staff = [
        StaffMember(person, desk, rng(f"staff:{person.user_id}"), on_post=after_post)
        for person in STAFF
    ]
    moderator = staff[-1]

    await bot.start()
    if not await bot.wait_ready(START_TIMEOUT):
        raise ChaosError(f"opsbot run did not start; see {journal.path}")
    say(f"bot ready; database {database.backend}; log {journal.path}")
    opened = await moderator.command(
        "/start_salon Вечер вопросов 3h",
        lambda: salon_is(engine, SalonStatus.LIVE),
        COMMAND_TIMEOUT,
    )
    if not opened:
        raise ChaosError(f"the salon never opened; see {journal.path}")

    started = time.monotonic()
    deadline = started + params.max_seconds

    def enough() -> bool:
        if time.monotonic() > deadline:
            return True
        return desk.posted() >= params.answers and killer.post_kills_left <= 0

    stop_faults = asyncio.Event()
    fault_task = asyncio.create_task(faults.run(stop_faults))
    random_kills = asyncio.create_task(killer.at_random(started))
    workers = [asyncio.create_task(member.work(enough, think)) for member in staff]
    say(f"playing: {params.questions} questions, {params.answers} answers, {params.kills} kills")
    try:
        await asyncio.wait_for(
            audience.play(params.questions, params.pace), max(1.0, deadline - time.monotonic())
        )
    except TimeoutError:
        journal("the audience ran out of time")
    await asyncio.gather(*workers)
    say(f"answers done after {time.monotonic() - started:.0f}s")
    killer.hurry()
    await random_kills
    await killer.finish()
    stop_faults.set()
    await fault_task
    faults.clear()
    journal(f"play over after {len(bot.kills)} kills; the last bot runs on")

    if not await bot.wait_ready(START_TIMEOUT):
        raise ChaosError(f"the last opsbot run did not start; see {journal.path}")
    ended = await moderator.command(
        "/end_salon", lambda: salon_is(engine, SalonStatus.ENDED), COMMAND_TIMEOUT
    )
    settled = await _settle(chat, audience, sandbox, engine, params.settle_seconds)
    journal(f"settled: {settled}")
    say("settled" if settled else "the bot did not go idle in time")

    questions, answers = await snapshot(engine)
    figures = compute(
        World(
            questions=audience.questions(),
            retweets=audience.retweets(),
            messages=sandbox.telegram.chat_view(STAFF_CHAT_ID),
            callback_answers=sandbox.telegram.callback_answers,
            museum=MUSEUM_HANDLE,
            museum_posts=sandbox.x.museum_posts(),
            stored_questions=questions,
            stored_answers=answers,
            curator_answers=desk.answers,
            card_sends=card_sends(sandbox.telegram.requests, MUSEUM_HANDLE),
            kills=[kill.at for kill in bot.kills],
        )
    )
    _dump(folder, sandbox, audience)
    await bot.stop()
    return Report(
        params=params,
        backend=database.backend,
        folder=folder,
        figures=figures,
        questions=len(audience.questions()),
        retweets=len(audience.retweets()),
        kills=len(bot.kills),
        kills_after_post=sum(1 for k in bot.kills if k.reason.startswith(AFTER_POST)),
        faults=faults.served(),
        x_calls=faults.calls(),
        seconds=time.monotonic() - began,
        settled=settled,
        salon_ended=ended,
        bot_starts=bot.starts,
        self_exits=list(bot.self_exits),
        violations=[*sandbox.telegram.violations, *sandbox.x.violations],
    )


async def _settle(
    chat: StaffChat, audience: Audience, sandbox: Sandbox, engine: AsyncEngine, timeout: float
) -> bool:
    """Wait until every question is shown (a card, or a line of a digest when a backlog built
    up), no answer is owed to X, and nothing moves."""
    deadline = time.monotonic() + timeout
    last: tuple[int, int] | None = None
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        shown = chat.shown()
        carded = all(q.post_id in shown for q in audience.questions())
        owed = await unsettled_answers(engine)
        now = (chat.signature(), len(sandbox.x.museum_posts()))
        if now != last:
            last, quiet_since = now, time.monotonic()
        if carded and owed == 0 and time.monotonic() - quiet_since >= QUIET_SECONDS:
            return True
        await asyncio.sleep(0.5)
    return False


def _dump(folder: Path, sandbox: Sandbox, audience: Audience) -> None:
    """What both services saw, one JSON object a line, beside the log: the rest of the
    evidence (which process sent which card, which call got which fault)."""

    def write(name: str, rows: Iterable[object]) -> None:
        with (folder / name).open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")

    for name, emulator in (("telegram", sandbox.telegram), ("x", sandbox.x)):
        write(f"{name}-requests.jsonl", (asdict(request) for request in emulator.requests))
    chat = sandbox.telegram.chat_view(STAFF_CHAT_ID, include_deleted=True)
    write("staff-chat.jsonl", ({k: v for k, v in m.items() if k != "document"} for m in chat))
    write("x-posts.jsonl", [*(asdict(post) for post in audience.posts), *sandbox.x.museum_posts()])
