"""A co-hosted salon's questions: whose curators each is for (X's reply rule), who may take it,
and what the search reads besides the hashtag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from opsbot.db.models import Partner, Question, QuestionAudience, SalonStatus
from opsbot.services import cohosting, inbox, questions
from opsbot.services.posts import XPost
from opsbot.services.questions import Outcome
from opsbot.x.poller import search_query
from tests.unit.services.conftest import NOW, Sessions, add_salon, add_staff, in_turn

MUSEUM_ID, MUSEUM = "500", "museum"
PARTNER_ID, PARTNER = "600", "religionmuseum"


def post(post_id: int, text: str, **extra: object) -> XPost:
    values: dict[str, object] = {
        "id": str(post_id),
        "author_id": str(9000 + post_id),
        "author_handle": f"fan{post_id}",
        "author_name": "Fan",
        "text": text,
        "created_at": NOW,
    }
    values.update(extra)
    return XPost(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("host", "partner", "audience"),
    [
        (True, False, QuestionAudience.HOST),
        (False, True, QuestionAudience.PARTNER),
        (True, True, QuestionAudience.BOTH),
        (False, False, QuestionAudience.BOTH),
    ],
    ids=["host-only", "partner-only", "both", "hashtag-only"],
)
def test_a_question_is_for_the_museums_it_summons(
    host: bool, partner: bool, audience: QuestionAudience
) -> None:
    assert cohosting.audience(host, partner) == audience


def test_mentioning_quoting_or_replying_summons_an_account() -> None:
    account = cohosting.Account(PARTNER, PARTNER_ID)
    assert cohosting.summons(
        post(1, "@ReligionMuseum ?", mentioned_handles=frozenset({"ReligionMuseum"})), account
    )
    assert cohosting.summons(post(2, "?", mentioned_ids=frozenset({PARTNER_ID})), account)
    assert cohosting.summons(post(3, "?", quoted_author_id=PARTNER_ID), account)
    assert cohosting.summons(post(4, "?", in_reply_to_user_id=PARTNER_ID), account)
    assert not cohosting.summons(post(5, "religionmuseum #museumsalon"), account)
    # Before the partner authorises the app its id is unknown: a mention by handle still counts.
    assert cohosting.summons(
        post(6, "@religionmuseum ?", mentioned_handles=frozenset({"religionmuseum"})),
        cohosting.Account(PARTNER),
    )


@pytest.mark.parametrize(
    ("text", "rest", "handle"),
    [
        ('/start_salon "Topic" 90m with @Partner', '/start_salon "Topic" 90m', "Partner"),
        ("/start_salon Новый год с @religionmuseum", "/start_salon Новый год", "religionmuseum"),
        ("/start_salon Тема вместе с @p", "/start_salon Тема", "p"),
        ("/start_salon Talk with friends", "/start_salon Talk with friends", None),
        ("/start_salon @partner", "/start_salon @partner", None),
        ("/start_salon Talk  with @withme", "/start_salon Talk", "withme"),
    ],
)
def test_with_partner_is_read_off_the_end_of_a_command(
    text: str, rest: str, handle: str | None
) -> None:
    assert cohosting.split_partner(text) == (rest, handle)


@pytest.mark.parametrize(
    ("audience", "taker", "allowed"),
    [
        (QuestionAudience.HOST, None, True),
        (QuestionAudience.HOST, 1, False),
        (QuestionAudience.PARTNER, None, False),
        (QuestionAudience.PARTNER, 1, True),
        (QuestionAudience.PARTNER, 2, False),
        (QuestionAudience.BOTH, None, True),
        (QuestionAudience.BOTH, 1, True),
        (QuestionAudience.BOTH, 2, False),
    ],
)
def test_only_a_museum_the_question_summons_may_take_it(
    audience: QuestionAudience, taker: int | None, allowed: bool
) -> None:
    assert cohosting.may_take(audience, 1, taker) is allowed


def test_the_search_reads_the_partners_mentions_but_not_the_museums_nor_either_account() -> None:
    assert search_query(["#museumsalon"], MUSEUM) == (
        "(#museumsalon) -is:retweet -from:museum -@museum"
    )
    assert search_query(["#museumsalon", "#музейнаягостиная"], MUSEUM, [PARTNER]) == (
        "(#museumsalon OR #музейнаягостиная OR @religionmuseum) -is:retweet -from:museum "
        "-from:religionmuseum -@museum"
    )


async def add_partner(sessions: Sessions, salon_status: SalonStatus) -> tuple[int, int]:
    async with sessions.begin() as session:
        partner = Partner(
            handle=PARTNER,
            name="Museum of Religion",
            x_user_id=PARTNER_ID,
            language="en",
            timezone="Europe/Moscow",
        )
        session.add(partner)
        await session.flush()
        partner_id = partner.id
    salon_id = await add_salon(
        sessions,
        status=salon_status,
        started_at=NOW - timedelta(hours=1),
        ended_at=None,
        partner_id=partner_id,
    )
    return partner_id, salon_id


async def test_stored_questions_are_routed_by_whom_they_tag(sessions: Sessions) -> None:
    await add_partner(sessions, SalonStatus.LIVE)
    posts = [
        post(1, "@museum ?", mentioned_ids=frozenset({MUSEUM_ID})),
        post(2, "@religionmuseum ?", mentioned_handles=frozenset({PARTNER})),
        post(3, "?", quoted_author_id=PARTNER_ID, mentioned_ids=frozenset({MUSEUM_ID})),
        post(4, "? #museumsalon"),
        # The partner's own posts under the hashtag are no questions.
        post(5, "Welcome! #museumsalon", author_id=PARTNER_ID, author_handle=PARTNER),
    ]
    await in_turn(
        sessions,
        lambda s: inbox.store_posts(
            s, posts, source="search", museum_id=MUSEUM_ID, museum_handle=MUSEUM
        ),
    )
    async with sessions.begin() as session:
        stored = {
            q.x_post_id: (q.audience, q.replyable)
            for q in (await session.scalars(select(Question))).all()
        }
    assert stored == {
        "1": (QuestionAudience.HOST, True),
        "2": (QuestionAudience.PARTNER, True),
        "3": (QuestionAudience.BOTH, True),
        "4": (QuestionAudience.BOTH, False),
    }
    async with sessions.begin() as session:
        assert await cohosting.live_cohost_handles(session) == [PARTNER]


async def test_a_museum_that_hosts_alone_routes_everything_to_itself(sessions: Sessions) -> None:
    await add_salon(sessions, status=SalonStatus.LIVE, started_at=NOW - timedelta(hours=1))
    await in_turn(
        sessions,
        lambda s: inbox.store_posts(
            s,
            [post(1, "@religionmuseum ?", mentioned_handles=frozenset({PARTNER}))],
            source="search",
            museum_id=MUSEUM_ID,
            museum_handle=MUSEUM,
        ),
    )
    async with sessions.begin() as session:
        [question] = (await session.scalars(select(Question))).all()
        assert await cohosting.live_cohost_handles(session) == []
    assert question.audience == QuestionAudience.HOST and not question.replyable


async def test_the_first_museum_to_take_a_shared_question_owns_it(sessions: Sessions) -> None:
    partner_id, salon_id = await add_partner(sessions, SalonStatus.LIVE)
    await add_staff(sessions, 1)
    await add_staff(sessions, 2, partner_id=partner_id)
    await add_staff(sessions, 3, partner_id=partner_id)
    async with sessions.begin() as session:
        for n, audience in enumerate(QuestionAudience, start=1):
            session.add(
                Question(
                    x_post_id=str(n),
                    author_id="9",
                    author_handle="fan",
                    text="?",
                    posted_at=NOW,
                    source="search",
                    replyable=True,
                    salon_id=salon_id,
                    audience=audience,
                )
            )
    ids: dict[QuestionAudience, int] = {}
    async with sessions.begin() as session:
        for q in (await session.scalars(select(Question))).all():
            ids[q.audience] = q.id

    async def take(question: int, who: int, moderator: bool = False) -> Outcome:
        result = await in_turn(
            sessions, lambda s: questions.take(s, question, who, moderator=moderator)
        )
        return result.outcome

    assert await take(ids[QuestionAudience.HOST], 2) == Outcome.NOT_YOURS
    assert await take(ids[QuestionAudience.PARTNER], 1, moderator=True) == Outcome.NOT_YOURS
    assert await take(ids[QuestionAudience.BOTH], 2) == Outcome.DONE
    assert await take(ids[QuestionAudience.BOTH], 1, moderator=True) == Outcome.TAKEN_BY_OTHER
    # Within its own museum a moderator still takes over.
    assert await take(ids[QuestionAudience.BOTH], 3, moderator=True) == Outcome.DONE
    released = await in_turn(
        sessions, lambda s: questions.release(s, ids[QuestionAudience.BOTH], 1, moderator=True)
    )
    assert released.outcome == Outcome.TAKEN_BY_OTHER
