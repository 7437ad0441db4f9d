"""Publishes claimed answers to X, once.

A claimed answer is `posting`. If the outcome of a post is unknown (timeout, 5xx, a crash
between X accepting it and the database recording it), the next attempt first looks for the
museum's reply on X and adopts it. A 403 "duplicate content" is treated the same way: the
post probably exists, so it is looked for, never blindly retried. When X refuses the museum
itself (keys, app enrolment, spent credits) the answer waits in the queue with that reason,
never as a refusal of its text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.db.models import AnswerStatus, QuestionStatus
from opsbot.services import alerts, answers, audit, questions
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
# Seconds before retrying a post whose outcome is unknown, by attempt.
RETRY_BACKOFF = (10.0, 30.0, 120.0, 300.0)


class Published(StrEnum):
    POSTED = "posted"
    # Waiting for X's rate-limit window or for working keys; retried by the outbox.
    QUEUED = "queued"
    # X did not answer; retried by the outbox after looking for the post.
    RETRYING = "retrying"
    TOO_LONG = "too_long"
    NOT_REPLYABLE = "not_replyable"
    DUPLICATE = "duplicate"
    FAILED = "failed"


@dataclass
class PublishResult:
    outcome: Published
    root_id: int
    question_id: int = 0
    post_ids: list[str] = field(default_factory=list)
    retry_at: datetime | None = None
    detail: str = ""
    weighted_length: int = 0
    # Queued because X refused the museum itself, and why.
    refused: Access | None = None
    # True for the one publication that started that refusal's alert.
    alert_raised: bool = False


def _is_duplicate(exc: XRejected) -> bool:
    return exc.status == 403 and "duplicate" in exc.detail.lower()


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

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def _museum(self) -> XAccount:
        account = self._account()
        if account is None:
            account = await self._gateway.me()
        return account

    async def publish(self, root_id: int, token: int, *, fresh: bool) -> PublishResult:
        """Post every unposted part of a claimed answer.

        `token` is the claim's attempt number: before each post the publisher checks that it
        still holds the answer. `fresh` means this process has just claimed a draft, so
        nothing can be on X yet; otherwise each part is first looked for on X.
        """
        async with self._sessionmaker.begin() as session:
            parts = await answers.thread_of(session, root_id)
            question = await questions.load(session, parts[0].question_id) if parts else None
        if not parts or question is None:
            return PublishResult(Published.FAILED, root_id, detail="answer not found")
        result = PublishResult(Published.POSTED, root_id, question_id=question.id)
        if question.status == QuestionStatus.HIDDEN:
            # Hidden after the answer was queued: spam is not answered.
            async with self._sessionmaker.begin() as session:
                await answers.mark_failed(session, root_id, "the question was hidden")
            return PublishResult(Published.FAILED, root_id, question.id, detail="hidden")
        reply_to = question.x_post_id
        try:
            museum = await self._museum()
            for part in parts:
                if part.status == AnswerStatus.POSTED and part.x_post_id:
                    reply_to = part.x_post_id
                    result.post_ids.append(part.x_post_id)
                    continue
                if part.status != AnswerStatus.POSTING:
                    return PublishResult(Published.FAILED, root_id, question.id, detail=part.status)
                async with self._sessionmaker.begin() as session:
                    mine = await answers.still_holds(session, root_id, token, self._now())
                if not mine:
                    # The outbox took over (this publisher was too slow); it will finish.
                    return PublishResult(Published.RETRYING, root_id, question.id, result.post_ids)
                existing = None if fresh else await self._gateway.find_reply(museum.id, reply_to)
                post_id = existing or await self._post(part.text, reply_to, museum)
                async with self._sessionmaker.begin() as session:
                    await answers.mark_posted(session, part.id, post_id)
                    if part.part == part.parts:
                        # In the same transaction: a stop in between would leave a question
                        # answered on X but still "taken" here.
                        await answers.mark_answered(session, question.id, parts[0].curator_id)
                    await audit.record(
                        session,
                        actor_id=part.curator_id,
                        action="posted" if existing is None else "adopted",
                        question_id=question.id,
                        detail=f"x post {post_id}, part {part.part}/{part.parts}",
                    )
                reply_to = post_id
                result.post_ids.append(post_id)
                # Once one part is out, the next must reply to it: never start over.
                fresh = fresh and existing is None
        except XRateLimited as exc:
            retry_at = datetime.fromtimestamp(exc.reset_at, UTC)
            async with self._sessionmaker.begin() as session:
                await answers.mark_queued(session, root_id, retry_at, str(exc))
            return PublishResult(
                Published.QUEUED, root_id, question.id, result.post_ids, retry_at, str(exc)
            )
        except (XAuthFailed, XPaymentRequired) as exc:
            return await self._refused(root_id, question.id, result.post_ids, exc)
        except XUnavailable as exc:
            attempt = max(part.attempts for part in parts)
            backoff = self.retry_backoff[min(attempt, len(self.retry_backoff)) - 1]
            retry_at = self._now() + timedelta(seconds=backoff)
            async with self._sessionmaker.begin() as session:
                await answers.mark_retry(session, root_id, retry_at, str(exc))
            return PublishResult(
                Published.RETRYING, root_id, question.id, result.post_ids, retry_at, str(exc)
            )
        except _Refused as refused:
            async with self._sessionmaker.begin() as session:
                await answers.mark_failed(session, root_id, refused.result.detail)
                await audit.record(
                    session,
                    actor_id=parts[0].curator_id,
                    action="post_failed",
                    outcome=audit.REFUSED,
                    question_id=question.id,
                    detail=refused.result.detail,
                )
            refused.result.root_id = root_id
            refused.result.question_id = question.id
            refused.result.post_ids = result.post_ids
            return refused.result
        async with self._sessionmaker.begin() as session:
            await answers.mark_answered(session, question.id, parts[0].curator_id)
            await alerts.clear_alert(session, alerts.X_POST_ACCESS)
        return result

    async def _post(self, text: str, reply_to: str, museum: XAccount) -> str:
        try:
            return await self._gateway.create_post(text, reply_to)
        except XRejected as exc:
            if _is_duplicate(exc):
                # "Duplicate content" means this text is probably on X already: find it.
                existing = await self._gateway.find_reply(museum.id, reply_to)
                if existing is not None:
                    return existing
                raise _Refused(PublishResult(Published.DUPLICATE, 0, detail=exc.detail)) from None
            if exc.status == 400:
                length = weighted_length(text)
                raise _Refused(
                    PublishResult(
                        Published.TOO_LONG,
                        0,
                        detail=f"{exc.detail} ({length}/{MAX_WEIGHTED_LENGTH})",
                        weighted_length=length,
                    )
                ) from None
            if exc.status == 403:
                raise _Refused(
                    PublishResult(Published.NOT_REPLYABLE, 0, detail=exc.detail)
                ) from None
            raise _Refused(PublishResult(Published.FAILED, 0, detail=exc.detail)) from None

    async def _refused(
        self,
        root_id: int,
        question_id: int,
        post_ids: list[str],
        exc: XAuthFailed | XPaymentRequired,
    ) -> PublishResult:
        retry_at = self._now() + self.auth_retry
        # Spent credits stop reading too: one alert for both, shared with the poller.
        key = alerts.X_CREDITS if exc.reason == Access.CREDITS else alerts.X_POST_ACCESS
        async with self._sessionmaker.begin() as session:
            await answers.mark_queued(session, root_id, retry_at, str(exc), exc.reason)
            raised = await alerts.raise_alert(session, key)
        return PublishResult(
            Published.QUEUED,
            root_id,
            question_id,
            post_ids,
            retry_at,
            str(exc),
            refused=exc.reason,
            alert_raised=raised,
        )


class _Refused(Exception):
    def __init__(self, result: PublishResult) -> None:
        super().__init__(result.detail)
        self.result = result
