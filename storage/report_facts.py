"""Facts for 督/考 reports, read by SQL over columns (never the JSON of a ticket).

Two shapes of the same facts:

* `dispatch_facts` / `rating_facts` / `card_facts` / `reopen_facts` return the plain records
  of bot.domain.rates — the reference definitions run over them (tests, small periods);
* `figures` / `worst` add the same definitions up inside the database (GROUP BY over the
  `assignments`, `rating_rounds`, `cards` and `ticket_events` columns), so a report over
  100,000 tickets reads a handful of rows. tests/test_reports_storage.py checks that both
  give the same numbers.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, extract, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.domain.rates import (
    OUTSTANDING, CardFact, DispatchFact, Figures, Overdue, RatingFact, ReopenFact, latest_clock, overdue_outcome,
)
from bot.domain.lifecycle import Status
from storage.models import Assignment, Card, RatingRound, Ticket, TicketEvent, UtcDateTime

A, R, T = Assignment, RatingRound, Ticket


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def _seconds(dialect: str, later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    """`later - earlier` in whole seconds, on either backend."""
    if dialect == "postgresql":
        return func.round(extract("epoch", later - earlier))
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0)


def _at(name: str, value: datetime) -> ColumnElement:
    return bindparam(name, value, type_=UtcDateTime(), unique=True)


def resolve_due_col() -> ColumnElement:
    """The first resolve deadline (as moved by an extension approved before it)."""
    return func.coalesce(A.first_resolve_due, A.resolve_due)


def rating_at_col() -> ColumnElement:
    """When a round was rated; a round closed as not rated counts when the ticket closed."""
    return case((R.not_rated.is_(True), func.coalesce(R.answered_at, T.closed_at)), else_=R.answered_at)


class _Clock:
    """One deadline of one dispatch as SQL conditions (the rule of bot.domain.rates.clock_outcome)."""

    def __init__(self, due: ColumnElement, done_at: ColumnElement, as_of: ColumnElement) -> None:
        returned_by_then = and_(A.returned_at.is_not(None), A.returned_at <= as_of)
        self.done = and_(done_at.is_not(None), done_at <= as_of)
        self.counted = or_(self.done, and_(due.is_not(None), due <= as_of,
                                           not_(and_(returned_by_then, A.returned_at <= due))))
        self.on_time = and_(self.done, or_(due.is_(None), done_at <= due))
        self.late = and_(self.counted, not_(self.on_time))
        end = case((self.done, done_at), (returned_by_then, A.returned_at), else_=as_of)
        self.due, self.end = due, end

    def late_seconds(self, dialect: str) -> ColumnElement:
        return case((self.late, _seconds(dialect, self.end, self.due)), else_=None)


def _in(col: ColumnElement, start: datetime, end: datetime, as_of: datetime) -> ColumnElement:
    return and_(col >= _at("p_start", start), col < _at("p_end", end), col <= _at("p_as_of", as_of))


def _one(cond: ColumnElement) -> ColumnElement:
    return func.sum(case((cond, 1), else_=0))


async def figures(session: AsyncSession, start: datetime, end: datetime, as_of: datetime) -> dict[str, Figures]:
    """Figures per department for [start, end) as of `as_of`, added up by the database."""
    dialect = _dialect(session)
    now = _at("as_of", as_of)
    acc = _Clock(A.accept_due, A.accepted_at, now)
    res = _Clock(resolve_due_col(), A.first_resolved_at, now)
    returned = and_(A.returned_at.is_not(None), A.returned_at <= now)
    # ix_assignments_report covers every column read here: SQLite walks it in department order,
    # reading neither the table nor a sorter (bench/report.py).
    dept = A.dept_code.label("dept")
    q = (select(dept, func.count(), _one(acc.done), _one(res.done), _one(returned),
                _one(or_(acc.late, res.late)), _one(acc.on_time), _one(acc.counted), _one(res.on_time),
                _one(res.counted),
                func.sum(case((acc.done, _seconds(dialect, A.accepted_at, A.dispatched_at)), else_=0)),
                func.sum(case((res.done, _seconds(dialect, A.first_resolved_at, A.dispatched_at)), else_=0)))
         .where(_in(A.dispatched_at, start, end, as_of)).group_by(dept))
    out: dict[str, Figures] = {}
    for (dept, n, accepted, resolved, ret, overdue, r_num, r_den, s_num, s_den, acc_s, res_s) in \
            (await session.execute(q)).all():
        out[dept] = Figures(dispatched=n, accepted=int(accepted or 0), resolved=int(resolved or 0),
                            returned=int(ret or 0), overdue=int(overdue or 0), response_num=int(r_num or 0),
                            response_den=int(r_den or 0), resolution_num=int(s_num or 0),
                            resolution_den=int(s_den or 0), accept_total=timedelta(seconds=float(acc_s or 0)),
                            resolve_total=timedelta(seconds=float(res_s or 0)))

    def fig(dept: str) -> Figures:
        return out.setdefault(dept, Figures())

    # Answered rounds count when answered (no need to read the tickets); rounds closed as not
    # rated count when the ticket closed — only those few look the ticket up.
    answered = (select(R.dept_code, R.result_level, func.count())
                .where(R.result_level.is_not(None), R.not_rated.is_not(True), _in(R.answered_at, start, end, as_of),
                       R.dept_code.is_not(None))
                .group_by(R.dept_code, R.result_level))
    for dept, level, n in (await session.execute(answered)).all():
        fig(dept).by_level[int(level)] += n
    unanswered = (select(R.dept_code, R.result_level, func.count()).select_from(R).join(T, T.id == R.ticket_id)
                  .where(R.not_rated.is_(True), _in(rating_at_col(), start, end, as_of), R.dept_code.is_not(None))
                  .group_by(R.dept_code, R.result_level))
    for dept, level, n in (await session.execute(unanswered)).all():
        if level is not None:
            fig(dept).by_level[int(level)] += n
        else:
            fig(dept).not_rated += n
    # Grouping by an expression, not the bare column: SQLite would otherwise walk the dept_code
    # index and fetch every card by rowid — slower than one table scan into the sorter.
    card_dept = (Card.dept_code + "").label("dept")
    cq = (select(card_dept, Card.colour, func.count()).where(_in(Card.at, start, end, as_of))
          .group_by(card_dept, Card.colour))
    for dept, colour, n in (await session.execute(cq)).all():
        if colour == "red":
            fig(dept).red += n
        elif colour == "yellow":
            fig(dept).yellow += n
    reopened_dept = _reopened_dept().label("dept")
    oq = (select(reopened_dept, func.count()).select_from(TicketEvent).join(T, T.id == TicketEvent.ticket_id)
          .where(TicketEvent.to_status == Status.REOPENED.value, _in(TicketEvent.at, start, end, as_of),
                 reopened_dept.is_not(None))
          .group_by(reopened_dept))
    for dept, n in (await session.execute(oq)).all():
        fig(dept).reopened += n
    return out


async def worst(session: AsyncSession, start: datetime, end: datetime, as_of: datetime,
                limit: int = 5) -> list[Overdue]:
    """The dispatches of the period furthest past a deadline (bot.domain.rates.worst_overdue).

    A dispatch's lateness is the larger of its two clocks'. Ordering every row by that maximum
    makes the database evaluate both clocks several times per row; instead each clock's own top
    rows are found by one cheap scan (the overall top rows are among the two lists: a row ranked
    above another by one clock is ranked above it by the maximum too), and those few candidates
    are read whole and ordered here.
    """
    dialect = _dialect(session)
    now = _at("as_of", as_of)
    acc = _Clock(A.accept_due, A.accepted_at, now)
    res = _Clock(resolve_due_col(), A.first_resolved_at, now)
    returned = and_(A.returned_at.is_not(None), A.returned_at <= now)
    candidates: set[int] = set()
    for clock in (acc, res):
        late = _seconds(dialect, clock.end, clock.due)  # only rows where this clock is late get here
        outstanding = case((or_(clock.done, returned), 1), else_=0)
        q = (select(A.id).where(_in(A.dispatched_at, start, end, as_of), clock.late)
             .order_by(late.desc(), outstanding, A.ticket_id).limit(4 * limit))
        candidates.update((await session.execute(q)).scalars())
    if not candidates:
        return []
    q = (select(T.code, A.dept_code, acc.late_seconds(dialect), res.late_seconds(dialect), acc.done, res.done,
                returned)
         .select_from(A).join(T, T.id == A.ticket_id).where(A.id.in_(sorted(candidates))))
    rows = []
    for code, dept, a_late, r_late, a_done, r_done, back in (await session.execute(q)).all():
        a, r = (None if x is None else timedelta(seconds=float(x)) for x in (a_late, r_late))
        clock = latest_clock(a, r)
        late = a if clock == "accept" else r
        assert late is not None
        rows.append(Overdue(code, dept, late, overdue_outcome(clock, bool(a_done if clock == "accept" else r_done),
                                                              bool(back))))
    rows.sort(key=lambda o: (-o.late_by, o.outcome not in OUTSTANDING, o.ticket_code))
    return rows[:limit]


async def received(session: AsyncSession, start: datetime, end: datetime, as_of: datetime) -> int:
    q = select(func.count()).select_from(T).where(_in(T.created_at, start, end, as_of))
    return int(await session.scalar(q) or 0)


async def first_ticket_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.min(T.created_at)))


# -- the plain records (the reference definitions run over them) --------------------------------


async def dispatch_facts(session: AsyncSession, start: datetime, end: datetime) -> list[DispatchFact]:
    q = (select(A.dept_code, T.code, A.dispatched_at, A.accept_due, A.accepted_at, resolve_due_col(),
                A.first_resolved_at, A.returned_at).select_from(A).join(T, T.id == A.ticket_id)
         .where(A.dispatched_at >= _at("p_start", start), A.dispatched_at < _at("p_end", end))
         .order_by(A.id))
    return [DispatchFact(*row) for row in (await session.execute(q)).all()]


async def rating_facts(session: AsyncSession, start: datetime, end: datetime) -> list[RatingFact]:
    at = rating_at_col()
    q = (select(R.dept_code, at, R.result_level, T.code).select_from(R).join(T, T.id == R.ticket_id)
         .where(or_(R.result_level.is_not(None), R.not_rated.is_(True)), R.dept_code.is_not(None),
                at >= _at("p_start", start), at < _at("p_end", end)).order_by(R.id))
    return [RatingFact(dept, when, level, code) for dept, when, level, code in (await session.execute(q)).all()]


async def card_facts(session: AsyncSession, start: datetime, end: datetime) -> list[CardFact]:
    q = (select(Card.dept_code, Card.at, Card.colour)
         .where(Card.at >= _at("p_start", start), Card.at < _at("p_end", end)).order_by(Card.id))
    return [CardFact(*row) for row in (await session.execute(q)).all()]


def _reopened_dept() -> Any:
    """The department a reopening belongs to: the one that had the ticket then — whose result was
    rejected — from its dispatch (`assignments`), not whoever has the ticket now. A 改派 after a
    later review must not move last month's reopening (and the 通报 already sent) to another."""
    then = (select(Assignment.dept_code).where(Assignment.ticket_id == TicketEvent.ticket_id,
                                               Assignment.dispatched_at <= TicketEvent.at)
            .order_by(Assignment.dispatched_at.desc(), Assignment.id.desc()).limit(1)
            .correlate(TicketEvent).scalar_subquery())
    return func.coalesce(then, T.lead_dept)


async def reopen_facts(session: AsyncSession, start: datetime, end: datetime) -> list[ReopenFact]:
    reopened_dept = _reopened_dept()
    q = (select(reopened_dept, TicketEvent.at).select_from(TicketEvent).join(T, T.id == TicketEvent.ticket_id)
         .where(TicketEvent.to_status == Status.REOPENED.value, reopened_dept.is_not(None),
                TicketEvent.at >= _at("p_start", start), TicketEvent.at < _at("p_end", end))
         .order_by(TicketEvent.id))
    return [ReopenFact(*row) for row in (await session.execute(q)).all()]
