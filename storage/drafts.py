"""Private guided appeals in progress."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Draft


async def get(session: AsyncSession, user_id: int, refresh: bool = False) -> Draft | None:
    return await session.get(Draft, user_id, populate_existing=refresh)


async def start(session: AsyncSession, user_id: int, now: datetime, text: str = "", step: str = "describe",
                area_code: str | None = None) -> Draft:
    d = await session.get(Draft, user_id)
    if d is None:
        d = Draft(user_id=user_id, step=step, text=text, photos=[], area_code=area_code, updated_at=now)
        session.add(d)
    else:
        d.step, d.text, d.photos, d.latitude, d.longitude, d.kind, d.updated_at = step, text, [], None, None, None, now
        d.area_code = area_code
    return d


async def drop(session: AsyncSession, user_id: int) -> bool:
    d = await session.get(Draft, user_id)
    if d is None:
        return False
    await session.delete(d)
    return True
