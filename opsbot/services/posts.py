"""What the bot needs to know about a post on X, independent of any client library."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class XPost:
    id: str
    author_id: str
    author_handle: str
    author_name: str
    text: str
    created_at: datetime
    conversation_id: str | None = None
    in_reply_to_user_id: str | None = None
    mentioned_ids: frozenset[str] = field(default_factory=frozenset)
    mentioned_handles: frozenset[str] = field(default_factory=frozenset)
    quoted_author_id: str | None = None
    quoted_post_id: str | None = None
    replied_to_post_id: str | None = None
    is_retweet: bool = False
    # From the author's public_metrics in the same answer; None when X did not send them.
    author_followers: int | None = None


def post_url(handle: str, post_id: str) -> str:
    return f"https://x.com/{handle}/status/{post_id}"


def normalise_handle(text: str) -> str | None:
    handle = text.strip().removeprefix("@").lower()
    if (
        not handle
        or len(handle) > 64
        or not all(c.isascii() and (c.isalnum() or c == "_") for c in handle)
    ):
        return None
    return handle
