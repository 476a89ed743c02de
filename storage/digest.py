"""Counts for the morning digest: once a day, so a pass over the open tickets is fine here."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Ticket
from bot.domain import lifecycle
from bot.domain.lifecycle import Status

WORKING = tuple(lifecycle.WORKING)
WAITING = (Status.NEW, Status.TRIAGE, Status.REVIEW)


@dataclass
class DeptLine:
    dept: str
    open: int = 0
    due_today: int = 0
    overdue: int = 0
    overdue_codes: list[str] = field(default_factory=list)


@dataclass
class Figures:
    new: int = 0
    waiting: int = 0
    open: int = 0
    due_today: int = 0
    overdue: int = 0
    depts: list[DeptLine] = field(default_factory=list)


def _due():  # noqa: ANN202
    """The deadline a department is working against right now."""
    return case((Ticket.status == Status.DISPATCHED, Ticket.accept_due), else_=Ticket.resolve_due)


async def figures(session: AsyncSession, now: datetime, since: datetime, day_end: datetime,
                  codes_per_dept: int = 5) -> Figures:
    """New since ``since``; waiting for dispatch; per department: open, due by ``day_end``, overdue."""
    f = Figures()
    f.new = await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.created_at >= since)) or 0
    f.waiting = await session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.status.in_(WAITING))) or 0
    due = _due()
    q = (select(Ticket.lead_dept, func.count(),
                func.sum(case(((due >= now) & (due <= day_end), 1), else_=0)),
                func.sum(case((due < now, 1), else_=0)))
         .where(Ticket.status.in_(WORKING)).group_by(Ticket.lead_dept).order_by(Ticket.lead_dept))
    lines = {dept: DeptLine(dept or "-", n, int(today or 0), int(late or 0))
             for dept, n, today, late in (await session.execute(q)).all()}
    late_q = (select(Ticket.lead_dept, Ticket.code).where(Ticket.status.in_(WORKING), due < now)
              .order_by(due, Ticket.id))
    for dept, code in (await session.execute(late_q)).all():
        line = lines.get(dept)
        if line is not None and len(line.overdue_codes) < codes_per_dept:
            line.overdue_codes.append(code)
    f.depts = list(lines.values())
    f.open = sum(d.open for d in f.depts)
    f.due_today = sum(d.due_today for d in f.depts)
    f.overdue = sum(d.overdue for d in f.depts)
    return f
