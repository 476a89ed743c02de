"""Yellow and red cards (红黄牌) and the departments' yellow streaks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import insert_ignore
from storage.models import Card, Department, Ticket


async def bump_streak(session: AsyncSession, dept: str) -> int:
    """One more yellow for ``dept``; returns the streak including it (atomic, row-locked)."""
    result = await session.execute(
        update(Department).where(Department.code == dept).values(yellow_streak=Department.yellow_streak + 1)
        .returning(Department.yellow_streak))
    return result.scalar_one_or_none() or 0


async def reset_streak(session: AsyncSession, dept: str) -> None:
    await session.execute(update(Department).where(Department.code == dept).values(yellow_streak=0))


async def add_card(session: AsyncSession, *, dept: str, ticket_id: int, round_: int, clock: str, reason: str,
                   at: datetime) -> Card | None:
    """A (yellow) card for the department's handling round of the ticket; None when that round
    has its card already (the unique constraint decides, also between concurrent scans)."""
    if not await insert_ignore(session, Card, {"dept_code": dept, "ticket_id": ticket_id, "round": round_,
                                               "colour": "yellow", "clock": clock, "reason": reason, "at": at}):
        return None
    q = select(Card).where(Card.ticket_id == ticket_id, Card.dept_code == dept, Card.round == round_)
    return (await session.execute(q)).scalar_one()


async def turn_red(session: AsyncSession, card: Card) -> None:
    card.colour = "red"
    await session.flush()


async def has_card(session: AsyncSession, ticket_id: int, dept: str, round_: int) -> bool:
    q = select(Card.id).where(Card.ticket_id == ticket_id, Card.dept_code == dept, Card.round == round_)
    return (await session.execute(q)).first() is not None


async def list_cards(session: AsyncSession, dept: str | None, offset: int,
                     limit: int) -> tuple[list[tuple[Card, str, str]], int]:
    """(card, department name, ticket code) rows, latest first, and the total."""
    cond = [Card.dept_code == dept] if dept else []
    q = (select(Card, Department.name, Ticket.code)
         .join(Department, Department.code == Card.dept_code).join(Ticket, Ticket.id == Card.ticket_id)
         .where(*cond).order_by(Card.at.desc(), Card.id.desc()).offset(offset).limit(limit))
    total = await session.scalar(select(func.count()).select_from(Card).where(*cond))
    return [(c, name, code) for c, name, code in (await session.execute(q)).all()], total or 0
