"""Assignments: each dispatch of a ticket to a lead department, as columns reports can add up.

Written by the transition engine (bot/services/transition.py) as the ticket moves, and by an
approved extension (the new resolve deadline).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Assignment


async def current(session: AsyncSession, ticket_id: int) -> Assignment | None:
    """The ticket's latest assignment that was not returned."""
    q = (select(Assignment).where(Assignment.ticket_id == ticket_id, Assignment.returned_at.is_(None))
         .order_by(Assignment.id.desc()).limit(1).execution_options(populate_existing=True))
    return (await session.execute(q)).scalar_one_or_none()


async def of_ticket(session: AsyncSession, ticket_id: int) -> list[Assignment]:
    q = select(Assignment).where(Assignment.ticket_id == ticket_id).order_by(Assignment.id)
    return list((await session.execute(q.execution_options(populate_existing=True))).scalars())


async def start(session: AsyncSession, ticket_id: int, dept: str, now: datetime, by: int | None,
                accept_due: datetime | None, resolve_due: datetime | None) -> None:
    session.add(Assignment(ticket_id=ticket_id, dept_code=dept, dispatched_at=now, dispatched_by=by,
                           accept_due=accept_due, resolve_due=resolve_due, first_resolve_due=resolve_due,
                           reopen_count=0))
    await session.flush()


async def _update_current(session: AsyncSession, ticket_id: int, **values: object) -> None:
    row = await current(session, ticket_id)
    if row is None:
        return
    await session.execute(update(Assignment).where(Assignment.id == row.id).values(**values)
                          .execution_options(synchronize_session=False))


async def accepted(session: AsyncSession, ticket_id: int, now: datetime, by: int | None) -> None:
    await _update_current(session, ticket_id, accepted_at=now, accepted_by=by)


async def returned(session: AsyncSession, ticket_id: int, now: datetime, reason: str | None) -> None:
    await _update_current(session, ticket_id, returned_at=now, return_reason=reason)


async def resolved(session: AsyncSession, ticket_id: int, now: datetime) -> None:
    row = await current(session, ticket_id)
    if row is None:
        return
    await session.execute(update(Assignment).where(Assignment.id == row.id)
                          .values(resolved_at=now, first_resolved_at=row.first_resolved_at or now)
                          .execution_options(synchronize_session=False))


async def reopened(session: AsyncSession, ticket_id: int, resolve_due: datetime | None) -> None:
    row = await current(session, ticket_id)
    if row is None:
        return
    await session.execute(update(Assignment).where(Assignment.id == row.id)
                          .values(resolved_at=None, resolve_due=resolve_due, reopen_count=row.reopen_count + 1)
                          .execution_options(synchronize_session=False))


async def extended(session: AsyncSession, ticket_id: int, resolve_due: datetime, now: datetime | None = None) -> None:
    """An approved extension moves the deadline; the first one too (办结率) while it has not passed."""
    row = await current(session, ticket_id)
    if row is None:
        return
    values: dict[str, object] = {"resolve_due": resolve_due}
    first = row.first_resolve_due
    if row.first_resolved_at is None and row.reopen_count == 0 and (first is None or now is None or now <= first):
        values["first_resolve_due"] = resolve_due
    await session.execute(update(Assignment).where(Assignment.id == row.id).values(**values)
                          .execution_options(synchronize_session=False))


async def reclassified(session: AsyncSession, ticket_id: int, accept_due: datetime | None,
                       resolve_due: datetime | None, now: datetime) -> None:
    """A change of kind or urgency moved the deadlines of the current dispatch; the first resolve
    deadline (办结率) follows while the first round runs and it has not passed, and the accept
    deadline (响应率) while the dispatch is not accepted and it has not passed — 改普通 after a late
    签收 turned it into one on time, and the department's 响应率 with it."""
    row = await current(session, ticket_id)
    if row is None:
        return
    values: dict[str, object] = {"resolve_due": resolve_due}
    if row.accepted_at is None and (row.accept_due is None or now <= row.accept_due):
        values["accept_due"] = accept_due
    first = row.first_resolve_due
    if row.first_resolved_at is None and row.reopen_count == 0 and (first is None or now <= first):
        values["first_resolve_due"] = resolve_due
    await session.execute(update(Assignment).where(Assignment.id == row.id).values(**values)
                          .execution_options(synchronize_session=False))
