"""The groups the bot serves and who acts in them: the museum's staff group, and the own staff
group of each partner museum linked to it (its curators answer the questions of co-hosted
salons there). A partner without a group of its own has its staff marked in the host's group
(`/partner staff`); there they keep the role they have in that group."""

from __future__ import annotations

from opsbot.db.models import Partner
from opsbot.services import partners
from opsbot.telegram.context import Runtime
from opsbot.telegram.roles import Role


async def is_partner_group(runtime: Runtime, chat_id: int) -> bool:
    async with runtime.sessionmaker.begin() as session:
        return await partners.partner_of_chat(session, chat_id) is not None


async def is_staff_group(runtime: Runtime, chat_id: int) -> bool:
    return chat_id == runtime.staff_chat_id or await is_partner_group(runtime, chat_id)


async def _partner_of_staff(runtime: Runtime, user_id: int) -> Partner | None:
    async with runtime.sessionmaker.begin() as session:
        return await partners.partner_of_staff(session, user_id)


async def staff_role(runtime: Runtime, user_id: int) -> Role | None:
    """The person's role in the museum's staff group, else in their partner museum's group."""
    role = await runtime.roles.role_of(runtime.staff_chat_id, user_id)
    if role is not None:
        return role
    partner = await _partner_of_staff(runtime, user_id)
    if partner is None or partner.chat_id is None:
        return None
    return await runtime.roles.role_of(partner.chat_id, user_id)


async def role_for(runtime: Runtime, partner: Partner, user_id: int) -> Role | None:
    """The person's role for this partner (in its group, else as its staff marked in the
    host's), None when they do not work for it."""
    if partner.chat_id is not None:
        role = await runtime.roles.role_of(partner.chat_id, user_id)
        if role is not None:
            return role
    theirs = await _partner_of_staff(runtime, user_id)
    if theirs is not None and theirs.id == partner.id:
        return await runtime.roles.role_of(runtime.staff_chat_id, user_id)
    return None


async def partners_of(runtime: Runtime, user_id: int) -> list[tuple[Partner, Role]]:
    """Every partner the person works for, with their role."""
    async with runtime.sessionmaker.begin() as session:
        every = await partners.all_partners(session)
    found = []
    for partner in every:
        role = await role_for(runtime, partner, user_id)
        if role is not None:
            found.append((partner, role))
    return found
