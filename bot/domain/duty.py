"""Who is on duty for urgent matters outside working hours (DESIGN §3, seed 004's 7×24).  Pure.

* A department's roster (org file ``departments[].duty``: user + weekdays 0=Mon..6=Sun)
  names one handler per off-hours *shift*.  A shift runs from the end of a day's working
  hours to the next working-hours start, and belongs to the weekday it began on: Tuesday
  02:00 is still Monday night's shift (the weekday of ``local time - start hour``).
* ``/duty`` overrides the roster for the shift in progress, or the next one when given
  during working hours; it lapses at the next working-hours start (``shift_end``).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.domain.calendar import WorkCalendar

__all__ = ["is_off_hours", "roster_pick", "shift_end", "shift_weekday"]


def is_off_hours(cal: WorkCalendar, now: datetime, hours: tuple[int, int] = (9, 18)) -> bool:
    return not cal.is_working_hours(now, hours[0], hours[1])


def shift_end(cal: WorkCalendar, set_at: datetime, hours: tuple[int, int] = (9, 18)) -> datetime:
    """When a ``/duty`` set at ``set_at`` lapses: the next working-hours start after its shift."""
    start_h, end_h = hours
    local = cal.local(set_at)
    if cal.is_working_hours(set_at, start_h, end_h):
        day_end = local.replace(hour=0, minute=0, second=0, microsecond=0)
        local = day_end + timedelta(hours=min(end_h, 24))
    return cal.next_working_time(local if local > cal.local(set_at) else local + timedelta(microseconds=1),
                                 start_h)


def shift_weekday(cal: WorkCalendar, now: datetime, start_hour: int = 9) -> int:
    """The weekday (0=Monday) of the off-hours shift ``now`` falls in."""
    return (cal.local(now) - timedelta(hours=start_hour)).weekday()


def roster_pick(roster: Iterable[tuple[int, Iterable[int]]], weekday: int) -> int | None:
    """The first rostered user whose weekdays include ``weekday``."""
    for user, weekdays in roster:
        if weekday in set(weekdays):
            return user
    return None


# What people type after /duty to clear the on-duty handler (input words, in both languages).
CLEAR_WORDS = frozenset({"off", "clear", "none", "取消", "关闭", "无"})
