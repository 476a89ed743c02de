"""Ticket repository: creation, conditional transitions, events, attachments, links."""
from __future__ import annotations

import weakref
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Column, bindparam, func, insert, inspect, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.domain.codes import make_code
from bot.domain.lifecycle import Status
from storage import held_rows, scan_batch
from storage.common import insert_ignore, insert_ignore_prebuilt, run_core
from storage.object_builder import as_loaded, transient
from storage.models import (
    Attachment,
    Counter,
    MessageLink,
    RatingRound,
    Ticket,
    TicketDepartment,
    TicketEvent,
)


# Per engine, the years whose PostgreSQL sequence is known to exist.
_SEQUENCES: weakref.WeakKeyDictionary[Any, set[int]] = weakref.WeakKeyDictionary()


async def next_code(session: AsyncSession, year: int) -> str:
    """The year's next ticket number: one statement.

    PostgreSQL: ``nextval`` of the year's sequence (created once, outside the caller's
    transaction, continuing from the counters row older versions kept), so concurrent intakes
    never wait on each other. SQLite serialises writers anyway: one ``UPDATE … RETURNING`` on
    the year's counters row, which is created the first time only.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        known = _SEQUENCES.setdefault(session.bind.sync_engine, set())
        if year not in known:
            await _create_sequence(session, year)
            known.add(year)
        value = (await session.execute(text(f"SELECT nextval('ticket_code_{int(year)}')"))).scalar_one()
        return make_code(year, value)
    name = f"ticket:{year}"
    value = (await run_core(session, _BUMP, {"counter": name})).scalar()
    if value is None:  # the year's first ticket
        await insert_ignore(session, Counter, {"name": name, "value": 0})
        value = (await run_core(session, _BUMP, {"counter": name})).scalar_one()
    return make_code(year, value)


_BUMP = (update(Counter.__table__).where(Counter.name == bindparam("counter")).values(value=Counter.value + 1)
         .returning(Counter.value))


async def _create_sequence(session: AsyncSession, year: int) -> None:
    """Create the year's sequence in a transaction of its own (committed even if the caller's is not)."""
    engine = session.bind
    async with engine.connect() as conn:  # type: ignore[union-attr]
        async with conn.begin():
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('ticket_code_sequence'))"))
            exists = (await conn.execute(text("SELECT to_regclass(:name)"), {"name": f"ticket_code_{int(year)}"})).scalar()
            if exists is None:
                used = (await conn.execute(select(Counter.value).where(Counter.name == f"ticket:{year}"))).scalar()
                await conn.execute(text(f"CREATE SEQUENCE ticket_code_{int(year)} START WITH {int(used or 0) + 1}"))


async def create(session: AsyncSession, *, now: datetime, code_year: int, **fields: Any) -> Ticket:
    """A new ticket, written at once (its id is what the event and the ack refer to).

    One prebuilt INSERT and the object put in the session as if it had been read back: the unit
    of work's flush of a new ticket cost more than the statement itself, on every appeal. The
    INSERT writes what the flush wrote: the fields given, and each column's default where a field
    is not given or None; the other columns are left NULL. `rating_round` is 0: a new ticket has
    no round yet."""
    defaults, others = _columns()
    given = {k: v for k, v in fields.items() if v is not None or k not in defaults}
    written = {**defaults, "code": await next_code(session, code_year), "created_at": now, "updated_at": now,
               **given}
    ticket_id = (await run_core(session, _INSERT_TICKET, written)).scalar_one()
    ticket = as_loaded(session, Ticket, {"id": ticket_id, **{k: None for k in others if k not in written}, **written})
    held_rows.made(session, ticket)  # a savepoint rolled back takes it out again
    set_committed_value(ticket, "rating_round", 0)
    return ticket


_INSERT_TICKET = insert(Ticket.__table__).returning(Ticket.__table__.c.id)


@cache
def _columns() -> tuple[dict[str, Any], frozenset[str]]:
    """The columns of `tickets` but the id: those with a default (and it), and the others."""
    defaults: dict[str, Any] = {}
    others = set()
    for attr in inspect(Ticket).column_attrs:
        column = attr.columns[0]
        if not isinstance(column, Column) or column.primary_key:
            continue  # `rating_round` is a query, not a column
        if column.default is not None and not column.default.is_scalar:
            raise TypeError(f"tickets.{column.key}: only plain defaults are written by `create`")
        if column.default is None and column.server_default is not None:
            raise TypeError(f"tickets.{column.key}: a default only the database knows is not read back")
        if column.default is not None:
            defaults[attr.key] = column.default.arg
        else:
            others.add(attr.key)
    return defaults, frozenset(others)


async def get(session: AsyncSession, ticket_id: int, *, refresh: bool = True) -> Ticket | None:
    ticket = await session.get(Ticket, ticket_id, populate_existing=refresh)
    return ticket


async def get_by_code(session: AsyncSession, code: str) -> Ticket | None:
    return (await session.execute(select(Ticket).where(Ticket.code == code))).scalar_one_or_none()


_BY_ORIGIN = select(Ticket.id).where(Ticket.origin_chat_id == bindparam("chat"),
                                     Ticket.origin_message_id == bindparam("message"))


async def find_by_origin(session: AsyncSession, chat_id: int, message_id: int) -> Ticket | None:
    """The ticket a message became. Asked of every appeal, and almost always None: the id is
    looked up with a prebuilt statement, the ticket loaded only when there is one."""
    found = (await run_core(session, _BY_ORIGIN, {"chat": chat_id, "message": message_id})).scalar()
    return None if found is None else await get(session, found)


# A neighbour's message a volunteer passed on: the ticket is filed from the volunteer's reply, and
# this link finds it from the neighbour's own message (a second volunteer, the neighbour's edit).
RETOLD = "retold"


async def find_by_words(session: AsyncSession, chat_id: int, message_id: int) -> Ticket | None:
    """The ticket whose appeal a message's words are: its own, or a neighbour's passed on."""
    found = await find_by_origin(session, chat_id, message_id)
    if found is None and (link := await find_link(session, chat_id, message_id)) is not None \
            and link.purpose == RETOLD:
        found = await get(session, link.ticket_id)
    return found


async def find_by_album(session: AsyncSession, chat_id: int, media_group_id: str) -> Ticket | None:
    q = select(Ticket).where(Ticket.origin_chat_id == chat_id, Ticket.media_group_id == media_group_id)
    return (await session.execute(q)).scalar_one_or_none()


async def oldest_untriaged(session: AsyncSession, filed_by: datetime | None, skip: frozenset[int],
                           limit: int) -> list[Ticket]:
    """The oldest tickets still NEW — filed, acknowledged, their triage left for later — filed no
    later than ``filed_by`` (None: any), leaving out ``skip``. On PostgreSQL the rows stay locked
    for the caller's transaction and rows another instance holds are passed over."""
    q = select(Ticket).where(Ticket.status == Status.NEW.value)
    if filed_by is not None:
        q = q.where(Ticket.created_at <= filed_by)
    if skip:
        q = q.where(Ticket.id.not_in(skip))
    # NO KEY UPDATE: an attachment, a 附议 or an event that refers to the row does not wait for the batch.
    return list(await session.scalars(q.order_by(Ticket.id).limit(limit)
                                      .with_for_update(skip_locked=True, key_share=True)))


async def move(session: AsyncSession, ticket_id: int, expected: str, version: int, values: dict[str, Any],
               now: datetime) -> Ticket | None:
    """Conditional update (DESIGN §2): only from the status and version the caller read, so of
    several concurrent presses exactly one wins; the winner bumps the version. Returns the row as
    the UPDATE left it (read back by the same statement), or None when another change won."""
    params = {f"v_{k}": v for k, v in values.items()}
    params.update(m_id=ticket_id, m_expected=expected, m_version=version, m_now=now)
    result = await session.execute(_move_statement(frozenset(values)), params)
    row = result.first()
    if row is None:
        return None
    moved, rating_round = row
    set_committed_value(moved, "rating_round", rating_round)
    return moved


_ROUND_OF_MOVED = (select(func.coalesce(func.max(RatingRound.round), 0))
                   .where(RatingRound.ticket_id == bindparam("m_id")).scalar_subquery())


@cache
def _move_statement(keys: frozenset[str]) -> Any:
    """`move`'s UPDATE for one set of changed columns, built once: every transition runs one, and
    building and keying it cost a third of running it."""
    return (update(Ticket)
            .where(Ticket.id == bindparam("m_id"), Ticket.status == bindparam("m_expected"),
                   Ticket.version == bindparam("m_version"))
            .values(**{k: bindparam(f"v_{k}") for k in sorted(keys)}, version=Ticket.version + 1,
                    updated_at=bindparam("m_now"))
            # The round is read from `rating_rounds`, not a column: RETURNING reads it too — by the
            # ticket's id as a parameter. `Ticket.rating_round` correlates on the bare column name,
            # and inside SQLite's RETURNING `id` then meant rating_rounds.id: another ticket's round.
            .returning(Ticket, _ROUND_OF_MOVED)
            .execution_options(synchronize_session=False, populate_existing=True))


async def touch(session: AsyncSession, ticket_id: int, values: dict[str, Any], now: datetime) -> None:
    """Change facts of the ticket that leave its status as it is. The version is bumped like a
    move's: a move prepared on a read from before this change is refused as stale (`move`)."""
    await session.execute(
        update(Ticket).where(Ticket.id == ticket_id).values(**values, version=Ticket.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def add_event(
    session: AsyncSession,
    ticket_id: int,
    kind: str,
    now: datetime,
    *,
    actor_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    data: dict | None = None,
) -> None:
    event = transient(TicketEvent, {"ticket_id": ticket_id, "at": now, "actor_id": actor_id, "kind": kind,
                                    "from_status": from_status, "to_status": to_status, "data": data})
    held_rows.hold(session, event)  # written with the session's next statement or its commit
    if (batch := scan_batch.holding(session, ticket_id)) is not None and ticket_id in batch.events:
        batch.events[ticket_id].append(event)


async def events(session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    if (batch := scan_batch.holding(session, ticket_id)) is not None and ticket_id in batch.events:
        return list(batch.events[ticket_id])
    q = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    return list((await session.execute(q)).scalars())


async def add_attachment(
    session: AsyncSession, ticket_id: int, *, file_id: str, file_unique_id: str, now: datetime,
    kind: str = "photo", source: str = "appeal", added_by: int | None = None,
) -> bool:
    return await insert_ignore(
        session, Attachment,
        {"ticket_id": ticket_id, "file_id": file_id, "file_unique_id": file_unique_id, "kind": kind,
         "source": source, "added_by": added_by, "created_at": now},
    )


async def attachments(session: AsyncSession, ticket_id: int, source: str | None = None) -> list[Attachment]:
    q = select(Attachment).where(Attachment.ticket_id == ticket_id)
    if source:
        q = q.where(Attachment.source == source)
    return list((await session.execute(q.order_by(Attachment.id))).scalars())


async def count_attachments(session: AsyncSession, ticket_id: int, source: str | None = None) -> int:
    """Photos of a ticket; `source` (appeal | progress | result) counts one kind only."""
    q = select(func.count()).select_from(Attachment).where(Attachment.ticket_id == ticket_id)
    if source is not None:
        q = q.where(Attachment.source == source)
    return (await session.execute(q)).scalar_one()


async def link(
    session: AsyncSession, chat_id: int, message_id: int, ticket_id: int, purpose: str, now: datetime,
    awaiting_user_id: int | None = None, data: dict | None = None,
) -> None:
    await insert_ignore(
        session, MessageLink,
        {"chat_id": chat_id, "message_id": message_id, "ticket_id": ticket_id, "purpose": purpose,
         "awaiting_user_id": awaiting_user_id, "data": data, "created_at": now},
    )
    if (batch := scan_batch.holding(session, ticket_id)) is not None:
        batch.links.pop(ticket_id, None)  # read afresh from now on


async def link_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Several `link` rows in one statement (a message id already linked is left as it is)."""
    if rows:
        await insert_ignore_prebuilt(session, MessageLink.__table__, rows)


async def relink(session: AsyncSession, chat_id: int, message_id: int, purpose: str, now: datetime,
                 awaiting_user_id: int | None = None) -> None:
    """A message edited into another question (the rating message of a community chat) answers for it now."""
    await session.execute(
        update(MessageLink).where(MessageLink.chat_id == chat_id, MessageLink.message_id == message_id)
        .values(purpose=purpose, awaiting_user_id=awaiting_user_id, created_at=now)
    )


async def find_link(session: AsyncSession, chat_id: int, message_id: int) -> MessageLink | None:
    return await session.get(MessageLink, (chat_id, message_id))


async def question_awaiting(session: AsyncSession, chat_id: int, user_id: int, purpose: str,
                            since: datetime) -> MessageLink | None:
    """The latest question of this purpose in the chat that waits for this person's words, asked
    at or after `since`."""
    q = (select(MessageLink).where(MessageLink.chat_id == chat_id, MessageLink.awaiting_user_id == user_id,
                                   MessageLink.purpose == purpose, MessageLink.created_at >= since)
         .order_by(MessageLink.message_id.desc()).limit(1))
    return (await session.execute(q)).scalar_one_or_none()


async def links_of(session: AsyncSession, ticket_id: int, purpose: str | tuple[str, ...],
                   chat_id: int | None = None) -> list[MessageLink]:
    purposes = (purpose,) if isinstance(purpose, str) else purpose
    batch = scan_batch.holding(session, ticket_id)
    if batch is not None and set(purposes) <= set(scan_batch.CARD_PURPOSES) and ticket_id in batch.links:
        return [link for link in batch.links[ticket_id]
                if link.purpose in purposes and (chat_id is None or link.chat_id == chat_id)]
    q = select(MessageLink).where(MessageLink.ticket_id == ticket_id, MessageLink.purpose.in_(purposes))
    if chat_id is not None:
        q = q.where(MessageLink.chat_id == chat_id)
    return list((await session.execute(q.order_by(MessageLink.message_id))).scalars())


async def set_departments(session: AsyncSession, ticket_id: int, lead: str, co: list[str]) -> None:
    existing = (await session.execute(select(TicketDepartment).where(TicketDepartment.ticket_id == ticket_id))).scalars()
    for row in existing:
        await session.delete(row)
    await session.flush()
    session.add(TicketDepartment(ticket_id=ticket_id, dept_code=lead, role="lead"))
    for code in co:
        if code != lead:
            session.add(TicketDepartment(ticket_id=ticket_id, dept_code=code, role="co"))


async def departments_of(session: AsyncSession, ticket_id: int) -> list[TicketDepartment]:
    q = select(TicketDepartment).where(TicketDepartment.ticket_id == ticket_id)
    return list((await session.execute(q)).scalars())


async def list_by_reporter(session: AsyncSession, user_id: int, limit: int = 20) -> list[Ticket]:
    """The person's latest tickets: those they reported and those a volunteer reported for them."""
    q = (select(Ticket).where(or_(Ticket.reporter_id == user_id, Ticket.on_behalf_user_id == user_id))
         .order_by(Ticket.id.desc()).limit(limit))
    return list((await session.execute(q)).scalars())


async def recent_by_reporter(session: AsyncSession, chat_id: int, user_id: int, since: datetime) -> Ticket | None:
    q = (select(Ticket).where(Ticket.origin_chat_id == chat_id, Ticket.reporter_id == user_id,
                              Ticket.created_at >= since).order_by(Ticket.id.desc()).limit(1))
    return (await session.execute(q)).scalar_one_or_none()


async def knowledge_answer(session: AsyncSession, ticket_id: int) -> str:
    """The knowledge base's answer a consultation was given (its last `answered` event), or ""."""
    answered = [e for e in await events(session, ticket_id) if e.kind == "answered"]
    return str((answered[-1].data or {}).get("answer") or "") if answered else ""


def dispatch_mark(t: Ticket) -> float | None:
    """The ticket's 派单 moment to the millisecond, as a card or a question posted for this dispatch
    records it (link data): after a 退单 and a new 派单 to the same department, what was posted for
    the old dispatch no longer acts on the ticket."""
    return round(t.dispatched_at.timestamp(), 3) if t.dispatched_at else None


async def mark_co_accepted(session: AsyncSession, ticket_id: int, dept: str, user_id: int | None) -> bool:
    """First press wins: a co-department accepts once."""
    result = await session.execute(
        update(TicketDepartment)
        .where(TicketDepartment.ticket_id == ticket_id, TicketDepartment.dept_code == dept,
               TicketDepartment.role == "co", TicketDepartment.accepted_by.is_(None))
        .values(accepted_by=user_id)
    )
    return result.rowcount == 1


async def event_for_album(session: AsyncSession, ticket_id: int, group: str) -> TicketEvent | None:
    """The progress note or result that an album's captioned photo made, if it was handled."""
    q = (select(TicketEvent).where(TicketEvent.ticket_id == ticket_id,
                                   TicketEvent.kind.in_(("progress", "co_progress", "resolved")))
         .order_by(TicketEvent.id.desc()).limit(10))
    for event in (await session.execute(q)).scalars():
        if (event.data or {}).get("album") == group:
            return event
    return None
