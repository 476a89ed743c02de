"""What one batch of the deadline scan reads once for all its tickets (DESIGN §3).

The scan (scheduler/jobs.py) handles up to a few hundred due tickets in one transaction. Rather
than each ticket reading its card links, its cards and its history on its own, `open()` reads
them for the whole batch in a few queries and keeps them in ``session.info`` for that
transaction. The per-ticket readers answer from it for the batch's tickets, and the writers the
scan's work goes through keep it in step:

* `storage.tickets.links_of` / `tickets.link` — the links of the cards the scan replies to;
* `storage.tickets.events` / `tickets.add_event` — the history of tickets that wait for a
  dispatcher or for an answer to close (when they entered that status);
* `storage.sla_cards.has_card` / `add_card` — which handling rounds have their card already;
* the departments' yellow and red streaks (`sla_cards`, `storage.supervision`): each
  department's row is read under its row lock the first time a card touches it and written
  once, by `close()`, just before the commit.

New rows the batch makes (`tickets.add_event`, `outbox.enqueue`, `sla_cards.add_card`) are held
and written with one INSERT per table, as in every session (storage/held_rows.py). The tickets'
next checks are plain attribute changes the unit of work writes together. Sessions that are not
a scan batch never see any of this.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.domain.lifecycle import Status
from storage.directory_cache import COUNTERS_ONLY
from storage.fact_models import Card
from storage.models import Department, MessageLink, Ticket, TicketEvent

KEY = "scan_batch"
CARD_PURPOSES = ("dept_card", "dispatch_card", "review_card")  # the links the scan replies to
# Tickets whose clocks ask when they entered their status (bot/services/clocks.py `_entered_at`).
HISTORY_STATUSES = (Status.TRIAGE, Status.REVIEW, Status.ANSWERED)


@dataclass
class ScanBatch:
    tickets: dict[int, Ticket]
    links: dict[int, list[MessageLink]]  # ticket → its card links, in message order (none: read again)
    cards: set[tuple[int, str, int]]  # (ticket, department, round) that have their card
    events: dict[int, list[TicketEvent]]  # ticket → its history, for HISTORY_STATUSES only
    streaks: dict[str, list[int]] = field(default_factory=dict)  # department → [yellow, red], locked
    changed: set[str] = field(default_factory=set)  # departments whose streaks changed
    loaded: list[Any] = field(default_factory=list)  # held strongly: the identity map's refs are weak


def of(session: AsyncSession | Session) -> ScanBatch | None:
    return session.info.get(KEY)


def holding(session: AsyncSession | Session, ticket_id: int) -> ScanBatch | None:
    """The batch, when ``ticket_id`` is one of its tickets."""
    batch = session.info.get(KEY)
    return batch if batch is not None and ticket_id in batch.tickets else None


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


async def open(session: AsyncSession, ticket_ids: list[int]) -> list[Ticket]:  # noqa: A001
    """Load the batch's tickets (in the given order) and what their clocks will read."""
    tickets: dict[int, Ticket] = {}
    for chunk in _chunks(ticket_ids):
        q = select(Ticket).where(Ticket.id.in_(chunk)).execution_options(populate_existing=True)
        tickets.update((t.id, t) for t in (await session.execute(q)).scalars())
    ids = list(tickets)
    links: dict[int, list[MessageLink]] = {tid: [] for tid in ids}
    cards: set[tuple[int, str, int]] = set()
    events: dict[int, list[TicketEvent]] = {}
    for chunk in _chunks(ids):
        q = (select(MessageLink).where(MessageLink.ticket_id.in_(chunk), MessageLink.purpose.in_(CARD_PURPOSES))
             .order_by(MessageLink.message_id))
        for link in (await session.execute(q)).scalars():
            links[link.ticket_id].append(link)
        q2 = select(Card.ticket_id, Card.dept_code, Card.round).where(Card.ticket_id.in_(chunk))
        cards.update((tid, dept, round_) for tid, dept, round_ in (await session.execute(q2)).all())
    history = [t.id for t in tickets.values() if t.status in HISTORY_STATUSES]
    for chunk in _chunks(history):
        events.update((tid, []) for tid in chunk)
        q3 = select(TicketEvent).where(TicketEvent.ticket_id.in_(chunk)).order_by(TicketEvent.id)
        for e in (await session.execute(q3)).scalars():
            events[e.ticket_id].append(e)
    session.info[KEY] = ScanBatch(tickets, links, cards, events)
    return [tickets[i] for i in ticket_ids if i in tickets]


async def streaks(session: AsyncSession, batch: ScanBatch, dept: str) -> list[int] | None:
    """The department's [yellow, red] streaks, its row locked until the commit (None: no such row).

    The first card of a batch locks and reads every lead department of the batch at once (a card
    for one usually means cards for others); a department met later is read on its own.
    """
    if dept not in batch.streaks:
        wanted = {dept} | {t.lead_dept for t in batch.tickets.values() if t.lead_dept} if not batch.streaks else {dept}
        q = (select(Department.code, Department.yellow_streak, Department.red_streak)
             .where(Department.code.in_(sorted(wanted - set(batch.streaks)))).order_by(Department.code)
             .with_for_update(key_share=True))  # holds off streak writers, not a dispatch to the department
        for code, yellow, red in (await session.execute(q)).all():
            batch.streaks[code] = [yellow or 0, red or 0]
    return batch.streaks.get(dept)


YELLOW, RED = 0, 1  # the places in a department's streaks


async def bump(session: AsyncSession, batch: ScanBatch, dept: str, which: int) -> int:
    """One more card in a row in the department's ``which`` streak; its new length (0: no such
    department). Written by `close()`."""
    row = await streaks(session, batch, dept)
    if row is None:
        return 0
    row[which] += 1
    batch.changed.add(dept)
    return row[which]


async def reset(session: AsyncSession, batch: ScanBatch, dept: str, which: int) -> None:
    if (row := await streaks(session, batch, dept)) is not None:
        row[which] = 0
        batch.changed.add(dept)


async def close(session: AsyncSession) -> None:
    """Write the streaks that changed; the batch's reads are no longer served."""
    batch: ScanBatch | None = session.info.get(KEY)
    if batch is None:
        return
    del session.info[KEY]
    if batch.changed:  # one UPDATE by primary key for all of them
        await session.execute(
            update(Department).execution_options(synchronize_session=False, **COUNTERS_ONLY),
            [{"code": dept, "yellow_streak": batch.streaks[dept][0], "red_streak": batch.streaks[dept][1]}
             for dept in sorted(batch.changed)])


@event.listens_for(Session, "loaded_as_persistent")
def _keep_loaded(session: Session, instance: Any) -> None:
    """A row read once in a batch stays in the session (people, rating rounds ...): read again,
    it comes from the identity map instead of another SELECT."""
    if (batch := session.info.get(KEY)) is not None:
        batch.loaded.append(instance)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session, *_: Any) -> None:
    session.info.pop(KEY, None)
