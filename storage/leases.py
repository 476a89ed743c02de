"""Database leases: exactly one scheduler (and one of each daily job) across instances."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import insert_ignore
from storage.models import Lease


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
