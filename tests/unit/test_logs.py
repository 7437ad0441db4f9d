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


def test_oauth_debug_lines_show_no_part_of_a_key() -> None:
    """oauthlib logs the signature base string, where keys appear URL-encoded twice."""
    import io

    from oauthlib.oauth1 import Client

    key, token = "consumer+key/with=signs", "1-access+token/with=signs"
    secrets = [key, "consumer/secret+x=", token, "token/secret+y="]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(secrets))
    oauth_log = logging.getLogger("oauthlib")
    oauth_log.addHandler(handler)
    oauth_log.setLevel(logging.DEBUG)
    try:
        Client(
            key,
            client_secret=secrets[1],
            resource_owner_key=token,
            resource_owner_secret=secrets[3],
        ).sign("https://api.x.com/2/tweets", http_method="POST")
    finally:
        oauth_log.removeHandler(handler)
        oauth_log.setLevel(logging.NOTSET)
    output = stream.getvalue()
    assert "base string" in output
    for fragment in ("consumer+key", "consumer%2", "access+token", "access%2", "%252Fwith"):
        assert fragment not in output, output
