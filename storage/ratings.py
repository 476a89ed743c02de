"""Ratings repository: one row per (ticket, round), written once, completed by conditional updates."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import insert_ignore
from storage.models import Rating, Ticket

UNSATISFIED = 1


async def record(session: AsyncSession, ticket_id: int, round_: int, rater_id: int | None,
                 result_score: int | None, now: datetime) -> bool:
    """The round's result (None: closed as not rated); False when the round already has a row."""
    return await insert_ignore(session, Rating, {
        "ticket_id": ticket_id, "round": round_, "rater_id": rater_id, "result_score": result_score, "at": now})


async def get(session: AsyncSession, ticket_id: int, round_: int) -> Rating | None:
    q = select(Rating).where(Rating.ticket_id == ticket_id, Rating.round == round_)
    return (await session.execute(q.execution_options(populate_existing=True))).scalar_one_or_none()


async def of_ticket(session: AsyncSession, ticket_id: int) -> list[Rating]:
    q = select(Rating).where(Rating.ticket_id == ticket_id).order_by(Rating.round)
    return list((await session.execute(q.execution_options(populate_existing=True))).scalars())


async def set_process(session: AsyncSession, ticket_id: int, round_: int, score: int) -> bool:
    """The process score, once: False if it was given already (or the round has no result)."""
    result = await session.execute(
        update(Rating)
        .where(Rating.ticket_id == ticket_id, Rating.round == round_, Rating.result_score.is_not(None),
               Rating.process_score.is_(None))
        .values(process_score=score)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


async def set_reason(session: AsyncSession, ticket_id: int, round_: int, reason: str, comment: str | None) -> bool:
    """The reason of an unsatisfied round, once: the winner of concurrent answers moves the ticket."""
    values: dict = {"reason": reason}
    if comment:
        values["comment"] = comment
    result = await session.execute(
        update(Rating)
        .where(Rating.ticket_id == ticket_id, Rating.round == round_, Rating.result_score == UNSATISFIED,
               Rating.reason.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


async def add_comment(session: AsyncSession, ticket_id: int, round_: int, text: str) -> bool:
    row = await get(session, ticket_id, round_)
    if row is None:
        return False
    row.comment = f"{row.comment}\n{text}" if row.comment else text
    await session.flush()
    return True


async def unsatisfied_rounds(session: AsyncSession, ticket_id: int) -> int:
    q = select(func.count()).select_from(Rating).where(Rating.ticket_id == ticket_id,
                                                       Rating.result_score == UNSATISFIED)
    return (await session.execute(q)).scalar_one()


async def ledger(session: AsyncSession, offset: int, limit: int) -> tuple[list[tuple[Ticket, int]], int]:
    """The 不满意台账: tickets with at least one unsatisfied round (open ones first, newest first),
    each with its number of unsatisfied rounds."""
    counts = (select(Rating.ticket_id, func.count().label("n"))
              .where(Rating.result_score == UNSATISFIED).group_by(Rating.ticket_id).subquery())
    still_open = case((Ticket.status == "CLOSED", 1), else_=0)
    q = (select(Ticket, counts.c.n).join(counts, counts.c.ticket_id == Ticket.id)
         .order_by(still_open, Ticket.updated_at.desc(), Ticket.id.desc()).offset(offset).limit(limit))
    rows = [(t, n) for t, n in (await session.execute(q)).all()]
    total = (await session.execute(select(func.count()).select_from(counts))).scalar_one()
    return rows, total


async def ledger_ratings(session: AsyncSession, ticket_ids: list[int]) -> dict[int, list[Rating]]:
    if not ticket_ids:
        return {}
    q = select(Rating).where(Rating.ticket_id.in_(ticket_ids)).order_by(Rating.ticket_id, Rating.round)
    out: dict[int, list[Rating]] = {}
    for r in (await session.execute(q)).scalars():
        out.setdefault(r.ticket_id, []).append(r)
    return out
