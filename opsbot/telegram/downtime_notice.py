"""The staff notice of a downtime, while it waits for its count of questions.

Kept apart from `heartbeats` so the runtime bag can name it without importing the module
that reads the bag.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsbot.i18n import Html
from opsbot.services.downtime import Gap


@dataclass(frozen=True)
class DowntimeNotice:
    """The message that still waits for the count of questions asked during the gap."""

    gap: Gap
    chat_id: int
    message_id: int
    head: Html
