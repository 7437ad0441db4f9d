"""What X says of posts and of the museum's account when a report or the archive is built.

Read once per build, in batches (100 ids per lookup, X's limit). A post X no longer shows
(deleted, or its author protected the account) is `gone`, with X's reason; a figure X did not
give is None, so a report says "not available" instead of a 0 nobody measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# X's batched lookup takes at most this many ids.
LOOKUP_BATCH = 100


class Gone(StrEnum):
    DELETED = "deleted"
    PROTECTED = "protected"


@dataclass(frozen=True)
class PostMetrics:
    """A post's public metrics as X gave them at the time of the lookup."""

    impressions: int | None
    likes: int
    reposts: int
    replies: int
    quotes: int
    bookmarks: int

    @property
    def engagements(self) -> int:
        return self.likes + self.reposts + self.replies + self.quotes + self.bookmarks


@dataclass
class PostLookup:
    """The answer to one batched lookup: the posts X shows, and those it no longer does."""

    metrics: dict[str, PostMetrics] = field(default_factory=dict)
    gone: dict[str, Gone] = field(default_factory=dict)
    # False when X could not be asked (out of reach, rate-limited, credits spent).
    answered: bool = True

    def visible(self, post_id: str) -> bool:
        """False only for a post X said it no longer shows: nothing is left out on a guess."""
        return post_id not in self.gone


def batches(ids: list[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + LOOKUP_BATCH] for i in range(0, len(unique), LOOKUP_BATCH)]
