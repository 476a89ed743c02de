"""The clocks on a ticket (DESIGN §3): deadlines from the SLA, and when to look again."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from storage import tickets
from storage.models import Ticket


def windows(app: App, t: Ticket, start: datetime) -> dict[str, datetime]:
    urgent = t.urgency == "urgent"
    return {
        f"{clock}_due": app.sla.window(clock, t.kind, urgent).after(start, app.calendar)
        for clock in ("accept", "progress", "resolve")
    }


def next_check(t: Ticket) -> datetime | None:
    if t.status == "DISPATCHED":
        return t.accept_due
    if t.status in ("ACCEPTED", "REOPENED"):
        return t.resolve_due
    return None


async def reschedule(session: AsyncSession, app: App, t: Ticket) -> None:
    await tickets.touch(session, t.id, {"next_check_at": next_check(t)}, app.now())
