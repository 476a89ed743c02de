"""/duty assignments: who answers urgent matters for a department tonight, and who is the
on-duty dispatcher (the dispatch chat's /duty)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import upsert
from storage.models import DeskDuty, DutyAssignment, Person


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


async def desk_duty(session: AsyncSession, desk: str) -> DeskDuty | None:
    return await session.get(DeskDuty, desk, populate_existing=True)


async def set_desk_duty(session: AsyncSession, desk: str, user_id: int, now: datetime) -> None:
    await upsert(session, DeskDuty, {"desk": desk, "user_id": user_id, "set_at": now},
                 keys=["desk"], update=["user_id", "set_at"])


async def clear_desk_duty(session: AsyncSession, desk: str) -> int:
    return (await session.execute(delete(DeskDuty).where(DeskDuty.desk == desk))).rowcount
