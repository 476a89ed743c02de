"""The clocks on a ticket (DESIGN §3): deadlines from the SLA, reminders, overdue notices,
cards and daily nags, and when the scan must look at the ticket again.

* ``windows(app, t, start)`` — the deadlines of a dispatch starting at ``start``.
* ``reschedule(session, app, t)`` — called in the transaction of every change of status or
  deadline: records moved deadlines, clears the streak on an on-time resolution, calls the
  on-duty handler for an urgent dispatch outside working hours, and sets ``next_check_at``.
* ``on_due(session, app, t, now)`` — the scan's work on one claimed ticket.
"""
from __future__ import annotations

import logging
from datetime import datetime, time

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.context import App
from bot.domain import nag
from bot.domain.codes import display
from bot.domain.intake import summary
from bot.services import escalation, notify, ratings
from storage import directory, tickets
from storage import scan as store
from storage.models import Ticket

log = logging.getLogger(__name__)
WORKING = ("DISPATCHED", "ACCEPTED", "REOPENED")
RATING = ("RESOLVED", "CLOSED")


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


async def _store(session: AsyncSession, t: Ticket, state: dict, when: datetime | None) -> None:
    changed = state != (t.sla_state or {})
    await store.set_next(session, t.id, when, state if changed else None)
    # Keep the caller's object in step without marking it dirty (no second UPDATE at flush).
    if changed:
        set_committed_value(t, "sla_state", state)
    set_committed_value(t, "next_check_at", when)


async def reschedule(session: AsyncSession, app: App, t: Ticket) -> None:
    """Recompute the ticket's next check after a change (same transaction as the change).

    The row is read again first: callers may have written ``sla_state`` keys of their own.
    """
    await settle(session, app, await tickets.get(session, t.id) or t, app.now())


async def settle(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    state = dict(t.sla_state or {})
    if t.status in RATING:
        await escalation.credit_on_time(session, t, state)
        nag.tidy(state, ())
        await _store(session, t, state, ratings.next_check(app, t))
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
