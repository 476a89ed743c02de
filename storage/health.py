"""Read-only questions about the deployment's state: for `check`, /healthz and /metrics."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import Chat, Department, InboxUpdate, OutboxMessage, PersonRole, Ticket

BOUND_KINDS = ("community", "dispatch", "department", "leaders")


async def ping(session: AsyncSession) -> None:
    await session.execute(text("SELECT 1"))


async def table_names(conn: AsyncConnection) -> set[str]:
    return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def schema_revision(session: AsyncSession) -> str | None:
    """The Alembic revision the database is at; None for a database never migrated."""
    conn = await session.connection()
    if "alembic_version" not in await table_names(conn):
        return None
    return await session.scalar(text("SELECT version_num FROM alembic_version"))


async def bound_chats(session: AsyncSession) -> list[tuple[int, str, str]]:
    """(chat id, kind, area or department code) of every chat bound to a role, current ids only."""
    rows = await session.execute(
        select(Chat.id, Chat.kind, Chat.area_code, Chat.department_code)
        .where(Chat.kind.in_(BOUND_KINDS), Chat.active.is_(True), Chat.migrated_to.is_(None))
        .order_by(Chat.kind, Chat.id))
    return [(cid, kind, area or dept or "") for cid, kind, area, dept in rows]


async def department_chats(session: AsyncSession) -> list[tuple[int, str, str]]:
    """(chat id, "department", code) of every department's chat, active or not."""
    rows = await session.execute(select(Department.chat_id, Department.code).where(Department.chat_id.is_not(None)))
    return [(cid, "department", code) for cid, code in rows]


async def admin_ids(session: AsyncSession) -> list[int]:
    """Admins as the database knows them: the org file's and those granted by /role."""
    rows = await session.execute(select(PersonRole.person_id).where(PersonRole.role == "admin").distinct())
    return sorted(rows.scalars())


async def migrated_chats(session: AsyncSession) -> dict[int, int]:
    """Groups that became supergroups: old id → new id (the org file may still name the old one)."""
    rows = await session.execute(select(Chat.id, Chat.migrated_to).where(Chat.migrated_to.is_not(None)))
    return {old: new for old, new in rows}


async def outbox_backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """Messages not yet delivered, and when the oldest of them was written."""
    count, oldest = (await session.execute(
        select(func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_(("pending", "sending"))))).one()
    return int(count or 0), oldest


async def tickets_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Ticket.status, func.count()).group_by(Ticket.status))
    return {status: int(n) for status, n in rows}


async def inbox_state(session: AsyncSession, recent_since: datetime) -> tuple[int, int, int, datetime | None]:
    """Pending and dead inbox rows, the dead received since `recent_since`, and the newest arrival
    (real time: the inbox's clock); done rows are pruned after an hour, so the newest arrival is
    None after an hour of silence. Dead rows stay (their update, for whoever looks into it)."""
    pending, dead, recent, newest = (await session.execute(select(
        func.count().filter(InboxUpdate.status == "pending"), func.count().filter(InboxUpdate.status == "dead"),
        func.count().filter(InboxUpdate.status == "dead", InboxUpdate.received_at >= recent_since),
        func.max(InboxUpdate.received_at)))).one()
    return int(pending or 0), int(dead or 0), int(recent or 0), newest
