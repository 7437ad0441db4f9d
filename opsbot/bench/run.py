"""A benchmark: the plan's runs one after the other, each on a fresh bot, database and pair of
emulators; then the figures of every run.

Like the chaos run, the emulators run in this process and the bot is the real `opsbot run` in
a child process; nothing is killed here. A run that cannot start the bot, or whose bot exits
by itself, is a failed run: its figures are kept as far as they went.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from opsbot.bench.curators import Curator
from opsbot.bench.measures import posts_read, refused_too_many
from opsbot.bench.plan import Plan
from opsbot.bench.scenarios import (
    Stage,
    Watch,
    backlog_answers,
    burst,
    quiet_answers,
    steady,
)
from opsbot.bench.stats import percentile
from opsbot.chaos.audience import Audience
from opsbot.chaos.bot import STOP_TIMEOUT, BotProcess
from opsbot.chaos.chat import StaffChat
from opsbot.chaos.database import create_database, drop_database, reader, salon_is
from opsbot.chaos.journal import Journal
from opsbot.chaos.run import bot_environment, emulator_log_to
from opsbot.chaos.staff import Desk, StaffMember
from opsbot.db.models import SalonStatus
from opsbot.emulators.sandbox import (
    CURATOR_EN,
    CURATOR_RU,
    MODERATOR,
    MUSEUM_HANDLE,
    STAFF_CHAT_ID,
    start_sandbox,
)

START_TIMEOUT = 60.0
COMMAND_TIMEOUT = 60.0


@dataclass
class RunResult:
    number: int
    folder: Path
    figures: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # What makes the run a failure: the bot did not start or exited by itself.
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class BenchResult:
    plan: Plan
    runs: list[RunResult]
    seconds: float

    def failures(self) -> list[str]:
        return [f"run {run.number}: {failure}" for run in self.runs for failure in run.failures]


async def run_bench(plan: Plan, *, progress: Callable[[str], None] | None = None) -> BenchResult:
    say = progress or (lambda line: None)
    began = time.monotonic()
    owned = plan.folder is None
    folder = _made(plan.folder or Path(tempfile.mkdtemp(prefix="opsbot-bench-")))
    runs = []
    for number in range(1, plan.runs + 1):
        say(f"run {number} of {plan.runs}")
        result = await one_run(plan, number, _made(folder / f"run-{number}"), say)
        runs.append(result)
        say(f"run {number} done in {result.seconds:.0f}s")
    bench = BenchResult(plan, runs, time.monotonic() - began)
    if owned and not plan.keep and not bench.failures():
        shutil.rmtree(folder, ignore_errors=True)
    return bench


def _made(folder: Path) -> Path:
    # The bot runs in the folder: a relative path would point elsewhere from there.
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()


async def one_run(plan: Plan, number: int, folder: Path, say: Callable[[str], None]) -> RunResult:
    result = RunResult(number, folder)
    began = time.monotonic()
    async with contextlib.AsyncExitStack() as cleanup:
        journal = Journal(folder / "bot.log", label="BENCH")
        cleanup.callback(journal.close)
        cleanup.enter_context(emulator_log_to(journal.path))
        database = await create_database(folder, plan.postgres, kind="bench")
        if not plan.keep:
            cleanup.push_async_callback(drop_database, database)
        sandbox = await start_sandbox(telegram_options=plan.telegram_options())
        cleanup.push_async_callback(sandbox.stop)
        engine = reader(database)
        cleanup.push_async_callback(engine.dispose)
        bot = BotProcess(
            env=bot_environment(sandbox, database, plan.bot_settings()),
            folder=folder,
            telegram=sandbox.telegram,
            journal=journal,
        )
        cleanup.push_async_callback(bot.close)

        chat = StaffChat(sandbox.telegram, STAFF_CHAT_ID, MUSEUM_HANDLE)
        audience = Audience(
            sandbox.x, random.Random(f"{plan.seed}:{number}"), journal, museum_replies=list
        )
        moderator = StaffMember(
            MODERATOR, Desk(chat, audience, journal), random.Random(0), on_post=lambda: None
        )
        curators = [
            Curator(sandbox.telegram, person, STAFF_CHAT_ID, journal)
            for person in (CURATOR_EN, CURATOR_RU)
        ]
        stage = Stage(
            plan=plan,
            sandbox=sandbox,
            chat=chat,
            audience=audience,
            curators=curators,
            journal=journal,
            engine=engine,
            watch=Watch(sandbox, MUSEUM_HANDLE),
        )

        await bot.start()
        if not await bot.wait_ready(START_TIMEOUT):
            result.failures.append(f"opsbot run did not start; see {journal.path}")
            return result
        opened = await moderator.command(
            "/start_salon Вечер вопросов 3h",
            lambda: salon_is(engine, SalonStatus.LIVE),
            COMMAND_TIMEOUT,
        )
        if not opened:
            result.failures.append(f"the salon never opened; see {journal.path}")
            return result
        for curator in curators:
            curator.open_private_chat()
        say(f"bot ready, salon open; log {journal.path}")

        cards = await steady(stage)
        say(f"steady: {len(cards)} questions shown")
        spent = await quiet_answers(stage)
        say(f"quiet answers: {len(spent)} answered")
        shown = await burst(stage)
        say(f"burst: shown after {shown.visible_seconds or float('nan'):.0f}s")
        previews = await backlog_answers(stage)
        say(f"backlog: {len(previews)} answers")

        read = posts_read(sandbox.x.reads)
        result.figures = {
            "burst_visible": shown.visible_seconds,
            "telegram_429": float(refused_too_many(sandbox.telegram.requests)),
            "out_of_order": float(shown.out_of_order),
            "preview_p50": percentile(previews, 50) if previews else None,
            "preview_p95": percentile(previews, 95) if previews else None,
            "group_messages": sum(spent) / len(spent) if spent else None,
            "posts_read": sum(read.values()) / len(stage.posted_at),
            "card_p50": percentile(cards, 50) if cards else None,
            "card_p95": percentile(cards, 95) if cards else None,
        }
        result.notes = [
            *stage.notes,
            f"questions posted: {len(stage.posted_at)}; posts X handed out: "
            + ", ".join(f"{op} {n}" for op, n in sorted(read.items())),
            f"group messages per quiet answer: {[int(n) for n in spent]}",
        ]
        result.notes += [f"emulator violation: {v}" for v in sandbox.telegram.violations]
        result.notes += [f"emulator violation: {v}" for v in sandbox.x.violations]
        code = await bot.stop()
        if code == -signal.SIGKILL:
            result.notes.append(
                f"the bot did not stop within {STOP_TIMEOUT:.0f}s of SIGTERM (exit {code})"
            )
        if bot.self_exits:
            result.failures.append(
                f"the bot exited by itself {len(bot.self_exits)} time(s) (codes "
                f"{bot.self_exits}); see {journal.path}"
            )
    result.seconds = time.monotonic() - began
    return result
