"""Console sessions, used login links, the queue query and Open311's channel requests."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import insert_ignore
from bot.domain import lifecycle
from storage.models import (
    Card,
    ChannelRequest,
    ConsoleLogin,
    ConsoleSession,
    Ticket,
    TicketDepartment,
)

# ---------------------------------------------------------------- login links and sessions


async def use_login(session: AsyncSession, nonce: str, user_id: int, now: datetime) -> bool:
    """Spend a one-time link; False when it was spent before (single use, also across instances)."""
    return await insert_ignore(session, ConsoleLogin, {"nonce": nonce, "user_id": user_id, "used_at": now})


async def open_session(session: AsyncSession, *, sid_hash: str, user_id: int, csrf: str, now: datetime,
                       expires_at: datetime, forget_logins_before: datetime) -> None:
    """A new session; expired sessions and spent links too old to pass the age check anyway are swept."""
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    await session.execute(delete(ConsoleLogin).where(ConsoleLogin.used_at < forget_logins_before))
    session.add(ConsoleSession(id=sid_hash, user_id=user_id, csrf=csrf, created_at=now, expires_at=expires_at))
    await session.flush()


async def find_session(session: AsyncSession, sid_hash: str, now: datetime) -> ConsoleSession | None:
    q = select(ConsoleSession).where(ConsoleSession.id == sid_hash, ConsoleSession.expires_at > now)
    return (await session.execute(q)).scalar_one_or_none()


async def close_session(session: AsyncSession, sid_hash: str, now: datetime) -> None:
    """Log out, and sweep sessions that expired (the table stays small)."""
    await session.execute(delete(ConsoleSession).where(
        or_(ConsoleSession.id == sid_hash, ConsoleSession.expires_at <= now)))


# ---------------------------------------------------------------- the queue

WORKING = tuple(lifecycle.WORKING)


@dataclass
class QueueFilter:
    statuses: list[str] = field(default_factory=list)
    department: str | None = None
    area: str | None = None
    kind: str | None = None
    urgency: str | None = None
    overdue: bool = False
    channel: str | None = None  # "telegram" or a channel's name
    departments_allowed: set[str] | None = None  # a handler: only these departments' tickets
    limit: int = 200


def _due_column() -> Any:
    """The clock a ticket is on now: acceptance before 签收, resolution after."""
    return case((Ticket.accepted_at.is_(None) & Ticket.accept_due.is_not(None), Ticket.accept_due),
                else_=Ticket.resolve_due)


async def queue(session: AsyncSession, f: QueueFilter, now: datetime) -> tuple[list[Ticket], int]:
    """Tickets urgent first, then the nearest deadline, then the newest — at most `f.limit` of
    them — and how many the filter matches (counted only when the page is full)."""
    due = _due_column()
    q = _filtered(select(Ticket), f, now)
    rows = list((await session.execute(
        q.order_by(case((Ticket.urgency == "urgent", 0), else_=1), case((due.is_(None), 1), else_=0), due,
                   Ticket.created_at.desc()).limit(f.limit))).scalars())
    if len(rows) < f.limit:
        return rows, len(rows)
    return rows, (await session.execute(_filtered(select(func.count()).select_from(Ticket), f, now))).scalar_one()


def _filtered(q: Any, f: QueueFilter, now: datetime) -> Any:
    due = _due_column()
    if f.statuses:
        q = q.where(Ticket.status.in_(f.statuses))
    if f.department:
        q = q.where(_in_department(f.department))
    if f.departments_allowed is not None:
        q = q.where(or_(*[_in_department(d) for d in f.departments_allowed]) if f.departments_allowed
                    else Ticket.id.is_(None))
    if f.area:
        q = q.where(Ticket.area_code == f.area)
    if f.kind:
        q = q.where(Ticket.kind == f.kind)
    if f.urgency:
        q = q.where(Ticket.urgency == f.urgency)
    if f.overdue:
        q = q.where(Ticket.status.in_(WORKING), due.is_not(None), due < now)
    if f.channel:
        q = q.where(Ticket.channel == f.channel)
    return q


def _in_department(code: str) -> Any:
    return or_(Ticket.lead_dept == code, exists().where(and_(
        TicketDepartment.ticket_id == Ticket.id, TicketDepartment.dept_code == code)))


async def cards_of(session: AsyncSession, ticket_id: int) -> list[Card]:
    return list((await session.execute(select(Card).where(Card.ticket_id == ticket_id).order_by(Card.at))).scalars())


# ---------------------------------------------------------------- Open311


async def add_channel_request(session: AsyncSession, ticket_id: int, now: datetime, **contact: str | None) -> None:
    session.add(ChannelRequest(ticket_id=ticket_id, received_at=now, **contact))
    await session.flush()


async def channel_request(session: AsyncSession, ticket_id: int) -> ChannelRequest | None:
    return await session.get(ChannelRequest, ticket_id)


def public_condition() -> Any:
    """Which tickets Open311 GET may show anyone (README, "The console and other channels"):
    never a 举报 (kind report: the whistle-blower's safety), never an appeal made in a private chat
    with the bot (the resident chose not to speak in public; private chats have positive ids), and
    never a chat message rejected as spam or abuse (驳回: no appeal at all) — though a channel's own
    request stays readable, so the channel learns it was refused."""
    return and_(Ticket.kind != "report",
                or_(Ticket.origin_chat_id.is_(None), Ticket.origin_chat_id < 0),
                or_(Ticket.status != lifecycle.Status.REJECTED.value, Ticket.channel != "telegram"))


async def is_public(session: AsyncSession, ticket_id: int) -> bool:
    """Whether anyone may be shown this ticket (`public_condition`): its code in a neighbours' group
    or on Open311."""
    q = select(Ticket.id).where(Ticket.id == ticket_id, public_condition())
    return (await session.execute(q)).first() is not None


async def public_requests(session: AsyncSession, *, codes: list[str] | None, categories: list[str] | None,
                          start: datetime, end: datetime, statuses: list[str] | None,
                          limit: int) -> list[Ticket]:
    """Public tickets for Open311 GET /requests (newest first). With `codes`, the other filters are
    ignored (spec); a code that is not public is simply not found."""
    q = select(Ticket).where(public_condition())
    if codes is not None:  # ids none of which is a ticket code find nothing, not everything
        q = q.where(Ticket.code.in_(codes))
    else:
        q = q.where(Ticket.created_at >= start, Ticket.created_at <= end)
        if categories:
            q = q.where(Ticket.category.in_(categories))
        if statuses:
            q = q.where(Ticket.status.in_(statuses))
    q = q.order_by(Ticket.created_at.desc()).limit(limit)
    return list((await session.execute(q)).scalars())


# ---------------------------------------------------------------- rates by channel


async def channels_of(session: AsyncSession, codes: set[str]) -> dict[str, str]:
    """Ticket code → channel, for the tickets among `codes` that came from another channel than Telegram."""
    if not codes:
        return {}
    q = select(Ticket.code, Ticket.channel).where(Ticket.code.in_(sorted(codes)), Ticket.channel != "telegram")
    return {code: channel for code, channel in (await session.execute(q)).all()}


async def received_by_channel(session: AsyncSession, start: datetime, end: datetime, as_of: datetime) -> dict[str, int]:
    q = (select(Ticket.channel, func.count()).where(Ticket.created_at >= start, Ticket.created_at < end,
                                                    Ticket.created_at <= as_of).group_by(Ticket.channel))
    return {channel: int(n) for channel, n in (await session.execute(q)).all()}
