"""Yellow and red cards, departments' yellow streaks, and /duty assignments."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import upsert
from storage.models import Card, Department, DutyAssignment, Person, Ticket


async def bump_streak(session: AsyncSession, dept: str) -> int:
    """One more yellow for ``dept``; returns the streak including it (atomic, row-locked)."""
    result = await session.execute(
        update(Department).where(Department.code == dept).values(yellow_streak=Department.yellow_streak + 1)
        .returning(Department.yellow_streak))
    return result.scalar_one_or_none() or 0


async def reset_streak(session: AsyncSession, dept: str) -> None:
    await session.execute(update(Department).where(Department.code == dept).values(yellow_streak=0))


async def add_card(session: AsyncSession, *, dept: str, ticket_id: int, colour: str, clock: str, reason: str,
                   at: datetime) -> Card:
    card = Card(dept_code=dept, ticket_id=ticket_id, colour=colour, clock=clock, reason=reason, at=at)
    session.add(card)
    await session.flush()
    return card


async def list_cards(session: AsyncSession, dept: str | None, offset: int,
                     limit: int) -> tuple[list[tuple[Card, str, str]], int]:
    """(card, department name, ticket code) rows, latest first, and the total."""
    cond = [Card.dept_code == dept] if dept else []
    q = (select(Card, Department.name, Ticket.code)
         .join(Department, Department.code == Card.dept_code).join(Ticket, Ticket.id == Card.ticket_id)
         .where(*cond).order_by(Card.at.desc(), Card.id.desc()).offset(offset).limit(limit))
    total = await session.scalar(select(func.count()).select_from(Card).where(*cond))
    return [(c, name, code) for c, name, code in (await session.execute(q)).all()], total or 0


async def duty(session: AsyncSession, dept: str) -> DutyAssignment | None:
    return await session.get(DutyAssignment, dept, populate_existing=True)


async def set_duty(session: AsyncSession, dept: str, user_id: int, now: datetime) -> None:
    await upsert(session, DutyAssignment, {"dept_code": dept, "user_id": user_id, "set_at": now},
                 keys=["dept_code"], update=["user_id", "set_at"])


async def clear_duty(session: AsyncSession, dept: str) -> int:
    return (await session.execute(delete(DutyAssignment).where(DutyAssignment.dept_code == dept))).rowcount


async def person_by_username(session: AsyncSession, username: str) -> Person | None:
    q = select(Person).where(func.lower(Person.username) == username.lower().lstrip("@"))
    return (await session.execute(q)).scalars().first()
