"""Reporting periods (seed 002: 一月一通报、一季度一测评、半年一排名、年终总评).

Pure: a period is a calendar month, quarter, half-year or year in the org's timezone.
Spellings accepted by `/report`, `/export` and `python -m bot export`:

    month    2026-11 (also 2026-1)
    quarter  2026-Q4 (q1..q4, any case)
    half     2026-H2 (h1, h2, any case)
    year     2026

A kind word (`month`, `quarter`, `half`, `year`) alone means the last complete period of
that kind; nothing at all means the last complete month. Bounds are local midnights
converted to UTC: [start, end).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from enum import StrEnum



class PeriodError(Exception):
    """A period the command cannot use; `code` is a message key, `params` fill it."""

    def __init__(self, code: str, /, **params: object) -> None:
        super().__init__(code)
        self.code, self.params = code, params


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


# Months per period of each kind.
_SPAN = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.HALF: 6, PeriodKind.YEAR: 12}
KIND_WORDS = tuple(k.value for k in PeriodKind)
EXAMPLES = "2026-11, 2026-Q4, 2026-H2, 2026"

_TOKEN = re.compile(r"^(?P<y>\d{4})(?:-(?:(?P<m>\d{1,2})|[qQ](?P<q>[1-4])|[hH](?P<h>[12])))?$")


@dataclass(frozen=True, order=True)
class Period:
    """`index` is 1-based within the year: month 1..12, quarter 1..4, half 1..2, year 1."""

    year: int
    kind: PeriodKind
    index: int = 1

    def __post_init__(self) -> None:
        count = 12 // _SPAN[self.kind]
        if not 1 <= self.index <= count:
            raise ValueError(f"{self.kind} index must be 1..{count}, got {self.index}")
        if not 1 <= self.year <= 9998:
            raise ValueError(f"year out of range: {self.year}")

    # -- names ------------------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The canonical spelling: 2026-11, 2026-Q4, 2026-H2, 2026 (also the durable record's key)."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.year:04d}-{self.index:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year:04d}-Q{self.index}"
        if self.kind is PeriodKind.HALF:
            return f"{self.year:04d}-H{self.index}"
        return f"{self.year:04d}"

    def __str__(self) -> str:
        return self.key

    # -- dates ------------------------------------------------------------------------------

    @property
    def first_month(self) -> int:
        return (self.index - 1) * _SPAN[self.kind] + 1

    @property
    def first_day(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end_day(self) -> date:
        """The first day after the period."""
        m = self.first_month - 1 + _SPAN[self.kind]
        return date(self.year + m // 12, m % 12 + 1, 1)

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnights of the first day and of the day after the period."""
        return _midnight(self.first_day, tz), _midnight(self.end_day, tz)

    def contains(self, day: date) -> bool:
        return self.first_day <= day < self.end_day

    def previous(self) -> Period:
        if self.index > 1:
            return Period(self.year, self.kind, self.index - 1)
        return Period(self.year - 1, self.kind, 12 // _SPAN[self.kind])

    def months(self) -> list[Period]:
        return [Period(self.year, PeriodKind.MONTH, self.first_month + i) for i in range(_SPAN[self.kind])]


def _midnight(day: date, tz: tzinfo) -> datetime:
    try:
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(timezone.utc)
    except OverflowError:  # 1 January of year 1 east of Greenwich is still year 0 in UTC (`/report 0001`)
        return datetime.min.replace(tzinfo=timezone.utc)


def containing(day: date, kind: PeriodKind) -> Period:
    """The period of `kind` that contains the local date `day`."""
    return Period(day.year, kind, (day.month - 1) // _SPAN[kind] + 1)


def last_complete(now: datetime, tz: tzinfo, kind: PeriodKind = PeriodKind.MONTH) -> Period:
    """The most recent period of `kind` that has ended by `now` (local calendar)."""
    return containing(now.astimezone(tz).date(), kind).previous()


def parse(token: str) -> Period | None:
    """`2026-11`, `2026-Q4`, `2026-H2`, `2026` → a Period; anything else → None."""
    m = _TOKEN.match(token.strip())
    if not m:
        return None
    year = int(m["y"])
    try:
        if m["m"]:
            return Period(year, PeriodKind.MONTH, int(m["m"]))
        if m["q"]:
            return Period(year, PeriodKind.QUARTER, int(m["q"]))
        if m["h"]:
            return Period(year, PeriodKind.HALF, int(m["h"]))
        return Period(year, PeriodKind.YEAR)
    except ValueError:
        return None


def kind_of_word(word: str) -> PeriodKind | None:
    try:
        return PeriodKind(word.strip().lower())
    except ValueError:
        return None


def choose(args: list[str], *, now: datetime, tz: tzinfo, first_ticket_at: datetime | None) -> Period:
    """The period a command's arguments name, checked against `now` and the first ticket.

    Raises `PeriodError` with a message key (`period.*`) that the caller renders; every such
    message lists what is accepted.
    """
    words = [a for a in args if a.strip()]
    if len(words) > 2:
        raise PeriodError("period.unknown", given=" ".join(words), kinds=", ".join(KIND_WORDS), examples=EXAMPLES)
    kind: PeriodKind | None = None
    period: Period | None = None
    for w in words:
        k = kind_of_word(w)
        if k is not None and kind is None:
            kind = k
            continue
        p = parse(w)
        if p is None or period is not None:
            raise PeriodError("period.unknown", given=w, kinds=", ".join(KIND_WORDS), examples=EXAMPLES)
        period = p
    if period is None:
        period = last_complete(now, tz, kind or PeriodKind.MONTH)
    elif kind is not None and period.kind is not kind:
        # One key per kind: the kind is a word of the reader's language, not "quarter" in a Chinese line.
        raise PeriodError(f"period.kind_mismatch.{kind.value}", given=period.key, examples=EXAMPLES)
    start, end = period.bounds(tz)
    if start > now:
        raise PeriodError("period.future", period=period.key)
    if first_ticket_at is None:
        raise PeriodError("period.no_tickets")
    if end <= first_ticket_at and not words:
        # Nothing named, in the office's first month: the month so far, not a refusal of a month
        # the office never worked (the console's first page and a bare /report land here).
        return containing(now.astimezone(tz).date(), PeriodKind.MONTH)
    if end <= first_ticket_at:
        first = first_ticket_at.astimezone(tz).date().isoformat()
        raise PeriodError("period.before_first", period=period.key, first=first)
    return period


def is_complete(period: Period, now: datetime, tz: tzinfo) -> bool:
    return period.bounds(tz)[1] <= now
