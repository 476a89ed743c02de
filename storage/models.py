"""SQLAlchemy 2 typed models: the durable record behind every chat conversation."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from bot.domain.lifecycle import Status

# Re-exported: the migrations name models.UtcDateTime, everyone imports the fact tables from here.
from storage.base import Base, UtcDateTime  # noqa: F401
from storage.fact_models import Assignment, Card, Extension, RatingRound  # noqa: F401
from storage.desk_models import Bulletin, ChannelRequest, ConsoleLogin, ConsoleSession, OutboxFile  # noqa: F401
from storage.matter_models import (  # noqa: F401
    Campaign,
    CampaignTicket,
    HotspotAlert,
    HotspotAlertTicket,
    RelatedTicket,
    Supporter,
)


class Chat(Base):
    __tablename__ = "chats"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16), default="unknown")  # community/dispatch/department/leaders/private/unknown
    title: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(8))
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    is_forum: Mapped[bool] = mapped_column(Boolean, default=False)
    migrated_to: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Area(Base):
    __tablename__ = "areas"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))


class Department(Base):
    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    leader_id: Mapped[int | None] = mapped_column(BigInteger)
    yellow_streak: Mapped[int] = mapped_column(Integer, default=0)
    # Red cards in a row with no on-time resolution between them: at 2, 约谈主要负责人 (seed 002).
    red_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    full_name: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(8))  # chosen with /lang
    language_code: Mapped[str | None] = mapped_column(String(16))  # what their Telegram app last said
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    # True once the person opened a private chat with the bot: we can reach them there.
    started: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)


class PersonRole(Base):
    __tablename__ = "person_roles"
    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True, default="")  # department/area code
    source: Mapped[str] = mapped_column(String(16), default="org")  # org | command


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("origin_chat_id", "origin_message_id", name="uq_ticket_origin"),
        UniqueConstraint("origin_chat_id", "media_group_id", name="uq_ticket_album"),
        Index("ix_tickets_next_check", "next_check_at"),
        Index("ix_tickets_status", "status"),
        Index("ix_tickets_reporter", "reporter_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="help")
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    status: Mapped[str] = mapped_column(String(16), default=Status.NEW.value)
    version: Mapped[int] = mapped_column(Integer, default=1)
    text: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(64))
    lead_dept: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    reporter_id: Mapped[int | None] = mapped_column(BigInteger)
    # Appeals told on behalf of someone else (forwarded by a volunteer): who the origin was.
    on_behalf_kind: Mapped[str | None] = mapped_column(String(16))  # user/hidden_user/chat/channel
    on_behalf_user_id: Mapped[int | None] = mapped_column(BigInteger)
    on_behalf_name: Mapped[str | None] = mapped_column(String(255))
    origin_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    origin_message_id: Mapped[int | None] = mapped_column(BigInteger)
    origin_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    media_group_id: Mapped[str | None] = mapped_column(String(64))
    route: Mapped[dict | None] = mapped_column(JSON)  # the suggestion and why
    returns_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # The current rating round: the number of the newest `rating_rounds` row (0 before the first),
    # read with the ticket — the rows are the one record of the rounds, nothing stores it twice.
    rating_round: Mapped[int] = column_property(
        select(func.coalesce(func.max(RatingRound.round), 0)).where(RatingRound.ticket_id == id)
        .correlate_except(RatingRound).scalar_subquery())
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    close_reason: Mapped[str | None] = mapped_column(String(32))
    result_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    accept_due: Mapped[datetime | None]
    progress_due: Mapped[datetime | None]
    resolve_due: Mapped[datetime | None]
    # The scheduler's cursor (DESIGN §3): the one moment this ticket needs a look again.
    next_check_at: Mapped[datetime | None]
    # Where the appeal came in: "telegram", or an Open311 channel's name (DESIGN §9).
    channel: Mapped[str] = mapped_column(String(64), default="telegram", server_default="telegram")
    # The first progress note a department gave (stops the first-feedback clock).
    first_progress_at: Mapped[datetime | None]
    # The 正面回应 in the community chat after closing: when it was sent (or found impossible),
    # and why it was skipped (None when it was sent).
    public_response_at: Mapped[datetime | None]
    public_response_skipped: Mapped[str | None] = mapped_column(String(64))
    # The deadline clocks' own bookkeeping (bot/domain/nag.py documents its shape); written
    # only by bot/services/clocks.py. Everything reports read is in columns.
    clock_state: Mapped[dict | None] = mapped_column(JSON)
    # 领导包案 (seed 004): the leader who took the ticket, and when.
    leader_id: Mapped[int | None] = mapped_column(BigInteger)
    leader_name: Mapped[str | None] = mapped_column(String(255))  # as cards show it
    taken_at: Mapped[datetime | None]
    # 职责争议 (seed 004): returned twice, laid before the leaders; a leader's choice of lead
    # department (`lead_decided_by`) is final — the ticket cannot be returned again.
    disputed_at: Mapped[datetime | None]
    lead_decided_by: Mapped[int | None] = mapped_column(BigInteger)


class TicketDepartment(Base):
    __tablename__ = "ticket_departments"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    dept_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True)
    role: Mapped[str] = mapped_column(String(8))  # lead | co
    accepted_by: Mapped[int | None] = mapped_column(BigInteger)


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("ticket_id", "file_unique_id", name="uq_attachment"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="photo")
    file_id: Mapped[str] = mapped_column(String(255))
    file_unique_id: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16), default="appeal")  # appeal | progress | result
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class TicketEvent(Base):
    """Append-only history: every transition and note writes one row."""

    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict | None] = mapped_column(JSON)


class MessageLink(Base):
    """A bot (or user) message that belongs to a ticket: replies and buttons find tickets here."""

    __tablename__ = "message_links"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    # For prompts that wait for one person's answer (a reason, a result): who may answer.
    awaiting_user_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class SeenUpdate(Base):
    __tablename__ = "seen_updates"
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seen_at: Mapped[datetime]


class InboxUpdate(Base):
    """A raw update from Telegram, committed before Telegram is told it arrived (the inbox).

    Handled from here in ``update_id`` order within one ``chat_key``; the row is marked done
    in the same transaction as the work it caused, parked as dead after repeated failures.
    """

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_chat", "status", "chat_key", "update_id"),
                      Index("ix_inbox_due", "status", "not_before"))
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_key: Mapped[int] = mapped_column(BigInteger)  # updates of one chat are handled in order
    payload: Mapped[dict] = mapped_column(JSON)  # the update exactly as Telegram sent it
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending/done/dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    not_before: Mapped[datetime]  # retries back off
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # the worker handling it now…
    claimed_until: Mapped[datetime | None]  # …until this moment, then anyone may take it over
    done_at: Mapped[datetime | None]


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "not_before"), Index("ix_outbox_chat", "chat_id", "status"),
        Index("ix_outbox_queue", "status", "chat_id", "priority", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32))  # message/photo/album/location/document/edit_text/edit_markup/delete
    # 0 = an answer someone is waiting for (ack, a reply, a card's new state), 1 = news, 2 = digests.
    # Within a chat a more urgent row goes first; rows of one ticket keep their order regardless.
    priority: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    payload: Mapped[dict] = mapped_column(JSON)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    purpose: Mapped[str | None] = mapped_column(String(32))
    awaiting_user_id: Mapped[int | None] = mapped_column(BigInteger)
    # Where to send instead if the chat refuses (a reporter who never started the bot).
    fallback: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending/sending/sent/failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    sent_message_ids: Mapped[list | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class MediaBuffer(Base):
    """Album items that arrived before the item that made the ticket."""

    __tablename__ = "media_buffer"
    __table_args__ = (UniqueConstraint("chat_id", "message_id", name="uq_media_buffer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    media_group_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16), default="photo")
    file_id: Mapped[str] = mapped_column(String(255))
    file_unique_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class Draft(Base):
    """A private guided appeal in progress; durable so a restart loses nothing."""

    __tablename__ = "drafts"
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    step: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list] = mapped_column(JSON, default=list)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str | None] = mapped_column(String(16))
    # The area the appeal is about: the volunteer's own, the one whose bounds hold the shared
    # location, or the one the person chose (org file `areas[].bounds`, issue #13).
    area_code: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class DutyAssignment(Base):
    """On-duty handler set with /duty (overrides the org file's roster for that day)."""

    __tablename__ = "duty"
    dept_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    set_at: Mapped[datetime]


class DeskDuty(Base):
    """The on-duty dispatcher set with /duty in the dispatch chat (overrides the org file's
    `dispatch.duty` roster until the next working-hours start): urgent tickets name them."""

    __tablename__ = "desk_duty"
    desk: Mapped[str] = mapped_column(String(16), primary_key=True)  # dispatch
    user_id: Mapped[int] = mapped_column(BigInteger)
    set_at: Mapped[datetime]


class Lease(Base):
    """Exactly one holder at a time across instances (the scheduler, the outbox sender)."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


class Counter(Base):
    """Per-year ticket sequence for codes like #2026-000123 (portable across backends)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


# Reports count the tickets received in a period (storage/report_facts.py).
Index("ix_tickets_created", Ticket.created_at)
# One area and category: hotspot detection and duplicate hints per appeal, and the report's
# 高频共性 groups of a period read from the index alone, in its order (storage/matter.py).
Index("ix_tickets_scope", Ticket.area_code, Ticket.category, Ticket.created_at, Ticket.status)
# Tickets merged into one: counted with its supporters after every appeal (storage/matter.py).
Index("ix_tickets_merged_into", Ticket.merged_into_id)
# The person a volunteer reported for: their /my lists those tickets too (storage/tickets.py).
Index("ix_tickets_on_behalf", Ticket.on_behalf_user_id)
