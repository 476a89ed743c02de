"""The pure deadline bookkeeping: reminders, overdue, daily nags, moved deadlines, duty shifts."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import duty, nag
from bot.domain.calendar import WorkCalendar
from tests.steps import sh

CAL = WorkCalendar.from_org({"2027-01-01": "off"}, "Asia/Shanghai")
FR = (0.5, 0.8)


def nine(after: datetime) -> datetime:
    return nag.next_nag_time(CAL, after, time(9, 0))


def run(state: dict, active: tuple[str, ...], now: datetime) -> tuple[dict, list]:
    return nag.step(state, active, now, FR, nine)


def test_reminders_overdue_and_daily_nags_for_one_clock():
    start, due = sh(2026, 11, 23, 9), sh(2026, 11, 24, 9)  # Mon 09:00 -> Tue 09:00
    state, fresh = nag.sync({}, {"accept": due}, start, FR, first_start=start)
    assert fresh == ("accept",)
    active = ("accept",)
    assert nag.next_check(state, active, FR) == sh(2026, 11, 23, 21)  # 50 %
    state, acts = run(state, active, sh(2026, 11, 23, 21))
    assert acts == [nag.Reminder("accept", 0.5, due)]
    assert nag.next_check(state, active, FR) == sh(2026, 11, 24, 4, 12)  # 80 %
    state, acts = run(state, active, sh(2026, 11, 24, 4, 12))
    assert acts == [nag.Reminder("accept", 0.8, due)]
    assert nag.next_check(state, active, FR) == due
    state, acts = run(state, active, due)
    assert acts == [nag.Overdue("accept", due)]
    # The first nag: 09:00 of the next working day; then one each working day (Sat/Sun skipped).
    assert nag.next_check(state, active, FR) == sh(2026, 11, 25, 9)
    state, acts = run(state, active, sh(2026, 11, 25, 9))
    assert acts == [nag.Nag(("accept",), due)]
    for day in (26, 27):
        state, acts = run(state, active, sh(2026, 11, day, 9))
        assert acts == [nag.Nag(("accept",), due)]
    assert nag.next_check(state, active, FR) == sh(2026, 11, 30, 9)  # Monday


def test_several_reminders_due_at_once_send_only_the_latest():
    start, due = sh(2026, 11, 23, 9), sh(2026, 11, 24, 9)
    state, _ = nag.sync({}, {"resolve": due}, start, FR, first_start=start)
    state, acts = run(state, ("resolve",), sh(2026, 11, 24, 6))  # past 50 % and 80 % (a restart)
    assert acts == [nag.Reminder("resolve", 0.8, due)]
    state, acts = run(state, ("resolve",), sh(2026, 11, 24, 6, 30))
    assert acts == []


def test_straight_to_overdue_skips_reminders_and_nothing_repeats():
    start, due = sh(2026, 11, 23, 9), sh(2026, 11, 23, 10)
    state, _ = nag.sync({}, {"accept": due}, start, FR, first_start=start)
    state, acts = run(state, ("accept",), sh(2026, 11, 23, 12))
    assert acts == [nag.Overdue("accept", due)]
    again, acts = run(state, ("accept",), sh(2026, 11, 23, 12, 1))
    assert acts == [] and again == state


def test_moved_deadline_restarts_the_window_now_and_stops_the_nags():
    start, due = sh(2026, 11, 23, 9), sh(2026, 11, 24, 9)
    state, _ = nag.sync({}, {"resolve": due}, start, FR, first_start=start)
    state, _ = run(state, ("resolve",), sh(2026, 11, 24, 10))
    assert state["nag_at"]
    ext_at, new_due = sh(2026, 11, 24, 11), sh(2026, 11, 28, 11)
    state, fresh = nag.sync(state, {"resolve": new_due}, ext_at, FR)
    nag.tidy(state, ("resolve",))
    assert fresh == ("resolve",) and "nag_at" not in state
    assert nag.next_check(state, ("resolve",), FR) == sh(2026, 11, 26, 11)  # 50 % of the new window


def test_sync_keeps_other_keys_and_a_late_first_look_still_owes_the_latest_reminder():
    state = {"progress_at": "x", "rating": {"round": 1}}
    due = sh(2026, 11, 24, 9)
    new, _ = nag.sync(state, {"resolve": due}, sh(2026, 11, 24, 6), FR, first_start=sh(2026, 11, 23, 9))
    assert new["progress_at"] == "x" and new["rating"] == {"round": 1}
    assert state == {"progress_at": "x", "rating": {"round": 1}}  # the input is not mutated
    assert new["clocks"]["resolve"]["sent"] == []
    _, acts = run(new, ("resolve",), sh(2026, 11, 24, 6))
    assert acts == [nag.Reminder("resolve", 0.8, due)]


def test_status_moving_on_stops_everything():
    due = sh(2026, 11, 24, 9)
    state, _ = nag.sync({}, {"accept": due, "resolve": sh(2026, 11, 30, 9)}, sh(2026, 11, 23, 9), FR)
    state, _ = run(state, ("accept",), sh(2026, 11, 24, 10))
    active = nag.active_clocks("ACCEPTED", progress_done=True, resolved_before=False)
    assert active == ("resolve",)
    nag.tidy(state, active)
    assert "nag_at" not in state
    assert nag.next_check(state, (), FR) is None
    assert nag.active_clocks("RESOLVED", progress_done=False, resolved_before=True) == ()
    assert nag.active_clocks("ACCEPTED", progress_done=False, resolved_before=False) == ("progress", "resolve")


def test_nag_mentions_every_overdue_clock_once():
    start = sh(2026, 11, 23, 9)
    dues = {"progress": sh(2026, 11, 24, 9), "resolve": sh(2026, 11, 24, 10)}
    state, _ = nag.sync({}, dues, start, FR, first_start=start)
    active = ("progress", "resolve")
    state, acts = run(state, active, sh(2026, 11, 24, 11))
    assert {a.clock for a in acts} == {"progress", "resolve"}
    state, acts = run(state, active, sh(2026, 11, 25, 9))
    assert acts == [nag.Nag(("progress", "resolve"), sh(2026, 11, 24, 9))]


def test_next_nag_time_skips_holidays_past_the_calendar_data():
    # 2026-12-31 (Thu) -> 2027-01-01 is an org-file holiday -> Mon 2027-01-04.
    assert nine(sh(2026, 12, 31, 15)) == sh(2027, 1, 4, 9)
    assert nag.next_nag_time(CAL, sh(2026, 11, 27, 20), time(8, 30)) == sh(2026, 11, 30, 8, 30)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2099, 12, 1)),
       st.integers(min_value=60, max_value=30 * 86400),
       st.lists(st.integers(min_value=1, max_value=40 * 86400), min_size=1, max_size=12))
def test_next_check_is_always_after_now_and_each_thing_happens_once(start, length, gaps):
    start = start.replace(tzinfo=timezone.utc)
    due = start + timedelta(seconds=length)
    state, _ = nag.sync({}, {"resolve": due}, start, FR, first_start=start)
    now, seen = start, []
    for gap in sorted(gaps):
        now = start + timedelta(seconds=gap)
        state, acts = run(state, ("resolve",), now)
        seen += acts
        nxt = nag.next_check(state, ("resolve",), FR)
        assert nxt is not None and nxt > now
    overdue = [a for a in seen if isinstance(a, nag.Overdue)]
    assert len(overdue) == (1 if now >= due else 0)
    fractions = [a.fraction for a in seen if isinstance(a, nag.Reminder)]
    assert len(fractions) == len(set(fractions))


def test_duty_shift_end_and_weekday():
    hours = (9, 18)
    assert duty.shift_end(CAL, sh(2026, 11, 23, 15), hours) == sh(2026, 11, 24, 9)  # Mon in hours
    assert duty.shift_end(CAL, sh(2026, 11, 23, 22), hours) == sh(2026, 11, 24, 9)  # Mon night
    assert duty.shift_end(CAL, sh(2026, 11, 27, 20), hours) == sh(2026, 11, 30, 9)  # Fri night: whole weekend
    assert duty.shift_end(CAL, sh(2026, 11, 24, 2), hours) == sh(2026, 11, 24, 9)
    assert duty.shift_weekday(CAL, sh(2026, 11, 24, 2), 9) == 0  # Tue 02:00 is Monday night's shift
    assert duty.shift_weekday(CAL, sh(2026, 11, 23, 20), 9) == 0
    assert duty.roster_pick([(1, [0, 1]), (2, [5, 6])], 6) == 2
    assert duty.roster_pick([(1, [0, 1])], 3) is None
    assert duty.is_off_hours(CAL, sh(2026, 11, 28, 10), hours)  # Saturday
    assert not duty.is_off_hours(CAL, sh(2026, 11, 23, 10), hours)
