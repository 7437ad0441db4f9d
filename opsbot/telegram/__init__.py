"""The Telegram side: the Application, handlers, cards, the send queue."""

import os

# python-telegram-bot 22 reports time periods as timedelta only with this opt-in; without it
# every read of RetryAfter.retry_after emits a deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "true")
