"""SLA durations, reminder times and the per-kind/urgency deadline policy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.calendar import WorkCalendar
from bot.domain.sla import (
    CLOCKS,
    KINDS,
    Duration,
    SlaPolicy,
    deadline,
    fraction_point,
    parse_duration,
    reclassified,
    reminder_times,
)
from tests.steps import SH, sh

CAL = WorkCalendar.from_org({"2027-01-01": "off", "2027-02-20": "work"}, "Asia/Shanghai")
MIN, HOUR, DAY = 60, 3600, 86400


def wd(n: int) -> Duration:
    return Duration(n, "working_days")


def secs(n: float) -> Duration:
    return Duration(n, "seconds")


# -- parse_duration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "canonical"),
    [
        ("30 s", secs(30), "30 s"),
        ("20 sec", secs(20), "20 s"),
        ("45 seconds", secs(45), "45 s"),
        ("1 second", secs(1), "1 s"),
        ("60 s", secs(60), "1 min"),
        ("20 min", secs(20 * MIN), "20 min"),
        ("20min", secs(20 * MIN), "20 min"),
        ("5 Minutes", secs(5 * MIN), "5 min"),
        ("2 h", secs(2 * HOUR), "2 h"),
        ("2H", secs(2 * HOUR), "2 h"),
        ("1 hour", secs(HOUR), "1 h"),
        ("1.5 hours", secs(90 * MIN), "90 min"),
        ("2 d", secs(2 * DAY), "2 d"),
        ("7 days", secs(7 * DAY), "7 d"),
        ("  7   DAYS ", secs(7 * DAY), "7 d"),
        ("1 day", secs(DAY), "1 d"),
        ("0.5 d", secs(12 * HOUR), "12 h"),
        ("1 week", secs(7 * DAY), "7 d"),
        ("1 working day", wd(1), "1 working day"),
        ("5 working days", wd(5), "5 working days"),
        ("5 Working-Days", wd(5), "5 working days"),
        ("2 workdays", wd(2), "2 working days"),
        ("3 business days", wd(3), "3 working days"),
        ("3 wd", wd(3), "3 working days"),
        ("3wd", wd(3), "3 working days"),
        ("0 wd", wd(0), "0 working days"),
        ("5个工作日", wd(5), "5 working days"),
        ("5 个工作日", wd(5), "5 working days"),
        ("1工作日", wd(1), "1 working day"),
        ("三个工作日", wd(3), "3 working days"),
        ("2天", secs(2 * DAY), "2 d"),
        ("两天", secs(2 * DAY), "2 d"),
        ("7个自然日", secs(7 * DAY), "7 d"),
        ("十五天", secs(15 * DAY), "15 d"),
        ("二十一天", secs(21 * DAY), "21 d"),
        ("30分钟", secs(30 * MIN), "30 min"),
        ("2小时", secs(2 * HOUR), "2 h"),
        ("2个小时", secs(2 * HOUR), "2 h"),
        ("半小时", secs(30 * MIN), "30 min"),
        ("20秒", secs(20), "20 s"),
        ("２天", secs(2 * DAY), "2 d"),  # full-width digit
        ("0.1 s", secs(0.1), "0.1 s"),
    ],
)
def test_parse_duration_table(text: str, expected: Duration, canonical: str) -> None:
    parsed = parse_duration(text)
    assert parsed == expected
    assert str(parsed) == canonical
    assert parse_duration(canonical) == parsed


@pytest.mark.parametrize(
    "text",
    ["", "   ", "five days", "5", "d", "5 dd", "-5 d", "5 d 3 h", "soon", "5 months",
     "十十天", "一百天", "1,5 d", "wd 5", None, 5, 2.5],
)
def test_parse_duration_rejects_nonsense(text: object) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(text)  # type: ignore[arg-type]
    assert str(err.value) == (f"cannot understand duration '{text}' "
                              "(examples: '30 min', '2 d', '5 working days')")


@pytest.mark.parametrize("text", ["1.5 working days", "0.5 wd", "半个工作日"])
def test_fractional_working_days_are_rejected_at_parse_time(text: str) -> None:
    with pytest.raises(ValueError, match=r"cannot understand duration .*whole number"):
        parse_duration(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.integers(0, 10**8).map(secs),
    st.floats(0, 10**6, allow_nan=False).map(lambda x: secs(round(x, 3))),
    st.integers(0, 1000).map(wd),
))
def test_canonical_form_round_trips(duration: Duration) -> None:
    assert parse_duration(str(duration)) == duration


# -- Duration -------------------------------------------------------------------------------


def test_duration_fields_and_constructors() -> None:
    d = parse_duration("5 working days")
    assert (d.amount, d.unit, d.working) == (5, "working_days", True)
    n = parse_duration("2 h")
    assert (n.amount, n.unit, n.working) == (7200, "seconds", False)
    assert Duration(5, "working_days", True) == d == Duration.working_days(5)
    assert Duration.of(hours=2) == n == Duration(7200)
    assert Duration.of(days=1, minutes=30).as_timedelta() == timedelta(days=1, minutes=30)
    with pytest.raises(ValueError, match="no fixed length"):
        d.as_timedelta()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((5, "hours"), "unit"),
        ((5, "working_days", False), "contradicts"),
        ((5, "seconds", True), "contradicts"),
        ((-1, "seconds"), ">= 0"),
        ((float("nan"), "seconds"), ">= 0"),
        ((1.5, "working_days"), "whole number"),
        (("5", "seconds"), "number"),
    ],
)
def test_duration_validates(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Duration(*args)


def test_duration_after_natural_and_working() -> None:
    start = sh(2026, 3, 6, 10, 0)  # Friday
    assert parse_duration("30 min").after(start, CAL) == sh(2026, 3, 6, 10, 30)
    assert parse_duration("2 d").after(start, CAL) == sh(2026, 3, 8, 10, 0)
    assert parse_duration("1 working day").after(start, CAL) == sh(2026, 3, 9, 10, 0)
    assert parse_duration("5 working days").after(sh(2026, 12, 29, 10, 0), CAL) == sh(
        2027, 1, 6, 10, 0)
    # results are in the calendar's zone; without a calendar natural ones keep start's zone
    utc_start = datetime(2026, 3, 6, 2, 0, tzinfo=timezone.utc)
    assert parse_duration("1 h").after(utc_start, CAL).tzinfo == SH
    assert parse_duration("1 h").after(utc_start).tzinfo == timezone.utc


def test_duration_after_natural_is_elapsed_time_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 28, 12, 0, tzinfo=berlin)  # the night before DST starts
    end = parse_duration("1 d").after(start, WorkCalendar(tz="Europe/Berlin"))
    # (same-tzinfo subtraction is wall-clock arithmetic in Python, so compare in UTC)
    assert end.astimezone(timezone.utc) - start.astimezone(timezone.utc) == timedelta(days=1)
    assert end.hour == 13  # wall clock jumped forward


def test_duration_after_rejects_naive_and_missing_calendar() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_duration("1 h").after(datetime(2026, 3, 6, 10, 0), CAL)
    with pytest.raises(ValueError, match="WorkCalendar"):
        parse_duration("1 wd").after(sh(2026, 3, 6, 10, 0))


# -- reminder times -------------------------------------------------------------------------


def test_reminder_times_natural_window() -> None:
    start = sh(2026, 3, 9, 10, 0)
    end = parse_duration("30 min").after(start, CAL)
    assert reminder_times(start, end, [0.5, 0.8]) == [sh(2026, 3, 9, 10, 15),
                                                      sh(2026, 3, 9, 10, 24)]


def test_reminder_times_working_window_uses_natural_time() -> None:
    start = sh(2026, 3, 6, 10, 0)  # Friday
    end = parse_duration("1 working day").after(start, CAL)  # Monday 10:00
    assert reminder_times(start, end, [0.5, 0.8]) == [sh(2026, 3, 7, 22, 0),
                                                      sh(2026, 3, 8, 19, 36)]


def test_fraction_point_edges_order_and_zone() -> None:
    start, end = sh(2026, 3, 9, 10, 0), sh(2026, 3, 10, 10, 0)
    assert fraction_point(start, end, 0) == start
    assert fraction_point(start, end, 1) == end
    assert reminder_times(start, end, [0.8, 0.5]) == [sh(2026, 3, 10, 5, 12),
                                                      sh(2026, 3, 9, 22, 0)]
    assert reminder_times(start, end, []) == []
    utc = datetime(2026, 3, 9, 2, 0, tzinfo=timezone.utc)
    assert fraction_point(utc, end, 0.5).tzinfo == timezone.utc
    with pytest.raises(ValueError, match="between 0 and 1"):
        fraction_point(start, end, 1.5)


@settings(max_examples=200, deadline=None)
@given(start=st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2100, 1, 1),
                          timezones=st.just(SH)),
       n=st.integers(0, 30), fractions=st.lists(st.floats(0.01, 0.99), max_size=4))
def test_reminders_fall_inside_the_window(start: datetime, n: int, fractions: list) -> None:
    end = CAL.add_working_days(start, n)
    for point in reminder_times(start, end, sorted(fractions)):
        assert start <= point <= end


# -- SlaPolicy ------------------------------------------------------------------------------


def test_defaults() -> None:
    for policy in (SlaPolicy(), SlaPolicy.from_org({}), SlaPolicy.from_org(None)):
        assert policy.window("accept", "help", False) == wd(1)
        assert policy.window("progress", "help", False) == secs(7 * DAY)
        assert policy.window("resolve", "help", False) == wd(5)
        assert policy.window("accept", "help", True) == secs(30 * MIN)
        assert policy.window("progress", "help", True) == secs(DAY)
        assert policy.window("resolve", "help", True) == secs(DAY)
        assert policy.reopen == wd(3)
        assert policy.public_response == wd(1)
        assert policy.reminders == (0.5, 0.8)
        assert policy.rating_reminder == secs(2 * DAY)
        assert policy.rating_close == secs(7 * DAY)
    assert SlaPolicy() == SlaPolicy.from_org({})


ORG_YAML = """
sla:
  normal: {accept: 1 working day, progress: 7 d, resolve: 5 working days}
  urgent: {accept: 30 min, resolve: 1 d}
  reopen: 3 working days
  public_response: 1 working day
  reminders: [0.5, 0.8]
  rating_reminder: 2 d
  rating_close: 7 d
"""


def test_org_example_file() -> None:
    policy = SlaPolicy.from_org(yaml.safe_load(ORG_YAML)["sla"])
    assert policy == SlaPolicy()
    assert policy.window("progress", "complaint", True) == secs(DAY)  # default filled in


def test_lookup_order_kind_then_urgency_then_default() -> None:
    policy = SlaPolicy.from_org({
        "normal": {"resolve": "4 working days"},
        "urgent": {"accept": "15 min"},
        "complaint": {"resolve": "10 working days"},
        "complaint_urgent": {"resolve": "2 d"},
        "report_normal": {"accept": "2 wd"},
        "consultation_urgent": {"progress": "2 h"},
    })
    w = policy.window
    assert w("resolve", "complaint", False) == wd(10)  # kind+urgency
    assert w("resolve", "complaint", True) == secs(2 * DAY)  # kind+urgency
    assert w("accept", "complaint", False) == wd(1)  # no kind entry -> default
    assert w("accept", "complaint", True) == secs(15 * MIN)  # urgency section
    assert w("resolve", "help", False) == wd(4)  # urgency section
    assert w("resolve", "help", True) == secs(DAY)  # default
    assert w("accept", "report", False) == wd(2)  # <kind>_normal spelling
    assert w("accept", "report", True) == secs(15 * MIN)
    assert w("progress", "consultation", True) == secs(2 * HOUR)
    assert w("progress", "consultation", False) == secs(7 * DAY)
    assert w("resolve", None, False) == wd(4)  # no kind yet
    assert w("resolve") == wd(4)


def test_kind_section_applies_to_its_urgency_only() -> None:
    policy = SlaPolicy.from_org({"complaint": {"resolve": "10 working days"}})
    assert policy.window("resolve", "complaint", True) == secs(DAY)


def test_every_kind_and_clock_has_a_window() -> None:
    policy = SlaPolicy()
    for kind in (*KINDS, None):
        for clock in CLOCKS:
            for urgent in (False, True):
                assert isinstance(policy.window(clock, kind, urgent), Duration)


def test_window_rejects_unknown_clock_and_kind() -> None:
    with pytest.raises(ValueError, match="unknown clock 'close'"):
        SlaPolicy().window("close", "help", False)
    with pytest.raises(ValueError, match="unknown ticket kind 'praise'"):
        SlaPolicy().window("accept", "praise", False)


def test_from_org_accepts_variants() -> None:
    policy = SlaPolicy.from_org({
        "normal": None, "reminders": ["80%", 0.5, 0.5, "25%"], "reopen": Duration.working_days(2),
        "rating_close": "10天",
    })
    assert policy.reminders == (0.25, 0.5, 0.8)
    assert policy.reopen == wd(2)
    assert policy.rating_close == secs(10 * DAY)
    assert SlaPolicy.from_org({"reminders": []}).reminders == ()


@pytest.mark.parametrize(
    ("sla", "message"),
    [
        ({"normal": {"resolve": "five days"}},
         "sla.normal.resolve: cannot understand duration 'five days' "
         "(examples: '30 min', '2 d', '5 working days')"),
        ({"urgent": {"accept": 30}}, "sla.urgent.accept: cannot understand duration '30'"),
        ({"complaint_urgent": {"resolve": "1.5 wd"}},
         "sla.complaint_urgent.resolve: cannot understand duration '1.5 wd': "
         "working days must be a whole number"),
        ({"normal": {"acept": "1 d"}}, "sla.normal.acept: unknown clock"),
        ({"complaints": {"resolve": "1 d"}}, "sla.complaints: unknown key"),
        ({"normal": "5 d"}, "sla.normal: expected a mapping"),
        ({"complaint": {}, "complaint_normal": {}},
         "sla.complaint_normal: same section as sla.complaint"),
        ({"reopen": "soon"}, "sla.reopen: cannot understand duration 'soon'"),
        ({"public_response": None}, "sla.public_response: cannot understand duration 'None'"),
        ({"rating_reminder": "1.5 working days"}, "sla.rating_reminder: cannot understand"),
        ({"reminders": [0.5, 1.2]}, "sla.reminders[1]: expected a fraction between 0 and 1"),
        ({"reminders": [0]}, "sla.reminders[0]: expected a fraction"),
        ({"reminders": ["half"]}, "sla.reminders[0]: expected a fraction"),
        ({"reminders": [True]}, "sla.reminders[0]: expected a fraction"),
        ({"reminders": 0.5}, "sla.reminders: expected a list"),
        ({"reminders": "0.5"}, "sla.reminders: expected a list"),
        ([1, 2], "sla: expected a mapping"),
    ],
)
def test_from_org_errors_name_the_key(sla: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        SlaPolicy.from_org(sla)  # type: ignore[arg-type]
    assert str(err.value).startswith(message)


# -- deadline() -----------------------------------------------------------------------------


def test_deadline_convenience() -> None:
    policy = SlaPolicy.from_org({"complaint": {"resolve": "10 working days"}})
    start = sh(2026, 12, 29, 10, 0)
    assert deadline(start, "resolve", "help", False, policy, CAL) == sh(2027, 1, 6, 10, 0)
    assert deadline(start, "resolve", "complaint", False, policy, CAL) == sh(2027, 1, 13, 10, 0)
    assert deadline(start, "accept", "help", True, policy, CAL) == sh(2026, 12, 29, 10, 30)
    assert deadline(start, "resolve", "help", True, policy, CAL) == sh(2026, 12, 30, 10, 0)
    # dispatched on a holiday: counting starts on the next working day, deadline at its end
    assert deadline(sh(2026, 10, 1, 9, 0), "accept", "help", False, policy, CAL) == sh(
        2026, 10, 8, 23, 59, 59)


def test_scan_interval_parses() -> None:
    assert parse_duration("60 s").as_timedelta() == timedelta(minutes=1)


class TestReclassified:
    """A dispatcher changes kind or urgency while a department works the ticket (issue #13)."""

    DISPATCHED = sh(2026, 11, 23, 9)  # Monday
    URGENT, NORMAL = secs(30 * MIN), wd(1)

    def test_tighter_runs_from_the_change_never_later_than_before(self):
        now = sh(2026, 11, 23, 11)
        old = self.NORMAL.after(self.DISPATCHED, CAL)  # Tuesday 09:00
        assert reclassified(old, self.NORMAL, self.URGENT, self.DISPATCHED, now, CAL) == sh(2026, 11, 23, 11, 30)
        soon = sh(2026, 11, 23, 11, 10)  # a deadline already nearer stays
        assert reclassified(soon, self.NORMAL, self.URGENT, self.DISPATCHED, now, CAL) == soon

    def test_looser_runs_from_the_dispatch_never_earlier_than_before(self):
        now = sh(2026, 11, 23, 9, 20)
        old = self.URGENT.after(self.DISPATCHED, CAL)
        assert reclassified(old, self.URGENT, self.NORMAL, self.DISPATCHED, now, CAL) == sh(2026, 11, 24, 9)
        extended = sh(2026, 11, 30, 23, 59)  # an approved extension is kept
        assert reclassified(extended, self.URGENT, self.NORMAL, self.DISPATCHED, now, CAL) == extended

    def test_the_same_window_and_no_deadline_are_left_alone(self):
        now, old = sh(2026, 11, 23, 11), sh(2026, 11, 25, 9)
        assert reclassified(old, self.NORMAL, wd(1), self.DISPATCHED, now, CAL) == old
        assert reclassified(None, self.NORMAL, self.URGENT, self.DISPATCHED, now, CAL) is None


def test_an_urgent_nag_more_often_than_every_five_minutes_is_refused():
    # 0 would chase an overdue urgent ticket on every scan.
    with pytest.raises(ValueError, match="sla.urgent_nag: at least 5 min"):
        SlaPolicy.from_org({"urgent_nag": "0 min"})
    assert SlaPolicy.from_org({"urgent_nag": "30 min"}).urgent_nag.as_timedelta().total_seconds() == 1800
    assert SlaPolicy.from_org({}).urgent_nag.as_timedelta().total_seconds() == 7200
