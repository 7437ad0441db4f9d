"""Priority senders: listed by the moderators (/vip) or with more followers on X than the
threshold, from what X sends with each post; starred on cards and digests, first in /queue,
starred in the nudges."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from opsbot.clock import ManualClock
from opsbot.db.models import PrioritySender, Question
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.i18n import translator
from opsbot.services.posts import post_url
from opsbot.telegram.context import OpsbotApplication
from opsbot.telegram.digests import render_digest
from tests.integration.helpers import cards, one_card_each, wait_for_cards
from tests.integration.test_nudges import move_and_look, nudges_in, start_salon
from tests.integration.test_salons import command

ANNA = MODERATOR.user_id


async def test_vip_list_kept_by_moderators_with_translated_refusals(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    await command(sandbox, ANNA, "/vip", "Так: /vip @handle заметка")
    await command(sandbox, ANNA, "/vip @музей", "«@музей» — не аккаунт X")
    await command(sandbox, ANNA, "/vip @a_handle_too_long_", "не аккаунт X")
    await command(sandbox, ANNA, "/vip remove", "Так: /vip @handle заметка")
    await command(sandbox, ANNA, f"/vip @press {'x' * 201}", "Заметка слишком длинная")
    await command(
        sandbox, ANNA, "/vip @Kommersant_Desk журналист", "@kommersant_desk теперь приоритетный"
    )
    await command(sandbox, ANNA, "/vip @KOMMERSANT_DESK редакция", "уже был в списке")
    await command(sandbox, CURATOR_EN.user_id, "/vip @someone", "Only moderators can do this.")
    listing = await command(sandbox, ANNA, "/vips", "1 приоритетный отправитель")
    assert "@kommersant_desk — редакция" in listing["text"]
    assert "больше 10000 подписчиков в X" in listing["text"]
    async with bot.bot_data.sessionmaker.begin() as session:
        [sender] = await session.scalars(select(PrioritySender))
    assert (sender.handle, sender.note, sender.added_by) == ("kommersant_desk", "редакция", ANNA)
    await command(sandbox, ANNA, "/vip remove @Kommersant_Desk", "больше не приоритетный")
    await command(sandbox, ANNA, "/vip remove @kommersant_desk", "не был приоритетным")
    await command(sandbox, ANNA, "/language en", "English")
    await command(sandbox, ANNA, "/vips", "No priority senders are listed")
    await command(sandbox, ANNA, "/vip @ok@no", "is not an X account")


async def test_priority_by_list_and_by_followers_first_in_queue_at_no_extra_read(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    one_card_each(bot)
    await command(sandbox, ANNA, "/vip @kommersant журналист", "приоритетный")
    x = sandbox.x
    for name, followers in (("ivan", 10_000), ("Kommersant", 12), ("star", 50_000)):
        x.add_user(name)
        x.set_followers(name, followers)
    # The museum's own account is read once, at the first poll; from then on only posts.
    await x.wait_for(lambda: bot.bot_data.poller.account is not None, timeout=30)
    before = len(x.requests)
    x.visitor_posts("ivan", "@museum Когда построили музей? #museumsalon")
    x.visitor_posts("Kommersant", "@museum Сколько стоил ремонт? #museumsalon")
    x.visitor_posts("star", "@museum Покажете запасники? #museumsalon")
    await wait_for_cards(sandbox, 3)
    card = {c["text"].split("@")[1].split()[0]: c["text"] for c in cards(sandbox)}
    # Exactly the threshold is not more than it.
    assert "⭐" not in card["ivan"]
    assert "⭐ Приоритетный отправитель: журналист" in card["Kommersant"]
    assert "⭐ Приоритетный отправитель · 50000 подписчиков в X" in card["star"]
    async with bot.bot_data.sessionmaker.begin() as session:
        rows = await session.execute(select(Question.author_handle, Question.author_followers))
        followers = {handle: count for handle, count in rows}
    assert followers == {"ivan": 10_000, "Kommersant": 12, "star": 50_000}
    # The counts came with the reads themselves: no account was looked up.
    reads = x.requests[before:]
    assert {r.endpoint for r in reads} <= {"getUsersMentions", "searchPostsRecent"}
    assert all("public_metrics" in r.params["user.fields"].split(",") for r in reads)

    queue = await command(sandbox, CURATOR_RU.user_id, "/queue", "неотвеченных вопроса")
    listed = [line for line in queue["text"].splitlines() if "@" in line]
    assert [line.split(":")[0].split()[-1] for line in listed] == [
        "@Kommersant",
        "@star",
        "@ivan",
    ]
    assert [line.startswith("⭐") for line in listed] == [True, True, False]


async def test_the_nudge_stars_priority_senders(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    one_card_each(bot)
    await command(sandbox, ANNA, "/vip @kommersant", "приоритетный")
    await start_salon(sandbox)
    sandbox.x.visitor_posts("ivan", "@museum Когда построили музей? #museumsalon")
    sandbox.x.visitor_posts("kommersant", "@museum Сколько стоил ремонт? #museumsalon")
    await wait_for_cards(sandbox, 2)
    await move_and_look(bot, clock, 5.1)
    [nudge] = nudges_in(sandbox, STAFF_CHAT_ID)
    lines = nudge["text"].splitlines()
    # Oldest first, the priority sender starred.
    assert "@ivan" in lines[1] and not lines[1].startswith("⭐")
    assert "@kommersant" in lines[2] and lines[2].startswith("⭐")


def test_digest_stars_priority_senders() -> None:
    at = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
    found = [
        Question(id=n, x_post_id=str(n), author_handle=h, text="?", posted_at=at, replyable=True)
        for n, h in ((1, "ivan"), (2, "kommersant"))
    ]
    text, _markup = render_digest(
        found, 2, translator("en"), ZoneInfo("Europe/Moscow"), priority=frozenset({2})
    )
    assert f'\n<b>1.</b> <a href="{post_url("ivan", "1")}">' in text
    assert "\n⭐ <b>2.</b>" in text
