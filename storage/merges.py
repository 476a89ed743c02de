"""Merges: the tickets merged into one (合并) and the way from a merged ticket to the one that carries
its matter now. Only a merge sets `merged_into_id`."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import tickets
from storage.models import Ticket


async def merged_into(session: AsyncSession, ticket_id: int) -> list[Ticket]:
    q = select(Ticket).where(Ticket.merged_into_id == ticket_id).order_by(Ticket.id)
    return list((await session.execute(q)).scalars())


async def merged_under(session: AsyncSession, ticket_id: int) -> list[Ticket]:
    """The tickets merged into this one and into those (a merge of merges), each once: everyone
    whose matter this ticket now carries."""
    found: list[Ticket] = []
    seen, todo = {ticket_id}, [ticket_id]
    while todo:
        for child in await merged_into(session, todo.pop()):
            if child.id not in seen:
                seen.add(child.id)
                found.append(child)
                todo.append(child.id)
    return found


async def merge_path(session: AsyncSession, t: Ticket) -> list[Ticket]:
    """The ticket, then the one it was merged into, and so on to the ticket that carries the matter
    (the last). Only a merge sets `merged_into_id`, so every ticket but the last is MERGED."""
    path, seen = [t], {t.id}
    while t.merged_into_id is not None and t.merged_into_id not in seen:
        seen.add(t.merged_into_id)
        nxt = await tickets.get(session, t.merged_into_id)
        if nxt is None:
            break
        path.append(nxt)
        t = nxt
    return path


async def carrier(session: AsyncSession, t: Ticket) -> Ticket:
    """The ticket that carries a merged one's matter (through a merge of merges), else itself."""
    return (await merge_path(session, t))[-1]
