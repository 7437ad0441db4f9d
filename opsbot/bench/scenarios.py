"""The benchmark's scenarios, played in this order on one bot:

1. steady: questions at an even pace (15 a minute) → post → card latency;
2. quiet answers: one answer at a time with nothing else going on → the group messages each
   costs, from the Answer press until its card shows the answer and the group is still;
3. burst: hundreds of questions posted at once, so that one poll brings them all, once the
   group's flood window is empty → how long until every one is visible in the group, and
   whether the oldest came first;
4. backlog: another such burst, and while its cards wait, curators answer questions shown
   earlier → Answer → preview latency under the backlog.

Each scenario waits for its own condition, bounded by the plan's timeouts; a question or
answer that never got there is reported, not waited for forever.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from opsbot.bench.curators import Answered, Curator
from opsbot.bench.measures import (
    Shown,
    all_visible_after,
    group_messages,
    last_group_message,
    latencies,
    questions_in,
    shown_before_an_older_one,
)
from opsbot.bench.plan import Plan
from opsbot.chaos.audience import Audience, AudiencePost
from opsbot.chaos.chat import Message, StaffChat, buttons, shows_answer, until
from opsbot.chaos.journal import Journal
from opsbot.db.models import Question
from opsbot.emulators.sandbox import Sandbox
from opsbot.services import inbox
from opsbot.telegram.callback_data import Action

LOOK_EVERY = 0.5
THINK = 1.0
ANSWERS = {
    "ru": "Ответ {number}: спасибо за вопрос, подробности расскажем на экскурсии.",
    "en": "Answer {number}: thank you, the guides will tell you more on the tour.",
}


class Watch:
    """When each question first appeared in the staff group, read as messages arrive (only
    the new ones are rendered each time)."""

    def __init__(self, sandbox: Sandbox, museum: str) -> None:
        self._telegram = sandbox.telegram
        self._chat_id = sandbox.staff_chat_id
        self._museum = museum
        self._after = 0
        self.shown: dict[str, Shown] = {}

    def look(self) -> dict[str, Shown]:
        for message in self._telegram.chat_view(self._chat_id, after=self._after):
            self._after = max(self._after, int(message["message_id"]))
            for line, post_id in enumerate(questions_in(message, self._museum)):
                self.shown.setdefault(
                    post_id,
                    Shown(float(message["sent_at"]), int(message["message_id"]), line),
                )
        return self.shown

    async def all_shown(self, posts: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.look()
            if all(post in shown for post in posts):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(LOOK_EVERY)


@dataclass
class Stage:
    """What every scenario plays with, and what they all add to."""

    plan: Plan
    sandbox: Sandbox
    chat: StaffChat
    audience: Audience
    curators: list[Curator]
    journal: Journal
    engine: AsyncEngine
    watch: Watch
    posted_at: dict[str, float] = field(default_factory=dict)
    picked: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    _answers: int = 0

    def ask(self) -> AudiencePost:
        post = self.audience.ask(len(self.posted_at))
        self.posted_at[post.post_id] = self.sandbox.x.clock()
        return post

    def answer_text(self, curator: Curator) -> str:
        self._answers += 1
        language = curator.person.language_code
        return ANSWERS.get(language, ANSWERS["en"]).format(number=self._answers)

    def pick(self) -> tuple[AudiencePost, Message] | None:
        """The oldest question nobody picked whose card offers Answer and that X lets the
        museum answer."""
        cards = self.chat.cards()
        for question in self.audience.questions():
            if not question.replyable or question.post_id in self.picked:
                continue
            card = cards.get(question.post_id)
            if card and Action.ANSWER in buttons(card[0]):
                self.picked.add(question.post_id)
                return question, card[0]
        return None

    def note(self, line: str) -> None:
        self.notes.append(line)
        self.journal(line)


async def _at(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.monotonic()))


async def steady(stage: Stage) -> list[float]:
    """Questions at an even pace; post → first shown, for each."""
    plan = stage.plan
    gap = 60.0 / plan.steady_per_minute
    started = time.monotonic()
    posts = []
    for number in range(plan.steady_questions):
        await _at(started + number * gap)
        posts.append(stage.ask().post_id)
    if not await stage.watch.all_shown(posts, plan.answer_timeout):
        missing = sum(1 for p in posts if p not in stage.watch.shown)
        stage.note(f"steady: {missing} of {len(posts)} questions never shown")
    return latencies(stage.watch.shown, {p: stage.posted_at[p] for p in posts})


async def _group_still(stage: Stage, seconds: float, timeout: float) -> bool:
    requests = stage.sandbox.telegram.requests
    chat_id = stage.sandbox.staff_chat_id
    clock = stage.sandbox.telegram.clock
    found = await until(
        lambda: clock() - last_group_message(requests, chat_id) >= seconds or None, timeout
    )
    return found is not None


async def quiet_answers(stage: Stage) -> list[float]:
    """Answers one at a time; the group messages spent on each."""
    plan = stage.plan
    telegram = stage.sandbox.telegram
    counts: list[float] = []
    await _group_still(stage, plan.quiet_seconds, plan.answer_timeout)
    for number in range(plan.quiet_answers):
        curator = stage.curators[number % len(stage.curators)]
        picked = stage.pick()
        if picked is None:
            stage.note("quiet answers: no open card left to answer")
            break
        question, card = picked
        answered = await curator.answer(
            question.post_id, card, stage.answer_text(curator), plan.answer_timeout
        )
        if answered.preview is None or not await curator.post(answered, plan.answer_timeout):
            stage.note(f"quiet answer to {question.post_id} stopped: {answered.why}")
            continue

        def settled(post_id: str = question.post_id) -> bool | None:
            reply = next(
                (
                    str(p["id"])
                    for p in stage.sandbox.x.museum_posts()
                    if str(p.get("in_reply_to_tweet_id")) == post_id
                ),
                None,
            )
            card = stage.chat.card(post_id)
            return (reply is not None and card is not None and shows_answer(card, reply)) or None

        if await until(settled, plan.answer_timeout) is None:
            stage.note(f"quiet answer to {question.post_id}: the card never showed it")
            continue
        await _group_still(stage, plan.quiet_seconds, plan.answer_timeout)
        spent = group_messages(
            telegram.requests, stage.sandbox.staff_chat_id, answered.pressed_at, telegram.clock()
        )
        stage.journal(f"the answer to {question.post_id} spent {spent} group messages")
        counts.append(float(spent))
    return counts


@dataclass
class BurstFigures:
    visible_seconds: float | None
    out_of_order: int


async def burst(stage: Stage) -> BurstFigures:
    """Post the whole burst with no pause (the bot's next poll finds all of it), then wait
    until every question is visible in the group. It starts once the group's flood window is
    empty, as the floor assumes: what came before does not eat into it."""
    plan = stage.plan
    await _group_still(stage, plan.group_period, plan.group_period + plan.answer_timeout)
    posts = [stage.ask().post_id for _ in range(plan.burst)]
    since = stage.sandbox.x.clock()
    stage.journal(f"burst: {len(posts)} questions posted")
    if not await stage.watch.all_shown(posts, plan.burst_timeout):
        missing = sum(1 for p in posts if p not in stage.watch.shown)
        stage.note(f"burst: {missing} of {len(posts)} questions not shown after "
                   f"{plan.burst_timeout:.0f}s")  # fmt: skip
    shown = stage.watch.shown
    return BurstFigures(
        all_visible_after(shown, posts, since), shown_before_an_older_one(shown, posts)
    )


async def _stored_questions(engine: AsyncEngine) -> int:
    async with AsyncSession(engine) as session:
        return int(await session.scalar(select(func.count()).select_from(Question)) or 0)


async def _backlog(engine: AsyncEngine) -> int:
    async with AsyncSession(engine) as session:
        return await inbox.count_queued_cards(session)


async def backlog_answers(stage: Stage) -> list[float]:
    """A second burst; once the bot has stored it, curators answer earlier questions while
    its cards wait. Answer → preview, for each answer (a preview that never came counts as
    the whole timeout)."""
    plan = stage.plan
    for _ in range(plan.backlog):
        stage.ask()
    total = len(stage.posted_at)
    stage.journal(f"backlog: {plan.backlog} questions posted")
    deadline = time.monotonic() + plan.answer_timeout
    while await _stored_questions(stage.engine) < total:
        if time.monotonic() > deadline:
            stage.note("backlog: the bot did not store the burst in time")
            break
        await asyncio.sleep(LOOK_EVERY)
    backlogs: list[int] = []
    done: list[Answered] = []
    turns = iter(range(plan.backlog_answers))

    async def work(curator: Curator) -> None:
        for _turn in turns:
            picked = stage.pick()
            if picked is None:
                stage.note("backlog: no open card left to answer")
                return
            question, card = picked
            backlogs.append(await _backlog(stage.engine))
            answered = await curator.answer(
                question.post_id, card, stage.answer_text(curator), plan.answer_timeout
            )
            done.append(answered)
            if answered.preview is None:
                stage.note(f"backlog answer to {question.post_id} stopped: {answered.why}")
            else:
                await curator.post(answered, plan.answer_timeout)
            await asyncio.sleep(THINK)

    await asyncio.gather(*(work(curator) for curator in stage.curators))
    if backlogs:
        stage.note(
            f"backlog: {len(done)} answers pressed with {min(backlogs)}–{max(backlogs)} "
            "questions waiting for the group"
        )
    return [latency if (latency := a.latency()) is not None else plan.answer_timeout for a in done]
