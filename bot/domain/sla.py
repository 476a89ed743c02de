"""SLA durations and the deadline policy (DESIGN.md section 3).  Pure: no I/O, no clock reads.

* ``parse_duration("5 working days")`` -> ``Duration``; natural durations are kept in seconds,
  working-day durations as a whole number of working days.
* ``SlaPolicy.from_org(org["sla"])`` reads the org file's ``sla:`` mapping.  Sections:
  ``normal`` / ``urgent`` (per urgency), ``<kind>`` or ``<kind>_normal`` and ``<kind>_urgent``
  (per kind and urgency; kinds: consultation, help, complaint, suggestion, report), each a
  mapping of clock (accept / progress / resolve) to duration; plus ``reopen``,
  ``public_response``, ``rating_reminder``, ``rating_close`` (durations) and ``reminders``
  (fractions of a window).  ``policy.window(clock, kind, urgent)`` looks up the kind+urgency
  section, then the urgency section, then the built-in default for that urgency.  A kind
  section applies to one urgency only: ``complaint:`` configures normal complaints,
  ``complaint_urgent:`` urgent ones.
* Reminder times are fractions of the NATURAL time between start and deadline, even for
  working-day windows (simple and predictable: 50 % of "Fri 10:00 -> Mon 10:00" is Sat 22:00).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Literal

from bot.domain.calendar import WorkCalendar

__all__ = ["CLOCKS", "KINDS", "Duration", "SlaPolicy", "deadline", "fraction_point",
           "parse_duration", "reminder_times"]

CLOCKS = ("accept", "progress", "resolve")
KINDS = ("consultation", "help", "complaint", "suggestion", "report")
Unit = Literal["seconds", "working_days"]

_EXAMPLES = "(examples: '30 min', '2 d', '5 working days')"
_UNITS: dict[str, float | None] = {}  # unit word -> seconds, or None for working days
for _words, _secs in (
    ("s sec secs second seconds 秒 秒钟", 1),
    ("m min mins minute minutes 分 分钟", 60),
    ("h hr hrs hour hours 小时 钟头 钟", 3600),
    ("d day days 天 日 自然日 natural_day natural_days calendar_day calendar_days", 86400),
    ("w wk wks week weeks 周 星期", 7 * 86400),
    ("wd wds working_day working_days work_day work_days workday workdays "
     "business_day business_days 工作日 工作天", None),
):
    for _w in _words.split():
        _UNITS[_w.replace("_", " ")] = _secs
_UNIT_RE = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_NUM_RE = r"\d+(?:\.\d+)?|\.\d+|[零〇一二两三四五六七八九十半]+"
_DURATION_RE = re.compile(rf"^({_NUM_RE})\s*(?:个\s*)?({_UNIT_RE})$")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}


def _cn_number(s: str) -> float | None:
    """Small Chinese numerals: 半, 一..九, 十, 十五, 二十, 三十一 (0..99)."""
    if s == "半":
        return 0.5
    if len(s) == 1 and s in _CN_DIGITS:
        return _CN_DIGITS[s]
    tens, sep, units = s.partition("十")
    if not sep or len(tens) > 1 or len(units) > 1:
        return None
    t = _CN_DIGITS.get(tens, -1) if tens else 1
    u = _CN_DIGITS.get(units, -1) if units else 0
    return None if t < 1 or u < 0 else t * 10 + u


def _tidy(x: float) -> int | float:
    x = round(float(x), 6)
    return int(x) if x.is_integer() else x


@dataclass(frozen=True)
class Duration:
    """A window length: ``amount`` seconds (natural time) or ``amount`` whole working days.

    ``working`` is derived from ``unit`` (passing it is allowed but must agree).
    """

    amount: int | float
    unit: Unit = "seconds"
    working: bool | None = None

    def __post_init__(self) -> None:
        if self.unit not in ("seconds", "working_days"):
            raise ValueError(f"duration unit must be 'seconds' or 'working_days', got {self.unit!r}")
        is_working = self.unit == "working_days"
        if self.working is not None and bool(self.working) != is_working:
            raise ValueError(f"duration working={self.working!r} contradicts unit {self.unit!r}")
        object.__setattr__(self, "working", is_working)
        if isinstance(self.amount, bool) or not isinstance(self.amount, (int, float)):
            raise ValueError(f"duration amount must be a number, got {self.amount!r}")
        if not self.amount >= 0 or self.amount == float("inf"):
            raise ValueError(f"duration amount must be finite and >= 0, got {self.amount!r}")
        if is_working and not float(self.amount).is_integer():
            raise ValueError(f"working days must be a whole number, got {self.amount!r}")
        object.__setattr__(self, "amount", int(self.amount) if is_working else _tidy(self.amount))

    @classmethod
    def of(cls, *, seconds: float = 0, minutes: float = 0, hours: float = 0,
           days: float = 0) -> Duration:
        return cls(seconds + 60 * minutes + 3600 * hours + 86400 * days, "seconds")

    @classmethod
    def working_days(cls, n: int) -> Duration:
        return cls(n, "working_days")

    def __str__(self) -> str:
        if self.working:
            return f"{self.amount} working day{'' if self.amount == 1 else 's'}"
        if isinstance(self.amount, int) and self.amount:
            for size, name in ((86400, "d"), (3600, "h"), (60, "min")):
                if self.amount % size == 0:
                    return f"{self.amount // size} {name}"
        return f"{format(self.amount, '.6f').rstrip('0').rstrip('.')} s"

    def as_timedelta(self) -> timedelta:
        """The natural length; ValueError for working-day durations (they have none)."""
        if self.working:
            raise ValueError(f"'{self}' has no fixed length; use .after(start, calendar)")
        return timedelta(seconds=self.amount)

    def after(self, start: datetime, cal: WorkCalendar | None = None) -> datetime:
        """The moment this duration after aware ``start``, in ``cal``'s timezone (if given).

        Natural durations add elapsed time (computed in UTC, so DST cannot stretch them);
        working-day durations use ``cal.add_working_days`` (``cal`` is then required).
        """
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"expected an aware datetime, got naive {start.isoformat()}")
        if self.working:
            if cal is None:
                raise ValueError(f"'{self}' needs a WorkCalendar")
            return cal.add_working_days(start, int(self.amount))
        end = start.astimezone(timezone.utc) + self.as_timedelta()
        return end.astimezone(cal.tz if cal is not None else start.tzinfo)


def parse_duration(text: str) -> Duration:
    """Parse "30 s", "20 min", "2 h", "2 d", "7 days", "5 working days", "3 wd", "1 week",
    "5个工作日", "2天", "30分钟", "2小时", "20秒", "半小时", "三个工作日" (case, spaces, plurals,
    full-width characters are forgiven).  Working days must be whole."""
    if isinstance(text, Duration):
        return text
    bad = ValueError(f"cannot understand duration {str(text)!r} {_EXAMPLES}")
    if not isinstance(text, str):
        raise bad
    s = unicodedata.normalize("NFKC", text).strip().lower()
    s = re.sub(r"(?<=[a-z])[-_](?=[a-z])", " ", s)
    s = " ".join(s.split())
    m = _DURATION_RE.match(s)
    if not m:
        raise bad
    number, unit = m.groups()
    amount = float(number) if number[0] in ".0123456789" else _cn_number(number)
    if amount is None:
        raise bad
    amount = float(amount)
    secs = _UNITS[unit]
    if secs is None:
        if not amount.is_integer():
            raise ValueError(f"cannot understand duration {text!r}: working days must be "
                             f"a whole number {_EXAMPLES}")
        return Duration(int(amount), "working_days")
    return Duration(amount * secs, "seconds")


def fraction_point(start: datetime, deadline: datetime, fraction: float) -> datetime:
    """The moment ``fraction`` (0..1) of the natural time from ``start`` to ``deadline``."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
    span = deadline.astimezone(timezone.utc) - start.astimezone(timezone.utc)
    return (start.astimezone(timezone.utc) + span * fraction).astimezone(start.tzinfo)


def reminder_times(start: datetime, deadline: datetime,
                   fractions: Sequence[float]) -> list[datetime]:
    """``fraction_point`` for each fraction, in the order given (times in start's tz)."""
    return [fraction_point(start, deadline, f) for f in fractions]


_D = parse_duration
_DEFAULT_WINDOWS: dict[tuple[str, str], Duration] = {
    ("normal", "accept"): _D("1 working day"),
    ("normal", "progress"): _D("7 d"),
    ("normal", "resolve"): _D("5 working days"),
    ("urgent", "accept"): _D("30 min"),
    ("urgent", "progress"): _D("1 d"),
    ("urgent", "resolve"): _D("1 d"),
}
_SECTIONS = {"normal": "normal", "urgent": "urgent"}
for _k in KINDS:
    _SECTIONS.update({_k: _k, f"{_k}_normal": _k, f"{_k}_urgent": f"{_k}_urgent"})
_SINGLE = ("reopen", "public_response", "rating_reminder", "rating_close", "urgent_nag")


def _duration_at(path: str, value: object) -> Duration:
    if isinstance(value, Duration):
        return value
    try:
        return parse_duration(value)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _fractions(value: object) -> tuple[float, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValueError("sla.reminders: expected a list of fractions such as [0.5, 0.8]")
    out = []
    for i, item in enumerate(value):
        f: object = item
        if isinstance(item, str) and item.strip().endswith("%"):
            try:
                f = float(item.strip()[:-1]) / 100
            except ValueError:
                pass
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f < 1:
            raise ValueError(f"sla.reminders[{i}]: expected a fraction between 0 and 1 "
                             f"(like 0.5 or '50%'), got {item!r}")
        out.append(float(f))
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class SlaPolicy:
    """Deadline windows per clock, kind and urgency, plus the single-valued windows."""

    windows: Mapping[tuple[str, str], Duration] = field(
        default_factory=lambda: MappingProxyType(dict(_DEFAULT_WINDOWS)))
    reopen: Duration = _D("3 working days")
    public_response: Duration = _D("1 working day")
    reminders: tuple[float, ...] = (0.5, 0.8)
    rating_reminder: Duration = _D("2 d")
    rating_close: Duration = _D("7 d")
    # How often an overdue urgent ticket is chased, around the clock (seed 004: 7×24 response);
    # a normal one is chased once per working day.
    urgent_nag: Duration = _D("2 h")

    @classmethod
    def from_org(cls, sla: Mapping[str, object] | None) -> SlaPolicy:
        """Build from the org file's ``sla:`` mapping; missing keys take the defaults.

        Errors are ValueError naming the key path, e.g.
        "sla.normal.resolve: cannot understand duration 'five days' (examples: ...)".
        """
        sla = {} if sla is None else sla
        if not isinstance(sla, Mapping):
            raise ValueError("sla: expected a mapping")
        windows = dict(_DEFAULT_WINDOWS)
        singles: dict[str, object] = {}
        seen: dict[str, str] = {}
        for key, value in sla.items():
            key = str(key)
            if key in _SINGLE:
                singles[key] = _duration_at(f"sla.{key}", value)
            elif key == "reminders":
                singles[key] = _fractions(value)
            elif key in _SECTIONS:
                section = _SECTIONS[key]
                if section in seen:
                    raise ValueError(f"sla.{key}: same section as sla.{seen[section]}")
                seen[section] = key
                if value is None:
                    continue
                if not isinstance(value, Mapping):
                    raise ValueError(f"sla.{key}: expected a mapping of accept/progress/resolve "
                                     "to durations")
                for clock, text in value.items():
                    if clock not in CLOCKS:
                        raise ValueError(f"sla.{key}.{clock}: unknown clock "
                                         f"(expected one of {', '.join(CLOCKS)})")
                    windows[(section, clock)] = window = _duration_at(f"sla.{key}.{clock}", text)
                    if window.amount <= 0:  # a deadline at the moment of dispatch would card every ticket
                        raise ValueError(f"sla.{key}.{clock}: must be longer than zero")
            else:
                raise ValueError(
                    f"sla.{key}: unknown key (expected normal, urgent, <kind>, <kind>_urgent, "
                    f"{', '.join(_SINGLE)} or reminders; kinds: {', '.join(KINDS)})")
        urgent_nag = singles.get("urgent_nag")
        if isinstance(urgent_nag, Duration) and not urgent_nag.working and urgent_nag.as_timedelta() < timedelta(minutes=5):
            raise ValueError("sla.urgent_nag: at least 5 min (an overdue urgent ticket is chased this often)")
        return cls(windows=MappingProxyType(windows), **singles)  # type: ignore[arg-type]

    def window(self, clock: str, kind: str | None = None, urgent: bool = False) -> Duration:
        """The window for ``clock``: kind+urgency section, then urgency section, then default."""
        if clock not in CLOCKS:
            raise ValueError(f"unknown clock {clock!r} (expected one of {', '.join(CLOCKS)})")
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown ticket kind {kind!r} (expected one of {', '.join(KINDS)})")
        level = "urgent" if urgent else "normal"
        scopes = ([f"{kind}_urgent" if urgent else kind] if kind else []) + [level]
        for scope in scopes:
            found = self.windows.get((scope, clock))
            if found is not None:
                return found
        return _DEFAULT_WINDOWS[(level, clock)]


def deadline(start: datetime, clock: str, kind: str | None, urgent: bool,
             policy: SlaPolicy, cal: WorkCalendar) -> datetime:
    """When ``clock`` runs out for a ticket of ``kind``/``urgent`` whose clock started at ``start``."""
    return policy.window(clock, kind, urgent).after(start, cal)


def reclassified(old: datetime | None, before: Duration, after: Duration, started: datetime, now: datetime,
                 cal: WorkCalendar) -> datetime | None:
    """Where a running deadline goes when a dispatcher changes the ticket's kind or urgency.

    ``before`` and ``after`` are the clock's windows under the old and the new class; ``started``
    is the dispatch. A tighter window runs from the change — a ticket made urgent two hours after
    its dispatch gets its 30 minutes to accept from now, not a deadline already past — and never
    ends later than the deadline already set. A looser one runs from the dispatch and never ends
    earlier than the deadline already set (an approved extension, a reopening's re-handle window
    stay). The same window leaves the deadline alone.
    """
    if old is None:
        return None
    was, will = before.after(started, cal), after.after(started, cal)
    if will == was:
        return old
    if will < was:
        return min(old, after.after(max(now, started), cal))
    return max(old, will)
