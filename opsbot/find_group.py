"""`opsbot find-group`: the ids of the groups the bot has been added to, without leaving them.

Reads the updates Telegram keeps for the bot without confirming them (no offset), so the bot
still receives them when it runs; needs only the token. Run it before `opsbot run`: while the
bot runs, Telegram gives its updates to that process alone.
"""

from __future__ import annotations

from telegram import Bot, Chat
from telegram.error import Conflict, TelegramError

from opsbot.logs import RedactingFormatter

GROUP_TYPES = (Chat.GROUP, Chat.SUPERGROUP)


async def find_groups(token: str, api_url: str) -> int:
    redact = RedactingFormatter([token]).redact
    bot = Bot(token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot")
    try:
        async with bot:
            updates = await bot.get_updates(
                timeout=0, allowed_updates=["message", "my_chat_member"]
            )
    except Conflict:
        print("The bot is running elsewhere (Telegram gives its updates to that process): stop it")
        print("and run `opsbot find-group` again.")
        return 1
    except TelegramError as exc:
        print(redact(f"Telegram refused: {exc}"))
        return 1
    groups: dict[int, Chat] = {}
    moved: set[int] = set()
    for update in updates:
        chat = update.effective_chat
        if chat is not None and chat.type in GROUP_TYPES:
            groups[chat.id] = chat
        if update.message is not None and update.message.migrate_to_chat_id is not None:
            # A group upgraded to a supergroup: only the new id works.
            moved.add(update.message.chat.id)
    for chat_id in moved:
        groups.pop(chat_id, None)
    if not groups:
        print("No group seen yet: add the bot to the staff group, send a message there,")
        print("and run `opsbot find-group` again.")
        return 1
    for chat_id, chat in groups.items():
        print(f"{chat_id}\t{chat.title or ''}")
    print("Put the staff group's id in OPSBOT_STAFF_CHAT_ID.")
    return 0
