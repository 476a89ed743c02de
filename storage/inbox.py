"""The inbox's queries: raw updates in, claims with a lease, done / retry / dead out.

The inbox is the mirror of the outbox.  An update is committed here before Telegram is
told it arrived; workers of any instance then claim the oldest pending update of each
chat (``chat_key``), so one chat's updates are handled in order while chats run in
parallel.  A claim is a conditional UPDATE that expires (``claimed_until``): a worker
that died leaves its row to be taken over, and two claimers never both win the row.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import insert_ignore_prebuilt, run_core
from storage.models import InboxUpdate, SeenUpdate

# Update kinds whose object carries the chat the update belongs to.
CHAT_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post", "my_chat_member",
              "chat_member", "chat_join_request", "message_reaction", "message_reaction_count",
              "business_message", "edited_business_message", "chat_boost", "removed_chat_boost")


def chat_key(raw: dict[str, Any]) -> int:
    """The chat whose updates must be handled in order (the presser's id for inline buttons)."""
    for kind, body in raw.items():
        if kind == "update_id" or not isinstance(body, dict):
            continue
        if kind in CHAT_KINDS and isinstance(body.get("chat"), dict):
            return _int(body["chat"].get("id"))
        if kind == "callback_query" and isinstance(body.get("message"), dict):
            chat = body["message"].get("chat")
            if isinstance(chat, dict):
                return _int(chat.get("id"))
        for who in ("from", "user", "voter_chat"):
            if isinstance(body.get(who), dict):
                return _int(body[who].get("id"))
    return 0


def _int(value: Any) -> int:
    return value if isinstance(value, int) and abs(value) < 2**63 else 0


async def receive(session: AsyncSession, raws: Iterable[dict[str, Any]], now: datetime) -> int:
    """Store raw updates (a repeated ``update_id`` is ignored); how many were new. One statement
    for a whole getUpdates answer (up to 100 updates)."""
    rows = [{"update_id": raw["update_id"], "chat_key": chat_key(raw), "payload": raw, "status": "pending",
             "attempts": 0, "received_at": now, "not_before": now} for raw in raws]
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await session.execute(insert(InboxUpdate).values(rows).on_conflict_do_nothing())
    return max(0, result.rowcount)


async def claim(session: AsyncSession, holder: str, now: datetime, until: datetime,
                limit: int) -> list[InboxUpdate]:
    """Take up to ``limit`` chat heads (the oldest pending update of each chat) that are due and free.

    A head someone else holds keeps its whole chat waiting, so a chat's updates never run
    side by side, on this instance or another.
    """
    if limit <= 0:
        return []
    rows = await run_core(session, _CLAIM, {"now": now, "holder": holder, "until": until, "limit": limit})
    claimed = [InboxUpdate(update_id=r[0], payload=r[1], attempts=r[2]) for r in rows.all()]
    return sorted(claimed, key=lambda r: r.update_id)


# The statements every update runs, built once (storage/common.py `run_core`).
_NOW = bindparam("now", type_=InboxUpdate.__table__.c.not_before.type)
_FREE = or_(InboxUpdate.claimed_until.is_(None), InboxUpdate.claimed_until < _NOW)
# Chat heads that are due and nobody holds.
_CLAIMABLE = select(InboxUpdate.update_id).where(
    InboxUpdate.update_id.in_(select(func.min(InboxUpdate.update_id)).where(InboxUpdate.status == "pending")
                              .group_by(InboxUpdate.chat_key).scalar_subquery()),
    InboxUpdate.not_before <= _NOW, _FREE)
_CLAIM = (  # one statement: the conditions are checked again on each row it takes
    update(InboxUpdate.__table__)
    .where(InboxUpdate.update_id.in_(_CLAIMABLE.order_by(InboxUpdate.update_id).limit(bindparam("limit"))
                                     .scalar_subquery()),
           InboxUpdate.status == "pending", _FREE)
    .values(claimed_by=bindparam("holder"), claimed_until=bindparam("until"), attempts=InboxUpdate.attempts + 1)
    .returning(InboxUpdate.update_id, InboxUpdate.payload, InboxUpdate.attempts))
_MORE_DUE = _CLAIMABLE.limit(1)
_DONE = (update(InboxUpdate.__table__).where(InboxUpdate.update_id == bindparam("id"))
         .values(status="done", done_at=bindparam("at"), claimed_by=None, claimed_until=None, error=None))


async def more_due(session: AsyncSession, now: datetime) -> bool:
    """Whether a chat head is due that nobody holds (after a claim: one no worker was free for)."""
    return (await run_core(session, _MORE_DUE, {"now": now})).first() is not None


async def first_seen(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record an update id in the seen set; False when it was there (every update asks)."""
    return await insert_ignore_prebuilt(session, SeenUpdate.__table__, {"update_id": update_id, "seen_at": now})


async def mark_done(session: AsyncSession, update_id: int, now: datetime) -> None:
    """Part of the update's own transaction: the row is done exactly when its work is committed."""
    await run_core(session, _DONE, {"id": update_id, "at": now})


async def retry(session: AsyncSession, update_id: int, error: str, not_before: datetime) -> None:
    await session.execute(
        update(InboxUpdate).where(InboxUpdate.update_id == update_id, InboxUpdate.status == "pending")
        .values(error=error[:2000], not_before=not_before, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False))


async def set_aside(session: AsyncSession, update_id: int, error: str, now: datetime) -> None:
    """An update the database refuses to hold as it came (the error says why; the raw is logged):
    kept as a dead row in its place, so it is counted, and the updates behind it go on."""
    await session.execute(insert_ignore_row(session, {
        "update_id": update_id, "chat_key": 0, "payload": {"update_id": update_id, "set_aside": True},
        "status": "dead", "attempts": 0, "error": error[:2000], "received_at": now, "not_before": now,
        "done_at": now}))


def insert_ignore_row(session: AsyncSession, row: dict[str, Any]) -> Any:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(InboxUpdate).values(row).on_conflict_do_nothing()


async def park(session: AsyncSession, update_id: int, error: str, now: datetime) -> bool:
    """Set a failing update aside as dead so the updates behind it go on; False if it was done meanwhile."""
    result = await session.execute(
        update(InboxUpdate).where(InboxUpdate.update_id == update_id, InboxUpdate.status == "pending")
        .values(status="dead", error=error[:2000], done_at=now, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


async def release(session: AsyncSession, holder: str | None = None) -> int:
    """Give claims back (``holder``'s, or all of them when one process owns the database)."""
    q = update(InboxUpdate).where(InboxUpdate.status == "pending", InboxUpdate.claimed_by.is_not(None))
    if holder is not None:
        q = q.where(InboxUpdate.claimed_by == holder)
    result = await session.execute(q.values(claimed_by=None, claimed_until=None)
                                   .execution_options(synchronize_session=False))
    return result.rowcount


async def next_due(session: AsyncSession) -> datetime | None:
    q = select(func.min(InboxUpdate.not_before)).where(InboxUpdate.status == "pending")
    return (await session.execute(q)).scalar_one_or_none()


async def counts(session: AsyncSession) -> dict[str, int]:
    """How many updates wait (pending) and how many were parked (dead); done ones are not counted."""
    q = (select(InboxUpdate.status, func.count()).where(InboxUpdate.status.in_(("pending", "dead")))
         .group_by(InboxUpdate.status))
    found = {status: n for status, n in (await session.execute(q)).all()}
    return {"pending": found.get("pending", 0), "dead": found.get("dead", 0)}


async def dead(session: AsyncSession, limit: int = 20) -> list[InboxUpdate]:
    q = select(InboxUpdate).where(InboxUpdate.status == "dead").order_by(InboxUpdate.update_id.desc()).limit(limit)
    return list((await session.execute(q)).scalars())


async def prune(session: AsyncSession, before: datetime) -> int:
    """Forget handled updates (the seen-updates set still stops a late repeat)."""
    result = await session.execute(
        delete(InboxUpdate).where(InboxUpdate.status == "done", InboxUpdate.done_at < before)
        .execution_options(synchronize_session=False))
    return result.rowcount
