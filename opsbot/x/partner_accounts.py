"""Posting as a partner museum: one X client per partner, built from its sealed tokens.

The client signs with the museum's app keys and the partner's access token, so X posts as
the partner's account and applies its reply rule to that account. Clients are kept per
partner while its sealed tokens stay the same; a disconnect (or new tokens) makes the next
post build a new one, and `drop` closes the old at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tweepy.asynchronous import AsyncClient

from opsbot import logs
from opsbot.clock import Clock
from opsbot.db.models import Partner
from opsbot.services.sealed import Sealer, SealError
from opsbot.settings import Settings
from opsbot.x.gateway import UsageHook, XAccount, XGateway
from opsbot.x.pin_flow import Tokens
from opsbot.x.session import make_x_client


class PartnerNotConnected(Exception):
    """The partner has not authorised the app, was disconnected, or its tokens cannot be
    opened with the keys set now."""


@dataclass
class _Client:
    sealed: str
    gateway: XGateway
    account: XAccount


class PartnerAccounts:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        clock: Clock,
        on_usage: UsageHook | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._clock = clock
        self._on_usage = on_usage
        self._sealer = Sealer(
            settings.secret_key.get_secret_value() if settings.secret_key else None
        )
        self._clients: dict[int, _Client] = {}

    async def account(self, partner_id: int) -> tuple[XGateway, XAccount]:
        """The client that posts as the partner, and its account."""
        async with self._sessionmaker.begin() as session:
            partner = await session.get(Partner, partner_id)
        if (
            partner is None
            or partner.access_token is None
            or partner.access_secret is None
            or partner.x_user_id is None
        ):
            await self.drop(partner_id)
            raise PartnerNotConnected
        cached = self._clients.get(partner_id)
        if cached is not None and cached.sealed == partner.access_token:
            return cached.gateway, cached.account
        await self.drop(partner_id)
        try:
            token = self._sealer.open(partner.access_token)
            secret = self._sealer.open(partner.access_secret)
        except SealError:
            raise PartnerNotConnected from None
        gateway = XGateway(
            _client(self._settings, Tokens(token, secret)),
            clock=self._clock,
            on_usage=self._on_usage,
        )
        account = XAccount(id=partner.x_user_id, username=partner.handle)
        self._clients[partner_id] = _Client(partner.access_token, gateway, account)
        return gateway, account

    async def drop(self, partner_id: int) -> None:
        cached = self._clients.pop(partner_id, None)
        if cached is not None:
            await cached.gateway.close()

    async def close(self) -> None:
        for partner_id in list(self._clients):
            await self.drop(partner_id)


async def account_of(settings: Settings, tokens: Tokens) -> XAccount:
    """Whose account the tokens act for, as X says (one user read)."""
    gateway = XGateway(_client(settings, tokens))
    try:
        return await gateway.me()
    finally:
        await gateway.close()


def _client(settings: Settings, tokens: Tokens) -> AsyncClient:
    """The museum's app keys with the partner's access token: X acts as the partner."""
    logs.hide(tokens.token, tokens.secret)
    return make_x_client(
        base_url=settings.x_api_url,
        bearer_token=settings.x_bearer_token.get_secret_value(),
        api_key=settings.x_api_key.get_secret_value(),
        api_secret=settings.x_api_secret.get_secret_value(),
        access_token=tokens.token,
        access_token_secret=tokens.secret,
        timeout=settings.x_timeout_seconds,
    )
