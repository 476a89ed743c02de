"""The automatic 通报's durable record and the bytes outbox rows upload."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import insert_ignore
from storage.models import Bulletin, OutboxFile


async def claim(session: AsyncSession, period: str, kind: str, now: datetime, holder: str | None) -> bool:
    """Record that `period`'s 通报 is being posted in this transaction; False if it already was."""
    return await insert_ignore(session, Bulletin, {"period": period, "kind": kind, "posted_at": now,
                                                   "holder": holder})


async def posted(session: AsyncSession, periods: list[str]) -> set[str]:
    if not periods:
        return set()
    q = select(Bulletin.period).where(Bulletin.period.in_(periods))
    return set((await session.execute(q)).scalars())


async def add_file(session: AsyncSession, filename: str, content: bytes, now: datetime) -> int:
    row = OutboxFile(filename=filename, content=content, created_at=now)
    session.add(row)
    await session.flush()
    return row.id


async def file(session: AsyncSession, file_id: int) -> OutboxFile | None:
    return await session.get(OutboxFile, file_id)
