from __future__ import annotations

import logging

from opsbot.logs import MASK, RedactingFormatter

TOKEN = "123456:ABC-secret/with+chars"


def test_secret_masked_in_message_url_encoded_and_traceback() -> None:
    formatter = RedactingFormatter([TOKEN, "xy"])
    try:
        raise ValueError(f"token {TOKEN} rejected")
    except ValueError:
        record = logging.LogRecord(
            "t",
            logging.ERROR,
            __file__,
            1,
            "GET /bot%s and %s",
            (TOKEN, "123456%3AABC-secret%2Fwith%2Bchars"),
            None,
        )
        import sys

        record.exc_info = sys.exc_info()
    text = formatter.format(record)
    assert "ABC-secret" not in text
    assert text.count(MASK) >= 3
    # Too short to be a secret worth masking: masking it would garble ordinary words.
    assert "xy" not in formatter._secrets
