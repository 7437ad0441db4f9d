"""Partner museums: one per handle whatever its case, their group linked once and only the group
that asked, their people, their tokens, and what stays when a partner is removed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Exclusion, Partner, Salon, SalonStatus, StaffMember
from opsbot.services import partners
from tests.unit.services.conftest import NOW, Sessions, add_salon, add_staff, at_once, in_turn

ANNA, PETR, OLGA = 1001, 2001, 2002
GROUP, OTHER_GROUP = -1002001, -1002002


async def add(sessions: Sessions, handle: str, name: str = "Museum of Religion") -> bool:
    return await in_turn(
        sessions,
        lambda s: partners.add(
            s,
            handle=handle,
            name=name,
            language="en",
            timezone="Europe/Moscow",
            added_by=ANNA,
            now=NOW,
        ),
    )


async def partner(sessions: Sessions, handle: str = "religionmuseum") -> Partner:
    found = await in_turn(sessions, lambda s: partners.partner_by_handle(s, handle))
    assert found is not None
    return found


async def test_a_partner_is_added_once_per_handle_whatever_its_case(sessions: Sessions) -> None:
    assert await add(sessions, "ReligionMuseum")
    assert not await add(sessions, "religionMUSEUM", "Another name")
    assert await add(sessions, "artmuseum", "Art Museum")
    found = await partner(sessions, "RELIGIONMUSEUM")
    assert (found.handle, found.name, found.added_by, found.added_at) == (
        "religionmuseum",
        "Museum of Religion",
        ANNA,
        NOW,
    )
    assert found.chat_id is None and found.access_token is None
    assert await in_turn(sessions, lambda s: partners.partner_by_handle(s, "nobody")) is None
    every = await in_turn(sessions, partners.all_partners)
    assert [p.handle for p in every] == ["artmuseum", "religionmuseum"]
    added = await at_once(
        sessions,
        lambda s: partners.add(
            s,
            handle="CityMuseum",
            name="City Museum",
            language="ru",
            timezone="Europe/Moscow",
            added_by=ANNA,
            now=NOW,
        ),
    )
    assert added.count(True) == 1
    assert len(await in_turn(sessions, partners.all_partners)) == 3


async def test_a_partners_group_is_linked_once_and_only_the_group_that_asked(
    sessions: Sessions,
) -> None:
    await add(sessions, "religionmuseum")
    pid = (await partner(sessions)).id
    assert await in_turn(sessions, partners.any_without_group)
    assert await in_turn(sessions, lambda s: partners.request_group(s, pid, GROUP))
    waiting = await in_turn(sessions, lambda s: partners.partner_of_request(s, GROUP))
    assert waiting is not None and waiting.id == pid
    # Asked for, not linked: the group is not the partner's yet.
    assert await in_turn(sessions, lambda s: partners.partner_of_chat(s, GROUP)) is None
    assert not await in_turn(sessions, lambda s: partners.approve_group(s, pid, OTHER_GROUP))
    approvals = await at_once(sessions, lambda s: partners.approve_group(s, pid, GROUP))
    assert approvals.count(True) == 1
    linked = await in_turn(sessions, lambda s: partners.partner_of_chat(s, GROUP))
    assert linked is not None and linked.id == pid
    assert (linked.chat_id, linked.requested_chat_id) == (GROUP, None)
    assert not await in_turn(sessions, partners.any_without_group)
    # Linked already: another group cannot take its place, nor be refused in its name.
    assert not await in_turn(sessions, lambda s: partners.request_group(s, pid, OTHER_GROUP))
    assert await in_turn(sessions, lambda s: partners.partner_of_request(s, OTHER_GROUP)) is None
    assert not await in_turn(sessions, lambda s: partners.refuse_group(s, pid, GROUP))
    found = await in_turn(sessions, lambda s: partners.partner_of_request(s, GROUP))
    assert found is not None and found.id == pid


async def test_an_approval_of_a_request_refused_meanwhile_links_nothing(
    sessions: Sessions,
) -> None:
    await add(sessions, "religionmuseum")
    pid = (await partner(sessions)).id
    assert await in_turn(sessions, lambda s: partners.request_group(s, pid, GROUP))
    assert await in_turn(sessions, lambda s: partners.refuse_group(s, pid, GROUP))
    assert not await in_turn(sessions, lambda s: partners.refuse_group(s, pid, GROUP))
    assert not await in_turn(sessions, lambda s: partners.approve_group(s, pid, GROUP))
    assert await in_turn(sessions, lambda s: partners.partner_of_request(s, GROUP)) is None
    assert (await partner(sessions)).chat_id is None
    # A later request replaces the one before: only the last group to ask can be approved.
    assert await in_turn(sessions, lambda s: partners.request_group(s, pid, GROUP))
    assert await in_turn(sessions, lambda s: partners.request_group(s, pid, OTHER_GROUP))
    assert not await in_turn(sessions, lambda s: partners.approve_group(s, pid, GROUP))
    assert await in_turn(sessions, lambda s: partners.approve_group(s, pid, OTHER_GROUP))
    assert (await partner(sessions)).chat_id == OTHER_GROUP


async def test_staff_are_marked_as_a_partners_or_the_hosts(sessions: Sessions) -> None:
    await add(sessions, "religionmuseum")
    pid = (await partner(sessions)).id
    for person in (ANNA, PETR):
        await add_staff(sessions, person)
    await in_turn(sessions, lambda s: partners.mark_staff(s, PETR, pid))
    theirs = await in_turn(sessions, lambda s: partners.partner_of_staff(s, PETR))
    assert theirs is not None and theirs.id == pid
    assert await in_turn(sessions, lambda s: partners.partner_of_staff(s, ANNA)) is None
    assert await in_turn(sessions, lambda s: partners.partner_of_staff(s, OLGA)) is None
    await in_turn(sessions, lambda s: partners.mark_staff(s, PETR, None))
    assert await in_turn(sessions, lambda s: partners.partner_of_staff(s, PETR)) is None
    # A message from the group handled just after the partner was removed.
    assert await in_turn(sessions, lambda s: partners.remove(s, pid))
    await in_turn(sessions, lambda s: partners.mark_staff(s, PETR, pid))
    person = await in_turn(sessions, lambda s: s.get(StaffMember, PETR))
    assert person is not None and person.partner_id is None


async def test_tokens_are_stored_removed_and_sealed_again(sessions: Sessions) -> None:
    await add(sessions, "religionmuseum")
    await add(sessions, "artmuseum")
    pid = (await partner(sessions)).id
    assert not await in_turn(sessions, lambda s: partners.disconnect(s, pid))
    assert not await in_turn(
        sessions,
        lambda s: partners.connect(
            s, 999, access_token="t", access_secret="s", x_user_id="600", by=ANNA, now=NOW
        ),
    )
    assert await in_turn(
        sessions,
        lambda s: partners.connect(
            s,
            pid,
            access_token="sealed-token",
            access_secret="sealed-secret",
            x_user_id="600",
            by=PETR,
            now=NOW,
        ),
    )
    connected = await partner(sessions)
    assert (
        connected.access_token,
        connected.access_secret,
        connected.x_user_id,
        connected.connected_at,
        connected.connected_by,
    ) == ("sealed-token", "sealed-secret", "600", NOW, PETR)
    # Only the partner with tokens is sealed again.
    assert await in_turn(sessions, lambda s: partners.reseal_all(s, lambda v: f"new:{v}")) == 1
    resealed = await partner(sessions)
    assert (resealed.access_token, resealed.access_secret) == (
        "new:sealed-token",
        "new:sealed-secret",
    )
    assert (await partner(sessions, "artmuseum")).access_token is None
    assert await in_turn(sessions, lambda s: partners.disconnect(s, pid))
    gone = await partner(sessions)
    assert (gone.access_token, gone.access_secret, gone.connected_at, gone.connected_by) == (
        None,
        None,
        None,
        None,
    )
    # The account stays known: its mentions still route questions to it.
    assert gone.x_user_id == "600"
    assert not await in_turn(sessions, lambda s: partners.disconnect(s, pid))
    assert await in_turn(sessions, lambda s: partners.reseal_all(s, lambda v: f"new:{v}")) == 0


async def test_a_removed_partners_people_and_salons_become_the_hosts(sessions: Sessions) -> None:
    await add(sessions, "religionmuseum")
    pid = (await partner(sessions)).id
    await add_staff(sessions, PETR, partner_id=pid)
    cohosted = await add_salon(
        sessions, status=SalonStatus.LIVE, started_at=NOW - timedelta(hours=1), partner_id=pid
    )
    alone = await add_salon(sessions)

    async def salons(session: AsyncSession) -> dict[int, int | None]:
        found: dict[int, int | None] = {}
        for salon in await session.scalars(select(Salon)):
            host = await partners.co_host(session, salon)
            found[salon.id] = host.id if host is not None else None
        return found

    assert await in_turn(sessions, salons) == {cohosted: pid, alone: None}

    async def exclude(session: AsyncSession) -> None:
        session.add(Exclusion(handle="rival", partner_id=pid, added_by=PETR, added_at=NOW))

    await in_turn(sessions, exclude)
    assert await in_turn(sessions, lambda s: partners.remove(s, pid))
    assert not await in_turn(sessions, lambda s: partners.remove(s, pid))
    assert await in_turn(sessions, partners.all_partners) == []
    assert await in_turn(sessions, salons) == {cohosted: None, alone: None}
    person = await in_turn(sessions, lambda s: s.get(StaffMember, PETR))
    assert person is not None and person.partner_id is None
    # The partner's own lottery list goes with it.
    assert await in_turn(sessions, lambda s: s.scalar(select(Exclusion.handle))) is None
    assert await in_turn(sessions, lambda s: s.get(Partner, pid)) is None
