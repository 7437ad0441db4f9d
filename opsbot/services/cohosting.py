"""Two museums host one salon: whose curators a question is for, and who may take it.

X lets an app reply only to a post whose author mentioned or quoted the replying account
(since February 2026). So a question that summons only the partner can be answered only from
the partner's account, one that summons only the host only from the host's, and one that
summons both (or neither: the hashtag alone) is shown to both museums: the first to take it
owns it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import (
    Partner,
    Question,
    QuestionAudience,
    Salon,
    SalonStatus,
    StaffMember,
)
from opsbot.services import staff
from opsbot.services.posts import XPost, normalise_handle

# `/start_salon "Topic" 90m with @partner`; Russian moderators write «с @partner».
WITH_WORDS = ("with", "с", "вместе с")


@dataclass(frozen=True)
class Account:
    """An X account a question may summon: the museum's own or a partner's."""

    handle: str
    user_id: str | None = None


def summons(post: XPost, account: Account) -> bool:
    """The post mentions or quotes the account, or replies to it: X lets it reply."""
    handle = account.handle.lower()
    uid = account.user_id
    return (
        handle in {h.lower() for h in post.mentioned_handles}
        or (uid is not None and uid in post.mentioned_ids)
        or (uid is not None and post.quoted_author_id == uid)
        or (uid is not None and post.in_reply_to_user_id == uid)
    )


def audience(host_summoned: bool, partner_summoned: bool) -> QuestionAudience:
    if host_summoned and not partner_summoned:
        return QuestionAudience.HOST
    if partner_summoned and not host_summoned:
        return QuestionAudience.PARTNER
    return QuestionAudience.BOTH


def split_partner(text: str) -> tuple[str, str | None]:
    """`… with @handle` at the end of a command: the rest, and the handle as typed (no @).

    Returns the text unchanged and None when it names no partner.
    """
    words = text.split()
    if len(words) < 2 or not words[-1].startswith("@"):
        return text, None
    for joiner in sorted(WITH_WORDS, key=len, reverse=True):
        parts = joiner.split()
        n = len(parts)
        if len(words) > n and [w.lower() for w in words[-1 - n : -1]] == parts:
            rest = text.rstrip()
            # Cut the last n + 1 words off the end, so the rest keeps its own spacing.
            for word in reversed(words[-1 - n :]):
                rest = rest[: len(rest) - len(word)].rstrip()
            return rest, words[-1][1:]
    return text, None


class PartnerRefusal:
    """Why a salon cannot be co-hosted with the partner named (the handler translates)."""

    INVALID = "invalid"
    UNKNOWN = "unknown"
    NO_CURATORS = "no_curators"


@dataclass(frozen=True)
class Cohost:
    partner: Partner | None
    refusal: str | None = None
    handle: str = ""


async def find_cohost(session: AsyncSession, typed: str) -> Cohost:
    """The partner for `with @typed`: known, and with someone to answer its questions (its
    own staff group, or its curators marked in the host's group)."""
    handle = normalise_handle(typed)
    if handle is None:
        return Cohost(None, PartnerRefusal.INVALID, typed)
    partner = await session.scalar(select(Partner).where(Partner.handle == handle))
    if partner is None:
        return Cohost(None, PartnerRefusal.UNKNOWN, handle)
    if partner.chat_id is None:
        staff = await session.scalar(
            select(StaffMember.telegram_id).where(StaffMember.partner_id == partner.id).limit(1)
        )
        if staff is None:
            return Cohost(None, PartnerRefusal.NO_CURATORS, handle)
    return Cohost(partner)


async def live_cohost_handles(session: AsyncSession) -> list[str]:
    """The partner of the live salon, if it has one: the audience tags it as well."""
    return list(
        await session.scalars(
            select(Partner.handle)
            .join(Salon, Salon.partner_id == Partner.id)
            .where(Salon.status == SalonStatus.LIVE)
        )
    )


async def partner_of_salon(session: AsyncSession, salon_id: int | None) -> Partner | None:
    if salon_id is None:
        return None
    return await session.scalar(
        select(Partner).join(Salon, Salon.partner_id == Partner.id).where(Salon.id == salon_id)
    )


def may_take(
    audience: QuestionAudience, salon_partner_id: int | None, taker_partner_id: int | None
) -> bool:
    """Whether a curator of `taker_partner_id` (None: the host museum) may own the question:
    only an account the question summoned can reply to it."""
    if taker_partner_id is None:
        return audience != QuestionAudience.PARTNER
    return taker_partner_id == salon_partner_id and audience != QuestionAudience.HOST


async def owner_of(session: AsyncSession, question: Question) -> Partner | None:
    """The partner whose curators a PARTNER question is for (None for the others)."""
    if question.audience != QuestionAudience.PARTNER:
        return None
    return await partner_of_salon(session, question.salon_id)


async def staff_partner_id(session: AsyncSession, telegram_id: int) -> int | None:
    return await session.scalar(
        select(StaffMember.partner_id).where(StaffMember.telegram_id == telegram_id)
    )


async def same_museum(session: AsyncSession, one: int | None, other: int) -> bool:
    if one is None:
        return True
    return await staff_partner_id(session, one) == await staff_partner_id(session, other)


async def allowed(session: AsyncSession, question: Question, telegram_id: int) -> bool:
    salon_partner = await partner_of_salon(session, question.salon_id)
    return may_take(
        question.audience,
        salon_partner.id if salon_partner is not None else None,
        await staff_partner_id(session, telegram_id),
    )


async def holder_label(
    session: AsyncSession, salon_id: int | None, telegram_id: int | None, host_handle: str
) -> str | None:
    """A person's name, and in a co-hosted salon the museum they answer for: the curators of
    both groups see who owns a question."""
    name = await staff.display_name(session, telegram_id)
    if name is None or await partner_of_salon(session, salon_id) is None:
        return name
    museum = await museum_of(session, telegram_id) or f"@{host_handle}"
    return f"{name} ({museum})"


async def museum_handle_of(session: AsyncSession, telegram_id: int | None) -> str | None:
    """The X handle of the partner museum a person works for; None for the host's staff."""
    if telegram_id is None:
        return None
    return await session.scalar(
        select(Partner.handle)
        .join(StaffMember, StaffMember.partner_id == Partner.id)
        .where(StaffMember.telegram_id == telegram_id)
    )


async def museum_of(session: AsyncSession, telegram_id: int | None) -> str | None:
    """The partner museum a person works for, by name; None for the host's own staff."""
    if telegram_id is None:
        return None
    return await session.scalar(
        select(Partner.name)
        .join(StaffMember, StaffMember.partner_id == Partner.id)
        .where(StaffMember.telegram_id == telegram_id)
    )
