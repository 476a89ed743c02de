"""Rating rounds (一事一评): one row per (ticket, round), opened when asked, answered once.

Every answer is a conditional UPDATE on the round's row, so of two concurrent presses one wins.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import insert_ignore
from storage.models import RatingRound, Ticket
from bot.domain.lifecycle import Status

UNSATISFIED = 1


async def open_round(session: AsyncSession, ticket_id: int, round_: int, dept: str | None, now: datetime,
                     result_text: str | None = None) -> bool:
    return await insert_ignore(session, RatingRound, {
        "ticket_id": ticket_id, "round": round_, "dept_code": dept, "asked_at": now, "result_text": result_text})


async def get(session: AsyncSession, ticket_id: int, round_: int) -> RatingRound | None:
    q = select(RatingRound).where(RatingRound.ticket_id == ticket_id, RatingRound.round == round_)
    return (await session.execute(q.execution_options(populate_existing=True))).scalar_one_or_none()


async def of_ticket(session: AsyncSession, ticket_id: int) -> list[RatingRound]:
    q = select(RatingRound).where(RatingRound.ticket_id == ticket_id).order_by(RatingRound.round)
    return list((await session.execute(q.execution_options(populate_existing=True))).scalars())


async def _set(session: AsyncSession, ticket_id: int, round_: int, *conds: object, **values: object) -> bool:
    result = await session.execute(
        update(RatingRound).where(RatingRound.ticket_id == ticket_id, RatingRound.round == round_, *conds)
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _unanswered() -> tuple:
    return (RatingRound.result_level.is_(None), RatingRound.not_rated.is_(False))


async def answer(session: AsyncSession, ticket_id: int, round_: int, rater_id: int | None, level: int,
                 now: datetime) -> bool:
    """The round's result level; False when the round is answered (or closed) already."""
    values: dict = {"rater_id": rater_id, "result_level": level, "answered_at": now}
    if level == UNSATISFIED:
        values["reason_asked_at"] = now
    return await _set(session, ticket_id, round_, *_unanswered(), **values)


async def close_unrated(session: AsyncSession, ticket_id: int, round_: int) -> bool:
    """No answer after the reminder: the round counts as not rated (False if it was answered)."""
    return await _set(session, ticket_id, round_, *_unanswered(), not_rated=True)


async def mark_reminded(session: AsyncSession, ticket_id: int, round_: int, now: datetime) -> bool:
    return await _set(session, ticket_id, round_, RatingRound.reminded_at.is_(None), reminded_at=now)


async def set_process(session: AsyncSession, ticket_id: int, round_: int, level: int) -> bool:
    """The process level, once: False if it was given already (or the round has no result).
    A skip does not stop a later answer: the person changed their mind."""
    return await _set(session, ticket_id, round_, RatingRound.result_level.is_not(None),
                      RatingRound.process_level.is_(None), process_level=level)


async def skip_process(session: AsyncSession, ticket_id: int, round_: int) -> bool:
    return await _set(session, ticket_id, round_, RatingRound.result_level.is_not(None),
                      RatingRound.process_level.is_(None), RatingRound.process_skipped.is_(False),
                      process_skipped=True)


async def choose_reason(session: AsyncSession, ticket_id: int, round_: int, choice: str) -> bool:
    """The reason button pressed while the words are still to come (其他)."""
    return await _set(session, ticket_id, round_, RatingRound.reason.is_(None), reason_choice=choice)


async def set_reason(session: AsyncSession, ticket_id: int, round_: int, reason: str, comment: str | None) -> bool:
    """The reason of an unsatisfied round, once: the winner of concurrent answers moves the ticket."""
    values: dict = {"reason": reason, "reason_asked_at": None, "reason_choice": None}
    if comment:
        values["comment"] = comment
    return await _set(session, ticket_id, round_, RatingRound.result_level == UNSATISFIED,
                      RatingRound.reason.is_(None), **values)


async def add_comment(session: AsyncSession, ticket_id: int, round_: int, text: str) -> bool:
    row = await get(session, ticket_id, round_)
    if row is None:
        return False
    row.comment = f"{row.comment}\n{text}" if row.comment else text
    await session.flush()
    return True


async def unsatisfied_rounds(session: AsyncSession, ticket_id: int, dept_code: str | None = None) -> int:
    """Unsatisfied rounds of the ticket — of one department's answers when `dept_code` is given."""
    q = select(func.count()).select_from(RatingRound).where(RatingRound.ticket_id == ticket_id,
                                                            RatingRound.result_level == UNSATISFIED)
    if dept_code is not None:
        q = q.where(RatingRound.dept_code == dept_code)
    return (await session.execute(q)).scalar_one()


async def ledger(session: AsyncSession, offset: int, limit: int) -> tuple[list[tuple[Ticket, int]], int]:
    """The 不满意台账: tickets with at least one unsatisfied round (open ones first, newest first),
    each with its number of unsatisfied rounds."""
    counts = (select(RatingRound.ticket_id, func.count().label("n"))
              .where(RatingRound.result_level == UNSATISFIED).group_by(RatingRound.ticket_id).subquery())
    still_open = case((Ticket.status == Status.CLOSED, 1), else_=0)
    q = (select(Ticket, counts.c.n).join(counts, counts.c.ticket_id == Ticket.id)
         .order_by(still_open, Ticket.updated_at.desc(), Ticket.id.desc()).offset(offset).limit(limit))
    rows = [(t, n) for t, n in (await session.execute(q)).all()]
    total = (await session.execute(select(func.count()).select_from(counts))).scalar_one()
    return rows, total


async def ledger_ratings(session: AsyncSession, ticket_ids: list[int]) -> dict[int, list[RatingRound]]:
    if not ticket_ids:
        return {}
    q = select(RatingRound).where(RatingRound.ticket_id.in_(ticket_ids)).order_by(RatingRound.ticket_id,
                                                                                RatingRound.round)
    out: dict[int, list[RatingRound]] = {}
    for r in (await session.execute(q)).scalars():
        out.setdefault(r.ticket_id, []).append(r)
    return out


async def awaiting_rating_by(session: AsyncSession, user_id: int) -> Ticket | None:
    """The newest resolved ticket this person reported (or was reported for) that waits for their rating."""
    q = (select(Ticket).where(Ticket.status == Status.RESOLVED.value,
                              (Ticket.reporter_id == user_id) | (Ticket.on_behalf_user_id == user_id))
         .order_by(Ticket.resolved_at.desc(), Ticket.id.desc()).limit(1))
    return (await session.execute(q)).scalar_one_or_none()
