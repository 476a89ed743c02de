"""The desks beside the chats: Open311 requesters, console logins and sessions, the 通报 record
and the bytes an outbox row uploads.

Kept apart from storage/models.py (which re-exports them) so each stays readable.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class ChannelRequest(Base):
    """A ticket another channel filed through Open311 (`tickets.channel` names it): how to reach the requester.

    Staff see it in the console; Open311 GET never shows it (DESIGN §9).
    """

    __tablename__ = "channel_requests"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True, autoincrement=False)
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(128))
    last_name: Mapped[str | None] = mapped_column(String(128))
    address_string: Mapped[str | None] = mapped_column(Text)
    address_id: Mapped[str | None] = mapped_column(String(128))
    device_id: Mapped[str | None] = mapped_column(String(128))
    account_id: Mapped[str | None] = mapped_column(String(128))
    media_url: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]


class ConsoleLogin(Base):
    """A one-time console link that was used: its nonce can never open a session again."""

    __tablename__ = "console_logins"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[datetime]


class ConsoleSession(Base):
    """A console session; the cookie carries a secret whose SHA-256 is the id (a leaked table opens nothing)."""

    __tablename__ = "console_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Bulletin(Base):
    """The durable record of each automatic 通报 posted (issue #10): one row per period, ever.

    Written in the same transaction as the outbox rows that carry the report, so a restart
    posts what is missing and two instances cannot both post it.
    """

    __tablename__ = "bulletins"
    period: Mapped[str] = mapped_column(String(16), primary_key=True)  # 2026-11, 2026-Q4, 2026-H2, 2026
    kind: Mapped[str] = mapped_column(String(8))  # month | quarter | half | year
    posted_at: Mapped[datetime]
    holder: Mapped[str | None] = mapped_column(String(64))  # the instance that posted it


class OutboxFile(Base):
    """Bytes an outbox row uploads (a report's chart, an exported ledger): rows stay JSON-small."""

    __tablename__ = "outbox_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
