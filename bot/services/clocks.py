"""The clocks on a ticket (DESIGN §3): deadlines from the SLA, reminders, overdue notices,
cards and daily nags, and when the scan must look at the ticket again.

* ``windows(app, t, start)`` — the deadlines of a dispatch starting at ``start``.
* ``reschedule(session, app, t)`` — called (by the transition engine, or after a change of
  the facts the clocks read) in the transaction of the change: records moved deadlines,
  clears the streak on an on-time resolution, calls the on-duty handler for an urgent
  dispatch outside working hours, and sets ``next_check_at``.
* ``on_due(session, app, t, now)`` — the scan's work on a claimed ticket a department or
  the dispatchers are keeping waiting.

This module is the only writer of ``tickets.clock_state`` (its shape: bot/domain/nag.py).
Besides the departments' clocks: a ticket waiting for the dispatchers (TRIAGE, REVIEW) longer
than its accept window reminds the dispatch chat once per working day, and an ANSWERED
consultation closes after ``sla.rating_close`` unless the person said it did not help.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain import nag
from bot.domain import rating as rating_rules
from bot.domain.codes import display
from bot.domain.dates import parse_hhmm
from bot.domain.intake import summary
from bot.domain.lifecycle import WORKING, Status
from bot.services import escalation, notify
from bot.services.addressing import dispatch_chat_id, lead_department
from bot.services.ticket_lines import local
from storage import due_scan, tickets
from storage import ratings as rating_store
from storage.models import Ticket

log = logging.getLogger(__name__)
RATING = (Status.RESOLVED, Status.CLOSED)
WAITING = (Status.TRIAGE, Status.REVIEW)  # waiting for a dispatcher


def windows(app: App, t: Ticket, start: datetime) -> dict[str, datetime]:
    urgent = t.urgency == "urgent"
    return {
        f"{clock}_due": app.sla.window(clock, t.kind, urgent).after(start, app.calendar)
        for clock in ("accept", "progress", "resolve")
    }


def progress_from_acceptance(app: App, t: Ticket, accepted_at: datetime) -> datetime | None:
    """The first-progress deadline once the department signs (签收). Counted from the dispatch, a
    natural-day window can end before 签收 is even due (a holiday inside a working-day accept
    window), and a department that signed in time was carded for progress it could not yet have
    given: such a window counts from the signing instead. Any other stays as it is."""
    if t.progress_due is None or t.accept_due is None or t.progress_due > t.accept_due:
        return t.progress_due
    window = app.sla.window("progress", t.kind, t.urgency == "urgent").after(accepted_at, app.calendar)
    return max(t.progress_due, window)


def _nag_cadence(app: App, t: Ticket) -> Callable[[datetime], datetime]:
    """When the next nag of an overdue ticket is due: once per working day at the org file's
    `scheduler.nag_at`; an urgent one every `sla.urgent_nag` whatever the day (7×24, seed 004 —
    an urgent sewage overflow overdue on the eve of National Day waited eight days for the next)."""
    if t.urgency == "urgent":
        every = app.sla.urgent_nag
        return lambda after: every.after(after, app.calendar)
    at = parse_hhmm(app.org.scheduler.nag_at)
    return lambda after: nag.next_nag_time(app.calendar, after, at)


def timers(app: App) -> rating_rules.Timers:
    return rating_rules.Timers(app.sla.rating_reminder, app.sla.rating_close, app.calendar)


async def round_clock(session: AsyncSession, t: Ticket) -> rating_rules.RoundClock | None:
    """The rating clock's facts of the ticket's current round (None before the first)."""
    row = await rating_store.get(session, t.id, t.rating_round) if t.rating_round else None
    if row is None:
        return None
    return rating_rules.RoundClock(row.asked_at, row.reminded_at, row.reason_asked_at)


async def rating_next_check(session: AsyncSession, app: App, t: Ticket) -> datetime | None:
    return rating_rules.next_check(
        status=t.status, resolved_at=t.resolved_at, closed_at=t.closed_at, close_reason=t.close_reason,
        round_=await round_clock(session, t), public_response_done=t.public_response_at is not None,
        timers=timers(app))


def _dues(t: Ticket) -> dict[str, datetime | None]:
    return {"accept": t.accept_due, "progress": t.progress_due, "resolve": t.resolve_due}


def running(t: Ticket) -> tuple[str, ...]:
    """The clocks the ticket's department is on now (a step done has no clock to miss)."""
    return nag.active_clocks(t.status, progress_done=t.first_progress_at is not None,
                             resolved_before=t.resolved_at is not None or bool(t.reopen_count))


async def _store(session: AsyncSession, t: Ticket, state: dict, when: datetime | None) -> None:
    changed = state != (t.clock_state or {})
    await due_scan.set_next(session, t, when, state if changed else None)


async def reschedule(session: AsyncSession, app: App, t: Ticket, *, fresh: bool = False,
                     entered_at: datetime | None = None) -> None:
    """Recompute the ticket's next check after a change (same transaction as the change).

    The row is read again first, under its lock: the scan may have committed its marks —
    unless the caller read it after its own UPDATE of the row in this transaction (``fresh``:
    the row has been ours since). ``entered_at``: when the ticket entered its status, if the
    caller just moved it (else its history says).
    """
    locked = t if fresh else await due_scan.lock(session, t.id) or t
    await settle(session, app, locked, app.now(), entered_at=entered_at)


async def settle(session: AsyncSession, app: App, t: Ticket, now: datetime, *,
                 entered_at: datetime | None = None) -> None:
    state = dict(t.clock_state or {})
    if t.status not in WAITING:
        state.pop("waiting", None)
    if t.status in RATING:
        await escalation.credit_on_time(session, t, state)
        nag.tidy(state, ())
        await _store(session, t, state, await rating_next_check(session, app, t))
        return
    if t.status == Status.ANSWERED:
        nag.tidy(state, ())
        await _store(session, t, state, await answered_close_at(session, app, t, entered_at))
        return
    if t.status in WAITING:
        nag.tidy(state, ())
        state["waiting"] = await _waiting(session, app, t, state, entered_at)
        await _store(session, t, state, nag.waiting_next(state["waiting"]))
        return
    if t.status not in WORKING:
        nag.tidy(state, ())
        await _store(session, t, state, None)
        return
    state, fresh = nag.sync(state, _dues(t), now, app.sla.reminders, t.dispatched_at)
    active = running(t)
    nag.tidy(state, active)
    if "accept" in fresh and t.status == Status.DISPATCHED and t.urgency == "urgent":
        await escalation.duty_call(session, app, t, now)
    await _store(session, t, state, nag.next_check(state, active, app.sla.reminders))


async def on_due(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    """Reminders, overdue notices, cards and nags for a claimed ticket; its next check."""
    if t.status in WAITING:
        await _waiting_due(session, app, t, now)
        return
    if t.status not in WORKING:
        await settle(session, app, t, now)
        return
    state, _fresh = nag.sync(t.clock_state, _dues(t), now, app.sla.reminders, t.dispatched_at)
    active = running(t)
    state, actions = nag.step(state, active, now, app.sla.reminders, _nag_cadence(app, t))
    if actions:
        await _tell(session, app, t, actions, now)
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


async def _tell(session: AsyncSession, app: App, t: Ticket, actions: list[nag.Action], now: datetime) -> None:
    dept = await lead_department(session, t)
    chat_id = dept.chat_id if dept else None
    tr = await notify.chat_translator(session, app, chat_id or 0)
    code, lines, card_lines = display(t.code), [], []
    for a in actions:
        if isinstance(a, nag.Overdue):
            await tickets.add_event(session, t.id, "sla_overdue", now, data={"clock": a.clock})
            card = await escalation.give_card(session, app, t, a.clock, a.due, now)
            if card is not None:
                card_lines.append(tr(f"sla.card_{card.colour}", dept=dept.name if dept else t.lead_dept))
    for kind, due, fraction, clocks in _group(actions):
        clock = tr("sla.clock_sep").join(tr(f"clock.{c}") for c in clocks)
        when = local(app, due)
        if kind is nag.Reminder:
            lines.append(tr("sla.reminder", code=code, clock=clock, when=when, pct=round(fraction * 100)))
        elif kind is nag.Overdue:
            lines.append(tr("sla.overdue", code=code, clock=clock, when=when))
        elif t.urgency == "urgent":  # chased around the clock: late by the clock, not by working days
            minutes = max(1, int((now - due).total_seconds() // 60))
            lines.append(tr("sla.nag_urgent", code=code, clock=clock, when=when, hours=minutes // 60,
                            minutes=minutes % 60))
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


async def _waiting(session: AsyncSession, app: App, t: Ticket, state: dict,
                   entered_at: datetime | None = None) -> dict:
    """The wait entry: a wait longer than the ticket's accept window gets a reminder."""
    since = entered_at or await _entered_at(session, t)
    due = app.sla.window("accept", t.kind, t.urgency == "urgent").after(since, app.calendar)
    return nag.waiting(state, t.status, since, due)


async def _waiting_due(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    state = dict(t.clock_state or {})
    nag.tidy(state, ())
    # A wait on the dispatchers is chased as a department's overdue clock is: once per working
    # day, an urgent ticket around the clock (one reminder on the eve of National Day, then none
    # for a week, left an urgent appeal no catalogue row matched with nobody).
    entry, due = nag.waiting_step(await _waiting(session, app, t, state), now, _nag_cadence(app, t))
    state["waiting"] = entry
    if due:
        await _remind_dispatchers(session, app, t, entry)
    await _store(session, t, state, nag.waiting_next(entry))


async def _remind_dispatchers(session: AsyncSession, app: App, t: Ticket, entry: dict) -> None:
    """The dispatch chat hears of a ticket it keeps waiting, as a reply to its latest card."""
    chat_id = await dispatch_chat_id(session, app)
    if chat_id is None:
        return
    tr = await notify.chat_translator(session, app, chat_id)
    since = local(app, datetime.fromisoformat(entry["since"]))
    key = "sla.waiting_review" if t.status == Status.REVIEW else "sla.waiting_triage"
    text = "\n".join([tr(key, code=display(t.code), since=since), tr("card.summary", text=summary(t.text or "", 60))])
    links = [link for purpose in ("dispatch_card", "review_card")
             for link in await tickets.links_of(session, t.id, purpose, chat_id)]
    latest = max(links, key=lambda link: link.message_id, default=None)
    notify.send(session, app, chat_id, text, ticket=t, purpose="dispatch_note",
                reply_to=latest.message_id if latest else None)


async def answered_close_at(session: AsyncSession, app: App, t: Ticket,
                            entered_at: datetime | None = None) -> datetime:
    return rating_rules.answered_close_at(entered_at or await _entered_at(session, t), timers(app))
