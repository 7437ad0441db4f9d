"""Why a post to X was given up, in the reader's language.

The outbox stores a `DeliveryFailure` code; X's own (English) words stay in the log and the
audit. Every code has a text here, so a new code cannot reach the staff untranslated.
"""

from __future__ import annotations

from opsbot.db.models import Delivery, DeliveryFailure
from opsbot.i18n import N_, Html, Translator
from opsbot.services.tweet_length import MAX_WEIGHTED_LENGTH, weighted_length

_TEXTS = {
    DeliveryFailure.TIMEOUT: N_("X did not answer in time, however often it was asked"),
    DeliveryFailure.SERVER_ERROR: N_("X failed with its own error, however often it was asked"),
    DeliveryFailure.REFUSED: N_("X refused the text"),
    DeliveryFailure.DUPLICATE: N_(
        "X calls it a duplicate, yet no such post of the museum's was found"
    ),
    DeliveryFailure.FOLLOWED_FAILED: N_("the part before it is not on X"),
    DeliveryFailure.QUESTION_GONE: N_("the question is gone"),
    DeliveryFailure.QUESTION_HIDDEN: N_("the question was hidden"),
    DeliveryFailure.NOT_CONNECTED: N_(
        "the partner museum has not let the bot post as its account (/partner connect)"
    ),
    DeliveryFailure.PARTNER_REVOKED: N_(
        "X no longer accepts the partner museum's authorisation: one of its administrators "
        "sends /partner connect to the bot in a private chat again"
    ),
}


def failure_text(failure: DeliveryFailure, _: Translator, payload: str = "") -> Html:
    if failure == DeliveryFailure.TOO_LONG:
        return _(
            "the text is too long for X ({length}/{limit})",
            length=weighted_length(payload),
            limit=MAX_WEIGHTED_LENGTH,
        )
    return _(_TEXTS[failure])


def why_failed(delivery: Delivery | None, _: Translator) -> Html:
    """The reason shown for a failed delivery; "?" when none is known."""
    if delivery is None or delivery.failure is None:
        return Html("?")
    return failure_text(delivery.failure, _, delivery.payload)
