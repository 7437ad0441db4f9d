"""Who may do what: curators are the staff group's members, moderators its administrators
plus OPSBOT_MODERATOR_IDS. Answers from Telegram are cached briefly: a button press should
not cost two API calls. A change Telegram reports (a `chat_member` update) replaces the cached
answer at once, so a curator removed from the group cannot act a moment longer."""

from __future__ import annotations

from collections.abc import Iterable

from telegram import Bot, ChatMember
from telegram.error import BadRequest, Forbidden

from opsbot.clock import Clock, SystemClock
from opsbot.db.models import Role

__all__ = ["ANONYMOUS_ADMIN_ID", "Role", "Roles"]

# Telegram's stand-in sender for anonymous group administrators: not a person.
ANONYMOUS_ADMIN_ID = 1087968824
CACHE_SECONDS = 60.0


class Roles:
    def __init__(
        self,
        bot: Bot,
        extra_moderators: Iterable[int],
        *,
        clock: Clock | None = None,
    ) -> None:
        self._bot = bot
        self._extra = frozenset(extra_moderators)
        self._clock = clock or SystemClock()
        self._members: dict[tuple[int, int], tuple[float, str]] = {}

    def forget(self, user_id: int | None = None) -> None:
        if user_id is None:
            self._members.clear()
        else:
            self._members = {k: v for k, v in self._members.items() if k[1] != user_id}

    def learn(self, chat_id: int, member: ChatMember) -> None:
        """Telegram told us a person's new status in the group."""
        self._members[(chat_id, member.user.id)] = (
            self._clock.monotonic() + CACHE_SECONDS,
            _status_of(member),
        )

    async def _status(self, chat_id: int, user_id: int) -> str:
        cached = self._members.get((chat_id, user_id))
        now = self._clock.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            status = _status_of(await self._bot.get_chat_member(chat_id, user_id))
        except (BadRequest, Forbidden):
            status = ChatMember.LEFT
        self._members[(chat_id, user_id)] = (now + CACHE_SECONDS, status)
        return status

    async def role_of(self, chat_id: int, user_id: int) -> Role | None:
        """The person's role in the staff group, or None when they are not in it."""
        if user_id == ANONYMOUS_ADMIN_ID:
            return None
        status = await self._status(chat_id, user_id)
        if status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR):
            return Role.MODERATOR
        if status in (ChatMember.MEMBER, ChatMember.RESTRICTED):
            return Role.MODERATOR if user_id in self._extra else Role.CURATOR
        return None


def _status_of(member: ChatMember) -> str:
    if member.status == ChatMember.RESTRICTED and not getattr(member, "is_member", False):
        return str(ChatMember.LEFT)
    return str(member.status)
