"""WorkCalendar: working days, fallback years, overrides and deadline arithmetic."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.calendar import END_OF_DAY, WorkCalendar
from tests.steps import SH, sh

ORG_HOLIDAYS = {"2027-01-01": "off", "2027-02-20": "work"}
LOGGER = "bot.domain.calendar"

# Shared by the property tests; it may log its one fallback warning, which is fine here.
CAL = WorkCalendar.from_org(ORG_HOLIDAYS, "Asia/Shanghai")


def fallback_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


# -- which days are working days -----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 9, 30), True),  # Wednesday before National Day
        *((date(2026, 10, d), False) for d in range(1, 8)),  # National Day + Mid-Autumn 2026
        (date(2026, 10, 8), True),
        (date(2026, 10, 9), True),
        (date(2026, 10, 10), True),  # Saturday make-up day (调休)
        (date(2026, 10, 11), False),  # plain Sunday
        (date(2026, 9, 20), True),  # Sunday make-up day
        (date(2026, 1, 1), False),
        (date(2026, 1, 4), True),  # Sunday make-up day
        (date(2026, 2, 16), False),  # Spring Festival
        (date(2026, 2, 28), True),  # Saturday make-up day
        (date(2026, 3, 9), True),  # plain Monday
        (date(2026, 3, 7), False),  # plain Saturday
        (date(2004, 1, 1), False),  # first year of chinese_calendar data
    ],
)
def test_is_working_day_follows_chinese_calendar(day: date, working: bool) -> None:
    assert WorkCalendar().is_working_day(day) is working


def test_fallback_years_use_weekdays_and_org_overrides() -> None:
    cal = WorkCalendar.from_org(ORG_HOLIDAYS)
    assert cal.is_working_day(date(2027, 1, 1)) is False  # Friday, off by the org file
    assert cal.is_working_day(date(2027, 2, 20)) is True  # Saturday, work by the org file
    assert cal.is_working_day(date(2027, 1, 4)) is True  # Monday
    assert cal.is_working_day(date(2027, 1, 9)) is False  # Saturday
    assert cal.is_working_day(date(2003, 12, 31)) is True  # Wednesday before the data
    assert cal.is_working_day(date(1900, 1, 1)) is True  # Monday
    assert cal.is_working_day(date(2200, 12, 31)) is True  # Wednesday


def test_overrides_win_over_chinese_calendar() -> None:
    cal = WorkCalendar({date(2026, 10, 5): True, date(2026, 10, 8): False})
    assert cal.is_working_day(date(2026, 10, 5)) is True
    assert cal.is_working_day(date(2026, 10, 8)) is False
    assert cal.is_working_day(date(2026, 10, 9)) is True
    start = sh(2026, 9, 30, 10, 0)
    assert cal.add_working_days(start, 1) == sh(2026, 10, 5, 10, 0)
    assert cal.add_working_days(start, 2) == sh(2026, 10, 9, 10, 0)


def test_is_working_day_accepts_datetimes_in_local_time() -> None:
    # 2026-09-30 20:00 UTC is 2026-10-01 04:00 in Shanghai: a holiday.
    assert CAL.is_working_day(datetime(2026, 9, 30, 20, 0, tzinfo=timezone.utc)) is False
    assert CAL.is_working_day(datetime(2026, 9, 30, 20, 0)) is True  # naive: its own date


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_never_crashes_1900_to_2200(day: date) -> None:
    assert isinstance(CAL.is_working_day(day), bool)
    assert CAL.next_working_day(day) > day


# -- from_org -------------------------------------------------------------------------------


def test_from_org_reads_strings_dates_booleans_and_chinese() -> None:
    cal = WorkCalendar.from_org(
        {"2027-01-01": "off", date(2027, 1, 2): "WORK", "2027-01-03": True,
         "2027-01-04": False, "2027-01-05": "休", "2027-01-09": "班", "2027-01-10": "true",
         "2027-01-11": "false"},
        "Asia/Shanghai",
    )
    assert cal.overrides == {
        date(2027, 1, 1): False, date(2027, 1, 2): True, date(2027, 1, 3): True,
        date(2027, 1, 4): False, date(2027, 1, 5): False, date(2027, 1, 9): True,
        date(2027, 1, 10): True, date(2027, 1, 11): False,
    }
    assert cal.tz == SH


def test_from_org_reads_yaml_as_written_in_the_org_file() -> None:
    # YAML 1.1 turns a bare `off` into False and an unquoted date into a date.
    raw = yaml.safe_load('holidays:\n  "2027-01-01": off\n  2027-02-20: work\n')["holidays"]
    assert WorkCalendar.from_org(raw).overrides == {date(2027, 1, 1): False,
                                                    date(2027, 2, 20): True}


def test_from_org_empty_or_none() -> None:
    assert WorkCalendar.from_org(None).overrides == {}
    assert WorkCalendar.from_org({}, "UTC").tz == ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("holidays", "message"),
    [
        ({"2027-13-01": "off"}, "holidays: bad date '2027-13-01'"),
        ({"next friday": "off"}, "holidays: bad date 'next friday'"),
        ({"2027-01-01": "maybe"}, "holidays.2027-01-01: expected 'off' or 'work', got 'maybe'"),
        ({"2027-01-01": 3}, "holidays.2027-01-01: expected 'off' or 'work', got '3'"),
        (["2027-01-01"], "holidays: expected a mapping"),
    ],
)
def test_from_org_names_the_bad_entry(holidays: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        WorkCalendar.from_org(holidays)  # type: ignore[arg-type]
    assert str(err.value).startswith(message)


def test_bad_timezone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        WorkCalendar.from_org({}, "Mars/Olympus")


# -- the fallback warning -------------------------------------------------------------------


def test_dispatched_end_of_2026_five_working_days(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    cal = WorkCalendar.from_org(ORG_HOLIDAYS, "Asia/Shanghai")
    deadline = cal.add_working_days(sh(2026, 12, 29, 10, 0), 5)
    # Wed 30, Thu 31, (Fri Jan 1 off by the org file, weekend), Mon 4, Tue 5, Wed 6.
    assert deadline == sh(2027, 1, 6, 10, 0)
    assert deadline.tzinfo == SH
    # more fallback lookups, other years too: still exactly one warning, naming 2027
    cal.add_working_days(sh(2027, 6, 1, 10, 0), 30)
    cal.is_working_day(date(2031, 5, 5))
    warnings = fallback_warnings(caplog)
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()


def test_no_warning_inside_chinese_calendar_years(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    cal = WorkCalendar()
    cal.add_working_days(sh(2026, 3, 2, 10, 0), 20)
    assert fallback_warnings(caplog) == []


def test_overridden_days_do_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    cal = WorkCalendar.from_org(ORG_HOLIDAYS)
    assert cal.is_working_day(date(2027, 1, 1)) is False
    assert fallback_warnings(caplog) == []


# -- add_working_days -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (sh(2026, 3, 9, 10, 0), 1, sh(2026, 3, 10, 10, 0)),  # Mon -> Tue
        (sh(2026, 3, 6, 17, 30), 1, sh(2026, 3, 9, 17, 30)),  # Fri -> Mon
        (sh(2026, 3, 6, 17, 30), 5, sh(2026, 3, 13, 17, 30)),
        (sh(2026, 9, 30, 10, 0), 1, sh(2026, 10, 8, 10, 0)),  # over National Day
        (sh(2026, 9, 30, 10, 0), 3, sh(2026, 10, 10, 10, 0)),  # Saturday make-up day counts
        (sh(2026, 9, 30, 10, 0), 4, sh(2026, 10, 12, 10, 0)),
        (sh(2026, 2, 13, 9, 0), 1, sh(2026, 2, 14, 9, 0)),  # Fri -> Saturday make-up day
        (sh(2026, 2, 14, 9, 0), 1, sh(2026, 2, 24, 9, 0)),  # over Spring Festival
        (sh(2026, 3, 9, 0, 0), 1, sh(2026, 3, 10, 0, 0)),  # midnight of a working day
        # start on a non-working day: day 1 is the next working day, deadline at its end
        (sh(2026, 3, 7, 15, 0), 1, sh(2026, 3, 9, 23, 59, 59)),  # Sat -> end of Mon
        (sh(2026, 3, 8, 23, 59), 2, sh(2026, 3, 10, 23, 59, 59)),
        (sh(2026, 10, 3, 8, 0), 1, sh(2026, 10, 8, 23, 59, 59)),
        (sh(2026, 10, 3, 8, 0), 3, sh(2026, 10, 10, 23, 59, 59)),
        (sh(2026, 10, 3, 8, 0), 0, sh(2026, 10, 3, 8, 0)),
        (sh(2026, 3, 9, 10, 0), 0, sh(2026, 3, 9, 10, 0)),
    ],
)
def test_add_working_days_examples(start: datetime, n: int, expected: datetime) -> None:
    assert CAL.add_working_days(start, n) == expected


def test_add_working_days_returns_local_time_for_any_input_zone() -> None:
    start = datetime(2026, 3, 9, 2, 0, tzinfo=timezone.utc)  # Mon 10:00 in Shanghai
    result = CAL.add_working_days(start, 1)
    assert result.tzinfo == SH
    assert (result.date(), result.time()) == (date(2026, 3, 10), time(10, 0))
    zero = CAL.add_working_days(start, 0)
    assert zero == start and zero.tzinfo == SH


def test_add_working_days_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="aware"):
        CAL.add_working_days(datetime(2026, 3, 9, 10, 0), 1)
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_days(sh(2026, 3, 9, 10, 0), -1)
    with pytest.raises(ValueError, match="whole number"):
        CAL.add_working_days(sh(2026, 3, 9, 10, 0), 1.5)  # type: ignore[arg-type]


def test_add_working_days_keeps_wall_time_across_dst() -> None:
    cal = WorkCalendar(tz="Europe/Berlin")  # overrides irrelevant; 2026 DST starts Sun 29 Mar
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 27, 10, 0, tzinfo=berlin)  # Friday, UTC+1
    assert cal.add_working_days(start, 1) == datetime(2026, 3, 30, 10, 0, tzinfo=berlin)


starts = st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2100, 12, 31, 23, 59),
                      timezones=st.just(SH))


@settings(max_examples=400, deadline=None)
@given(start=starts, n=st.integers(0, 30))
def test_add_working_days_properties(start: datetime, n: int) -> None:
    deadline = CAL.add_working_days(start, n)
    assert deadline.tzinfo == SH
    assert deadline >= start
    if n == 0:
        assert deadline == start
        return
    assert deadline > start
    assert CAL.is_working_day(deadline.date())
    # exactly n working days from the day after start's date up to the deadline's date
    days = (deadline.date() - start.date()).days
    span = [start.date() + timedelta(days=i) for i in range(1, days + 1)]
    assert sum(CAL.is_working_day(d) for d in span) == n
    assert CAL.working_days_between(start, deadline) == n
    # and the non-working days in between are exactly the ones skipped
    assert len(span) - n == sum(not CAL.is_working_day(d) for d in span)
    if CAL.is_working_day(start.date()):
        assert deadline.time() == start.time()
    else:
        assert deadline.time() == END_OF_DAY
    assert CAL.add_working_days(start, n + 1) > deadline


@settings(max_examples=200, deadline=None)
@given(start=starts, a=st.integers(0, 15), b=st.integers(0, 15))
def test_add_working_days_is_additive(start: datetime, a: int, b: int) -> None:
    assert CAL.add_working_days(CAL.add_working_days(start, a), b) == CAL.add_working_days(
        start, a + b)


# -- working_days_between, next_working_day_start, next_working_time, working hours -------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (sh(2026, 3, 9, 10, 0), sh(2026, 3, 9, 23, 0), 0),  # same day
        (sh(2026, 3, 6, 17, 0), sh(2026, 3, 9, 9, 0), 1),  # Fri -> Mon
        (sh(2026, 3, 6, 17, 0), sh(2026, 3, 8, 9, 0), 0),  # Fri -> Sun
        (sh(2026, 3, 9, 10, 0), sh(2026, 3, 10, 0, 0), 1),  # boundary itself counts
        (sh(2026, 9, 30, 10, 0), sh(2026, 10, 11, 10, 0), 3),  # 8, 9, 10 Oct
        (sh(2026, 3, 10, 10, 0), sh(2026, 3, 9, 10, 0), 0),  # b before a
    ],
)
def test_working_days_between(a: datetime, b: datetime, expected: int) -> None:
    assert CAL.working_days_between(a, b) == expected


def test_next_working_day_start() -> None:
    assert CAL.next_working_day_start(sh(2026, 3, 7, 12, 0)) == sh(2026, 3, 9)  # Sat -> Mon
    assert CAL.next_working_day_start(sh(2026, 3, 9, 0, 0)) == sh(2026, 3, 10)  # strictly after
    assert CAL.next_working_day_start(sh(2026, 9, 30, 23, 0)) == sh(2026, 10, 8)
    utc = datetime(2026, 3, 9, 17, 0, tzinfo=timezone.utc)  # Tue 01:00 in Shanghai
    assert CAL.next_working_day_start(utc) == sh(2026, 3, 11)


@pytest.mark.parametrize(
    ("now", "hour", "expected"),
    [
        (sh(2026, 3, 9, 8, 0), 9, sh(2026, 3, 9, 9, 0)),
        (sh(2026, 3, 9, 9, 0), 9, sh(2026, 3, 9, 9, 0)),  # exactly now
        (sh(2026, 3, 9, 9, 0, 1), 9, sh(2026, 3, 10, 9, 0)),
        (sh(2026, 3, 6, 18, 0), 9, sh(2026, 3, 9, 9, 0)),  # Fri evening -> Mon
        (sh(2026, 3, 7, 8, 0), 9, sh(2026, 3, 9, 9, 0)),  # Saturday morning -> Mon
        (sh(2026, 10, 1, 8, 0), 9, sh(2026, 10, 8, 9, 0)),
        (sh(2026, 3, 9, 12, 0), 14, sh(2026, 3, 9, 14, 0)),
        (sh(2027, 1, 1, 8, 0), 9, sh(2027, 1, 4, 9, 0)),  # org override in a fallback year
    ],
)
def test_next_working_time(now: datetime, hour: int, expected: datetime) -> None:
    assert CAL.next_working_time(now, hour) == expected


def test_next_working_time_rejects_bad_hour() -> None:
    with pytest.raises(ValueError, match="hour"):
        CAL.next_working_time(sh(2026, 3, 9, 8, 0), 24)


@settings(max_examples=200, deadline=None)
@given(now=starts, hour=st.integers(0, 23))
def test_next_working_time_properties(now: datetime, hour: int) -> None:
    result = CAL.next_working_time(now, hour)
    assert result >= now
    assert CAL.is_working_day(result.date())
    assert (result.hour, result.minute, result.second, result.microsecond) == (hour, 0, 0, 0)
    # no earlier working-day hour:00 at or after now
    d = now.date()
    while d < result.date():
        assert not CAL.is_working_day(d) or datetime.combine(d, time(hour), SH) < now
        d += timedelta(days=1)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (sh(2026, 3, 9, 8, 59), False),
        (sh(2026, 3, 9, 9, 0), True),
        (sh(2026, 3, 9, 17, 59), True),
        (sh(2026, 3, 9, 18, 0), False),
        (sh(2026, 10, 2, 10, 0), False),  # holiday
        (sh(2026, 10, 10, 10, 0), True),  # make-up Saturday
        (datetime(2026, 3, 9, 2, 0, tzinfo=timezone.utc), True),  # 10:00 local
    ],
)
def test_is_working_hours(when: datetime, expected: bool) -> None:
    assert CAL.is_working_hours(when) is expected


def test_is_working_hours_custom_window() -> None:
    assert CAL.is_working_hours(sh(2026, 3, 9, 8, 30), start_hour=8, end_hour=17)
    assert not CAL.is_working_hours(sh(2026, 3, 9, 17, 0), start_hour=8, end_hour=17)
