"""The clocks on a ticket (DESIGN §3): deadlines from the SLA, reminders, overdue notices,
cards and daily nags, and when the scan must look at the ticket again.

* ``windows(app, t, start)`` — the deadlines of a dispatch starting at ``start``.
* ``reschedule(session, app, t)`` — called in the transaction of every change of status or
  deadline: records moved deadlines, clears the streak on an on-time resolution, calls the
  on-duty handler for an urgent dispatch outside working hours, and sets ``next_check_at``.
* ``on_due(session, app, t, now)`` — the scan's work on one claimed ticket.
* ``update_state(session, ticket_id, mutate)`` — the one safe way to change keys of
  ``sla_state`` (a JSON document several writers share): read under the row lock, change,
  write back, all in the caller's transaction.

Besides the departments' clocks: a ticket waiting for the dispatchers (TRIAGE, REVIEW) longer
than its accept window reminds the dispatch chat once per working day, and an ANSWERED
consultation closes after ``sla.rating_close`` unless the person said it did not help.
"""
from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import datetime, time

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from bot.context import App
from bot.domain import nag
from bot.domain import rating as rating_rules
from bot.domain.codes import display
from bot.domain.intake import summary
from bot.domain.lifecycle import Actor, Status, plan
from bot.services import escalation, notify, ratings
from storage import directory, tickets
from storage import scan as store
from storage.models import Ticket

log = logging.getLogger(__name__)
WORKING = ("DISPATCHED", "ACCEPTED", "REOPENED")
RATING = ("RESOLVED", "CLOSED")
WAITING = ("TRIAGE", "REVIEW")  # waiting for a dispatcher
ANSWERED = "ANSWERED"
SYSTEM = frozenset({Actor.SYSTEM})


def windows(app: App, t: Ticket, start: datetime) -> dict[str, datetime]:
    urgent = t.urgency == "urgent"
    return {
        f"{clock}_due": app.sla.window(clock, t.kind, urgent).after(start, app.calendar)
        for clock in ("accept", "progress", "resolve")
    }


def _dues(t: Ticket) -> dict[str, datetime | None]:
    return {"accept": t.accept_due, "progress": t.progress_due, "resolve": t.resolve_due}


def _active(t: Ticket, state: dict) -> tuple[str, ...]:
    return nag.active_clocks(t.status, progress_done=bool(state.get("progress_at")),
                             resolved_before=t.resolved_at is not None or bool(t.reopen_count))


def nag_time(app: App) -> time:
    return parse_hhmm(app.org.scheduler.nag_at)


def parse_hhmm(text: str) -> time:
    hh, _, mm = str(text).strip().partition(":")
    return time(int(hh), int(mm or 0))


async def update_state(session: AsyncSession, ticket_id: int, mutate: Callable[[dict], object], *,
                       now: datetime | None = None) -> dict:
    """Change ``sla_state`` keys without losing anyone else's: returns the state written.

    The row is read again under its lock (SELECT … FOR NO KEY UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises writers) in the caller's transaction, ``mutate``
    changes a copy in place, and the whole document is written back before the lock is
    released at commit — so marks the scan committed meanwhile (overdue, carded, nag_at)
    are kept.  ``now`` also stamps ``updated_at``.  LookupError if the ticket is gone.
    """
    found, current = await store.lock_state(session, ticket_id)
    if not found:
        raise LookupError(f"ticket {ticket_id} not found")
    state = copy.deepcopy(dict(current or {}))
    mutate(state)
    await store.set_state(session, ticket_id, state, now)
    # Keep a loaded instance in step without marking it dirty (no second UPDATE at flush).
    loaded = session.identity_map.get(identity_key(Ticket, ticket_id))
    if loaded is not None:
        set_committed_value(loaded, "sla_state", copy.deepcopy(state))
        if now is not None:
            set_committed_value(loaded, "updated_at", now)
    return state


async def _store(session: AsyncSession, t: Ticket, state: dict, when: datetime | None) -> None:
    changed = state != (t.sla_state or {})
    await store.set_next(session, t.id, when, state if changed else None)
    # Keep the caller's object in step without marking it dirty (no second UPDATE at flush).
    if changed:
        set_committed_value(t, "sla_state", state)
    set_committed_value(t, "next_check_at", when)


async def reschedule(session: AsyncSession, app: App, t: Ticket) -> None:
    """Recompute the ticket's next check after a change (same transaction as the change).

    The row is read again first, under its lock (the state is rewritten whole): callers may
    have written ``sla_state`` keys of their own, and the scan may have committed its marks.
    """
    await settle(session, app, await store.lock(session, t.id) or t, app.now())


async def settle(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    state = dict(t.sla_state or {})
    if t.status not in WAITING:
        state.pop("waiting", None)
    if t.status in RATING:
        await escalation.credit_on_time(session, t, state)
        nag.tidy(state, ())
        await _store(session, t, state, ratings.next_check(app, t))
        return
    if t.status == ANSWERED:
        nag.tidy(state, ())
        await _store(session, t, state, await _answered_close_at(session, app, t))
        return
    if t.status in WAITING:
        nag.tidy(state, ())
        state["waiting"] = await _waiting(session, app, t, state)
        await _store(session, t, state, nag.waiting_next(state["waiting"]))
        return
    if t.status not in WORKING:
        nag.tidy(state, ())
        await _store(session, t, state, None)
        return
    state, fresh = nag.sync(state, _dues(t), now, app.sla.reminders, t.dispatched_at)
    active = _active(t, state)
    nag.tidy(state, active)
    if "accept" in fresh and t.status == "DISPATCHED" and t.urgency == "urgent":
        await escalation.duty_call(session, app, t, now)
    await _store(session, t, state, nag.next_check(state, active, app.sla.reminders))


async def on_due(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    """Do what is due for a claimed ticket and set its next check."""
    if t.status in RATING:
        await ratings.on_due(session, app, t, now)
        fresh = await tickets.get(session, t.id)
        await settle(session, app, fresh or t, now)
        return
    if t.status == ANSWERED:
        if now >= await _answered_close_at(session, app, t):
            await _close_answered(session, app, t, now)
        await settle(session, app, await tickets.get(session, t.id) or t, now)
        return
    if t.status in WAITING:
        await _waiting_due(session, app, t, now)
        return
    if t.status not in WORKING:
        await settle(session, app, t, now)
        return
    state, _fresh = nag.sync(t.sla_state, _dues(t), now, app.sla.reminders, t.dispatched_at)
    active = _active(t, state)
    at = nag_time(app)
    state, actions = nag.step(state, active, now, app.sla.reminders,
                              lambda after: nag.next_nag_time(app.calendar, after, at))
    if actions:
        await _tell(session, app, t, state, actions, now)
    when = nag.next_check(state, active, app.sla.reminders)
    if when is not None and when <= now:  # never hand the scan the same moment twice
        log.warning("ticket %s: next check %s not after now %s", t.id, when, now)
        when = None
    await _store(session, t, state, when)


def _group(actions: list[nag.Action]) -> list[tuple[type, datetime, float, list[str]]]:
    """One line per (kind, deadline, fraction): clocks sharing a deadline are told together."""
    lines: dict[tuple, list[str]] = {}
    for a in actions:
        if isinstance(a, nag.Nag):
            lines.setdefault((nag.Nag, a.since, 0.0), []).extend(a.clocks)
        else:
            lines.setdefault((type(a), a.due, getattr(a, "fraction", 0.0)), []).append(a.clock)
    return [(kind, due, fraction, clocks) for (kind, due, fraction), clocks in lines.items()]


async def _tell(session: AsyncSession, app: App, t: Ticket, state: dict, actions: list[nag.Action],
                now: datetime) -> None:
    dept = await directory.department(session, t.lead_dept) if t.lead_dept else None
    chat_id = dept.chat_id if dept else None
    tr = await notify.chat_translator(session, app, chat_id or 0)
    code, lines, card_lines = display(t.code), [], []
    for a in actions:
        if isinstance(a, nag.Overdue):
            await tickets.add_event(session, t.id, "sla_overdue", now, data={"clock": a.clock})
            card = await escalation.give_card(session, app, t, state, a.clock, a.due, now)
            if card is not None:
                card_lines.append(tr(f"sla.card_{card.colour}", dept=dept.name if dept else t.lead_dept))
    for kind, due, fraction, clocks in _group(actions):
        clock = tr("sla.clock_sep").join(tr(f"clock.{c}") for c in clocks)
        when = escalation.local(app, due)
        if kind is nag.Reminder:
            lines.append(tr("sla.reminder", code=code, clock=clock, when=when, pct=round(fraction * 100)))
        elif kind is nag.Overdue:
            lines.append(tr("sla.overdue", code=code, clock=clock, when=when))
        else:
            days = max(1, app.calendar.working_days_between(due, now))
            lines.append(tr("sla.nag", code=code, clock=clock, when=when, days=days))
    if chat_id is None or not lines:
        return
    lines.append(tr("card.summary", text=summary(t.text or "", 60)))
    lines += card_lines
    duty = await escalation.duty_line(session, app, tr, t, now)
    if duty:
        lines.append(duty)
    card_links = await tickets.links_of(session, t.id, "dept_card", chat_id)
    notify.send(session, app, chat_id, "\n".join(lines), ticket=t, purpose="dept_note",
                reply_to=card_links[-1].message_id if card_links else None)


# -- waiting for the dispatchers (TRIAGE, REVIEW) and answered consultations -------------------


async def _entered_at(session: AsyncSession, t: Ticket) -> datetime:
    """When the ticket entered its current status: its latest event into it (else its last change)."""
    for e in reversed(await tickets.events(session, t.id)):
        if e.to_status == t.status:
            return e.at
    return t.updated_at or t.created_at


async def _waiting(session: AsyncSession, app: App, t: Ticket, state: dict) -> dict:
    """The wait entry: a wait longer than the ticket's accept window gets a reminder."""
    since = await _entered_at(session, t)
    due = app.sla.window("accept", t.kind, t.urgency == "urgent").after(since, app.calendar)
    return nag.waiting(state, t.status, since, due)


async def _waiting_due(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    state = dict(t.sla_state or {})
    nag.tidy(state, ())
    at = nag_time(app)
    entry, due = nag.waiting_step(await _waiting(session, app, t, state), now,
                                  lambda after: nag.next_nag_time(app.calendar, after, at))
    state["waiting"] = entry
    if due:
        await _remind_dispatchers(session, app, t, entry)
    await _store(session, t, state, nag.waiting_next(entry))


async def _remind_dispatchers(session: AsyncSession, app: App, t: Ticket, entry: dict) -> None:
    """The dispatch chat hears of a ticket it keeps waiting, as a reply to its latest card."""
    from bot.services.dispatching import dispatch_chat_id  # dispatching imports this module

    chat_id = await dispatch_chat_id(session, app)
    if chat_id is None:
        return
    tr = await notify.chat_translator(session, app, chat_id)
    since = escalation.local(app, datetime.fromisoformat(entry["since"]))
    key = "sla.waiting_review" if t.status == Status.REVIEW else "sla.waiting_triage"
    text = "\n".join([tr(key, code=display(t.code), since=since), tr("card.summary", text=summary(t.text or "", 60))])
    links = [link for purpose in ("dispatch_card", "review_card")
             for link in await tickets.links_of(session, t.id, purpose, chat_id)]
    latest = max(links, key=lambda link: link.message_id, default=None)
    notify.send(session, app, chat_id, text, ticket=t, purpose="dispatch_note",
                reply_to=latest.message_id if latest else None)


async def _answered_close_at(session: AsyncSession, app: App, t: Ticket) -> datetime:
    return rating_rules.answered_close_at(await _entered_at(session, t), ratings.timers(app))


async def _close_answered(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    """ANSWERED ─▶ CLOSED: nobody said the answer did not help within the window."""
    plan("close_answered", t.status, SYSTEM)
    if not await tickets.move(session, t.id, Status.ANSWERED.value, {
            "status": Status.CLOSED.value, "closed_at": now, "close_reason": rating_rules.CLOSE_ANSWERED}, now):
        return  # 没有解决我的问题 got there first
    await tickets.add_event(session, t.id, "closed_answered", now, from_status="ANSWERED", to_status="CLOSED")
