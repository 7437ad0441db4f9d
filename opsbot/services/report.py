"""A salon's figures for the Ministry, from the database and one batched look at X.

`gather` reads what the database knows of a salon (one transaction); `figures` turns that and
X's answer (`PostLookup`) into the numbers, with no I/O, so they can be checked by hand.
Definitions, kept in one place so every document agrees:

- questions are the salon's posts that are not hidden as spam and came before its end;
  `after_salon` counts those that came within a day after it.
- an answer is every part of the museum's first thread posted under the question, their text
  joined in order.
- first response: from the question's post on X to the museum's first reply to it (part 1 of
  the answer), both by X's own time (the reply's created_at; the bot's clock only for a reply
  recorded before X's time was kept); median, and the 90th percentile by nearest rank (the
  smallest time within which at least 90% of the answered questions were answered).
- participants: everyone who asked or responded to the museum's prompts. Ingest keeps every
  post that reaches the museum as a question, replies to a prompt too, so a post that replies
  to (or sits in the thread of) a prompt or the announcement, or quotes one, is a response and
  makes its author a prompt responder; `askers` are the authors of the other posts. Over a
  period each account counts once, however many salons it came to.
- a figure nobody could measure is None ("not available"), never 0.
- a co-hosted salon is also split by museum (`MuseumFigures`): the questions to each are those
  whose audience is that museum alone plus those for both (tagging both, or only the
  hashtag), so a question for both counts once for each museum and the two figures may add
  up to more than the salon's questions; the answers by each are those whose first part was
  posted by one of its curators (`StaffMember.partner_id`), with their first-response times;
  the followers each gained are read from each museum's own account at start and end.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import (
    Answer,
    AnswerStatus,
    Delivery,
    DeliveryKind,
    DeliveryState,
    Draw,
    Partner,
    Question,
    QuestionAudience,
    QuestionStatus,
    Salon,
    SalonStatus,
    StaffMember,
    UsageKind,
)
from opsbot.services import budget, usage
from opsbot.services.budget import Prices
from opsbot.services.posts import post_url
from opsbot.services.tweet_urls import extract_urls
from opsbot.services.x_facts import PostLookup


@dataclass(frozen=True)
class Times:
    """First-response times in seconds: how many, the median and the 90th percentile."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, seconds: list[float]) -> Times:
        if not seconds:
            return cls(0, None, None)
        ordered = sorted(seconds)
        return cls(len(ordered), statistics.median(ordered), nearest_rank(ordered, 0.9))


def nearest_rank(ordered: list[float], share: float) -> float:
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


@dataclass(frozen=True)
class CuratorFigures:
    name: str
    answers: int
    first_response: Times


@dataclass(frozen=True)
class MuseumFigures:
    """One museum's share of a co-hosted salon (see the module's definitions)."""

    handle: str
    # Questions for this museum alone, and for both museums (counted for each of them).
    questions_alone: int
    questions_both: int
    answered: int
    first_response: Times
    followers_start: int | None = None
    followers_end: int | None = None

    @property
    def questions(self) -> int:
        return self.questions_alone + self.questions_both

    @property
    def followers_delta(self) -> int | None:
        if self.followers_start is None or self.followers_end is None:
            return None
        return self.followers_end - self.followers_start


@dataclass(frozen=True)
class Row:
    """One question, and the museum's answer to it if there is one: a line of the spreadsheet."""

    number: int | None
    author: str
    text: str
    posted_at: datetime
    url: str
    replyable: bool
    status: str
    after_salon: bool
    curator: str | None = None
    answer: str | None = None
    answered_at: datetime | None = None
    answer_url: str | None = None
    first_response: float | None = None
    # A co-hosted salon's: whom the question was for (QuestionAudience) and the account of
    # the museum whose curator answered it; None for a salon the museum hosts alone.
    audience: str | None = None
    answered_by: str | None = None


@dataclass(frozen=True)
class Spend:
    """What the salon cost on X: its posts, the reads made for it, their estimated price."""

    posts: int
    reads: int | None
    estimated_usd: Decimal | None


@dataclass
class Figures:
    salon_id: int
    topic: str
    started_at: datetime | None
    ended_at: datetime | None
    questions: int = 0
    replyable: int = 0
    hidden: int = 0
    after_salon: int = 0
    answered: int = 0
    answered_replyable: int = 0
    askers: int = 0
    prompt_responders: int = 0
    participants: int = 0
    first_response: Times = field(default_factory=lambda: Times(0, None, None))
    curators: list[CuratorFigures] = field(default_factory=list)
    open_questions: list[Row] = field(default_factory=list)
    followers_start: int | None = None
    followers_end: int | None = None
    museum_posts: int = 0
    impressions: int | None = None
    engagements: int | None = None
    spend: Spend = field(default_factory=lambda: Spend(0, None, None))
    winners: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    # Over a period: the followers each salon gained, summed (between salons is not counted).
    summed_delta: int | None = None
    # X account ids behind `askers` and `prompt_responders`, to count each once over a period.
    asker_ids: set[str] = field(default_factory=set)
    responder_ids: set[str] = field(default_factory=set)
    # A co-hosted salon's split, host first; empty for a salon the museum hosts alone.
    museums: list[MuseumFigures] = field(default_factory=list)

    @property
    def answered_share(self) -> float | None:
        return self.answered_replyable / self.replyable if self.replyable else None

    @property
    def followers_delta(self) -> int | None:
        if self.summed_delta is not None:
            return self.summed_delta
        if self.followers_start is None or self.followers_end is None:
            return None
        return self.followers_end - self.followers_start


@dataclass
class SalonRecord:
    """Everything the database holds about a salon that its figures need."""

    salon: Salon
    questions: list[Question]
    # The parts of the first answer posted per question id, in order.
    answers: dict[int, list[Answer]]
    curator_names: dict[int, str]
    deliveries: list[Delivery]
    draw: Draw | None
    handle: str
    # The reads counted for the salon in the usage ledger, by kind.
    reads: Mapping[UsageKind, int] = field(default_factory=dict)
    # The co-host, and the partner each answering curator works for (None: the host's own).
    partner: Partner | None = None
    curator_partners: dict[int, int | None] = field(default_factory=dict)

    def museum_post_ids(self) -> list[str]:
        """The museum's posts of the salon: announcement, prompts, winners and every answer."""
        ids = [d.external_id for d in self.deliveries if d.external_id]
        return list(dict.fromkeys(ids))

    def question_post_ids(self) -> list[str]:
        return [q.x_post_id for q in self.questions if q.status != QuestionStatus.HIDDEN]


async def reportable(session: AsyncSession) -> list[Salon]:
    """Salons that have started, newest first."""
    return list(
        await session.scalars(
            select(Salon)
            .where(Salon.status.in_([SalonStatus.LIVE, SalonStatus.ENDED]))
            .order_by(Salon.started_at.desc())
        )
    )


async def in_period(session: AsyncSession, start: datetime, end: datetime) -> list[Salon]:
    """Salons that started in [start, end), oldest first."""
    return list(
        await session.scalars(
            select(Salon)
            .where(
                Salon.status.in_([SalonStatus.LIVE, SalonStatus.ENDED]),
                Salon.started_at >= start,
                Salon.started_at < end,
            )
            .order_by(Salon.started_at)
        )
    )


async def gather(session: AsyncSession, salon: Salon, *, handle: str) -> SalonRecord:
    """Read one salon's questions, answers, posts and draw (`handle`: the museum on X)."""
    questions = list(
        await session.scalars(
            select(Question).where(Question.salon_id == salon.id).order_by(Question.posted_at)
        )
    )
    ids = [q.id for q in questions]
    answers = await posted_answers(session, ids)
    curator_ids = {parts[0].curator_id for parts in answers.values()}
    curators = list(
        await session.scalars(select(StaffMember).where(StaffMember.telegram_id.in_(curator_ids)))
    )
    names = {m.telegram_id: m.first_name or (m.username or str(m.telegram_id)) for m in curators}
    # Every part of every answer to the salon's questions is a post of the museum's too.
    salon_answers = select(Answer.id).where(
        Answer.question_id.in_(select(Question.id).where(Question.salon_id == salon.id))
    )
    deliveries = list(
        await session.scalars(
            select(Delivery)
            .where(
                Delivery.state == DeliveryState.SENT,
                (Delivery.salon_id == salon.id)
                | Delivery.answer_id.in_(salon_answers)
                | Delivery.draw_id.in_(select(Draw.id).where(Draw.salon_id == salon.id)),
            )
            .order_by(Delivery.id)
        )
    )
    draw = await session.scalar(select(Draw).where(Draw.salon_id == salon.id))
    reads = await usage.of_salon(session, salon.id)
    partner = await session.get(Partner, salon.partner_id) if salon.partner_id else None
    return SalonRecord(
        salon,
        questions,
        answers,
        names,
        deliveries,
        draw,
        handle,
        reads,
        partner,
        {m.telegram_id: m.partner_id for m in curators},
    )


async def posted_answers(session: AsyncSession, question_ids: list[int]) -> dict[int, list[Answer]]:
    """Per question, the posted parts of its first answer on X (part 1 first)."""
    threads: dict[int, dict[int, list[Answer]]] = defaultdict(dict)
    if not question_ids:
        return {}
    for part in await session.scalars(
        select(Answer)
        .where(Answer.question_id.in_(question_ids), Answer.status == AnswerStatus.POSTED)
        .order_by(Answer.part, Answer.posted_at, Answer.id)
    ):
        root = part.thread_root_id if part.thread_root_id is not None else part.id
        threads[part.question_id].setdefault(root, []).append(part)
    out: dict[int, list[Answer]] = {}
    for question_id, by_root in threads.items():
        # A thread whose part 1 is not on X answers nothing yet.
        whole = [parts for parts in by_root.values() if parts[0].part == 1]
        if whole:
            out[question_id] = min(whole, key=lambda parts: (_made_at(parts[0]), parts[0].id))
    return out


def _made_at(part: Answer) -> datetime:
    """When X made the part; the bot's clock for a part recorded before X's time was kept."""
    made = part.x_created_at or part.posted_at
    assert made is not None
    return made


def answer_text(parts: list[Answer]) -> str:
    return "\n\n".join(part.text for part in parts)


def x_spend(record: SalonRecord, prices: Prices) -> Spend:
    """The posts the salon made on X, classed as the usage ledger classes them, the reads the
    ledger counted for it, and their estimated price."""
    counts: Counter[UsageKind] = Counter(record.reads)
    for delivery in record.deliveries:
        if extract_urls(delivery.payload):
            counts[UsageKind.LINK_POST] += 1
        elif delivery.kind == DeliveryKind.ANSWER:
            counts[UsageKind.REPLY] += 1
        else:
            counts[UsageKind.POST] += 1
    spent = budget.estimate(counts, prices, None)
    return Spend(posts=spent.posts, reads=spent.reads, estimated_usd=_usd(spent.usd))


def ledger_spend(counts: Mapping[UsageKind, int], prices: Prices) -> Spend:
    """A period's reads, posts and their price from the usage ledger of its months."""
    spent = budget.estimate(counts, prices, None)
    return Spend(
        posts=spent.posts,
        reads=spent.reads + spent.unaccounted_reads,
        estimated_usd=_usd(spent.usd),
    )


def _usd(value: float) -> Decimal:
    return Decimal(str(round(value, 3)))


def _first_response(question: Question, parts: list[Answer] | None) -> float | None:
    if not parts:
        return None
    return max((_made_at(parts[0]) - question.posted_at).total_seconds(), 0.0)


def figures(record: SalonRecord, lookup: PostLookup | None, prices: Prices) -> Figures:
    """The salon's figures; `lookup` is X's answer on the museum's posts (None: not asked)."""
    salon = record.salon
    out = Figures(salon.id, salon.topic, salon.started_at, salon.ended_at)
    out.followers_start = salon.followers_at_start
    out.followers_end = salon.followers_at_end
    prompts = {
        d.external_id
        for d in record.deliveries
        if d.kind in (DeliveryKind.PROMPT, DeliveryKind.ANNOUNCEMENT) and d.external_id
    }
    askers: set[str] = set()
    responders: set[str] = set()
    times: list[float] = []
    by_curator: dict[int, list[float]] = defaultdict(list)
    for question in record.questions:
        if question.status == QuestionStatus.HIDDEN:
            out.hidden += 1
            continue
        answer = record.answers.get(question.id)
        row = _row(record, question, answer)
        out.rows.append(row)
        if question.after_salon:
            out.after_salon += 1
            continue
        out.questions += 1
        out.replyable += question.replyable
        if question.quoted_post_id in prompts or (
            question.conversation_id in prompts and question.conversation_id != question.x_post_id
        ):
            responders.add(question.author_id)
        else:
            askers.add(question.author_id)
        if answer is not None and row.first_response is not None:
            out.answered += 1
            out.answered_replyable += question.replyable
            times.append(row.first_response)
            by_curator[answer[0].curator_id].append(row.first_response)
        elif question.status != QuestionStatus.ANSWERED:
            out.open_questions.append(row)
    _participants(out, askers, responders)
    out.first_response = Times.of(times)
    out.curators = sorted(
        (
            CuratorFigures(record.curator_names.get(cid, str(cid)), len(ts), Times.of(ts))
            for cid, ts in by_curator.items()
        ),
        key=lambda c: (-c.answers, c.name),
    )
    posts = record.museum_post_ids()
    out.museum_posts = len(posts)
    if lookup is not None and lookup.answered and posts:
        seen = [lookup.metrics[p] for p in posts if p in lookup.metrics]
        if seen and all(m.impressions is not None for m in seen):
            out.impressions = sum(m.impressions or 0 for m in seen)
        if seen:
            out.engagements = sum(m.engagements for m in seen)
    out.spend = x_spend(record, prices)
    out.winners = winners(record.draw)
    out.museums = museum_split(record)
    return out


def museum_split(record: SalonRecord) -> list[MuseumFigures]:
    """The host's and the partner's share of a co-hosted salon; [] for one hosted alone."""
    partner = record.partner
    if partner is None:
        return []
    counted = [
        q for q in record.questions if q.status != QuestionStatus.HIDDEN and not q.after_salon
    ]
    audiences = Counter(q.audience for q in counted)
    times: dict[int | None, list[float]] = {None: [], partner.id: []}
    for question in counted:
        parts = record.answers.get(question.id)
        seconds = _first_response(question, parts)
        if parts is None or seconds is None:
            continue
        museum = record.curator_partners.get(parts[0].curator_id)
        times[museum if museum == partner.id else None].append(seconds)
    salon = record.salon
    both = audiences[QuestionAudience.BOTH]
    return [
        MuseumFigures(
            handle=record.handle,
            questions_alone=audiences[QuestionAudience.HOST],
            questions_both=both,
            answered=len(times[None]),
            first_response=Times.of(times[None]),
            followers_start=salon.followers_at_start,
            followers_end=salon.followers_at_end,
        ),
        MuseumFigures(
            handle=partner.handle,
            questions_alone=audiences[QuestionAudience.PARTNER],
            questions_both=both,
            answered=len(times[partner.id]),
            first_response=Times.of(times[partner.id]),
            followers_start=salon.partner_followers_at_start,
            followers_end=salon.partner_followers_at_end,
        ),
    ]


def _participants(out: Figures, askers: set[str], responders: set[str]) -> None:
    out.asker_ids, out.responder_ids = askers, responders
    out.askers = len(askers)
    out.prompt_responders = len(responders)
    out.participants = len(askers | responders)


def winners(draw: Draw | None) -> list[str]:
    if draw is None:
        return []
    handles = {e["id"]: e["handle"] for e in json.loads(draw.entrants)}
    return [handles.get(i, i) for i in json.loads(draw.winners)]


def _answered_by(record: SalonRecord, first: Answer | None) -> str | None:
    if record.partner is None or first is None:
        return None
    if record.curator_partners.get(first.curator_id) == record.partner.id:
        return record.partner.handle
    return record.handle


def _row(record: SalonRecord, question: Question, answer: list[Answer] | None) -> Row:
    first = answer[0] if answer else None
    return Row(
        number=question.salon_seq,
        author=question.author_handle,
        text=question.text,
        posted_at=question.posted_at,
        url=post_url(question.author_handle, question.x_post_id),
        replyable=question.replyable,
        status=question.status,
        after_salon=question.after_salon,
        curator=record.curator_names.get(first.curator_id) if first else None,
        answer=answer_text(answer) if answer else None,
        answered_at=_made_at(first) if first else None,
        answer_url=post_url(record.handle, first.x_post_id) if first and first.x_post_id else None,
        first_response=_first_response(question, answer),
        audience=question.audience.value if record.partner else None,
        answered_by=_answered_by(record, first),
    )


def period_total(salons: list[Figures]) -> Figures:
    """The figures of several salons summed; response times pooled over all their answers."""
    total = Figures(0, "", None, None)
    if not salons:
        return total
    total.started_at = min((f.started_at for f in salons if f.started_at), default=None)
    total.ended_at = max((f.ended_at for f in salons if f.ended_at), default=None)
    for name in (
        "questions",
        "replyable",
        "hidden",
        "after_salon",
        "answered",
        "answered_replyable",
        "museum_posts",
    ):
        setattr(total, name, sum(getattr(f, name) for f in salons))
    # A visitor who came to two salons of the period is one participant of it.
    _participants(
        total,
        set().union(*(f.asker_ids for f in salons)),
        set().union(*(f.responder_ids for f in salons)),
    )
    times = [r.first_response for f in salons for r in f.rows if _counted(r)]
    total.first_response = Times.of([t for t in times if t is not None])
    for name in ("impressions", "engagements"):
        values = [getattr(f, name) for f in salons]
        setattr(total, name, None if None in values else sum(values))
    deltas = [f.followers_delta for f in salons]
    total.followers_start = salons[0].followers_start
    total.followers_end = salons[-1].followers_end
    total.spend = Spend(
        posts=sum(f.spend.posts for f in salons),
        reads=None,
        estimated_usd=sum((f.spend.estimated_usd or Decimal(0) for f in salons), Decimal(0)),
    )
    total.winners = [w for f in salons for w in f.winners]
    total.rows = [r for f in salons for r in f.rows]
    total.open_questions = [r for f in salons for r in f.open_questions]
    curators: dict[str, list[float]] = defaultdict(list)
    for f in salons:
        for r in f.rows:
            if _counted(r) and r.curator is not None and r.first_response is not None:
                curators[r.curator].append(r.first_response)
    total.curators = sorted(
        (CuratorFigures(name, len(ts), Times.of(ts)) for name, ts in curators.items()),
        key=lambda c: (-c.answers, c.name),
    )
    if None in deltas:
        total.followers_start = total.followers_end = None
    else:
        total.summed_delta = sum(d for d in deltas if d is not None)
    return total


def _counted(row: Row) -> bool:
    return not row.after_salon and row.first_response is not None
