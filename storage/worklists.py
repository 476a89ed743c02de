"""Work queues: tickets waiting for a dispatcher, a department's open tickets."""
from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Ticket
from bot.domain.lifecycle import WORKING, Status

WAITING = (Status.TRIAGE, Status.REVIEW)
DEPT_OPEN = tuple(WORKING)
# A desk whose group changed gets at most this many cards again; it finds the rest with /queue or /open.
REPOST_AT_MOST = 50


async def waiting(session: AsyncSession, offset: int, limit: int) -> tuple[list[Ticket], int]:
    urgent_first = case((Ticket.urgency == "urgent", 0), else_=1)
    q = select(Ticket).where(Ticket.status.in_(WAITING)).order_by(urgent_first, Ticket.id)
    total = await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.status.in_(WAITING)))
    return list((await session.execute(q.offset(offset).limit(limit))).scalars()), total or 0


async def department_open(session: AsyncSession, dept: str, owner: int | None, offset: int,
                          limit: int) -> tuple[list[Ticket], int]:
    cond = [Ticket.lead_dept == dept, Ticket.status.in_(DEPT_OPEN)]
    if owner is not None:
        cond.append(Ticket.owner_id == owner)
    due = func.coalesce(Ticket.resolve_due, Ticket.accept_due)
    q = select(Ticket).where(*cond).order_by(due, Ticket.id)
    total = await session.scalar(select(func.count()).select_from(Ticket).where(*cond))
    return list((await session.execute(q.offset(offset).limit(limit))).scalars()), total or 0
