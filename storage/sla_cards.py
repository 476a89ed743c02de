"""Yellow and red cards (红黄牌) and the departments' yellow streaks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import held_rows, scan_batch
from storage.common import insert_ignore
from storage.directory_cache import COUNTERS_ONLY
from storage.models import Card, Department, Ticket
from storage.object_builder import transient


async def bump_streak(session: AsyncSession, dept: str) -> int:
    """One more yellow for ``dept``; returns the streak including it (atomic, row-locked)."""
    if (batch := scan_batch.of(session)) is not None:
        return await scan_batch.bump(session, batch, dept, scan_batch.YELLOW)
    result = await session.execute(
        update(Department).where(Department.code == dept).values(yellow_streak=Department.yellow_streak + 1)
        .returning(Department.yellow_streak).execution_options(**COUNTERS_ONLY))
    return result.scalar_one_or_none() or 0


async def streak(session: AsyncSession, dept: str) -> int:
    """The department's yellow cards in a row (read here: the directory's copy does not keep it fresh)."""
    return int(await session.scalar(select(Department.yellow_streak).where(Department.code == dept)) or 0)


async def reset_streak(session: AsyncSession, dept: str) -> None:
    if (batch := scan_batch.of(session)) is not None:
        return await scan_batch.reset(session, batch, dept, scan_batch.YELLOW)
    await session.execute(update(Department).where(Department.code == dept).values(yellow_streak=0)
                          .execution_options(**COUNTERS_ONLY))


async def add_card(session: AsyncSession, *, dept: str, ticket_id: int, round_: int, clock: str, reason: str,
                   at: datetime) -> Card | None:
    """A (yellow) card for the department's handling round of the ticket; None when that round
    has its card already (the unique constraint decides, also between concurrent scans).

    In a scan batch the batch knows the ticket's cards (its claim keeps other scanners off the
    ticket), and the card is written with the batch's other rows at the commit."""
    if (batch := scan_batch.holding(session, ticket_id)) is not None:
        if (ticket_id, dept, round_) in batch.cards:
            return None
        batch.cards.add((ticket_id, dept, round_))
        card = transient(Card, {"dept_code": dept, "ticket_id": ticket_id, "round": round_, "colour": "yellow",
                                "clock": clock, "reason": reason, "at": at})
        held_rows.hold(session, card)
        return card
    if not await insert_ignore(session, Card, {"dept_code": dept, "ticket_id": ticket_id, "round": round_,
                                               "colour": "yellow", "clock": clock, "reason": reason, "at": at}):
        return None
    q = select(Card).where(Card.ticket_id == ticket_id, Card.dept_code == dept, Card.round == round_)
    return (await session.execute(q)).scalar_one()


async def turn_red(session: AsyncSession, card: Card) -> None:
    card.colour = "red"
    batch = scan_batch.of(session)
    if batch is None:
        await session.flush()
    elif not held_rows.pending(session, card):
        # The batch wrote the card (as yellow) before a statement that ran since — reading the
        # department's streak, for one — and the held object is no longer the row's copy.
        await session.execute(update(Card).where(Card.ticket_id == card.ticket_id, Card.dept_code == card.dept_code,
                                                 Card.round == card.round).values(colour="red"))


async def has_card(session: AsyncSession, ticket_id: int, dept: str, round_: int) -> bool:
    if (batch := scan_batch.holding(session, ticket_id)) is not None:
        return (ticket_id, dept, round_) in batch.cards
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
