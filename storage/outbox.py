"""The persistent outbox (DESIGN §5): rows written with the change that causes them."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage import held_rows
from storage.common import run_core
from storage.object_builder import transient
from storage.models import OutboxMessage


# Within a chat: what someone is waiting for first, then news, then digests (see `heads`).
URGENT, NEWS, DIGEST = 0, 1, 2
EDITS = ("edit_text", "edit_markup", "delete")
# A reaction is a short answer to someone's message (a 附议, a comment noted): it goes first too.
ANSWERS = (*EDITS, "react")


def priority_of(method: str, purpose: str | None, payload: dict[str, Any]) -> int:
    """An ack, a direct reply to someone's message or command, and the new state of a card a button
    was pressed on are answers someone is waiting for; digests can wait for everything else."""
    if purpose == "ack" or method in ANSWERS or (purpose is None and payload.get("reply_to")):
        return URGENT
    return DIGEST if purpose == "digest" else NEWS


def enqueue(
    session: AsyncSession, *, chat_id: int, method: str, payload: dict[str, Any], now: datetime,
    thread_id: int | None = None, ticket_id: int | None = None, purpose: str | None = None,
    awaiting_user_id: int | None = None, fallback: dict | None = None, delay: float = 0.0,
    priority: int | None = None,
) -> OutboxMessage:
    row = transient(OutboxMessage, dict(
        chat_id=chat_id, thread_id=thread_id, method=method, payload=payload, ticket_id=ticket_id,
        purpose=purpose, awaiting_user_id=awaiting_user_id, fallback=fallback, status="pending",
        attempts=0, not_before=now + timedelta(seconds=delay), created_at=now,
        priority=priority_of(method, purpose, payload) if priority is None else priority,
    ))
    held_rows.hold(session, row)  # written with the session's next statement or its commit
    return row


async def asked_lately(session: AsyncSession, *, chat_id: int, ticket_id: int, purpose: str, user_id: int | None,
                       since: datetime) -> list[dict]:
    """The link data of this question (its purpose, about this ticket, awaiting this person) as it
    went to the chat at or after `since`, sent or still queued: one per time it was asked."""
    q = select(OutboxMessage.payload).where(
        OutboxMessage.ticket_id == ticket_id, OutboxMessage.chat_id == chat_id, OutboxMessage.purpose == purpose,
        OutboxMessage.awaiting_user_id == user_id, OutboxMessage.created_at >= since)
    return [(payload or {}).get("link_data") or {} for payload in (await session.execute(q)).scalars()]


async def said_lately(session: AsyncSession, *, chat_id: int, purpose: str, since: datetime) -> bool:
    """Whether a message of this purpose went to the chat at or after `since` (sent or still queued)."""
    q = select(OutboxMessage.id).where(OutboxMessage.chat_id == chat_id, OutboxMessage.purpose == purpose,
                                       OutboxMessage.created_at >= since).limit(1)
    return (await session.execute(q)).first() is not None


# The outbox's round runs these several times a second in a burst: built once, here.
_OUT = OutboxMessage.__table__
_HEAD_LEVELS = (select(_OUT.c.chat_id, _OUT.c.priority, _OUT.c.status, func.min(_OUT.c.id))
                .where(_OUT.c.status.in_(("pending", "sending")))
                .group_by(_OUT.c.chat_id, _OUT.c.priority, _OUT.c.status))
_HEAD_ROWS = select(OutboxMessage).where(OutboxMessage.id.in_(bindparam("ids", expanding=True)))
_TICKETS_FIRST = (select(_OUT.c.ticket_id, _OUT.c.chat_id, func.min(_OUT.c.id))
                  .where(_OUT.c.ticket_id.in_(bindparam("tickets", expanding=True)), _OUT.c.status == "pending")
                  .group_by(_OUT.c.ticket_id, _OUT.c.chat_id))
_CLAIM_MANY = (update(_OUT).where(_OUT.c.id.in_(bindparam("ids", expanding=True)), _OUT.c.status == "pending")
               .values(status="sending", attempts=_OUT.c.attempts + 1).returning(_OUT.c.id))
_MARK_SENT = (update(_OUT).where(_OUT.c.id == bindparam("row_id"))
              .values(status="sent", sent_at=bindparam("at"), sent_message_ids=bindparam("ids"), error=None))


async def heads(session: AsyncSession, now: datetime, limit: int = 200) -> tuple[list[OutboxMessage], datetime | None]:
    """What may be sent now, and when the next row that is not due yet falls due.

    At most one row per chat, none for a chat with a send in flight. A chat's next row is its
    most urgent due row that no older unsent row of the same chat blocks; an older row blocks
    when it is at least as urgent (first in, first out within a priority) or belongs to the
    same ticket (a ticket's messages never overtake each other). Ordered most urgent first,
    then by due time. Usually two statements: one grouped read, one read of the candidates.
    """
    groups = (await run_core(session, _HEAD_LEVELS)).all()
    busy = {chat_id for chat_id, _p, status, _i in groups if status == "sending"}
    levels: dict[int, list[tuple[int, int]]] = {}
    for chat_id, priority, status, first_id in groups:
        if status == "pending" and chat_id not in busy:
            levels.setdefault(chat_id, []).append((priority, first_id))
    candidates: list[int] = []
    mixed: set[int] = set()  # chats with rows at several priorities: a ticket's order must be checked
    for chat_id, chat_levels in levels.items():
        older = None  # the oldest row of any more urgent level
        for _priority, first_id in sorted(chat_levels):
            if older is None or first_id < older:
                candidates.append(first_id)
            older = first_id if older is None else min(older, first_id)
        if len(chat_levels) > 1:
            mixed.add(chat_id)
    if not candidates:
        return [], None
    rows: list[OutboxMessage] = []
    for chunk in range(0, len(candidates), 500):
        rows += list((await session.execute(_HEAD_ROWS, {"ids": candidates[chunk:chunk + 500]})).scalars())
    later = [r.not_before for r in rows if r.not_before > now]
    rows = [r for r in rows if r.not_before <= now]
    ticketed = sorted({r.ticket_id for r in rows if r.ticket_id is not None and r.chat_id in mixed})
    first_of_ticket: dict[tuple[int, int], int] = {}
    for chunk in range(0, len(ticketed), 500):
        found = await run_core(session, _TICKETS_FIRST, {"tickets": ticketed[chunk:chunk + 500]})
        first_of_ticket.update({(t, c): i for t, c, i in found.all()})
    chosen: dict[int, OutboxMessage] = {}
    for row in sorted(rows, key=lambda r: (r.priority, r.id)):
        if row.chat_id in chosen:
            continue
        if row.ticket_id is not None and first_of_ticket.get((row.ticket_id, row.chat_id), row.id) < row.id:
            continue  # an older message of the same ticket goes first
        chosen[row.chat_id] = row
    ready = sorted(chosen.values(), key=lambda r: (r.priority, r.not_before, r.id))[:limit]
    return ready, min(later, default=None)


async def next_due(session: AsyncSession, after: datetime | None = None) -> datetime | None:
    """When the next pending row falls due (only rows not yet due, when `after` is given)."""
    q = select(func.min(OutboxMessage.not_before)).where(OutboxMessage.status == "pending")
    if after is not None:
        q = q.where(OutboxMessage.not_before > after)
    return (await session.execute(q)).scalar_one_or_none()


async def claim(session: AsyncSession, row_id: int) -> bool:
    result = await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
        .values(status="sending", attempts=OutboxMessage.attempts + 1)
    )
    return result.rowcount == 1


async def claim_many(session: AsyncSession, rows: list[OutboxMessage]) -> set[int]:
    """Mark rows as being sent (one statement for a whole round); returns the ids that were still
    pending. The objects say so too (status, attempts counted), as the ORM's update would have."""
    if not rows:
        return set()
    claimed = set((await run_core(session, _CLAIM_MANY, {"ids": [row.id for row in rows]})).scalars())
    for row in rows:
        if row.id in claimed:
            set_committed_value(row, "status", "sending")
            set_committed_value(row, "attempts", row.attempts + 1)
    return claimed


async def set_row(session: AsyncSession, row_id: int, values: dict[str, Any]) -> None:
    """What became of a row the sender tried: sent, failed, or back in the queue."""
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))


async def mark_sent(session: AsyncSession, sent: list[tuple[int, list[int], datetime]]) -> None:
    """Rows Telegram took: (id, the message ids it gave, when) — one UPDATE by primary key for all."""
    if sent:
        await run_core(session, _MARK_SENT, [{"row_id": row_id, "ids": ids, "at": at} for row_id, ids, at in sent])


async def release_stuck(session: AsyncSession) -> int:
    """Rows left 'sending' by a crash go back to the queue at start-up."""
    result = await session.execute(
        update(OutboxMessage).where(OutboxMessage.status == "sending").values(status="pending")
    )
    return result.rowcount


async def link_on_its_way(session: AsyncSession, chat_id: int) -> bool:
    """Whether a message about a ticket was sent to this chat and its link (`message_links`) is
    not written yet: the worker marks sent rows in its next round, until then they are `sending`."""
    q = select(OutboxMessage.id).where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == "sending",
                                       OutboxMessage.ticket_id.is_not(None), OutboxMessage.purpose.is_not(None))
    return (await session.execute(q.limit(1))).first() is not None


async def pending_for(session: AsyncSession, ticket_id: int, purpose: str) -> OutboxMessage | None:
    q = select(OutboxMessage).where(
        OutboxMessage.ticket_id == ticket_id, OutboxMessage.purpose == purpose, OutboxMessage.status == "pending"
    )
    return (await session.execute(q)).scalars().first()


async def pending_in_chat(session: AsyncSession, chat_id: int, purpose: str) -> OutboxMessage | None:
    """A message of this purpose to the chat not sent yet (the latest)."""
    q = select(OutboxMessage).where(
        OutboxMessage.chat_id == chat_id, OutboxMessage.purpose == purpose, OutboxMessage.status == "pending"
    ).order_by(OutboxMessage.id.desc())
    return (await session.execute(q)).scalars().first()


async def rewrite_pending(session: AsyncSession, row_id: int, payload: dict[str, Any]) -> bool:
    """New contents for a row not sent yet; False when the worker has taken it meanwhile."""
    result = await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
        .values(payload=payload)
    )
    return result.rowcount == 1


async def drop_pending_edits(session: AsyncSession, ticket_id: int, chat_id: int, message_id: int) -> int:
    """Forget edits of a message not sent yet: a newer edit replaces them (no flash of a text
    that is out of date before it is even shown)."""
    q = select(OutboxMessage.id, OutboxMessage.payload).where(
        OutboxMessage.ticket_id == ticket_id, OutboxMessage.chat_id == chat_id,
        OutboxMessage.method.in_(EDITS[:2]), OutboxMessage.status == "pending")
    ids = [i for i, payload in (await session.execute(q)).all() if payload.get("message_id") == message_id]
    if not ids:
        return 0
    result = await session.execute(
        delete(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending"))
    return result.rowcount


async def latest_for(session: AsyncSession, ticket_id: int, purpose: str) -> OutboxMessage | None:
    """The newest row of a ticket for a purpose, whatever its status."""
    q = (select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.purpose == purpose)
         .order_by(OutboxMessage.id.desc()).limit(1).execution_options(populate_existing=True))
    return (await session.execute(q)).scalars().first()


_ROWS_FOR = (select(OutboxMessage).where(OutboxMessage.ticket_id == bindparam("ticket"),
                                         OutboxMessage.purpose.in_(bindparam("purposes", expanding=True)))
             .order_by(OutboxMessage.id).execution_options(populate_existing=True))


async def rows_for(session: AsyncSession, ticket_id: int, purposes: tuple[str, ...]) -> list[OutboxMessage]:
    """A ticket's rows of some purposes, oldest first, as they are now (every move asks: built once)."""
    return list((await session.execute(_ROWS_FOR, {"ticket": ticket_id, "purposes": list(purposes)})).scalars())


async def reroute_chat(session: AsyncSession, old_id: int, new_id: int) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.chat_id == old_id, OutboxMessage.status.in_(("pending", "sending")))
        .values(chat_id=new_id, status="pending")
    )


async def count_pending(session: AsyncSession) -> int:
    q = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending")))
    return (await session.execute(q)).scalar_one()
