"""The deadline scan's queries (DESIGN §3): due rows by index, claims of a batch of them.

Nothing here walks the open tickets: every query is a primary-key or
``ix_tickets_next_check`` range lookup, so a scan costs what is due, not what is open.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session
from sqlalchemy.orm.attributes import set_committed_value

from storage import scan_batch
from storage.common import run_core
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


async def claim(session: AsyncSession, seen: list[tuple[int, datetime]]) -> list[int]:
    """Take due tickets for this transaction: of several scanners, only one wins each row.

    One conditional UPDATE moves ``next_check_at`` off the value the scanner saw, for every
    (id, seen) pair at once; the same transaction then sets the real next checks.  A second
    scanner (or one restarted after a crash that rolled this back) finds either the new value
    or the old one, never both.  On PostgreSQL rows another transaction holds are skipped
    rather than waited for (they are that scanner's, or a change that will set their next
    check itself); SQLite serialises writers anyway.  Returns the ids claimed, in the order of
    ``seen`` (RETURNING has no order on PostgreSQL; the earlier deadline earns the earlier card).
    """
    if not seen:
        return []
    # `id IN` first: SQLite looks the rows up by primary key (the pairs alone would scan the table).
    locked = (select(Ticket.id).where(Ticket.id.in_([i for i, _ in seen]),
                                      tuple_(Ticket.id, Ticket.next_check_at).in_(seen))
              # NO KEY UPDATE: a reply or an outbox link inserting a row that refers to the ticket
              # takes KEY SHARE on it, which must neither make the scan skip the ticket nor wait for it
              .with_for_update(skip_locked=True, key_share=True))
    result = await session.execute(
        update(Ticket).where(Ticket.id.in_(locked)).values(next_check_at=None).returning(Ticket.id)
        .execution_options(synchronize_session=False))
    claimed = {row[0] for row in result.all()}
    return [i for i, _ in seen if i in claimed]


async def postpone(session: AsyncSession, seen: list[tuple[int, datetime]], until: datetime) -> int:
    """Push tickets whose handling failed a little into the future (no hot retry loop)."""
    if not seen:
        return 0
    result = await session.execute(
        update(Ticket).where(Ticket.id.in_([i for i, _ in seen]), tuple_(Ticket.id, Ticket.next_check_at).in_(seen))
        .values(next_check_at=until).execution_options(synchronize_session=False))
    return result.rowcount


async def set_next(session: AsyncSession, t: Ticket, when: datetime | None, state: dict | None = None) -> None:
    """The ticket's next check, and the clocks' bookkeeping when it changed (``state``).

    A ticket of the scan's batch is simply changed: the unit of work writes the batch's rows
    together at the commit.  Otherwise one UPDATE now, and the caller's object is kept in
    step without being marked dirty (no second UPDATE at the flush).
    """
    batch = scan_batch.holding(session, t.id)
    if batch is not None and batch.tickets[t.id] is t and object_session(t) is session.sync_session:
        if state is not None:
            t.clock_state = state
        t.next_check_at = when
        return
    params: dict = {"t_id": t.id, "t_next": when}
    if state is not None:
        params["t_state"] = state
    await run_core(session, _SET_NEXT_AND_STATE if state is not None else _SET_NEXT, params)
    if state is not None:
        set_committed_value(t, "clock_state", state)
    set_committed_value(t, "next_check_at", when)


# Every transition and every scanned ticket outside a batch runs one of these: built once.
_SET_NEXT = update(Ticket.__table__).where(Ticket.id == bindparam("t_id")).values(next_check_at=bindparam("t_next"))
_SET_NEXT_AND_STATE = _SET_NEXT.values(clock_state=bindparam("t_state"))


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
