"""What the staff are told about co-hosting: why a salon cannot be co-hosted with the partner
named, and why a question is not their museum's to answer."""

from __future__ import annotations

from opsbot.db.models import QuestionAudience
from opsbot.i18n import Translator
from opsbot.services import cohosting, questions
from opsbot.telegram.context import Runtime


async def not_yours(runtime: Runtime, question_id: int, _: Translator) -> str:
    """Why the curator's museum cannot take the question (X lets only an account the visitor
    mentioned or quoted reply), in plain text for a button's answer."""
    async with runtime.sessionmaker.begin() as session:
        question = await questions.load(session, question_id)
        partner = await cohosting.partner_of_salon(session, question.salon_id if question else None)
    if question is not None and partner is not None:
        if question.audience == QuestionAudience.PARTNER:
            return _.plain(
                "Only the curators of {museum} can take this question: the visitor tagged only "
                "@{handle}, and X lets only that account reply.",
                museum=partner.name,
                handle=partner.handle,
            )
        if question.audience == QuestionAudience.HOST:
            return _.plain(
                "Only the curators of @{handle} can take this question: the visitor tagged "
                "only that account, and X lets only it reply.",
                handle=runtime.settings.x_account,
            )
    return _.plain("Your museum does not host this salon, so X would not let it answer here.")


def partner_refusal(found: cohosting.Cohost, _: Translator) -> str:
    if found.refusal == cohosting.PartnerRefusal.INVALID:
        return _("“{value}” is not an X handle: write with @handle.", value=found.handle)
    if found.refusal == cohosting.PartnerRefusal.UNKNOWN:
        return _(
            "@{handle} is not a partner museum: a moderator adds it with /partner first.",
            handle=found.handle,
        )
    return _(
        "@{handle} has neither its own staff group nor curators marked here, so nobody could "
        "answer its questions: link its group or mark its curators first.",
        handle=found.handle,
    )
