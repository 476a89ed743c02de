"""Satisfaction (DESIGN §4): asking the reporter to rate a resolved ticket.

Interface used by the rest of the code (keep the signatures):
- `ask(session, app, t)`: called in the resolve transaction, after the result was queued.
- `next_check(app, t) -> datetime | None`: when the scan must look at a RESOLVED/CLOSED ticket again.
- `on_due(session, app, t, now) -> None`: the scan calls this for due RESOLVED/CLOSED tickets.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from storage.models import Ticket


async def ask(session: AsyncSession, app: App, t: Ticket) -> None:
    return None


def next_check(app: App, t: Ticket) -> datetime | None:
    return None


async def on_due(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    return None
