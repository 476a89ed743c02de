"""Columns of 督办 (issue #10): red streaks, 领导包案, 职责争议 — conditional updates, no JSON."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import scan_batch
from storage.directory_cache import COUNTERS_ONLY
from storage.models import Card, Department, Ticket, TicketEvent


async def bump_red(session: AsyncSession, dept: str) -> int:
    """One more red card in a row for `dept`; returns the new streak."""
    if (batch := scan_batch.of(session)) is not None:  # the scan: kept with the batch, written at its end
        return await scan_batch.bump(session, batch, dept, scan_batch.RED)
    await session.execute(update(Department).where(Department.code == dept)
                          .values(red_streak=Department.red_streak + 1)
                          .execution_options(synchronize_session=False, **COUNTERS_ONLY))
    return int(await session.scalar(select(Department.red_streak).where(Department.code == dept)) or 0)


async def reset_red(session: AsyncSession, dept: str) -> None:
    if (batch := scan_batch.of(session)) is not None:
        return await scan_batch.reset(session, batch, dept, scan_batch.RED)
    await session.execute(update(Department).where(Department.code == dept).values(red_streak=0)
                          .execution_options(synchronize_session=False, **COUNTERS_ONLY))


async def take(session: AsyncSession, ticket_id: int, leader_id: int, name: str, now: datetime,
               replacing: int | None = None) -> bool:
    """领导包案: only when nobody (or this same leader, or `replacing`, who is a leader no more) has it."""
    holders = [leader_id] + ([replacing] if replacing is not None else [])
    result = await session.execute(
        update(Ticket).where(Ticket.id == ticket_id, or_(Ticket.leader_id.is_(None), Ticket.leader_id.in_(holders)))
        .values(leader_id=leader_id, leader_name=name[:255], taken_at=func.coalesce(Ticket.taken_at, now))
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


async def mark_disputed(session: AsyncSession, ticket_id: int, now: datetime) -> bool:
    result = await session.execute(update(Ticket).where(Ticket.id == ticket_id, Ticket.disputed_at.is_(None))
                                   .values(disputed_at=now).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def decide(session: AsyncSession, ticket_id: int, leader_id: int) -> bool:
    """A leader's choice of lead department: once."""
    result = await session.execute(update(Ticket).where(Ticket.id == ticket_id, Ticket.lead_decided_by.is_(None))
                                   .values(lead_decided_by=leader_id).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def cases(session: AsyncSession, leader_id: int) -> list[Ticket]:
    q = select(Ticket).where(Ticket.leader_id == leader_id).order_by(Ticket.taken_at, Ticket.id)
    return list((await session.execute(q)).scalars())


async def card_history(session: AsyncSession) -> list[tuple[str, str, int, int, int, int]]:
    """Per department: code, name, yellow and red cards ever, the yellow and the red streak."""
    counts = (select(Card.dept_code.label("dept"), func.sum(case((Card.colour == "yellow", 1), else_=0)).label("y"),
                     func.sum(case((Card.colour == "red", 1), else_=0)).label("r"))
              .group_by(Card.dept_code).subquery())
    q = (select(Department.code, Department.name, func.coalesce(counts.c.y, 0), func.coalesce(counts.c.r, 0),
                Department.yellow_streak, Department.red_streak)
         .outerjoin(counts, counts.c.dept == Department.code).order_by(Department.code))
    return [tuple(row) for row in (await session.execute(q)).all()]


async def recent_cards(session: AsyncSession, per_department: int) -> list[tuple[str, datetime, str, str]]:
    """The latest `per_department` cards of each department, oldest first within it:
    (department code, when, colour, ticket code)."""
    row = func.row_number().over(partition_by=Card.dept_code, order_by=(Card.at.desc(), Card.id.desc())).label("n")
    latest = (select(Card.dept_code, Card.at, Card.colour, Card.ticket_id, Card.id, row)).subquery()
    q = (select(latest.c.dept_code, latest.c.at, latest.c.colour, Ticket.code)
         .join(Ticket, Ticket.id == latest.c.ticket_id).where(latest.c.n <= per_department)
         .order_by(latest.c.dept_code, latest.c.at, latest.c.id))
    return [(dept, at, colour, code) for dept, at, colour, code in (await session.execute(q)).all()]


async def talks(session: AsyncSession) -> list[tuple[str, datetime, str]]:
    """Every 约谈 called, oldest first: (department code, when, the ticket whose red card called it)."""
    q = (select(TicketEvent.at, TicketEvent.data, Ticket.code).join(Ticket, Ticket.id == TicketEvent.ticket_id)
         .where(TicketEvent.kind == "interview_called").order_by(TicketEvent.at, TicketEvent.id))
    return [((data or {}).get("dept") or "", at, code) for at, data, code in (await session.execute(q)).all()]
