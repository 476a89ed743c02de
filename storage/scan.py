"""The deadline scan's queries (DESIGN §3): due rows by index, per-row claims, the lease.

Nothing here walks the open tickets: every query is a primary-key or
``ix_tickets_next_check`` range lookup, so a scan costs what is due, not what is open.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import insert_ignore
from storage.models import Lease, Ticket

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
    values: dict = {"next_check_at": when}
    if state is not None:
        values["sla_state"] = state
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


async def lock_state(session: AsyncSession, ticket_id: int) -> tuple[bool, dict | None]:
    """(found, sla_state) of a ticket, read under its row lock (see ``lock``)."""
    q = select(Ticket.sla_state).where(Ticket.id == ticket_id).with_for_update(key_share=True)
    row = (await session.execute(q)).first()
    return (row is not None, row[0] if row is not None else None)


async def set_state(session: AsyncSession, ticket_id: int, state: dict, now: datetime | None = None) -> None:
    values: dict = {"sla_state": state}
    if now is not None:
        values["updated_at"] = now
    await session.execute(update(Ticket).where(Ticket.id == ticket_id).values(**values)
                          .execution_options(synchronize_session=False))


async def take_lease(session: AsyncSession, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``holder``; False while someone else holds it."""
    until = now + ttl
    if await insert_ignore(session, Lease, {"name": name, "holder": holder, "expires_at": until}):
        return True
    result = await session.execute(
        update(Lease).where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=until))
    return result.rowcount == 1


async def release_lease(session: AsyncSession, name: str, holder: str, now: datetime) -> None:
    await session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                          .values(expires_at=now))


async def lease_holder(session: AsyncSession, name: str) -> Lease | None:
    return await session.get(Lease, name, populate_existing=True)


async def mark_day(session: AsyncSession, name: str, day: str, now: datetime) -> bool:
    """Remember that the daily job ``name`` ran for ``day`` (YYYY-MM-DD); False if it already did.

    Kept in the leases table (holder = the last day, ISO dates sort as strings): the same
    conditional update makes it idempotent across restarts and instances.
    """
    if await insert_ignore(session, Lease, {"name": name, "holder": day, "expires_at": now}):
        return True
    result = await session.execute(
        update(Lease).where(Lease.name == name, Lease.holder < day).values(holder=day, expires_at=now))
    return result.rowcount == 1
