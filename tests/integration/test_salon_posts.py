"""What a salon posts on X: the announcement, numbered prompts, the winners; and late questions."""

from __future__ import annotations

from opsbot.emulators.sandbox import MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.telegram.context import OpsbotApplication
from opsbot.telegram.x_polling import poll_interval
from tests.integration.helpers import buttons, press_and_wait, wait_for_cards
from tests.integration.test_salons import command, said


async def test_announcement_prompts_late_questions_and_winners(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    anna = MODERATOR.user_id
    runtime = bot.bot_data
    assert poll_interval(runtime) == runtime.settings.poll_idle_seconds
    await command(sandbox, anna, "/start_salon Традиции 1h", "Обязательство")
    assert poll_interval(runtime) == runtime.settings.poll_live_seconds
    preview = await said(sandbox, "Объявление для X")
    assert "/280" in preview["text"]
    await press_and_wait(sandbox, anna, preview, "Опубликовать")
    await said(sandbox, "Объявление опубликовано в X")
    [announcement] = sandbox.x.museum_posts()
    assert "#museumsalon" in announcement["text"] and "@museum" in announcement["text"]
    # A second press (a stale button) does not post again.
    query = sandbox.telegram.user_presses(
        STAFF_CHAT_ID, anna, preview["message_id"], buttons(preview)["Опубликовать"], forge=True
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    assert len(sandbox.x.museum_posts()) == 1

    await command(sandbox, anna, "/ask Какую традицию вы любите больше всего?", "Q1 опубликован")
    await command(sandbox, anna, "/ask А какую не любите?", "Q2 опубликован")
    prompts = [p["text"] for p in sandbox.x.museum_posts()[1:]]
    assert prompts[0].startswith("Q1: Какую традицию") and prompts[1].startswith("Q2: ")
    assert all(p.endswith("#museumsalon") for p in prompts)

    sandbox.x.visitor_posts("ivan", "@museum Ёлка! #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    assert "🎙 Гостиная #1.1" in card["text"]
    await command(sandbox, anna, "/end_salon", "завершена")
    assert poll_interval(runtime) == runtime.settings.poll_idle_seconds
    sandbox.x.visitor_posts("olga", "@museum Опоздала, но спрошу #museumsalon")
    late = (await wait_for_cards(sandbox, 2))[1]
    assert "после её окончания" in late["text"]

    result = await command(sandbox, anna, "/draw 1 Билет", "Победители")
    await press_and_wait(sandbox, anna, result, "Объявить в X")
    winners_preview = await said(sandbox, "Объявление о победителях для X")
    await press_and_wait(sandbox, anna, winners_preview, "Опубликовать")
    await said(sandbox, "Победители объявлены в X")
    final = sandbox.x.museum_posts()[-1]["text"]
    assert "@ivan" in final and "#museumsalon" in final
    # The late question is not in the draw: only ivan could win.
    assert "@olga" not in final


async def test_draw_edge_cases(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    anna = MODERATOR.user_id
    await command(sandbox, anna, "/draw", "Гостиных ещё не было")
    await command(sandbox, anna, "/start_salon Пусто 1h", "Обязательство")
    await command(sandbox, anna, "/draw", "Гостиная ещё идёт")
    await command(sandbox, anna, "/end_salon", "завершена")
    await command(sandbox, anna, "/draw", "некому участвовать")
    await command(sandbox, anna, "/draw 0", "от 1 до 100")
    await command(sandbox, anna, "/redraw @nobody", "Розыгрыша ещё нет")
    await command(sandbox, anna, "/redraw", "Как пользоваться: /redraw")


async def test_fewer_entrants_than_winners(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    anna = MODERATOR.user_id
    await command(sandbox, anna, "/start_salon Мало 1h", "Обязательство")
    for handle in ("one", "two"):
        sandbox.x.visitor_posts(handle, f"@museum {handle} #museumsalon")
    await wait_for_cards(sandbox, 2)
    await command(sandbox, anna, "/end_salon", "завершена")
    await command(sandbox, anna, "/draw 3", "Участвовать могут только 2 человека")
    await command(sandbox, anna, "/draw 2 Билеты", "Победители")
