"""One matter (issue #11): supporters (附议), related tickets, 高频共性 alerts, 专项.

Kept apart from storage/models.py (which re-exports them) so each stays readable.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class Supporter(Base):
    """附议: a neighbour who agreed with a ticket instead of filing the same matter again.

    One row per person and ticket (the key makes a repeated "+1" count once). Merging moves the
    supporters of the merged ticket onto the surviving one.
    """

    __tablename__ = "supporters"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)  # the agreeing reply
    how: Mapped[str] = mapped_column(String(16), default="reply")  # reply | sticker | merged
    created_at: Mapped[datetime]


class RelatedTicket(Base):
    """A ticket filed from a reply to another ticket's message (a matter of its own, said there)."""

    __tablename__ = "related_tickets"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    related_to_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime]


class HotspotAlert(Base):
    """A 高频共性 alert, once per cluster: (area, category, `window_start` = when the cluster's oldest
    counted ticket was filed) — the unique key makes it once (bot/domain/hotspots.py)."""

    __tablename__ = "hotspot_alerts"
    __table_args__ = (UniqueConstraint("area_code", "category", "window_start", name="uq_hotspot_window"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    category: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(8))  # count | matter
    ticket_count: Mapped[int] = mapped_column(Integer)
    support_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class HotspotAlertTicket(Base):
    """The tickets an alert listed."""

    __tablename__ = "hotspot_alert_tickets"
    alert_id: Mapped[int] = mapped_column(ForeignKey("hotspot_alerts.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)


class Campaign(Base):
    """专项: one area, one category, one lead department, one responsible leader, a goal, a deadline."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_next_check", "next_check_at"), Index("ix_campaigns_scope", "area_code", "category"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    category: Mapped[str] = mapped_column(String(64))
    lead_dept: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    leader_id: Mapped[int] = mapped_column(BigInteger)
    goal: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime]
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("hotspot_alerts.id"))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(BigInteger)
    # 成因排查 (seed 003): the lead department's cause analysis, asked for when the 专项 opens.
    cause_text: Mapped[str | None] = mapped_column(Text)
    cause_by: Mapped[int | None] = mapped_column(BigInteger)
    cause_at: Mapped[datetime | None]
    # Its own clock (bot/domain/campaigns.py): highest reminder fraction sent, overdue told, next nag.
    reminded: Mapped[float] = mapped_column(Float, default=0.0)
    overdue_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    nag_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]


class CampaignTicket(Base):
    """A ticket in a 专项; the ticket is the key, so it belongs to at most one."""

    __tablename__ = "campaign_tickets"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    joined_at: Mapped[datetime]
