"""What a question's card says beyond the question: who took, hid or answered it, and in a
co-hosted salon, whose curators it is for. Shared by every group that shows the card."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.db.models import Question, QuestionStatus
from opsbot.services import answers, approvals, cohosting, priority, staff
from opsbot.services.posts import post_url
from opsbot.settings import Settings
from opsbot.telegram.cards import CardState, shorten


async def card_state(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    question: Question,
    *,
    salon_seq: int | None = None,
) -> CardState:
    host = settings.x_account
    seq = salon_seq if salon_seq is not None else question.salon_seq
    async with sessionmaker.begin() as session:
        partner = await cohosting.partner_of_salon(session, question.salon_id)
        first = await priority.of_question(session, question, settings.vip_followers)
        if partner is None and question.status == QuestionStatus.OPEN and not question.writing_by:
            # Most cards: nobody has acted on the question yet, one museum hosts.
            return CardState(salon_seq=seq, priority=first)
        answer = (
            await answers.posted_answer(session, question.id)
            if question.status == QuestionStatus.ANSWERED
            else None
        )
        answerer = answer.curator_id if answer else None
        answerer_partner = await cohosting.museum_handle_of(session, answerer)

        async def label(telegram_id: int | None) -> str | None:
            name = await staff.display_name(session, telegram_id)
            if name is None or partner is None:
                return name
            museum = await cohosting.museum_of(session, telegram_id) or f"@{host}"
            return f"{name} ({museum})"

        review = await approvals.in_review(session, question.id)
        return CardState(
            salon_seq=seq,
            priority=first,
            review=review.status if review else None,
            review_curator=await label(review.curator_id if review else None),
            taken_by=await label(question.taken_by),
            hidden_by=await label(question.hidden_by),
            writing_by=await label(question.writing_by),
            answered_by=await label(answerer),
            # The answer went out from the account of the answering curator's museum.
            answer_url=post_url(answerer_partner or host, answer.x_post_id)
            if answer and answer.x_post_id
            else None,
            answer_excerpt=shorten(answer.text.splitlines()[0], 120) if answer else None,
            partner_name=partner.name if partner else None,
            partner_handle=partner.handle if partner else None,
            host_handle=host,
        )
