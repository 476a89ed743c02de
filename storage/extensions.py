"""Extension requests (申请延期)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Extension


async def create(session: AsyncSession, ticket_id: int, user_id: int, reason: str, new_due: datetime,
                 now: datetime, assignment_id: int | None, round_: int) -> Extension:
    ext = Extension(ticket_id=ticket_id, requested_by=user_id, reason=reason, new_due=new_due, status="pending",
                    created_at=now, assignment_id=assignment_id, round=round_)
    session.add(ext)
    await session.flush()
    return ext


async def get(session: AsyncSession, ext_id: int) -> Extension | None:
    return await session.get(Extension, ext_id)


async def decide(session: AsyncSession, ext_id: int, status: str, by: int, now: datetime) -> bool:
    result = await session.execute(
        update(Extension).where(Extension.id == ext_id, Extension.status == "pending")
        .values(status=status, decided_by=by, decided_at=now)
    )
    return result.rowcount == 1


async def approved_due(session: AsyncSession, ticket_id: int) -> datetime | None:
    """The deadline the latest approved extension of a ticket set (None: never extended)."""
    q = (select(Extension.new_due).where(Extension.ticket_id == ticket_id, Extension.status == "approved")
         .order_by(Extension.decided_at.desc(), Extension.id.desc()).limit(1))
    return (await session.execute(q)).scalar_one_or_none()


async def lapse_pending(session: AsyncSession, ticket_id: int, now: datetime) -> list[Extension]:
    """The ticket's undecided requests, marked `lapsed` (the round they were asked in is over)."""
    pending = list((await session.execute(select(Extension).where(
        Extension.ticket_id == ticket_id, Extension.status == "pending"))).scalars())
    if pending:
        await session.execute(update(Extension).where(Extension.id.in_([e.id for e in pending]),
                                                      Extension.status == "pending")
                              .values(status="lapsed", decided_at=now))
    return pending


async def of_ticket(session: AsyncSession, ticket_id: int) -> list[Extension]:
    return list((await session.execute(select(Extension).where(Extension.ticket_id == ticket_id))).scalars())
