"""The persistent outbox (DESIGN §5): rows written with the change that causes them."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage


def enqueue(
    session: AsyncSession, *, chat_id: int, method: str, payload: dict[str, Any], now: datetime,
    thread_id: int | None = None, ticket_id: int | None = None, purpose: str | None = None,
    awaiting_user_id: int | None = None, fallback: dict | None = None, delay: float = 0.0,
) -> OutboxMessage:
    row = OutboxMessage(
        chat_id=chat_id, thread_id=thread_id, method=method, payload=payload, ticket_id=ticket_id,
        purpose=purpose, awaiting_user_id=awaiting_user_id, fallback=fallback, status="pending",
        attempts=0, not_before=now + timedelta(seconds=delay), created_at=now,
    )
    session.add(row)
    return row


async def heads(session: AsyncSession, now: datetime, limit: int = 200) -> list[OutboxMessage]:
    """The oldest unsent row of each chat, when it is due: per-chat order is kept."""
    first = (
        select(func.min(OutboxMessage.id))
        .where(OutboxMessage.status.in_(("pending", "sending")))
        .group_by(OutboxMessage.chat_id)
        .scalar_subquery()
    )
    q = (
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(first), OutboxMessage.status == "pending", OutboxMessage.not_before <= now)
        .order_by(OutboxMessage.not_before, OutboxMessage.id)
        .limit(limit)
    )
    return list((await session.execute(q)).scalars())


async def next_due(session: AsyncSession) -> datetime | None:
    q = select(func.min(OutboxMessage.not_before)).where(OutboxMessage.status == "pending")
    return (await session.execute(q)).scalar_one_or_none()


async def claim(session: AsyncSession, row_id: int) -> bool:
    result = await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
        .values(status="sending", attempts=OutboxMessage.attempts + 1)
    )
    return result.rowcount == 1


async def release_stuck(session: AsyncSession) -> int:
    """Rows left 'sending' by a crash go back to the queue at start-up."""
    result = await session.execute(
        update(OutboxMessage).where(OutboxMessage.status == "sending").values(status="pending")
    )
    return result.rowcount


async def pending_for(session: AsyncSession, ticket_id: int, purpose: str) -> OutboxMessage | None:
    q = select(OutboxMessage).where(
        OutboxMessage.ticket_id == ticket_id, OutboxMessage.purpose == purpose, OutboxMessage.status == "pending"
    )
    return (await session.execute(q)).scalars().first()


async def reroute_chat(session: AsyncSession, old_id: int, new_id: int) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.chat_id == old_id, OutboxMessage.status.in_(("pending", "sending")))
        .values(chat_id=new_id, status="pending")
    )


async def count_pending(session: AsyncSession) -> int:
    q = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending")))
    return (await session.execute(q)).scalar_one()
