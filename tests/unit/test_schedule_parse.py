"""`/schedule` arguments: every malformed line gets its own error code, DST keeps the wall time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from opsbot.services.schedule_parse import (
    ERROR_CODES,
    OneOff,
    ScheduleError,
    Weekly,
    next_occurrences,
    parse_duration,
    parse_schedule,
    parse_weekday,
    split_duration,
)

BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT = timedelta(hours=1)
# Wednesday 23 December 2026, noon in Berlin (CET, UTC+1).
NOW = datetime(2026, 12, 23, 12, 0, tzinfo=BERLIN)
LONG = "x" * 201


def parse(line: str | list[str], *, now: datetime = NOW) -> OneOff | Weekly:
    args = line.split() if isinstance(line, str) else line
    return parse_schedule(args, now=now, zone=BERLIN, default_duration=DEFAULT)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


MALFORMED: list[tuple[str | list[str], str]] = [
    ("", "empty"),
    (["  ", ""], "empty"),
    ("weekly", "empty"),
    ("29.12", "missing_time"),
    ("сб", "missing_time"),
    ("в субботу", "missing_time"),
    ("29.12 Тема", "missing_time"),
    ("weekly sat", "missing_time"),
    ("31.02 19:00 Тема", "bad_date"),
    ("32.12 19:00 Тема", "bad_date"),
    ("2026-13-01 19:00 Topic", "bad_date"),
    ("2027-02-29 19:00 Topic", "bad_date"),
    ("0000-01-01 19:00 Topic", "bad_date"),
    ("29.12.026 19:00 Тема", "bad_date"),
    ("xyz 19:00 Topic", "bad_date"),
    ("19:00 Topic", "bad_date"),
    ("в 19:00 Тема", "bad_date"),
    ("29.12.26 19:00 Тема", "two_digit_year"),
    ("29.12 25:00 Тема", "bad_time"),
    ("29.12 19:60 Тема", "bad_time"),
    ("29.12 7pm Topic", "bad_time"),
    ("29.12 24:00 Тема", "bad_time"),
    ("29.12 1900 Тема", "bad_time"),
    ("29.12 19:0 Тема", "bad_time"),
    ("weekly sat 7pm Topic", "bad_time"),
    ("2026-01-15 19:00 Topic", "in_past"),
    ("23.12 10:00 Тема", "in_past"),
    ("23.12.2026 12:00 Тема", "in_past"),
    ("weekly funday 19:00 T", "bad_weekday"),
    ("weekly 29.12 19:00 T", "bad_weekday"),
    ("weekly sat 19:00", "missing_topic"),
    ("29.12 19:00", "missing_topic"),
    ("29.12 19:00 2h", "missing_topic"),
    ("29.12 19:00 1h 30m", "missing_topic"),
    (f"29.12 19:00 {LONG}", "topic_too_long"),
    ("29.12 19:00 " + " ".join(["слово"] * 34) + " 2h", "topic_too_long"),
    ("29.12 19:00 Topic 10m", "duration_out_of_range"),
    ("29.12 19:00 Topic 14m", "duration_out_of_range"),
    ("29.12 19:00 Topic 5h", "duration_out_of_range"),
    ("29.12 19:00 Topic 0h", "duration_out_of_range"),
    ("29.12 19:00 Topic 4h1m", "duration_out_of_range"),
    ("сб 19:00 Тема 5ч", "duration_out_of_range"),
    ("weekly sat 19:00 Topic 241m", "duration_out_of_range"),
    ("29.12 19:00 Topic 1h90m", "bad_duration"),
    ("29.12 19:00 Topic 1.5m", "bad_duration"),
    ("29.12 19:00 Topic 1.33h", "bad_duration"),
    ("29.12 19:00 Topic 1h 90m", "bad_duration"),
    ("2027-03-28 02:30 Topic", "nonexistent_time"),
    ("28.03.2027 2.30 Тема", "nonexistent_time"),
]


def test_malformed_table_is_large_and_uses_every_code() -> None:
    assert len(MALFORMED) >= 30
    assert {code for _, code in MALFORMED} == ERROR_CODES


@pytest.mark.parametrize(("line", "code"), MALFORMED, ids=[str(line) for line, _ in MALFORMED])
def test_malformed(line: str | list[str], code: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse(line)
    assert caught.value.code == code


def test_details_carry_the_offending_token() -> None:
    cases: list[tuple[str, dict[str, object]]] = [
        ("weekly", {"weekly": True}),
        ("", {"weekly": False}),
        ("31.02 19:00 T", {"token": "31.02"}),
        ("29.12.26 19:00 T", {"token": "29.12.26"}),
        ("29.12 7pm T", {"token": "7pm"}),
        ("weekly funday 19:00 T", {"token": "funday"}),
        ("29.12 19:00 T 1h90m", {"token": "1h90m"}),
        ("29.12 19:00 T 1h 90m", {"token": "1h 90m"}),
        (
            "29.12 19:00 T 10m",
            {"token": "10m", "minutes": 10, "min_minutes": 15, "max_minutes": 240},
        ),
        (f"29.12 19:00 {LONG}", {"length": 201, "limit": 200}),
        ("2027-03-28 02:30 T", {"token": "02:30", "date": date(2027, 3, 28)}),
        ("23.12 10:00 T", {"token": "23.12", "starts_at": utc(2026, 12, 23, 9)}),
        ("29.12", {}),
        ("29.12 19:00", {}),
    ]
    for line, details in cases:
        with pytest.raises(ScheduleError) as caught:
            parse(line)
        assert caught.value.details == details, line


def test_unknown_code_and_naive_clock_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="unknown"):
        ScheduleError("nope")
    with pytest.raises(ValueError, match="aware"):
        parse_schedule(["сб", "19:00", "T"], now=datetime(2026, 12, 23), zone=BERLIN,
                       default_duration=DEFAULT)  # fmt: skip
    with pytest.raises(ValueError, match="aware"):
        next_occurrences(
            Weekly(5, time(19), "T", DEFAULT), after=datetime(2026, 12, 23), zone=BERLIN, count=1
        )


SATURDAY_19 = utc(2026, 12, 26, 18)  # 19:00 CET
TUESDAY_29_19 = utc(2026, 12, 29, 18)

GOOD: list[tuple[str | list[str], OneOff | Weekly]] = [
    ("сб 19:00 Новый год в музее", OneOff(SATURDAY_19, "Новый год в музее", DEFAULT)),
    ("saturday 19:00 New Year 2h", OneOff(SATURDAY_19, "New Year", timedelta(hours=2))),
    ("Saturday 19:00 New Year 2H", OneOff(SATURDAY_19, "New Year", timedelta(hours=2))),
    ("29.12 19:00 Тема 90m", OneOff(TUESDAY_29_19, "Тема", timedelta(minutes=90))),
    ("2026-12-29 19:00 Topic", OneOff(TUESDAY_29_19, "Topic", DEFAULT)),
    ("29.12.2026 19.00 Тема 1ч30м", OneOff(TUESDAY_29_19, "Тема", timedelta(minutes=90))),
    ("в субботу 19:00 Тема", OneOff(SATURDAY_19, "Тема", DEFAULT)),
    ("В СУББОТУ 19:00 Тема", OneOff(SATURDAY_19, "Тема", DEFAULT)),
    ("on Sat 19:00 Topic", OneOff(SATURDAY_19, "Topic", DEFAULT)),
    ("во вторник 19:00 Тема 2ч", OneOff(TUESDAY_29_19, "Тема", timedelta(hours=2))),
    ("вт. 19:00 Тема 1,5ч", OneOff(TUESDAY_29_19, "Тема", timedelta(minutes=90))),
    ("пятницу 9:30 Тема", OneOff(utc(2026, 12, 25, 8, 30), "Тема", DEFAULT)),
    ("29.12 19:00 Topic abc", OneOff(TUESDAY_29_19, "Topic abc", DEFAULT)),
    ("29.12 19:00 Зал 3", OneOff(TUESDAY_29_19, "Зал 3", DEFAULT)),
    ("29.12 19:00 Topic 1h 30m", OneOff(TUESDAY_29_19, "Topic", timedelta(minutes=90))),
    ("29.12 19:00 Topic 15m", OneOff(TUESDAY_29_19, "Topic", timedelta(minutes=15))),
    ("29.12 19:00 Topic 4h", OneOff(TUESDAY_29_19, "Topic", timedelta(hours=4))),
    (
        ["29.12", "19:00", "Новый   год\n", " в музее"],
        OneOff(TUESDAY_29_19, "Новый год в музее", DEFAULT),
    ),
    (f"29.12 19:00 {'x' * 200}", OneOff(TUESDAY_29_19, "x" * 200, DEFAULT)),
    ("29.02 19:00 Високосный день", OneOff(utc(2028, 2, 29, 18), "Високосный день", DEFAULT)),
    ("weekly сб 19:00 Тема", Weekly(5, time(19), "Тема", DEFAULT)),
    ("every sat 19:00 Topic 1h30m", Weekly(5, time(19), "Topic", timedelta(minutes=90))),
    ("Weekly Sunday 9:05 Topic", Weekly(6, time(9, 5), "Topic", DEFAULT)),
    ("еженедельно в среду 18.30 Тема 1,5ч", Weekly(2, time(18, 30), "Тема", timedelta(minutes=90))),
    ("еженедельно пн 0:00 Полночь 45м", Weekly(0, time(0), "Полночь", timedelta(minutes=45))),
]


@pytest.mark.parametrize(("line", "expected"), GOOD, ids=[str(line) for line, _ in GOOD])
def test_good(line: str | list[str], expected: OneOff | Weekly) -> None:
    assert parse(line) == expected


def test_starts_at_is_utc() -> None:
    result = parse("сб 19:00 Тема")
    assert isinstance(result, OneOff)
    assert result.starts_at.utcoffset() == timedelta(0)


def test_today_counts_only_while_the_time_is_ahead() -> None:
    # NOW is Wednesday 12:00.
    assert parse("ср 13:00 Тема") == OneOff(utc(2026, 12, 23, 12), "Тема", DEFAULT)
    assert parse("wednesday 11:00 Topic") == OneOff(utc(2026, 12, 30, 10), "Topic", DEFAULT)
    # Exactly now is not ahead either.
    assert parse("wed 12:00 Topic") == OneOff(utc(2026, 12, 30, 11), "Topic", DEFAULT)


def test_day_month_rolls_to_next_year_once_the_date_passed() -> None:
    after = datetime(2026, 12, 30, 9, 0, tzinfo=BERLIN)
    assert parse("29.12 19:00 Тема", now=after) == OneOff(utc(2027, 12, 29, 18), "Тема", DEFAULT)
    # The same date today is kept, and a passed hour on it is an error rather than a year on.
    assert parse("30.12 19:00 Тема", now=after) == OneOff(utc(2026, 12, 30, 18), "Тема", DEFAULT)
    with pytest.raises(ScheduleError) as caught:
        parse("30.12 8:00 Тема", now=after)
    assert caught.value.code == "in_past"


def test_now_in_another_zone_is_read_in_the_museum_zone() -> None:
    # 23:30 UTC on Friday is already Saturday 00:30 in Berlin, so "сб 19:00" is that day.
    friday_night = utc(2026, 12, 25, 23, 30)
    assert parse("сб 19:00 Тема", now=friday_night) == OneOff(SATURDAY_19, "Тема", DEFAULT)


def test_one_off_across_spring_dst() -> None:
    before = datetime(2027, 3, 26, 12, 0, tzinfo=BERLIN)
    assert parse("сб 19:00 Тема", now=before) == OneOff(utc(2027, 3, 27, 18), "Тема", DEFAULT)
    assert parse("2027-04-03 19:00 Topic", now=before) == OneOff(
        utc(2027, 4, 3, 17), "Topic", DEFAULT
    )


def test_nonexistent_time_in_spring_gap() -> None:
    before = datetime(2027, 3, 25, 12, 0, tzinfo=BERLIN)
    for line in ("2027-03-28 02:30 Topic", "вс 02:30 Тема", "28.03 2:30 Тема", "sun 2:00 T"):
        with pytest.raises(ScheduleError) as caught:
            parse(line, now=before)
        assert caught.value.code == "nonexistent_time", line
    # Either side of the gap is fine.
    assert parse("вс 01:59 Т", now=before) == OneOff(utc(2027, 3, 28, 0, 59), "Т", DEFAULT)
    assert parse("вс 03:00 Т", now=before) == OneOff(utc(2027, 3, 28, 1), "Т", DEFAULT)


def test_ambiguous_autumn_time_is_its_first_occurrence() -> None:
    before = datetime(2027, 10, 25, 12, 0, tzinfo=BERLIN)
    # 02:30 happens twice on 2027-10-31: first at CEST (00:30 UTC), then at CET (01:30 UTC).
    assert parse("2027-10-31 02:30 Topic", now=before) == OneOff(
        utc(2027, 10, 31, 0, 30), "Topic", DEFAULT
    )


SATURDAY_19_WEEKLY = Weekly(5, time(19), "Тема", DEFAULT)


def test_weekly_keeps_wall_time_across_spring_dst() -> None:
    starts = next_occurrences(SATURDAY_19_WEEKLY, after=utc(2027, 3, 15), zone=BERLIN, count=4)
    assert starts == [
        utc(2027, 3, 20, 18),
        utc(2027, 3, 27, 18),  # the night before the change: still CET
        utc(2027, 4, 3, 17),
        utc(2027, 4, 10, 17),
    ]
    assert all(start.astimezone(BERLIN).time() == time(19) for start in starts)
    assert all(start.tzinfo is UTC for start in starts)


def test_weekly_keeps_wall_time_across_autumn_dst() -> None:
    starts = next_occurrences(SATURDAY_19_WEEKLY, after=utc(2027, 10, 20), zone=BERLIN, count=3)
    assert starts == [utc(2027, 10, 23, 17), utc(2027, 10, 30, 17), utc(2027, 11, 6, 18)]
    assert all(start.astimezone(BERLIN).time() == time(19) for start in starts)


def test_weekly_parsed_then_scheduled() -> None:
    weekly = parse("weekly сб 19:00 Тема")
    assert isinstance(weekly, Weekly)
    starts = next_occurrences(weekly, after=utc(2027, 3, 21), zone=BERLIN, count=2)
    assert starts == [utc(2027, 3, 27, 18), utc(2027, 4, 3, 17)]


def test_next_occurrences_strictly_after() -> None:
    # `after` exactly at a start skips it; a minute before includes it.
    assert next_occurrences(
        SATURDAY_19_WEEKLY, after=utc(2026, 12, 26, 18), zone=BERLIN, count=1
    ) == [utc(2027, 1, 2, 18)]
    assert next_occurrences(
        SATURDAY_19_WEEKLY, after=utc(2026, 12, 26, 17, 59), zone=BERLIN, count=1
    ) == [utc(2026, 12, 26, 18)]
    assert next_occurrences(SATURDAY_19_WEEKLY, after=NOW, zone=BERLIN, count=0) == []
    with pytest.raises(ValueError):
        next_occurrences(SATURDAY_19_WEEKLY, after=NOW, zone=BERLIN, count=-1)


def test_weekly_in_the_gap_moves_forward_and_overlap_takes_first() -> None:
    gap = Weekly(6, time(2, 30), "T", DEFAULT)
    assert next_occurrences(gap, after=utc(2027, 3, 22), zone=BERLIN, count=2) == [
        utc(2027, 3, 28, 1, 30),  # 03:30 CEST
        utc(2027, 4, 4, 0, 30),  # 02:30 CEST
    ]
    assert next_occurrences(gap, after=utc(2027, 10, 25), zone=BERLIN, count=2) == [
        utc(2027, 10, 31, 0, 30),  # 02:30 CEST, the first of the two
        utc(2027, 11, 7, 1, 30),  # 02:30 CET
    ]


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("1h", 60),
        ("90m", 90),
        ("1h30m", 90),
        ("1.5h", 90),
        ("1,5ч", 90),
        ("2ч", 120),
        ("90м", 90),
        ("1ч30м", 90),
        ("1H30M", 90),
        ("0.25h", 15),
        ("0h", 0),
        ("5h", 300),
        ("abc", None),
        ("", None),
        ("h", None),
        ("90", None),
        ("1h90m", None),
        ("1.5h30m", None),
        ("1.5m", None),
        ("1.33h", None),
        ("7pm", None),
        ("30m1h", None),
        ("١h", None),
    ],
)
def test_parse_duration(text: str, minutes: int | None) -> None:
    expected = None if minutes is None else timedelta(minutes=minutes)
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "weekday"),
    [
        ("mon", 0),
        ("Tuesday", 1),
        ("WED", 2),
        ("thu", 3),
        ("fri", 4),
        ("sat", 5),
        ("sunday", 6),
        ("пн", 0),
        ("вт", 1),
        ("среда", 2),
        ("среду", 2),
        ("Четверг", 3),
        ("пятницу", 4),
        ("СУББОТУ", 5),
        ("вс", 6),
        ("воскресенье", 6),
        ("сб.", 5),
        ("в субботу", 5),
        ("во вторник", 1),
        ("on Friday", 4),
        ("funday", None),
        ("в", None),
        ("", None),
        ("в суббота среда", None),
        ("29.12", None),
    ],
)
def test_parse_weekday(text: str, weekday: int | None) -> None:
    assert parse_weekday(text) == weekday


def test_split_duration_for_start_salon() -> None:
    assert split_duration(["Тема", "дня", "2ч"], default=DEFAULT) == (
        ["Тема", "дня"],
        timedelta(hours=2),
    )
    assert split_duration(["Тема", "дня"], default=DEFAULT) == (["Тема", "дня"], DEFAULT)
    assert split_duration([], default=DEFAULT) == ([], DEFAULT)
    with pytest.raises(ScheduleError) as caught:
        split_duration(["Тема", "5h"], default=DEFAULT)
    assert caught.value.code == "duration_out_of_range"
