"""The three rates of 督/考 (seed 004: 以响应率、办结率、满意率为核心) and the counted figures.

Pure: plain fact records in, exact figures out (rates are `Fraction`s, never rounded here).
Storage produces the facts by SQL over columns; services render them.

Definitions, for a period P = [start, end) and one lead department, as of the moment `as_of`
(a fact stamped after `as_of` has not happened yet):

* 响应率 (response): of the dispatches to the department in P whose accept clock has ended —
  accepted, or the accept deadline passed while the dispatch was still waiting — the share
  accepted (签收) by the accept deadline. A dispatch returned (退单) before its accept deadline
  ended without the clock running out and is not counted; one returned after it counts as late.
* 办结率 (resolution): of the dispatches to the department in P whose first resolve deadline has
  passed or that were resolved, the share resolved (办结) by that deadline. `resolve_due` is the
  first resolve deadline as moved by an extension approved before it. A dispatch returned before
  that deadline is not counted.
* 满意率 (satisfaction): of the result ratings given in P on the department's tickets, the share
  非常满意, 比较满意 or 基本满意. "Not rated" (closed without an answer) is counted apart and is in
  neither part of the fraction.
* A rate whose denominator is 0 is None ("—"): nothing to measure yet.

Counted: dispatched, accepted, resolved, returned and overdue are about the dispatches in P;
reopened, ratings by level, unsatisfied and not rated, yellow and red cards are about what
happened in P; the average times are over the dispatches in P that were accepted / resolved,
measured from the dispatch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

# Result levels of seed 002's 满意度评价表 (bot.domain.rating uses the same numbers).
VERY, FAIRLY, BASICALLY, UNSATISFIED = 4, 3, 2, 1
LEVELS = (VERY, FAIRLY, BASICALLY, UNSATISFIED)
SATISFIED_LEVELS = frozenset({VERY, FAIRLY, BASICALLY})


@dataclass(frozen=True)
class DispatchFact:
    """One dispatch of a ticket to its lead department (a re-dispatch after 退单 is another)."""

    dept: str
    ticket_code: str
    dispatched_at: datetime
    accept_due: datetime | None
    accepted_at: datetime | None = None
    resolve_due: datetime | None = None
    resolved_at: datetime | None = None  # the first 办结 of this dispatch
    returned_at: datetime | None = None  # 退单


@dataclass(frozen=True)
class RatingFact:
    """A result rating round: `level` 4..1, or None when closed as not rated."""

    dept: str
    at: datetime
    level: int | None
    ticket_code: str = ""


@dataclass(frozen=True)
class CardFact:
    dept: str
    at: datetime
    colour: str  # yellow | red


@dataclass(frozen=True)
class ReopenFact:
    dept: str
    at: datetime


@dataclass
class Figures:
    """Everything counted for one department (or for all of them: the overall row)."""

    dispatched: int = 0
    accepted: int = 0
    resolved: int = 0
    returned: int = 0
    overdue: int = 0
    reopened: int = 0
    response_num: int = 0
    response_den: int = 0
    resolution_num: int = 0
    resolution_den: int = 0
    by_level: dict[int, int] = field(default_factory=lambda: {lvl: 0 for lvl in LEVELS})
    not_rated: int = 0
    yellow: int = 0
    red: int = 0
    accept_total: timedelta = timedelta(0)
    resolve_total: timedelta = timedelta(0)

    # -- derived ----------------------------------------------------------------------------

    @property
    def rated(self) -> int:
        return sum(self.by_level.values())

    @property
    def satisfied(self) -> int:
        return sum(n for lvl, n in self.by_level.items() if lvl in SATISFIED_LEVELS)

    @property
    def unsatisfied(self) -> int:
        return self.by_level[UNSATISFIED]

    @property
    def response_rate(self) -> Fraction | None:
        return Fraction(self.response_num, self.response_den) if self.response_den else None

    @property
    def resolution_rate(self) -> Fraction | None:
        return Fraction(self.resolution_num, self.resolution_den) if self.resolution_den else None

    @property
    def satisfaction_rate(self) -> Fraction | None:
        return Fraction(self.satisfied, self.rated) if self.rated else None

    @property
    def avg_accept(self) -> timedelta | None:
        return self.accept_total / self.accepted if self.accepted else None

    @property
    def avg_resolve(self) -> timedelta | None:
        return self.resolve_total / self.resolved if self.resolved else None

    @property
    def measured(self) -> bool:
        """True when at least one rate has something to measure (the department can be ranked)."""
        return bool(self.response_den or self.resolution_den or self.rated)

    def add(self, other: Figures) -> None:
        for name in ("dispatched", "accepted", "resolved", "returned", "overdue", "reopened",
                     "response_num", "response_den", "resolution_num", "resolution_den",
                     "not_rated", "yellow", "red", "accept_total", "resolve_total"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for lvl in LEVELS:
            self.by_level[lvl] += other.by_level[lvl]


def _happened(at: datetime | None, as_of: datetime) -> datetime | None:
    return at if at is not None and at <= as_of else None


@dataclass(frozen=True)
class ClockOutcome:
    """How one clock of one dispatch stands at `as_of`."""

    counted: bool  # in the rate's denominator
    on_time: bool  # in its numerator
    late_by: timedelta | None  # how far past the deadline (done late, or still not done)


def clock_outcome(due: datetime | None, done_at: datetime | None, returned_at: datetime | None,
                  as_of: datetime) -> ClockOutcome:
    """The common rule of 响应率 and 办结率 for a deadline `due` and the moment the step was done."""
    done, returned = _happened(done_at, as_of), _happened(returned_at, as_of)
    if due is None:
        return ClockOutcome(done is not None, done is not None, None)
    if done is not None:
        late = done - due if done > due else None
        return ClockOutcome(True, late is None, late)
    if returned is not None and returned <= due:
        return ClockOutcome(False, False, None)  # handed back before the clock ran out
    if due <= as_of:
        end = returned or as_of
        return ClockOutcome(True, False, end - due)
    return ClockOutcome(False, False, None)  # still running


def dispatch_lateness(d: DispatchFact, as_of: datetime) -> timedelta | None:
    """How far the dispatch is (or was) past its worst deadline; None when never late."""
    worst = _latest_clock(d, as_of)
    return None if worst is None else worst[0]


def _latest_clock(d: DispatchFact, as_of: datetime) -> tuple[timedelta, str] | None:
    """The lateness of the clock the dispatch missed by most, and which ("accept" or "resolve")."""
    acc = clock_outcome(d.accept_due, d.accepted_at, d.returned_at, as_of)
    res = clock_outcome(d.resolve_due, d.resolved_at, d.returned_at, as_of)
    if acc.late_by is None and res.late_by is None:
        return None
    clock = latest_clock(acc.late_by, res.late_by)
    late = acc.late_by if clock == "accept" else res.late_by
    assert late is not None
    return late, clock


def in_period(at: datetime | None, start: datetime, end: datetime, as_of: datetime) -> bool:
    return at is not None and start <= at < end and at <= as_of


def department_figures(
    start: datetime,
    end: datetime,
    as_of: datetime,
    dispatches: list[DispatchFact],
    ratings: list[RatingFact] = (),  # type: ignore[assignment]
    cards: list[CardFact] = (),  # type: ignore[assignment]
    reopens: list[ReopenFact] = (),  # type: ignore[assignment]
) -> dict[str, Figures]:
    """Figures per department code for the period [start, end) as of `as_of`.

    Only departments that appear in some fact are keys; callers list the others as empty.
    """
    out: dict[str, Figures] = {}

    def fig(dept: str) -> Figures:
        return out.setdefault(dept, Figures())

    for d in dispatches:
        if not in_period(d.dispatched_at, start, end, as_of):
            continue
        f = fig(d.dept)
        f.dispatched += 1
        accepted = _happened(d.accepted_at, as_of)
        resolved = _happened(d.resolved_at, as_of)
        if accepted is not None:
            f.accepted += 1
            f.accept_total += accepted - d.dispatched_at
        if resolved is not None:
            f.resolved += 1
            f.resolve_total += resolved - d.dispatched_at
        if _happened(d.returned_at, as_of) is not None:
            f.returned += 1
        acc = clock_outcome(d.accept_due, d.accepted_at, d.returned_at, as_of)
        res = clock_outcome(d.resolve_due, d.resolved_at, d.returned_at, as_of)
        f.response_den += acc.counted
        f.response_num += acc.counted and acc.on_time
        f.resolution_den += res.counted
        f.resolution_num += res.counted and res.on_time
        f.overdue += acc.late_by is not None or res.late_by is not None
    for r in ratings:
        if not in_period(r.at, start, end, as_of):
            continue
        f = fig(r.dept)
        if r.level is None:
            f.not_rated += 1
        elif r.level in LEVELS:
            f.by_level[r.level] += 1
        else:
            raise ValueError(f"not a rating level: {r.level!r}")
    for c in cards:
        if in_period(c.at, start, end, as_of):
            if c.colour == "red":
                fig(c.dept).red += 1
            elif c.colour == "yellow":
                fig(c.dept).yellow += 1
    for o in reopens:
        if in_period(o.at, start, end, as_of):
            fig(o.dept).reopened += 1
    return out


def overall(figures: dict[str, Figures]) -> Figures:
    """All departments pooled: the rates of the sums, not the mean of the rates."""
    total = Figures()
    for f in figures.values():
        total.add(f)
    return total


OUTSTANDING = ("unaccepted", "open")  # listed before done ones of equal lateness


def overdue_outcome(clock: str, done: bool, returned: bool) -> str:
    """What became of the step a dispatch was latest for (`Overdue.outcome`)."""
    if done:
        return "accepted" if clock == "accept" else "resolved"
    if returned:
        return "returned"
    return "unaccepted" if clock == "accept" else "open"


def latest_clock(accept_late: timedelta | None, resolve_late: timedelta | None) -> str:
    """The clock a dispatch missed by most (a tie is the 办结's). Compared in whole seconds, as the
    database reports lateness, so the SQL and this rule name the same clock."""
    if accept_late is None:
        return "resolve"
    return "accept" if resolve_late is None or round(accept_late.total_seconds()) > round(
        resolve_late.total_seconds()) else "resolve"


@dataclass(frozen=True)
class Overdue:
    ticket_code: str
    dept: str
    late_by: timedelta
    # Named by the clock it missed most: "unaccepted" (still not accepted at `as_of`) or "accepted"
    # (late); "open" (accepted, still not resolved) or "resolved" (late); "returned" either way.
    # A late 签收 of a ticket resolved in time was shown as "resolved late".
    outcome: str


def worst_overdue(start: datetime, end: datetime, as_of: datetime, dispatches: list[DispatchFact],
                  limit: int = 5) -> list[Overdue]:
    """The dispatches of P that are furthest past a deadline; outstanding ones before done ones
    of equal lateness, then by ticket code."""
    rows: list[Overdue] = []
    for d in dispatches:
        if not in_period(d.dispatched_at, start, end, as_of):
            continue
        worst = _latest_clock(d, as_of)
        if worst is None:
            continue
        late, clock = worst
        done = _happened(d.accepted_at if clock == "accept" else d.resolved_at, as_of) is not None
        rows.append(Overdue(d.ticket_code, d.dept, late,
                            overdue_outcome(clock, done, _happened(d.returned_at, as_of) is not None)))
    rows.sort(key=lambda o: (-o.late_by, o.outcome not in OUTSTANDING, o.ticket_code))
    return rows[:limit]
