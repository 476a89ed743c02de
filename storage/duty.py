"""/duty assignments: who answers urgent matters for a department tonight."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import upsert
from storage.models import DutyAssignment, Person


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
