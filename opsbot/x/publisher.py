"""The one sender of the outbox: posts a claimed delivery to X, once.

A delivery X may already have (`maybe_posted`: a timeout, a 5xx, a crash between X accepting
it and the database recording it) is looked for on X first and adopted when found: a reply by
the museum's reply to the same post, anything else by the museum's own post with exactly this
text since the delivery's first attempt. A 403 "duplicate content" is looked for the same
way, never blindly retried. When X refuses the museum itself (keys, app enrolment, spent
credits) or asks to wait, the delivery waits with that reason, never as a refusal of its text.
Attempts X did not answer back off and are bounded; past the bound the delivery fails.

What a delivery is for (an answer's part, an announcement) is written in the same
transaction as its outcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.db.models import Delivery, DeliveryKind, DeliveryWait, QuestionStatus
from opsbot.services import alerts, answers, audit, outbox, questions
from opsbot.services.outbox import Delivered, Outcome
from opsbot.services.tweet_length import MAX_WEIGHTED_LENGTH, weighted_length
from opsbot.x.gateway import (
    Access,
    XAccount,
    XAuthFailed,
    XGateway,
    XPaymentRequired,
    XRateLimited,
    XRejected,
    XUnavailable,
)

log = logging.getLogger(__name__)

AUTH_RETRY = timedelta(minutes=2)
# Seconds before the next attempt after X did not answer, by attempt.
RETRY_BACKOFF = (10.0, 30.0, 120.0, 300.0)
# Attempts X did not answer before the delivery is given up (after one last look on X).
MAX_ATTEMPTS = 5
# X's clock and ours may differ a little: look for a lost post from a bit before it was sent.
CLOCK_SLACK = timedelta(minutes=1)


def _is_duplicate(exc: XRejected) -> bool:
    return exc.status == 403 and "duplicate" in exc.detail.lower()


class _Refused(Exception):
    """X refused the post itself: retrying the same text will not help."""


class Publisher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        gateway: XGateway,
        account: Callable[[], XAccount | None],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._gateway = gateway
        self._account = account
        self._clock = clock
        self.retry_backoff: tuple[float, ...] = RETRY_BACKOFF
        self.auth_retry = AUTH_RETRY
        self.max_attempts = MAX_ATTEMPTS

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def _museum(self) -> XAccount:
        account = self._account()
        if account is None:
            account = await self._gateway.me()
        return account

    async def deliver(self, row: Delivery) -> Delivered:
        """Post a delivery this sender has just claimed (`row.token` is its claim)."""
        async with self._sessionmaker.begin() as session:
            target = await outbox.target_of(session, row)
            veto = await self._veto(session, row, target)
        if veto is not None:
            return await self._fail(row, veto, Outcome.FAILED)
        sent = False
        try:
            museum = await self._museum()
            async with self._sessionmaker.begin() as session:
                if not await outbox.holds(session, row, self._now()):
                    return Delivered(Outcome.TAKEN_OVER, row)
            found = await self._look(row, target, museum) if row.maybe_posted else None
            if found is not None:
                return await self._record(row, found, adopted=True)
            if row.attempts >= self.max_attempts:
                return await self._give_up(row, row.last_error)
            sent = True
            post_id = await self._post(row, target, museum)
        except XRateLimited as exc:
            until = datetime.fromtimestamp(exc.reset_at, UTC)
            return await self._wait(row, until, DeliveryWait.RATE_LIMIT, str(exc))
        except (XAuthFailed, XPaymentRequired) as exc:
            return await self._refused(row, exc)
        except XUnavailable as exc:
            if row.attempts + 1 > self.max_attempts:
                return await self._give_up(row, str(exc))
            backoff = self.retry_backoff[min(row.attempts, len(self.retry_backoff) - 1)]
            return await self._wait(
                row,
                self._now() + timedelta(seconds=backoff),
                DeliveryWait.UNKNOWN,
                str(exc),
                maybe_posted=sent,
            )
        except _Refused as exc:
            return await self._fail(row, str(exc), Outcome.FAILED)
        return await self._record(row, post_id, adopted=False)

    async def _veto(self, session: AsyncSession, row: Delivery, target: str | None) -> str | None:
        """Why this delivery must not go out any more, if it must not."""
        if row.follows_id is not None and target is None:
            return "the post it follows is not on X"
        if row.kind == DeliveryKind.ANSWER and row.answer_id is not None:
            part = await answers.load(session, row.answer_id)
            question = await questions.load(session, part.question_id) if part else None
            if question is None:
                return "the question is gone"
            if question.status == QuestionStatus.HIDDEN:
                # Hidden after the answer was handed over: spam is not answered.
                return "the question was hidden"
        return None

    async def _look(self, row: Delivery, target: str | None, museum: XAccount) -> str | None:
        """The post of an earlier attempt, if X has it."""
        if target is not None:
            return await self._gateway.find_reply(museum.id, target)
        since = (row.first_attempt_at or self._now()) - CLOCK_SLACK
        return await self._gateway.find_post(
            museum.id, since, lambda text: outbox.same_text(row.payload, text)
        )

    async def _post(self, row: Delivery, target: str | None, museum: XAccount) -> str:
        try:
            return await self._gateway.create_post(row.payload, target)
        except XRejected as exc:
            if _is_duplicate(exc):
                # "Duplicate content": this text is probably on X already; find it.
                found = await self._look(row, target, museum)
                if found is not None:
                    return found
                raise _Refused(exc.detail) from None
            if exc.status == 400:
                length = weighted_length(row.payload)
                raise _Refused(f"{exc.detail} ({length}/{MAX_WEIGHTED_LENGTH})") from None
            raise _Refused(exc.detail) from None

    async def _record(self, row: Delivery, post_id: str, *, adopted: bool) -> Delivered:
        now = self._now()
        async with self._sessionmaker.begin() as session:
            if not await outbox.record_sent(session, row, post_id, now):
                return Delivered(Outcome.TAKEN_OVER, row)
            if row.kind == DeliveryKind.ANSWER and row.answer_id is not None:
                await answers.part_posted(session, row.answer_id, post_id, now)
            await alerts.clear_alert(session, alerts.X_POST_ACCESS)
            await audit.record(
                session,
                actor_id=row.requested_by,
                action="adopted" if adopted else "posted",
                question_id=await _question_of(session, row),
                detail=f"{row.key}: x post {post_id}",
            )
            done = await outbox.get(session, row.id)
        assert done is not None
        log.info("outbox: %s %s as x post %s", row.key, "adopted" if adopted else "posted", post_id)
        return Delivered(Outcome.ADOPTED if adopted else Outcome.POSTED, done)

    async def _wait(
        self,
        row: Delivery,
        until: datetime,
        why: DeliveryWait,
        error: str,
        *,
        maybe_posted: bool = False,
        alert: str | None = None,
    ) -> Delivered:
        now = self._now()
        raised = False
        async with self._sessionmaker.begin() as session:
            await outbox.record_wait(
                session, row, until=until, now=now, why=why, error=error, maybe_posted=maybe_posted
            )
            if alert is not None:
                raised = await alerts.raise_alert(session, alert)
            done = await outbox.get(session, row.id)
        assert done is not None
        outcome = Outcome.RETRYING if why == DeliveryWait.UNKNOWN else Outcome.WAITING
        log.info("outbox: %s %s until %s: %s", row.key, outcome, until, error)
        return Delivered(outcome, done, alert_raised=raised)

    async def _refused(self, row: Delivery, exc: XAuthFailed | XPaymentRequired) -> Delivered:
        # Spent credits stop reading too: one alert for both, shared with the poller.
        alert = alerts.X_CREDITS if exc.reason == Access.CREDITS else alerts.X_POST_ACCESS
        return await self._wait(
            row,
            self._now() + self.auth_retry,
            DeliveryWait(exc.reason.value),
            str(exc),
            alert=alert,
        )

    async def _give_up(self, row: Delivery, error: str) -> Delivered:
        reason = f"X did not answer {self.max_attempts} times: {error}"
        return await self._fail(row, reason, Outcome.GAVE_UP)

    async def _fail(self, row: Delivery, error: str, outcome: Outcome) -> Delivered:
        async with self._sessionmaker.begin() as session:
            failed = await outbox.record_failed(session, row, error, self._now())
            if not failed:
                return Delivered(Outcome.TAKEN_OVER, row)
            answer_ids = [d.answer_id for d in failed if d.answer_id is not None]
            if answer_ids:
                await answers.parts_failed(session, answer_ids)
            await audit.record(
                session,
                actor_id=row.requested_by,
                action="post_failed",
                outcome=audit.REFUSED,
                question_id=await _question_of(session, row),
                detail=f"{row.key}: {error}",
            )
        log.warning("outbox: %s failed: %s", row.key, error)
        return Delivered(outcome, failed[0])


async def _question_of(session: AsyncSession, row: Delivery) -> int | None:
    part = await answers.load(session, row.answer_id) if row.answer_id is not None else None
    return part.question_id if part else None
