"""The figures, read from what the emulators saw: the staff group's messages, the Bot API
requests the bot made, the posts X handed out. Pure functions, so they are tested on their own.

- A question is *shown* by the first bot message in the staff group that carries it: its card,
  or a digest line (the link to the visitor's post). Shown order is message order, then the
  order of the lines within a digest.
- A question *shown before an older one* has some question posted earlier that was shown
  after it: 0 when a burst comes oldest first.
- Group messages are the Bot API calls that Telegram's flood control counts for the group
  (sends and edits) and that it carried out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from opsbot.chaos.chat import POST_LINK, Message, card_post_id
from opsbot.emulators.base import LoggedRequest
from opsbot.emulators.telegram.limits import COUNTED_METHODS
from opsbot.emulators.x import PostsRead

DIGEST_MARK = "📥"


@dataclass(frozen=True)
class Shown:
    """Where and when a question first appeared in the staff group."""

    at: float
    message_id: int
    line: int


def questions_in(message: Message, museum: str) -> list[str]:
    """The visitor posts a bot message shows: a card's one, a digest's in their lines' order."""
    if not message["from"]["is_bot"]:
        return []
    if str(message["text"]).startswith(DIGEST_MARK):
        found = []
        for handle, post_id in POST_LINK.findall(str(message.get("html") or "")):
            if str(handle).lower() != museum.lower() and str(post_id) not in found:
                found.append(str(post_id))
        return found
    post_id = card_post_id(message, museum)
    return [post_id] if post_id is not None else []


def first_shown(messages: Iterable[Message], museum: str) -> dict[str, Shown]:
    shown: dict[str, Shown] = {}
    for message in sorted(messages, key=lambda m: int(m["message_id"])):
        for line, post_id in enumerate(questions_in(message, museum)):
            shown.setdefault(
                post_id, Shown(float(message["sent_at"]), int(message["message_id"]), line)
            )
    return shown


def all_visible_after(
    shown: Mapping[str, Shown], posts: Sequence[str], since: float
) -> float | None:
    """Seconds from `since` until the last of `posts` was shown; None if one never was."""
    if any(post not in shown for post in posts):
        return None
    return max((shown[post].at for post in posts), default=since) - since


def shown_before_an_older_one(shown: Mapping[str, Shown], posts: Sequence[str]) -> int:
    """How many of `posts` (in posting order) were shown before one posted earlier."""
    order = sorted(
        (i for i, post in enumerate(posts) if post in shown),
        key=lambda i: (shown[posts[i]].message_id, shown[posts[i]].line),
    )
    late = 0
    oldest_after = len(posts)
    for index in reversed(order):
        if index > oldest_after:
            late += 1
        oldest_after = min(oldest_after, index)
    return late


def latencies(shown: Mapping[str, Shown], posted_at: Mapping[str, float]) -> list[float]:
    """Post → shown, in seconds, for each post that was shown."""
    return [shown[post].at - at for post, at in posted_at.items() if post in shown]


def _chat_of(request: LoggedRequest) -> int | None:
    try:
        return int(str(request.params.get("chat_id")))
    except ValueError:
        return None


def group_messages(
    requests: Iterable[LoggedRequest], chat_id: int, start: float, end: float
) -> int:
    """Sends and edits Telegram carried out in the group between `start` and `end`."""
    return sum(
        1
        for request in requests
        if request.endpoint in COUNTED_METHODS
        and request.status == 200
        and start <= request.at <= end
        and _chat_of(request) == chat_id
    )


def last_group_message(requests: Sequence[LoggedRequest], chat_id: int) -> float:
    """When the bot last sent or edited a message in the group (0 if never)."""
    for request in reversed(requests):
        if (
            request.endpoint in COUNTED_METHODS
            and request.status == 200
            and _chat_of(request) == chat_id
        ):
            return request.at
    return 0.0


def refused_too_many(requests: Iterable[LoggedRequest]) -> int:
    """The 429 answers Telegram gave the bot."""
    return sum(1 for request in requests if request.status == 429)


def posts_read(reads: Iterable[PostsRead]) -> dict[str, int]:
    """Posts X handed out, by operation."""
    by_operation: dict[str, int] = {}
    for read in reads:
        by_operation[read.endpoint] = by_operation.get(read.endpoint, 0) + read.count()
    return by_operation
