"""The automatic 通报 job: on the scheduler's lease holder, every minute, post what is due."""
from __future__ import annotations

from datetime import datetime

from bot.context import App
from bot.services import bulletins
from scheduler.jobs import DEFAULT_HOLDER, hold_lease

EVERY = 60.0  # seconds; the job only looks whether a period's 09:00 has come


async def bulletin_job(app: App, holder: str | None = None, now: datetime | None = None) -> list[str]:
    if not await hold_lease(app, holder or DEFAULT_HOLDER, now):
        return []
    return await bulletins.post_due(app, now, holder or DEFAULT_HOLDER)
