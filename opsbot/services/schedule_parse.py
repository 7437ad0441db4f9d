"""What a moderator means by `/schedule …`: a one-off salon or a weekly one, in Russian or English.

Pure parsing: the caller passes the clock (`now`), the museum's time zone and the default
duration, so every answer can be tested without a real clock, database or Telegram.

Grammar of the arguments after the command:

    <date> <time> <topic…> [duration]
    weekly <weekday> <time> <topic…> [duration]      (also `every`, `еженедельно`)

- date: `2026-12-29`, `29.12.2026`, `29.12` (this year, or the next year that has that day
  if it is already behind us), or a weekday meaning the next such day; today counts only
  while the time is still ahead. `в`/`во`/`on` may stand before it ("в субботу 19:00 …").
- weekday: `mon`…`sun`, `monday`…`sunday`, `пн`…`вс`, `понедельник`…`воскресенье` and the
  accusative `среду`/`пятницу`/`субботу`; any case, a trailing dot is ignored.
- time: `19:00`, `9:30`, `19.00`, 24-hour.
- duration: the last token, if it reads as one: `1h`, `90m`, `1h30m`, `1.5h`, `2ч`, `90м`,
  `1ч30м` (or `1h 30m` as two tokens); 15 minutes to 4 hours inclusive.
- topic: everything else, joined by single spaces, 1 to 200 characters.

Errors are `ScheduleError(code, **details)`; the caller turns the code into a Russian or English
message, so the set is small and every code always carries the same detail keys:

    empty                  weekly: bool — nothing to parse (`weekly` alone gives weekly=True)
    missing_time           — no time after the date, or a word where it should be
    bad_date               token
    two_digit_year         token — `29.12.26`: the century would be a guess
    in_past                token, starts_at (aware UTC) — the date and time are not ahead of now
    bad_weekday            token — after `weekly`, a word that is not a weekday
    bad_time               token — e.g. `25:00`, `19:60`, `7pm`
    bad_duration           token — looks like a duration (`1h90m`, `1.5m`) but is not one
    duration_out_of_range  token, minutes, min_minutes, max_minutes
    missing_topic          —
    topic_too_long         length, limit
    nonexistent_time       token, date — the wall time falls into a spring-forward gap

Local wall time becomes UTC with `datetime(..., tzinfo=zone)` semantics: an ambiguous time in
the autumn overlap is its first occurrence (fold=0); a time inside the spring gap is refused for
a one-off salon, since there is no such moment to announce.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

MIN_DURATION = timedelta(minutes=15)
MAX_DURATION = timedelta(hours=4)
MAX_TOPIC_LENGTH = 200
MAX_PARSED_MINUTES = 366 * 24 * 60

ERROR_CODES = frozenset(
    {
        "empty",
        "missing_time",
        "bad_date",
        "bad_time",
        "two_digit_year",
        "in_past",
        "bad_weekday",
        "bad_duration",
        "duration_out_of_range",
        "missing_topic",
        "topic_too_long",
        "nonexistent_time",
    }
)

WEEKLY_KEYWORDS = frozenset({"weekly", "every", "еженедельно"})
# Prepositions people naturally put before a day: "в субботу", "во вторник", "on saturday".
DAY_PREPOSITIONS = frozenset({"в", "во", "on"})

_WEEKDAY_NAMES: tuple[tuple[str, ...], ...] = (
    ("mon", "monday", "пн", "понедельник"),
    ("tue", "tues", "tuesday", "вт", "вторник"),
    ("wed", "wednesday", "ср", "среда", "среду"),
    ("thu", "thur", "thurs", "thursday", "чт", "четверг"),
    ("fri", "friday", "пт", "пятница", "пятницу"),
    ("sat", "saturday", "сб", "суббота", "субботу"),
    ("sun", "sunday", "вс", "воскресенье"),
)
WEEKDAYS: dict[str, int] = {
    name: number for number, names in enumerate(_WEEKDAY_NAMES) for name in names
}

# ASCII digits only: `\d` would also take Arabic-Indic and other digits.
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DAY_MONTH = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})")
_DAY_MONTH_YEAR = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")
_DAY_MONTH_SHORT_YEAR = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{2}")
_TIME = re.compile(r"([0-9]{1,2})[:.]([0-9]{2})")
_DURATION = re.compile(r"(?:([0-9]+(?:[.,][0-9]+)?)[hч])?(?:([0-9]+)[mм])?")
# Digits and unit letters only: such a token is meant as a duration, so a malformed one is an
# error rather than the last word of the topic ("Зал 3" stays a topic, "1h90m" is refused).
_DURATION_LIKE = re.compile(r"[0-9][0-9.,]*[hmчм][0-9.,hmчм]*")


class ScheduleError(ValueError):
    """Input the moderator has to fix; `code` is one of ERROR_CODES, `details` fill the text."""

    def __init__(self, code: str, **details: object) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown schedule error code {code!r}")
        super().__init__(code)
        self.code = code
        self.details: dict[str, object] = details

    def __str__(self) -> str:
        extra = ", ".join(f"{key}={value!r}" for key, value in self.details.items())
        return f"{self.code}({extra})"


@dataclass(frozen=True)
class OneOff:
    starts_at: datetime  # aware, UTC
    topic: str
    duration: timedelta


@dataclass(frozen=True)
class Weekly:
    weekday: int  # 0 = Monday, as date.weekday()
    local_time: time  # wall-clock time in the museum's zone, naive
    topic: str
    duration: timedelta


def parse_weekday(text: str) -> int | None:
    """0 for Monday … 6 for Sunday, or None; "в субботу" and "on sat" are understood too."""
    words = text.casefold().split()
    if len(words) == 2 and words[0] in DAY_PREPOSITIONS:
        words = words[1:]
    if len(words) != 1:
        return None
    return WEEKDAYS.get(words[0].removesuffix("."))


def parse_duration(text: str) -> timedelta | None:
    """`1h`, `90m`, `1h30m`, `1.5h`, `2ч`, `90м`, `1ч30м` as a timedelta, else None.

    The range is not checked here (see `check_duration`), so a caller can tell "not a
    duration" from "a duration we do not allow". Only whole minutes are durations: `1.33h`
    is refused rather than silently rounded.
    """
    match = _DURATION.fullmatch(text.strip().casefold())
    if match is None or not any(match.groups()):
        return None
    hours_text, minutes_text = match.groups()
    minutes = Decimal(int(minutes_text)) if minutes_text else Decimal(0)
    if hours_text:
        hours = Decimal(hours_text.replace(",", "."))
        # "1h90m" or "1.5h30m" are more likely typos than something to add up.
        if minutes_text and (minutes >= 60 or hours != hours.to_integral_value()):
            return None
        minutes += hours * 60
    if minutes != minutes.to_integral_value():
        return None
    if minutes > MAX_PARSED_MINUTES:
        # Far beyond any salon or reminder; also keeps timedelta from overflowing.
        return timedelta(minutes=MAX_PARSED_MINUTES + 1)
    return timedelta(minutes=int(minutes))


def check_duration(duration: timedelta, token: str) -> timedelta:
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise ScheduleError(
            "duration_out_of_range",
            token=token,
            minutes=int(duration.total_seconds() // 60),
            min_minutes=int(MIN_DURATION.total_seconds() // 60),
            max_minutes=int(MAX_DURATION.total_seconds() // 60),
        )
    return duration


def split_duration(tokens: Sequence[str], *, default: timedelta) -> tuple[list[str], timedelta]:
    """The tokens before a trailing duration, and that duration (or the default).

    Shared with `/start_salon <topic> [duration]`. A lone duration is not taken as a topic:
    `/schedule сб 19:00 2h` is a missing topic, not a salon called "2h".
    """
    rest = list(tokens)
    if not rest:
        return rest, default
    token = rest[-1]
    duration = parse_duration(token)
    if duration is None:
        if _DURATION_LIKE.fullmatch(token.casefold()):
            raise ScheduleError("bad_duration", token=token)
        return rest, default
    rest.pop()
    # "1h 30m" typed with a space: join it, or "1h" would end up in the topic.
    if rest and _units(rest[-1]) == (True, False) and _units(token) == (False, True):
        hours = parse_duration(rest[-1])
        token = f"{rest.pop()} {token}"
        if hours is None or hours % timedelta(hours=1) or duration >= timedelta(hours=1):
            raise ScheduleError("bad_duration", token=token)
        duration += hours
    return rest, check_duration(duration, token)


def parse_schedule(
    args: Sequence[str], *, now: datetime, zone: ZoneInfo, default_duration: timedelta
) -> OneOff | Weekly:
    """The salon the arguments describe; raises ScheduleError with a code from ERROR_CODES."""
    _require_aware(now, "now")
    tokens = [word for arg in args for word in arg.split()]
    if not tokens:
        raise ScheduleError("empty", weekly=False)
    if tokens[0].casefold() in WEEKLY_KEYWORDS:
        return _parse_weekly(tokens[1:], default_duration=default_duration)

    tokens = _skip_preposition(tokens)
    date_token = tokens[0]
    now_local = now.astimezone(zone)
    # The date is read before the time, so "19:00 Тема" (no date) is a bad date, not a bad time.
    when = _read_day(date_token, today=now_local.date())
    local_time, time_token = _take_time(tokens[1:])
    topic, duration = _take_topic(tokens[2:], default_duration=default_duration)

    if isinstance(when, date):
        day = when
    else:
        day = now_local.date() + timedelta(days=(when - now_local.weekday()) % 7)
        # Today's weekday means today only while the time is still ahead; otherwise next week.
        if _wall_clock(day, local_time, zone) <= now:
            day += timedelta(days=7)
    starts_at = _exact_moment(day, local_time, zone, date_token=date_token, time_token=time_token)
    if starts_at <= now:
        raise ScheduleError("in_past", token=date_token, starts_at=starts_at)
    return OneOff(starts_at=starts_at, topic=topic, duration=duration)


def next_occurrences(
    weekly: Weekly, *, after: datetime, zone: ZoneInfo, count: int
) -> list[datetime]:
    """The next `count` starts strictly after `after`, in UTC, each at the same wall-clock time.

    So 19:00 in Berlin is 18:00 UTC in winter and 17:00 UTC in summer. A week whose wall time
    falls into the spring gap starts that much later (02:30 becomes 03:30), and one in the
    autumn overlap at its first occurrence: what `datetime(..., tzinfo=zone)` gives.
    """
    _require_aware(after, "after")
    if count < 0:
        raise ValueError("count must not be negative")
    after_local = after.astimezone(zone)
    day = after_local.date() + timedelta(days=(weekly.weekday - after_local.weekday()) % 7)
    starts: list[datetime] = []
    while len(starts) < count:
        start = _wall_clock(day, weekly.local_time, zone)
        if start > after:
            starts.append(start)
        day += timedelta(days=7)
    return starts


def _parse_weekly(tokens: list[str], *, default_duration: timedelta) -> Weekly:
    if not tokens:
        raise ScheduleError("empty", weekly=True)
    tokens = _skip_preposition(tokens)
    weekday = parse_weekday(tokens[0])
    if weekday is None:
        raise ScheduleError("bad_weekday", token=tokens[0])
    local_time, _ = _take_time(tokens[1:])
    topic, duration = _take_topic(tokens[2:], default_duration=default_duration)
    return Weekly(weekday=weekday, local_time=local_time, topic=topic, duration=duration)


def _skip_preposition(tokens: list[str]) -> list[str]:
    if len(tokens) > 1 and tokens[0].casefold() in DAY_PREPOSITIONS:
        return tokens[1:]
    return tokens


def _take_time(tokens: Sequence[str]) -> tuple[time, str]:
    # A word without digits where the time belongs ("29.12 Тема") means the time was left
    # out; anything with digits was an attempt at one and is reported as it was typed.
    if not tokens or not any(char in "0123456789" for char in tokens[0]):
        raise ScheduleError("missing_time")
    token = tokens[0]
    match = _TIME.fullmatch(token)
    if match is None:
        raise ScheduleError("bad_time", token=token)
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise ScheduleError("bad_time", token=token)
    return time(hour, minute), token


def _take_topic(tokens: Sequence[str], *, default_duration: timedelta) -> tuple[str, timedelta]:
    rest, duration = split_duration(tokens, default=default_duration)
    # NFC so that the length is what the moderator sees, as in tweet_length.
    topic = unicodedata.normalize("NFC", " ".join(rest))
    if not topic:
        raise ScheduleError("missing_topic")
    if len(topic) > MAX_TOPIC_LENGTH:
        raise ScheduleError("topic_too_long", length=len(topic), limit=MAX_TOPIC_LENGTH)
    return topic, duration


def _read_day(token: str, *, today: date) -> date | int:
    """A calendar date, or a weekday (0 = Monday) whose next occurrence depends on the time."""
    weekday = parse_weekday(token)
    return weekday if weekday is not None else _parse_date(token, today=today)


def _parse_date(token: str, *, today: date) -> date:
    if _DAY_MONTH_SHORT_YEAR.fullmatch(token):
        raise ScheduleError("two_digit_year", token=token)
    if match := _ISO_DATE.fullmatch(token):
        return _make_date(int(match[1]), int(match[2]), int(match[3]), token)
    if match := _DAY_MONTH_YEAR.fullmatch(token):
        return _make_date(int(match[3]), int(match[2]), int(match[1]), token)
    if match := _DAY_MONTH.fullmatch(token):
        day, month = int(match[1]), int(match[2])
        # The next such day that is not behind us: this year's, else a later year's (29.02
        # may be four years away). Today's date stays today; a passed hour is then in_past.
        for year in range(today.year, today.year + 9):
            try:
                candidate = date(year, month, day)
            except ValueError:
                continue
            if candidate >= today:
                return candidate
        raise ScheduleError("bad_date", token=token)
    raise ScheduleError("bad_date", token=token)


def _make_date(year: int, month: int, day: int, token: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ScheduleError("bad_date", token=token) from None


def _exact_moment(
    day: date, local_time: time, zone: ZoneInfo, *, date_token: str, time_token: str
) -> datetime:
    """The UTC moment of a wall time that must exist: a time in the spring gap is refused."""
    try:
        local = datetime.combine(day, local_time, tzinfo=zone)
        starts_at = local.astimezone(UTC)
        # A gap time does not survive the round trip (02:30 comes back as 03:30); an overlap
        # time does, as its first occurrence (fold=0).
        back = starts_at.astimezone(zone)
    except OverflowError:
        raise ScheduleError("bad_date", token=date_token) from None
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ScheduleError("nonexistent_time", token=time_token, date=day)
    return starts_at


def _wall_clock(day: date, local_time: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, local_time, tzinfo=zone).astimezone(UTC)


def _units(token: str) -> tuple[bool, bool]:
    """Whether a duration token has an hours part and a minutes part."""
    match = _DURATION.fullmatch(token.strip().casefold())
    return (False, False) if match is None else (match[1] is not None, match[2] is not None)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
