"""The deadline scan's queries (DESIGN §3): due rows by index, per-row claims.

Nothing here walks the open tickets: every query is a primary-key or
``ix_tickets_next_check`` range lookup, so a scan costs what is due, not what is open.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Ticket

Cursor = tuple[datetime, int]


async def due(session: AsyncSession, now: datetime, limit: int,
              after: Cursor | None = None) -> list[tuple[int, datetime]]:
    """(id, next_check_at) of due tickets in (next_check_at, id) order, after ``after``."""
    q = select(Ticket.id, Ticket.next_check_at).where(Ticket.next_check_at <= now)
    if after is not None:
        at, tid = after
        q = q.where(or_(Ticket.next_check_at > at, and_(Ticket.next_check_at == at, Ticket.id > tid)))
    q = q.order_by(Ticket.next_check_at, Ticket.id).limit(limit)
    return [(row[0], row[1]) for row in (await session.execute(q)).all()]


async def claim(session: AsyncSession, ticket_id: int, seen: datetime) -> bool:
    """Take a due ticket for this transaction: only one scanner wins the row.

    The conditional UPDATE moves ``next_check_at`` off the value the scanner saw; the same
    transaction then sets the real next check.  A second scanner (or one restarted after
    a crash that rolled this back) finds either the new value or the old one, never both.
    """
    result = await session.execute(
        update(Ticket).where(Ticket.id == ticket_id, Ticket.next_check_at == seen)
        .values(next_check_at=None).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def postpone(session: AsyncSession, ticket_id: int, seen: datetime, until: datetime) -> bool:
    """Push a ticket whose handling failed a little into the future (no hot retry loop)."""
    result = await session.execute(
        update(Ticket).where(Ticket.id == ticket_id, Ticket.next_check_at == seen)
        .values(next_check_at=until).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def set_next(session: AsyncSession, ticket_id: int, when: datetime | None,
                   state: dict | None = None) -> None:
    """The ticket's next check, and the clocks' bookkeeping when it changed."""
    values: dict = {"next_check_at": when}
    if state is not None:
        values["clock_state"] = state
    await session.execute(update(Ticket).where(Ticket.id == ticket_id).values(**values)
                          .execution_options(synchronize_session=False))


async def lock(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket, read afresh under its row lock for the rest of the transaction.

    ``FOR NO KEY UPDATE`` is the lock a plain UPDATE of the row takes: it waits for (and
    holds off) other writers of the row, such as the scan between its claim and commit, but
    not the inserts of rows that merely reference the ticket (events, links, outbox).
    SQLite has no row locks: there BEGIN IMMEDIATE already serialises the writers.
    """
    q = (select(Ticket).where(Ticket.id == ticket_id).with_for_update(key_share=True)
         .execution_options(populate_existing=True))
    return (await session.execute(q)).scalar_one_or_none()
