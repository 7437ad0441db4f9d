"""Who a co-hosted salon's draw leaves out: both accounts, both staffs, both museums' lists;
a salon the host holds alone keeps only its own list."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Exclusion, Partner
from opsbot.services import draws, lottery, salons
from tests.unit.services.conftest import NOW, Sessions, add_question, add_salon, add_staff, in_turn

COOLDOWN = timedelta(days=30)
SECRET = bytes(range(32))


async def add_partner(sessions: Sessions) -> int:
    async with sessions.begin() as session:
        partner = Partner(
            handle="religionmuseum", name="Religion", language="en", timezone="Europe/Berlin"
        )
        session.add(partner)
        await session.flush()
        return partner.id


async def test_joint_entrants_leave_out_both_museums(sessions: Sessions) -> None:
    partner_id = await add_partner(sessions)
    joint = await add_salon(
        sessions, secret=SECRET.hex(), commitment=lottery.commitment(SECRET), partner_id=partner_id
    )
    alone = await add_salon(sessions, secret=SECRET.hex(), commitment=lottery.commitment(SECRET))
    authors = {
        "101": "fan1",
        "102": "Pilgrim",
        "103": "Museum",  # the host's own account
        "104": "ReligionMuseum",  # the partner's
        "105": "anna_x",  # host staff
        "106": "hans_x",  # partner staff
        "107": "host_listed",
        "108": "partner_listed",
    }
    for salon_id in (joint, alone):
        for author_id, handle in authors.items():
            await add_question(
                sessions, salon_id=salon_id, author_id=author_id, author_handle=handle
            )
    await add_staff(sessions, 1, x_handle="anna_x")
    await add_staff(sessions, 2, x_handle="hans_x", partner_id=partner_id)
    assert await in_turn(sessions, lambda s: draws.exclude(s, "host_listed", 1))
    assert await in_turn(
        sessions, lambda s: draws.exclude(s, "partner_listed", 2, partner_id=partner_id)
    )

    async def entrants(session: AsyncSession, salon_id: int) -> list[str]:
        salon = await salons.get(session, salon_id)
        assert salon is not None
        people = await draws.entrants(session, salon, now=NOW, cooldown=COOLDOWN, museum="museum")
        return [p.id for p in people]

    assert await in_turn(sessions, lambda s: entrants(s, joint)) == ["101", "102"]
    # Alone, the host leaves out neither the partner's account nor the partner's list.
    assert await in_turn(sessions, lambda s: entrants(s, alone)) == ["101", "102", "104", "108"]


async def test_each_museum_keeps_its_own_list(sessions: Sessions) -> None:
    partner_id = await add_partner(sessions)
    assert await in_turn(sessions, lambda s: draws.exclude(s, "spam", 2, partner_id=partner_id))
    assert not await in_turn(sessions, lambda s: draws.exclude(s, "spam", 2, partner_id=partner_id))
    # The host may not take it off the partner's list, but may put it on its own.
    assert not await in_turn(sessions, lambda s: draws.include(s, "spam"))
    assert await in_turn(sessions, lambda s: draws.exclude(s, "spam", 1))
    assert not await in_turn(sessions, lambda s: draws.exclude(s, "spam", 1))
    owner = await in_turn(sessions, lambda s: s.scalar(select(Exclusion.partner_id)))
    assert owner is None
    # On the host's list, it is out of the partner's draws too; only the host lets it back.
    assert not await in_turn(sessions, lambda s: draws.include(s, "spam", partner_id=partner_id))
    assert await in_turn(sessions, lambda s: draws.include(s, "spam"))
