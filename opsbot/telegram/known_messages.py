"""The message ids the bot has learned in its groups since it started.

Telegram numbers a supergroup's messages one after another. A card whose send went unanswered
(a timeout, a 5xx) may still have reached the group; if it did, its id is above the last id
the bot got back for a message of its own, and it is none of the ids the bot learned since:
the answers to its other sends (`sent`, told by the rate limiter, which sees every request)
and the messages of others that reached it as updates (`saw`). Those unknown ids are the only
ones the card queue looks at. The previous run's answered sends are told at start, from the
send journal.
"""

from __future__ import annotations

from collections import deque

KEEP = 2000


class KnownMessages:
    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._ids: dict[int, set[int]] = {}
        self._order: dict[int, deque[int]] = {}
        self._highest_sent: dict[int, int] = {}

    def sent(self, chat_id: int, message_id: int) -> None:
        """Telegram answered with this id for a message of the bot's own."""
        self.saw(chat_id, message_id)
        self._highest_sent[chat_id] = max(message_id, self._highest_sent.get(chat_id, 0))

    def saw(self, chat_id: int, message_id: int) -> None:
        ids = self._ids.setdefault(chat_id, set())
        if message_id in ids:
            return
        order = self._order.setdefault(chat_id, deque())
        ids.add(message_id)
        order.append(message_id)
        if len(order) > self._keep:
            ids.discard(order.popleft())

    def known(self, chat_id: int, message_id: int) -> bool:
        return message_id in self._ids.get(chat_id, ())

    def highest_sent(self, chat_id: int) -> int | None:
        return self._highest_sent.get(chat_id)
