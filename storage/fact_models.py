"""Facts about a ticket's handling that reports count: assignments, rating rounds, cards, extensions.

Kept apart from storage/models.py (which re-exports them) so each stays readable.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class Extension(Base):
    __tablename__ = "extensions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    requested_by: Mapped[int] = mapped_column(BigInteger)
    # The handling round it was asked in: the dispatch (`assignments` row) and the ticket's
    # reopen_count then. A request from an earlier round cannot move a later deadline.
    assignment_id: Mapped[int | None] = mapped_column(Integer)
    round: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    new_due: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft/pending/approved/refused
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class Card(Base):
    """Yellow and red cards (seed 002 红黄绿牌): at most one per ticket, department and handling round."""

    __tablename__ = "cards"
    __table_args__ = (UniqueConstraint("ticket_id", "dept_code", "round", name="uq_card_round"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dept_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # the ticket's reopen_count
    colour: Mapped[str] = mapped_column(String(8))  # yellow | red
    clock: Mapped[str] = mapped_column(String(16))  # accept | resolve | progress
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class RatingRound(Base):
    """One round of 一事一评 (DESIGN §4): asked when the ticket is resolved, answered once.

    `result_level` / `process_level`: 4 非常满意 .. 1 不满意. `not_rated`: closed after the
    reminder went unanswered (counted apart). `reason_asked_at`: a 不满意 waits for its reason
    since then; `reason_choice`: the button chosen while the words are still to come.
    """

    __tablename__ = "rating_rounds"
    __table_args__ = (UniqueConstraint("ticket_id", "round", name="uq_rating_round"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    dept_code: Mapped[str | None] = mapped_column(String(64))  # the lead department that was rated
    asked_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    rater_id: Mapped[int | None] = mapped_column(BigInteger)
    result_level: Mapped[int | None] = mapped_column(Integer)
    process_level: Mapped[int | None] = mapped_column(Integer)
    process_skipped: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    reason_asked_at: Mapped[datetime | None]
    reason_choice: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    not_rated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The 办理结果 this round rated: a reopened ticket's earlier rounds rated an earlier result,
    # and the 满意度评价表 shows each rating beside the result it judged.
    result_text: Mapped[str | None] = mapped_column(Text)


class Assignment(Base):
    """One dispatch of a ticket to a lead department, and what became of it (for 督/考 reports).

    A new row per 派单 (a 退单 ends the row: `returned_at`); `resolve_due` follows approved
    extensions and reopenings; `resolved_at` is the latest 办结 (cleared by a reopening),
    `first_resolved_at` the first.
    """

    __tablename__ = "assignments"
    # Reports read the deadline columns of a period's dispatches per department from this index
    # alone, in department order (no table rows, no sort): storage/report_facts.py.
    __table_args__ = (Index("ix_assignments_report", "dept_code", "dispatched_at", "accept_due", "accepted_at",
                            "first_resolve_due", "resolve_due", "first_resolved_at", "returned_at", "ticket_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    dept_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    dispatched_at: Mapped[datetime]
    dispatched_by: Mapped[int | None] = mapped_column(BigInteger)
    accept_due: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[int | None] = mapped_column(BigInteger)
    returned_at: Mapped[datetime | None]
    return_reason: Mapped[str | None] = mapped_column(Text)
    resolve_due: Mapped[datetime | None]
    first_resolved_at: Mapped[datetime | None]
    # The first resolve deadline as moved by extensions approved before it (办结率 measures against
    # it; `resolve_due` goes on to follow reopenings).
    first_resolve_due: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
