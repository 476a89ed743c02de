"""Working-day calendar for mainland China (statutory holidays and 调休 make-up days).

Pure domain code: no I/O except logging, no wall-clock reads (callers pass ``now``).

Which days are working days (``WorkCalendar.is_working_day``):

1. the deployment's overrides (the org file's ``holidays:`` map) win;
2. else ``chinese_calendar.is_workday`` for the years it has data for (2004-2026 in 1.11);
3. else Monday-Friday.  The first time a calendar falls back it logs ONE warning naming
   the year (once per ``WorkCalendar`` instance, whatever years follow).

Deadline rule (``add_working_days``, the usual 12345 practice): the clock runs on working
days only.

* ``start`` on a working day: the deadline is the same local time of day on the n-th
  working day after start's date ("dispatched Tue 10:00 + 5 wd" -> the 5th working day
  after Tuesday, 10:00).
* ``start`` on a non-working day: counting starts at 00:00 of the next working day, which
  is day 1; the deadline is the END of the n-th working day, represented as
  **23:59:59** local (microsecond 0), i.e. the last whole second of that day.
* ``n == 0`` returns ``start`` (as the same instant in the calendar's timezone).

With this rule ``working_days_between(start, add_working_days(start, n)) == n`` always.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

__all__ = ["DEFAULT_TZ", "END_OF_DAY", "WorkCalendar"]

log = logging.getLogger(__name__)

DEFAULT_TZ = "Asia/Shanghai"
END_OF_DAY = time(23, 59, 59)
"""Time of day of a deadline that ends "at the end of" a working day."""

_OFF = frozenset({"off", "false", "no", "holiday", "rest", "day off", "休", "休息", "放假", "假"})
_WORK = frozenset({"work", "true", "yes", "on", "working", "workday", "working day",
                   "班", "上班", "补班", "工作日"})
_ONE_DAY = timedelta(days=1)


def _zone(tz: str | tzinfo) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {tz!r}") from None


def _parse_override(key: object, value: object) -> tuple[date, bool]:
    if isinstance(key, datetime):
        raise ValueError(f"holidays: bad date {str(key)!r} (expected YYYY-MM-DD)")
    if isinstance(key, date):
        day = key
    else:
        try:
            day = date.fromisoformat(str(key).strip())
        except ValueError:
            raise ValueError(f"holidays: bad date {str(key)!r} (expected YYYY-MM-DD)") from None
    if isinstance(value, bool):  # YAML 1.1 reads a bare `off` as False, `on` as True
        return day, value
    word = " ".join(str(value).strip().lower().split())
    if word in _OFF:
        return day, False
    if word in _WORK:
        return day, True
    raise ValueError(f"holidays.{day.isoformat()}: expected 'off' or 'work', got {str(value)!r}")


class WorkCalendar:
    """Working days and working-day arithmetic in one timezone."""

    def __init__(self, overrides: Mapping[date, bool] | None = None,
                 tz: str | tzinfo = DEFAULT_TZ) -> None:
        self.tz: tzinfo = _zone(tz)
        self.overrides: dict[date, bool] = {}
        for day, working in (overrides or {}).items():
            if isinstance(day, datetime) or not isinstance(day, date):
                raise ValueError(f"holidays: override key must be a date, got {day!r}")
            self.overrides[day] = bool(working)
        self._cache: dict[date, bool] = {}
        self._warned = False

    @classmethod
    def from_org(cls, holidays: Mapping[object, object] | None,
                 tz: str | tzinfo = DEFAULT_TZ) -> WorkCalendar:
        """Build from the org file's ``holidays:`` map ({"2027-01-01": "off", ...}) and timezone.

        Keys may be ISO strings or ``date`` objects; values ``off``/``work`` (also
        false/true, no/yes, 休/班 and YAML booleans).  A bad entry raises ValueError naming it.
        """
        if holidays is None:
            holidays = {}
        if not isinstance(holidays, Mapping):
            raise ValueError("holidays: expected a mapping of dates to 'off' or 'work'")
        overrides = dict(_parse_override(k, v) for k, v in holidays.items())
        return cls(overrides, tz)

    def __repr__(self) -> str:
        return f"WorkCalendar(tz={self.tz!s}, overrides={len(self.overrides)})"

    def holiday_gap(self, year: int) -> str | None:
        """Why the working days of ``year`` may be wrong (None: chinese_calendar knows it).

        Outside chinese_calendar's years only the overrides separate holidays from working days,
        and a year needs every day off and every make-up working day of the State Council's
        schedule: Spring Festival alone is a week."""
        try:
            chinese_calendar.is_workday(date(year, 1, 2))
            return None
        except NotImplementedError:
            pass
        off = sum(1 for d, working in self.overrides.items() if d.year == year and not working)
        work = sum(1 for d, working in self.overrides.items() if d.year == year and working)
        return (f"chinese_calendar has no holidays for {year} and the org file's holidays: list {off} days off "
                f"and {work} make-up working days of it; until the State Council's {year} schedule is there in "
                f"full, deadlines count its holidays (Spring Festival too) as working days")

    # -- days ---------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """True if ``d`` is a working day (an aware datetime is first converted to local)."""
        if isinstance(d, datetime):
            d = self.local(d).date() if d.tzinfo is not None else d.date()
        cached = self._cache.get(d)
        if cached is not None:
            return cached
        if d in self.overrides:
            result = self.overrides[d]
        else:
            try:
                result = bool(chinese_calendar.is_workday(d))
            except NotImplementedError:
                if not self._warned:
                    self._warned = True
                    log.warning(
                        "chinese_calendar has no holiday data for year %d; outside its years "
                        "Monday-Friday count as working days, plus the org file's holidays",
                        d.year,
                    )
                result = d.weekday() < 5
        self._cache[d] = result
        return result

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        d += _ONE_DAY
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    # -- instants -----------------------------------------------------------------------

    def local(self, dt: datetime) -> datetime:
        """``dt`` (aware) as local time in the calendar's timezone."""
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError(f"expected an aware datetime, got naive {dt.isoformat()}")
        return dt.astimezone(self.tz)

    def _at(self, d: date, t: time) -> datetime:
        # Normalise through UTC so that wall times in a DST gap get a real offset.
        return datetime.combine(d, t, tzinfo=self.tz).astimezone(timezone.utc).astimezone(self.tz)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The deadline ``n`` working days after aware ``start`` (rule in the module doc)."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise ValueError(f"working days must be a whole number, got {n!r}")
        if n < 0:
            raise ValueError(f"working days must not be negative, got {n}")
        local = self.local(start)
        if n == 0:
            return local
        day = local.date()
        if self.is_working_day(day):
            for _ in range(n):
                day = self.next_working_day(day)
            return self._at(day, local.time().replace(tzinfo=None, fold=0))
        day = self.next_working_day(day)  # day 1
        for _ in range(n - 1):
            day = self.next_working_day(day)
        return self._at(day, END_OF_DAY)

    def working_days_between(self, a: datetime, b: datetime) -> int:
        """How many working-day starts (00:00 local of a working day) lie in ``(a, b]``.

        That is the number of working days ``d`` with ``a.date() < d <= b.date()`` (local
        dates); 0 when ``b <= a``.  "Nag once per working day": nag when this is >= 1.
        """
        la, lb = self.local(a), self.local(b)
        if lb <= la:
            return 0
        count, d, end = 0, la.date() + _ONE_DAY, lb.date()
        while d <= end:
            count += self.is_working_day(d)
            d += _ONE_DAY
        return count

    def next_working_day_start(self, dt: datetime) -> datetime:
        """00:00 local of the first working day strictly after ``dt``'s local date."""
        return self._at(self.next_working_day(self.local(dt).date()), time(0))

    def next_working_time(self, dt: datetime, hour: int = 9) -> datetime:
        """The earliest moment >= ``dt`` that is ``hour``:00 local on a working day."""
        if not 0 <= hour <= 23:
            raise ValueError(f"hour must be 0..23, got {hour}")
        local = self.local(dt)
        day = local.date()
        if self.is_working_day(day):
            candidate = self._at(day, time(hour))
            if candidate >= local:
                return candidate
        return self._at(self.next_working_day(day), time(hour))

    def is_working_hours(self, dt: datetime, start_hour: int = 9, end_hour: int = 18) -> bool:
        """True if ``dt`` falls on a working day with ``start_hour <= local hour < end_hour``."""
        local = self.local(dt)
        return self.is_working_day(local.date()) and start_hour <= local.hour < end_hour
