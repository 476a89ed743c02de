"""Satisfaction (DESIGN §4): asking the reporter to rate a resolved ticket."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from storage.models import Ticket


async def ask(session: AsyncSession, app: App, t: Ticket) -> None:
    """Hook called when a ticket is resolved; the ratings issue fills it in."""
    return None
