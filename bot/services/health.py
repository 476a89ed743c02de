"""What an admin sees with /health: the inbox and outbox queues, and what was parked."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.access import Roles, require_admin
from storage import inbox
from storage import outbox


@dataclass(frozen=True)
class Health:
    inbox_pending: int
    inbox_dead: int
    outbox_pending: int
    last_dead_error: str | None


async def health(session: AsyncSession, roles: Roles) -> Health:
    """For admins only."""
    require_admin(roles)
    counts = await inbox.counts(session)
    dead = await inbox.dead(session, limit=1)
    return Health(inbox_pending=counts["pending"], inbox_dead=counts["dead"],
                  outbox_pending=await outbox.count_pending(session),
                  last_dead_error=(dead[0].error or "")[:300] if dead else None)
