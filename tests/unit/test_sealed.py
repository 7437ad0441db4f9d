"""Partners' tokens sealed with OPSBOT_SECRET_KEY: rotation, refusal without a key, secrecy."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from opsbot import logs
from opsbot.emulators.sandbox import CREDENTIALS
from opsbot.services.sealed import Sealer, SealError, new_key, split_keys, valid_keys
from opsbot.settings import Settings


def test_sealed_value_opens_with_its_key_and_says_nothing() -> None:
    key = new_key()
    sealed = Sealer(key).seal("1234-access-token")
    assert "1234-access-token" not in sealed
    assert Sealer(key).open(sealed) == "1234-access-token"
    # Sealing twice gives two different texts: nothing to compare rows by.
    assert Sealer(key).seal("1234-access-token") != sealed


def test_rotation_prepends_a_key_reseals_and_drops_the_old() -> None:
    old, new = new_key(), new_key()
    sealed = Sealer(old).seal("secret")
    both = Sealer(f"{new}, {old}")
    assert both.open(sealed) == "secret"
    resealed = both.reseal(sealed)
    assert Sealer(new).open(resealed) == "secret"
    with pytest.raises(SealError):
        Sealer(new).open(sealed)


def test_without_a_key_nothing_is_sealed() -> None:
    sealer = Sealer(None)
    with pytest.raises(SealError):
        sealer.seal("secret")
    with pytest.raises(SealError):
        sealer.open("anything")


def test_a_wrong_key_refuses_without_repeating_the_value() -> None:
    sealed = Sealer(new_key()).seal("the-secret-value")
    with pytest.raises(SealError) as refused:
        Sealer(new_key()).open(sealed)
    assert "the-secret-value" not in str(refused.value) and sealed not in str(refused.value)


def test_keys_setting_is_checked_and_never_shown() -> None:
    key, other = new_key(), new_key()
    assert valid_keys(f"{key},{other}") and split_keys(f" {key} , {other} ") == [key, other]
    assert not valid_keys("not-a-key") and not valid_keys("")
    values = {name: value for name, value in CREDENTIALS.items()}
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        staff_chat_id=-100123,
        x_account="museum",
        secret_key=f"{key},{other}",
        **values,
    )
    assert isinstance(settings.secret_key, SecretStr)
    assert key not in repr(settings) and key not in str(settings.model_dump())
    assert key in settings.secrets() and other in settings.secrets()
    with pytest.raises(ValueError, match="Fernet keys"):
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            staff_chat_id=-100123,
            x_account="museum",
            secret_key="not-a-key",
            **values,
        )


def test_hidden_values_are_masked_in_every_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logs.hide("partner-access-token-1234")
    logging.getLogger("tweepy.client").debug("Headers: oauth_token=partner-access-token-1234")
    assert "partner-access-token-1234" not in caplog.text
    assert logging.getLogger("requests_oauthlib").getEffectiveLevel() >= logging.INFO
    logs.pin_awaited()
    try:
        logging.getLogger("telegram.Bot").debug("got text 7654321 from a person")
        assert "7654321" not in caplog.text
    finally:
        logs.pin_settled()
