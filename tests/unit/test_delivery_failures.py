"""Why a post was given up reads in the staff member's language, never in X's English."""

from __future__ import annotations

import pytest

from opsbot.db.models import Delivery, DeliveryFailure
from opsbot.i18n import translator
from opsbot.telegram.delivery_failures import failure_text, why_failed


@pytest.mark.parametrize("failure", list(DeliveryFailure))
def test_every_failure_has_its_own_text_in_both_languages(failure: DeliveryFailure) -> None:
    english = failure_text(failure, translator("en"))
    russian = failure_text(failure, translator("ru"))
    assert english and russian and english != russian
    assert any("а" <= letter <= "я" for letter in russian.lower())
    others = [
        failure_text(other, translator("ru")) for other in DeliveryFailure if other != failure
    ]
    assert russian not in others


def test_a_failure_with_no_code_shows_a_question_mark_not_x_s_words() -> None:
    row = Delivery(last_error="X refused the request (403): You are not allowed")
    assert why_failed(row, translator("ru")) == "?"
    assert why_failed(None, translator("en")) == "?"
    row.failure = DeliveryFailure.REFUSED
    assert why_failed(row, translator("ru")) == "X отклонил текст"
    assert why_failed(row, translator("en")) == "X refused the text"


def test_too_long_says_by_how_much_as_x_counts() -> None:
    row = Delivery(payload="é" * 300, failure=DeliveryFailure.TOO_LONG)
    assert why_failed(row, translator("ru")) == "текст слишком длинный для X (300/280)"
    assert why_failed(row, translator("en")) == "the text is too long for X (300/280)"
