"""`opsbot demo` tells the whole story with no tokens, step by step, in the chosen language."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.environment import without_opsbot_settings

# What a person reads, in the order the story tells it.
STORY = {
    "ru": [
        "Демо opsbot: эмулятор Telegram",
        "1. Зрители спрашивают в X",
        "2. Каждый вопрос приходит в группу сотрудников карточкой",
        "[Взять] [Ответить] [Скрыть]",
        "3. Vera нажимает «Взять»: на карточке видно, кто взял вопрос.",
        "✍️ Взял(а) Vera",
        "4. Vera нажимает «Ответить»",
        "Vera:",
        "5. Предпросмотр",
        "Длина: 81/280",
        "[Опубликовать] [Изменить] [Отмена]",
        "6. Vera нажимает «Опубликовать»: ответ опубликован в X.",
        "X · @museum: @ivan_petrov Музей основан в 1872 году",
        "7. Карточка обновилась",
        "✅ Ответил(а) Vera",
        "8. Anna открывает гостиную",
        "│ /start_salon Новогодние традиции 30m",
        "Обязательство розыгрыша",
        "📣 Объявление для X:",
        "9. Anna задаёт зрителям нумерованный вопрос в X",
        "│ /ask ",
        "Q1 опубликован в X",
        "X · @museum: Q1: ",
        "10. Двое зрителей отвечают в X",
        "🎙 Гостиная #1.1",
        "🎙 Гостиная #1.2",
        "11. Anna завершает гостиную; бот подводит итоги",
        "│ /end_salon",
        "🏁 Гостиная #1 «Новогодние традиции» завершена.",
        "участников: 2",
        "12. Anna разыгрывает один билет",
        "│ /draw 1",
        "Победители:",
        "13. Проверить розыгрыш может любой",
        "│ /entrants",
        "📎 salon-1-draw.json",
        "$ opsbot verify-draw salon-1-draw.json",
        "all 4 checks passed",
        "Публикации музея в X:",
    ],
    "en": [
        "opsbot demo: the Telegram emulator at",
        "1. Visitors ask on X",
        "2. Each question arrives in the staff group as a card",
        "[Take] [Answer] [Hide]",
        "3. Boris presses “Take”: the card shows who took it.",
        "✍️ Taken by Boris",
        "4. Boris presses “Answer”",
        "Boris:",
        "5. The preview",
        "Length: 80/280",
        "[Post] [Edit] [Cancel]",
        "6. Boris presses “Post”: the reply is on X.",
        "X · @museum: @ivan_petrov The museum was founded in 1872",
        "7. The card is updated",
        "✅ Answered by Boris",
        "8. Anna opens a salon",
        "│ /start_salon New Year traditions 30m",
        "Lottery commitment",
        "📣 An announcement for X:",
        "9. Anna asks the audience a numbered question on X",
        "│ /ask ",
        "Q1 is on X",
        "X · @museum: Q1: ",
        "10. Two visitors answer on X",
        "🎙 Salon #1.1",
        "🎙 Salon #1.2",
        "11. Anna closes the salon; the bot sums it up",
        "│ /end_salon",
        "🏁 Salon #1 “New Year traditions” is over.",
        "participants: 2",
        "12. Anna draws one ticket",
        "│ /draw 1",
        "Winners:",
        "13. Anyone can check the draw",
        "│ /entrants",
        "📎 salon-1-draw.json",
        "$ opsbot verify-draw salon-1-draw.json",
        "all 4 checks passed",
        "The museum’s posts on X:",
    ],
}


@pytest.mark.parametrize("language", ["ru", "en"])
def test_demo_tells_the_story_in_order(tmp_path: Path, language: str) -> None:
    env = without_opsbot_settings()
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "opsbot", "demo", "--language", language],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    position = 0
    for expected in STORY[language]:
        found = out.find(expected, position)
        assert found >= 0, f"{expected!r} missing after position {position}:\n{out[position:]}"
        position = found + len(expected)
    for handle in ("ivan_petrov", "kate_reads", "masha", "tom_h", "anon_fan"):
        assert f"@{handle}" in out
    assert "Is <b>this</b> & that allowed?" in out
    museum = out.split(STORY[language][-1])[1]
    assert "https://x.com/museum/status/" in museum
    assert "1872" in museum and museum.count("#музейнаягостиная") == 1
    # Nothing of the other language's frame leaks in.
    other = STORY["en" if language == "ru" else "ru"]
    assert other[1] not in out and other[-1] not in out
    # The demo moves its clock instead of waiting: a real idle wait between polls is 300 s.
    assert took < 60, f"the demo took {took:.0f} s"
    assert list(tmp_path.iterdir()) == []
