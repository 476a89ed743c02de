"""The one way a ticket changes status (DESIGN §2).

`move()` authorises the actor by the lifecycle rule, moves the ticket from the status and
version it was read with to the rule's target (a conditional UPDATE, so of concurrent presses
exactly one wins), writes the `ticket_events` row and the assignment facts, sets the clocks and brings the
acknowledgement in the community chat up to date (bot/services/group_ack.py) — in the caller's
transaction. Services call it; none of them writes that sequence.
`record()` is the same for actions that leave the status as it is (a progress note, an extension
decided, a 不满意 awaiting its reason, the rating reminder): its facts bump the version too, so a
move made on a read from before them is refused as stale.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.lifecycle import Actor, Stale, Status, authorise
from bot.services import clocks, group_ack, leader_notes
from storage import assignments, tickets
from storage.models import Ticket

SYSTEM = frozenset({Actor.SYSTEM})
Then = Callable[[Ticket], Awaitable[None]]


async def move(session: AsyncSession, app: App, t: Ticket, action: str, actors: set[Actor] | frozenset[Actor], *,
               event: str, actor_id: int | None = None, values: dict[str, Any] | None = None,
               data: dict | None = None, then: Then | None = None) -> Ticket:
    """Make `action` on `t` as read; returns the ticket as it is now.

    Raises Forbidden / NotAllowed (from the rule) or Stale (another change got there first);
    nothing is written then. `then` runs on the moved ticket before the clocks are set, for
    facts the clocks read (the rating round a resolution opens).
    """
    target = authorise(action, t.status, actors)
    if target is None:
        raise ValueError(f"{action} is not a move")
    now, before = app.now(), t.status  # (`t` is usually the very object the UPDATE refreshes)
    line_before = group_ack.memo(t)
    moved = await tickets.move(session, t.id, before, t.version, {"status": target.value, **(values or {})}, now)
    if moved is None:
        raise Stale(action, before)
    await tickets.add_event(session, t.id, event, now, actor_id=actor_id, from_status=before,
                            to_status=target.value, data=data)
    await _assignment_facts(session, moved, action, now, actor_id, data)
    if then is not None:
        await then(moved)
    # Read after our own UPDATE of the row: fresh, unless `then` changed it again.
    await clocks.reschedule(session, app, moved, fresh=then is None, entered_at=now)
    await leader_notes.tell_leader(session, app, moved, event)  # 领导包案: every step, in private
    if group_ack.memo(moved) != line_before:  # NEW → TRIAGE, say, leaves the status line as it was
        await group_ack.refresh(session, app, moved)  # the community chat sees the step on the acknowledgement
    return moved


async def record(session: AsyncSession, app: App, t: Ticket, action: str, actors: set[Actor] | frozenset[Actor], *,
                 event: str, actor_id: int | None = None, values: dict[str, Any] | None = None,
                 data: dict | None = None, tell_leader: bool = True) -> Ticket:
    """An authorised action that keeps the status: its facts, its event row, the clocks; returns
    the ticket as it is now. `tell_leader=False`: not a step the leader who took the ticket hears
    of (bookkeeping between steps: a reminder, a decision on a deadline, a rating awaiting its reason)."""
    authorise(action, t.status, actors)
    now = app.now()
    if values:
        await tickets.touch(session, t.id, values, now)
    await tickets.add_event(session, t.id, event, now, actor_id=actor_id, data=data)
    fresh = await tickets.get(session, t.id)
    assert fresh is not None
    await clocks.reschedule(session, app, fresh)
    if tell_leader:
        await leader_notes.tell_leader(session, app, fresh, event)
    await group_ack.refresh(session, app, fresh)  # e.g. the first progress note: 已签收 → 办理中
    return fresh


async def _assignment_facts(session: AsyncSession, t: Ticket, action: str, now: datetime, actor_id: int | None,
                            data: dict | None) -> None:
    """Keep `assignments` (one row per dispatch to a lead department) in step with the move."""
    if action == "dispatch" and t.lead_dept:
        await assignments.start(session, t.id, t.lead_dept, now, actor_id, t.accept_due, t.resolve_due)
    elif action == "accept":
        await assignments.accepted(session, t.id, now, actor_id)
    elif action == "return":
        await assignments.returned(session, t.id, now, (data or {}).get("reason"))
    elif action == "resolve":
        await assignments.resolved(session, t.id, now)
    elif t.status == Status.REOPENED:
        await assignments.reopened(session, t.id, t.resolve_due)
