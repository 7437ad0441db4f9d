"""Connecting a partner's X account: the PIN flow's two steps, the account check, the
sealed tokens stored. Handlers call these and say the outcome; nothing here logs a token."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from opsbot.db.models import Partner
from opsbot.services import audit, partners
from opsbot.services.sealed import Sealer
from opsbot.telegram.context import Runtime
from opsbot.x.gateway import XAuthFailed, XError
from opsbot.x.partner_accounts import account_of
from opsbot.x.pin_flow import PinNotAsked

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    CONNECTED = "connected"
    # Signed in to X as another account than the partner's.
    WRONG_ACCOUNT = "wrong_account"
    PARTNER_GONE = "partner_gone"
    PIN_REFUSED = "pin_refused"
    X_UNREACHABLE = "x_unreachable"
    NOT_ASKED = "not_asked"


@dataclass(frozen=True)
class Connection:
    outcome: Outcome
    partner: Partner | None = None
    account: str = ""


async def start(runtime: Runtime, user_id: int, partner: Partner) -> str | None:
    """The authorisation link, or None when X would not start the flow."""
    try:
        return await runtime.pin_flow.start(user_id, partner.id)
    except XError as exc:
        log.warning("the PIN flow for partner @%s could not start: %s", partner.handle, exc)
        return None


async def finish(runtime: Runtime, user_id: int, pin: str) -> Connection:
    try:
        partner_id, tokens = await runtime.pin_flow.finish(user_id, pin)
        account = await account_of(runtime.settings, tokens)
    except PinNotAsked:
        return Connection(Outcome.NOT_ASKED)
    except XAuthFailed:
        return Connection(Outcome.PIN_REFUSED)
    except XError as exc:
        log.warning("the PIN flow could not finish: %s", exc)
        return Connection(Outcome.X_UNREACHABLE)
    key = runtime.settings.secret_key
    async with runtime.sessionmaker.begin() as session:
        partner = await session.get(Partner, partner_id)
        if partner is None or key is None:
            outcome = Outcome.PARTNER_GONE
        elif account.username.lower() != partner.handle:
            outcome = Outcome.WRONG_ACCOUNT
        else:
            sealer = Sealer(key.get_secret_value())
            stored = await partners.connect(
                session,
                partner_id,
                access_token=sealer.seal(tokens.token),
                access_secret=sealer.seal(tokens.secret),
                x_user_id=account.id,
                by=user_id,
                now=runtime.clock.now(),
            )
            outcome = Outcome.CONNECTED if stored else Outcome.PARTNER_GONE
        await audit.record(
            session,
            actor_id=user_id,
            action="partner_connect",
            outcome=audit.OK if outcome == Outcome.CONNECTED else audit.REFUSED,
            detail=f"partner {partner_id} as @{account.username}: {outcome}",
        )
    await runtime.partner_accounts.drop(partner_id)
    return Connection(outcome, partner, account.username)
