"""The one sender of the outbox: posts a claimed delivery to X, once.

A delivery X may already have (`maybe_posted`: a timeout, a 5xx, a crash between X accepting
it and the database recording it) is looked for on X first and adopted when found: a reply by
the museum's reply to the same post, anything else by the museum's own post with exactly this
text since the delivery's first attempt. A 403 "duplicate content" is looked for the same
way, never blindly retried; after an attempt whose outcome is unknown it means X has the post
but its timeline may not show it yet (X indexes new posts with a lag), so the delivery waits
and looks again, on the back-off of an unanswered attempt, instead of failing. A delivery with a
partner goes out from the partner's account (and is looked for in its timeline); without
the partner's authorisation it fails at once. When X refuses
the museum itself (keys, app enrolment, spent credits) or asks to wait, the delivery waits with
that reason, never as a refusal of its text.
Attempts X did not answer back off and are bounded; past the bound the delivery fails.

What a delivery is for (an answer's part, an announcement) is written in the same
transaction as its outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.clock import Clock, SystemClock
from opsbot.db.models import (
    Delivery,
    DeliveryFailure,
    DeliveryKind,
    DeliveryWait,
    QuestionStatus,
)
from opsbot.services import alerts, answers, audit, deletions, outbox, questions
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
from opsbot.x.partner_accounts import PartnerAccounts, PartnerNotConnected
from opsbot.x.poller import posted_at

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

    def __init__(self, failure: DeliveryFailure, detail: str) -> None:
        super().__init__(detail)
        self.failure = failure


def _unanswered(exc: XUnavailable) -> DeliveryFailure:
    return DeliveryFailure.TIMEOUT if exc.status is None else DeliveryFailure.SERVER_ERROR


class _NotYetFound(Exception):
    """X says it has this text from an earlier attempt, but does not show the post yet."""


class Publisher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        gateway: XGateway,
        account: Callable[[], XAccount | None],
        *,
        clock: Clock | None = None,
        partners: PartnerAccounts | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._gateway = gateway
        self._account = account
        self._partners = partners
        self._clock = clock or SystemClock()
        self.retry_backoff: tuple[float, ...] = RETRY_BACKOFF
        self.auth_retry = AUTH_RETRY
        self.max_attempts = MAX_ATTEMPTS

    def _now(self) -> datetime:
        return self._clock.now()

    async def _poster(self, row: Delivery) -> tuple[XGateway, XAccount]:
        """The client and account the delivery goes out from: a partner's, or the museum's."""
        if row.partner_id is not None:
            try:
                if self._partners is None:
                    raise PartnerNotConnected
                return await self._partners.account(row.partner_id)
            except PartnerNotConnected:
                raise _Refused(
                    DeliveryFailure.NOT_CONNECTED,
                    "the partner has not authorised the app to act as its account",
                ) from None
        account = self._account()
        if account is None:
            account = await self._gateway.me()
        return self._gateway, account

    async def deliver(self, row: Delivery) -> Delivered:
        """Post a delivery this sender has just claimed (`row.token` is its claim)."""
        if row.kind == DeliveryKind.DELETION:
            return await self._delete(row)
        async with self._sessionmaker.begin() as session:
            target = await outbox.target_of(session, row)
            veto = await self._veto(session, row, target)
        if veto is not None:
            return await self._fail(row, veto, veto.value, Outcome.FAILED)
        sent = False
        try:
            gateway, account = await self._poster(row)
            async with self._sessionmaker.begin() as session:
                if not await outbox.holds(session, row, self._now()):
                    return Delivered(Outcome.TAKEN_OVER, row)
            found = await self._look(gateway, row, target, account) if row.maybe_posted else None
            if found is not None:
                return await self._record(row, found, adopted=True)
            if row.attempts >= self.max_attempts:
                return await self._give_up(
                    row, row.failure or DeliveryFailure.TIMEOUT, row.last_error
                )
            sent = True
            post_id = await self._post(gateway, row, target, account)
        except XRateLimited as exc:
            until = datetime.fromtimestamp(exc.reset_at, UTC)
            return await self._wait(row, until, DeliveryWait.RATE_LIMIT, str(exc))
        except (XAuthFailed, XPaymentRequired) as exc:
            if row.partner_id is not None and _partner_revoked(exc):
                # The partner's own tokens, not the museum's keys: only the partner can renew
                # them, and waiting would not help.
                return await self._fail(
                    row,
                    DeliveryFailure.PARTNER_REVOKED,
                    "X refused the partner's authorisation",
                    Outcome.FAILED,
                )
            return await self._refused(row, exc)
        except XUnavailable as exc:
            return await self._later(row, str(exc), maybe_posted=sent, failure=_unanswered(exc))
        except _NotYetFound as exc:
            return await self._later(
                row, str(exc), maybe_posted=True, failure=DeliveryFailure.DUPLICATE
            )
        except _Refused as exc:
            return await self._fail(row, exc.failure, str(exc), Outcome.FAILED)
        return await self._record(row, post_id, adopted=False)

    async def _delete(self, row: Delivery) -> Delivered:
        """Take a post back. Asking again is safe: X answers a post already gone with 404 or
        `deleted: false`, and that is done too (an earlier attempt whose answer was lost)."""
        assert row.target is not None
        try:
            async with self._sessionmaker.begin() as session:
                if not await outbox.holds(session, row, self._now()):
                    return Delivered(Outcome.TAKEN_OVER, row)
            if row.attempts >= self.max_attempts:
                return await self._give_up(
                    row, row.failure or DeliveryFailure.TIMEOUT, row.last_error
                )
            gateway, _account = await self._poster(row)
            try:
                gone_before = not await gateway.delete_post(row.target)
            except XRejected as exc:
                if exc.status != 404:
                    raise _Refused(DeliveryFailure.REFUSED, exc.detail) from None
                gone_before = True
        except XRateLimited as exc:
            until = datetime.fromtimestamp(exc.reset_at, UTC)
            return await self._wait(row, until, DeliveryWait.RATE_LIMIT, str(exc))
        except (XAuthFailed, XPaymentRequired) as exc:
            return await self._refused(row, exc)
        except XUnavailable as exc:
            return await self._later(row, str(exc), maybe_posted=True, failure=_unanswered(exc))
        except _Refused as exc:
            return await self._fail(row, exc.failure, str(exc), Outcome.FAILED)
        now = self._now()
        async with self._sessionmaker.begin() as session:
            if not await outbox.record_sent(session, row, row.target, now):
                return Delivered(Outcome.TAKEN_OVER, row)
            await deletions.part_deleted(session, row, now)
            done = await outbox.get(session, row.id)
        assert done is not None
        log.info(
            "outbox: %s: x post %s %s",
            row.key,
            row.target,
            "was gone" if gone_before else "deleted",
        )
        return Delivered(Outcome.POSTED, done)

    async def _later(
        self, row: Delivery, error: str, *, maybe_posted: bool, failure: DeliveryFailure
    ) -> Delivered:
        """Try again after the back-off of an attempt X did not settle; bounded. `failure` is
        what it fails with if this was the last."""
        if row.attempts + 1 > self.max_attempts:
            return await self._give_up(row, failure, error)
        backoff = self.retry_backoff[min(row.attempts, len(self.retry_backoff) - 1)]
        return await self._wait(
            row,
            self._now() + timedelta(seconds=backoff),
            DeliveryWait.UNKNOWN,
            error,
            maybe_posted=maybe_posted,
            failure=failure,
        )

    async def _veto(
        self, session: AsyncSession, row: Delivery, target: str | None
    ) -> DeliveryFailure | None:
        """Why this delivery must not go out any more, if it must not."""
        if row.follows_id is not None and target is None:
            return DeliveryFailure.FOLLOWED_FAILED
        if row.kind == DeliveryKind.ANSWER and row.answer_id is not None:
            part = await answers.load(session, row.answer_id)
            question = await questions.load(session, part.question_id) if part else None
            if question is None:
                return DeliveryFailure.QUESTION_GONE
            if question.status == QuestionStatus.HIDDEN:
                # Hidden after the answer was handed over: spam is not answered.
                return DeliveryFailure.QUESTION_HIDDEN
        return None

    async def _look(
        self, gateway: XGateway, row: Delivery, target: str | None, account: XAccount
    ) -> str | None:
        """The post of an earlier attempt, if X has it, in the timeline of its account."""
        if target is not None:
            return await gateway.find_reply(account.id, target)
        since = (row.first_attempt_at or self._now()) - CLOCK_SLACK
        return await gateway.find_post(
            account.id, since, lambda text: outbox.same_text(row.payload, text)
        )

    async def _post(
        self, gateway: XGateway, row: Delivery, target: str | None, account: XAccount
    ) -> str:
        try:
            return await gateway.create_post(row.payload, target)
        except XRejected as exc:
            if _is_duplicate(exc):
                # "Duplicate content": this text is probably on X already; find it.
                found = await self._look(gateway, row, target, account)
                if found is not None:
                    return found
                if row.maybe_posted:
                    # Our own earlier attempt, not yet in the timeline X lets us read.
                    raise _NotYetFound(exc.detail) from None
                raise _Refused(DeliveryFailure.DUPLICATE, exc.detail) from None
            if exc.status == 400:
                length = weighted_length(row.payload)
                raise _Refused(
                    DeliveryFailure.TOO_LONG, f"{exc.detail} ({length}/{MAX_WEIGHTED_LENGTH})"
                ) from None
            raise _Refused(DeliveryFailure.REFUSED, exc.detail) from None

    async def _record(self, row: Delivery, post_id: str, *, adopted: bool) -> Delivered:
        now = self._now()
        async with self._sessionmaker.begin() as session:
            if not await outbox.record_sent(session, row, post_id, now):
                return Delivered(Outcome.TAKEN_OVER, row)
            if row.kind == DeliveryKind.ANSWER and row.answer_id is not None:
                # X's ids are snowflakes: the id of a post made or adopted tells when X made it.
                await answers.part_posted(
                    session, row.answer_id, post_id, now, x_created_at=posted_at(post_id)
                )
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
        failure: DeliveryFailure | None = None,
    ) -> Delivered:
        now = self._now()
        raised = False
        async with self._sessionmaker.begin() as session:
            await outbox.record_wait(
                session,
                row,
                until=until,
                now=now,
                why=why,
                error=error,
                maybe_posted=maybe_posted,
                failure=failure,
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
        alert: str | None = (
            alerts.X_CREDITS if exc.reason == Access.CREDITS else alerts.X_POST_ACCESS
        )
        until = self._now() + self.auth_retry
        if alert == alerts.X_CREDITS and self._gateway.answered_after(exc):
            # X answered the museum after it refused this post: the credits were topped up
            # meanwhile. Telling the group they are spent would be old news; try again now.
            alert, until = None, self._now()
        return await self._wait(
            row,
            until,
            DeliveryWait(exc.reason.value),
            str(exc),
            alert=alert,
        )

    async def _give_up(self, row: Delivery, failure: DeliveryFailure, error: str) -> Delivered:
        reason = f"X did not answer {self.max_attempts} times: {error}"
        return await self._fail(row, failure, reason, Outcome.GAVE_UP)

    async def _fail(
        self, row: Delivery, failure: DeliveryFailure, error: str, outcome: Outcome
    ) -> Delivered:
        async with self._sessionmaker.begin() as session:
            failed = await outbox.record_failed(session, row, failure, error, self._now())
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
        log.warning("outbox: %s failed (%s): %s", row.key, failure, error)
        return Delivered(outcome, failed[0])


def _partner_revoked(exc: XAuthFailed | XPaymentRequired) -> bool:
    return isinstance(exc, XAuthFailed) and exc.reason == Access.KEYS


async def _question_of(session: AsyncSession, row: Delivery) -> int | None:
    part = await answers.load(session, row.answer_id) if row.answer_id is not None else None
    return part.question_id if part else None
