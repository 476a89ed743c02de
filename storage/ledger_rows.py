"""Rows of the annex ledgers (seed 002 annexes 2-5, seed 001's 不满意台账), by SQL over columns.

Plain values only; the service renders statuses and notes (storage never renders text).
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Assignment, Card, ChannelRequest, Department, Person, RatingRound, Ticket
from storage.report_facts import _at, rating_at_col

A, R, T = Assignment, RatingRound, Ticket


@dataclass(frozen=True)
class LedgerRow:
    code: str
    text: str
    status: str
    close_reason: str | None
    dept: str | None  # the department's name (the code when it has none)
    reporter_id: int | None
    reporter_name: str | None
    reporter_username: str | None
    on_behalf_name: str | None
    result_text: str | None
    handler_id: int | None  # who accepted (owns) it
    handler_name: str | None
    handler_username: str | None
    leader_id: int | None  # 领导包案
    leader_name: str | None
    disputed: bool  # 职责争议
    channel_phone: str | None  # a ticket another channel filed (Open311): how to reach the requester
    channel_email: str | None
    channel_name: str | None  # the requester's name as the channel gave it (姓 + 名)
    carded: bool  # a department was carded for it (超期: a deadline was missed)
    resolved: bool = False
    level: int | None = None  # a rating's result level (satisfaction / unsatisfied ledgers)
    not_rated: bool = False
    reason: str | None = None
    comment: str | None = None
    rated_at: datetime | None = None


def _people():  # noqa: ANN202
    return aliased(Person, name="reporter"), aliased(Person, name="handler"), aliased(Person, name="leader")


def _columns(rep, han, lea, dept_name, result=T.result_text, owner=T.owner_id):  # noqa: ANN001, ANN202
    return (T.code, T.text, T.status, T.close_reason, dept_name, T.reporter_id, rep.full_name, rep.username,
            T.on_behalf_name, result, owner, han.full_name, han.username, T.leader_id,
            func.coalesce(T.leader_name, lea.full_name), T.disputed_at.is_not(None), ChannelRequest.phone,
            ChannelRequest.email,
            func.nullif(func.coalesce(ChannelRequest.last_name, "") + func.coalesce(ChannelRequest.first_name, ""), ""),
            select(Card.id).where(Card.ticket_id == T.id).exists())  # uq_card_round leads with ticket_id


def _joined(q, rep, han, lea, owner=T.owner_id):  # noqa: ANN001, ANN202
    return (q.outerjoin(rep, rep.id == T.reporter_id).outerjoin(han, han.id == owner)
            .outerjoin(lea, lea.id == T.leader_id).outerjoin(ChannelRequest, ChannelRequest.ticket_id == T.id))


async def received(session: AsyncSession, start: datetime, end: datetime,
                   depts: Collection[str] | None = None) -> list[LedgerRow]:
    """台账 (annex 2): every ticket received in the period."""
    rep, han, lea = _people()
    d = aliased(Department)
    q = select(*_columns(rep, han, lea, func.coalesce(d.name, T.lead_dept))).select_from(T)
    q = _joined(q, rep, han, lea).outerjoin(d, d.code == T.lead_dept)
    q = q.where(T.created_at >= _at("s", start), T.created_at < _at("e", end))
    if depts is not None:  # a handler's departments (none: nothing)
        q = q.where(T.lead_dept.in_(list(depts)))
    return [LedgerRow(*row) for row in (await session.execute(q.order_by(T.created_at, T.id))).all()]


async def dispatched(session: AsyncSession, start: datetime, end: datetime,
                     depts: Collection[str] | None = None) -> list[LedgerRow]:
    """转办清单 / 解决反馈表 (annexes 3, 4): every ticket dispatched in the period, with the department
    of its latest dispatch in the period and whether that dispatch stands resolved (a reopening
    clears it: a result the resident rejected, being redone, is no 是否解决 = 是)."""
    latest = (select(func.max(A.id).label("id")).where(A.dispatched_at >= _at("s", start),
                                                       A.dispatched_at < _at("e", end)))
    if depts is not None:
        latest = latest.where(A.dept_code.in_(list(depts)))
    latest = latest.group_by(A.ticket_id).subquery()
    rep, han, lea = _people()
    d = aliased(Department)
    # The row is the dispatch's: its department's handler, and the result only if the ticket did not
    # leave it by 退单 (another department's result and contact are not this one's).
    result = case((A.returned_at.is_(None), T.result_text), else_=None)
    q = (select(*_columns(rep, han, lea, func.coalesce(d.name, A.dept_code), result, A.accepted_by),
                A.resolved_at.is_not(None))
         .select_from(A).join(latest, latest.c.id == A.id).join(T, T.id == A.ticket_id)
         .outerjoin(d, d.code == A.dept_code))
    q = _joined(q, rep, han, lea, A.accepted_by)
    return [LedgerRow(*row) for row in (await session.execute(q.order_by(A.dispatched_at, A.id))).all()]


async def rated(session: AsyncSession, start: datetime, end: datetime, depts: Collection[str] | None = None,
                only_level: int | None = None) -> list[LedgerRow]:
    """满意度评价表 (annex 5) and, with `only_level=1`, the 不满意台账: result ratings in the period."""
    at = rating_at_col()
    rep, han, lea = _people()
    d = aliased(Department)
    # Each rating beside the result it judged (rounds from before revision 0015 may lack it).
    result = func.coalesce(R.result_text, T.result_text)
    q = (select(*_columns(rep, han, lea, func.coalesce(d.name, R.dept_code), result), T.resolved_at.is_not(None),
                R.result_level, R.not_rated, R.reason, R.comment, at)
         .select_from(R).join(T, T.id == R.ticket_id).outerjoin(d, d.code == R.dept_code))
    q = _joined(q, rep, han, lea).where(at >= _at("s", start), at < _at("e", end),
                                        or_(R.result_level.is_not(None), R.not_rated.is_(True)))
    if only_level is not None:
        q = q.where(and_(R.result_level == only_level))
    if depts is not None:
        q = q.where(R.dept_code.in_(list(depts)))
    return [LedgerRow(*row) for row in (await session.execute(q.order_by(at, R.id))).all()]
