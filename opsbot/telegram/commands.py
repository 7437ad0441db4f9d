"""A command as Telegram's menus offer it: what it does, whom it is for, how often it is used.

Each feature module lists its commands in `COMMANDS`; `opsbot.telegram.handlers.menus` builds the
menus from those lists. A menu only guides: every handler still checks the sender's role.
"""

from __future__ import annotations

from typing import NamedTuple

from opsbot.telegram.roles import Role


class Command(NamedTuple):
    name: str
    # A msgid (marked with N_), translated when the menus are registered.
    description: str
    # Curators' commands are offered to everyone in the staff group, moderators' commands to
    # its administrators and the other moderators.
    role: Role
    # Menus list the most used commands first: the lower the rank, the higher in the menu.
    rank: int
    in_group: bool = True
    # Offered in private chats with the bot too (to every staff member alike: Telegram has no
    # per-person scope in private chats).
    in_private: bool = False
