"""Yellow and red cards (seed 002 红黄绿牌) and the on-duty handler (seed 004 7×24 response).

* A missed deadline gives the ticket's lead department a card: a yellow one, or a red one
  when the department's previous card was also yellow with no on-time resolution since
  (``Department.yellow_streak``).  A red card is announced in the leaders' chat and starts
  the streak afresh.  A ticket gives a department at most one card per handling round (a
  unique constraint on ``cards``), so the accept, progress and resolve clocks of one ticket
  cannot make a red card alone.
* An on-time resolution (resolved by the resolve deadline, and the ticket earned no card
  this round) clears the department's streak.
* Urgent tickets outside working hours name the department's on-duty handler; every urgent
  ticket's dispatch card names the on-duty dispatcher (``/duty`` in the dispatch chat, else the
  org file's ``dispatch.duty`` roster), at any hour.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain import duty as duty_rules
from bot.domain.codes import display
from bot.domain.intake import summary
from bot.domain.lifecycle import Status
from bot.i18n import Translator
from bot.services import notify, oversight
from bot.services.addressing import lead_department, leaders_chat_id, person_label
from bot.services.ticket_lines import local
from storage import tickets
from storage import duty as duty_store
from storage import sla_cards as store
from storage.models import Card, Ticket

__all__ = ["DISPATCH_DESK", "OnDuty", "credit_on_time", "dispatcher_line", "duty_call", "duty_line", "give_card",
           "on_duty", "on_duty_dispatcher", "set_duty", "set_duty_dispatcher"]
DISPATCH_DESK = "dispatch"


@dataclass(frozen=True)
class OnDuty:
    user_id: int
    source: str  # command | roster
    until: datetime | None = None


async def give_card(session: AsyncSession, app: App, t: Ticket, clock: str, due: datetime,
                    now: datetime) -> Card | None:
    """Record the card ``t`` earns its lead department for missing ``clock`` (None if it had one)."""
    if not t.lead_dept:
        return None
    tr = Translator(app.default_locale)
    reason = tr("cards.reason", clock=tr(f"clock.{clock}"), when=local(app, due, "%Y-%m-%d %H:%M"),
                code=display(t.code))
    card = await store.add_card(session, dept=t.lead_dept, ticket_id=t.id, round_=t.reopen_count or 0, clock=clock,
                                reason=reason, at=now)
    if card is None:
        return None
    if await store.bump_streak(session, t.lead_dept) >= 2:
        await store.turn_red(session, card)
        await store.reset_streak(session, t.lead_dept)
    await tickets.add_event(session, t.id, f"card_{card.colour}", now, data={"clock": clock, "dept": t.lead_dept})
    if card.colour == "red":
        await _announce_red(session, app, t, clock, due)
        await oversight.after_red(session, app, t, now)  # the second red in a row: 约谈
    return card


async def _announce_red(session: AsyncSession, app: App, t: Ticket, clock: str, due: datetime) -> None:
    chat_id = await leaders_chat_id(session, app)
    if chat_id is None:
        return
    dept = await lead_department(session, t)
    tr = await notify.chat_translator(session, app, chat_id)
    notify.send(session, app, chat_id,
                tr("sla.red_leaders", dept=dept.name if dept else t.lead_dept, code=display(t.code),
                   clock=tr(f"clock.{clock}"), when=local(app, due), summary=summary(t.text or "", 80)),
                keyboard=[[oversight.take_button(tr, t)]], ticket=t, purpose="red_card")


async def credit_on_time(session: AsyncSession, t: Ticket, state: dict) -> bool:
    """Clear the department's yellow streak once per round resolved on time; True if it did.

    ``state["on_time"]`` (the clocks' own bookkeeping) remembers the rounds already credited.
    """
    if t.status not in (Status.RESOLVED, Status.CLOSED) or not t.lead_dept or t.resolved_at is None:
        return False
    if t.resolve_due is None or t.resolved_at > t.resolve_due:
        return False
    round_ = t.reopen_count or 0
    done = list(state.get("on_time") or [])
    if round_ in done or await store.has_card(session, t.id, t.lead_dept, round_):
        return False
    state["on_time"] = done + [round_]
    await store.reset_streak(session, t.lead_dept)
    await oversight.on_time(session, t.lead_dept)
    return True


def _hours(app: App) -> tuple[int, int]:
    start, end = app.org.working_hours
    return start, end


# -- duty -------------------------------------------------------------------------------


def _roster(app: App, dept_code: str) -> list[tuple[int, list[int]]]:
    for d in app.org.departments:
        if d.code == dept_code:
            return [(s.user, list(s.weekdays)) for s in d.duty]
    return []


def _pick(app: App, set_by_command: tuple[int, datetime] | None, roster: list[tuple[int, list[int]]],
          now: datetime) -> OnDuty | None:
    """The /duty assignment (user, set at) while it lasts, else the roster's person for this shift."""
    hours = _hours(app)
    if set_by_command is not None:
        until = duty_rules.shift_end(app.calendar, set_by_command[1], hours)
        if now < until:
            return OnDuty(set_by_command[0], "command", until)
    user = duty_rules.roster_pick(roster, duty_rules.shift_weekday(app.calendar, now, hours[0]))
    return OnDuty(user, "roster") if user is not None else None


async def on_duty(session: AsyncSession, app: App, dept_code: str, now: datetime) -> OnDuty | None:
    """The department's /duty assignment while it lasts, else the roster's handler for this shift."""
    row = await duty_store.duty(session, dept_code)
    return _pick(app, (row.user_id, row.set_at) if row else None, _roster(app, dept_code), now)


async def on_duty_dispatcher(session: AsyncSession, app: App, now: datetime) -> OnDuty | None:
    """The dispatch chat's /duty assignment while it lasts, else the `dispatch.duty` roster's."""
    row = await duty_store.desk_duty(session, DISPATCH_DESK)
    roster = [(s.user, list(s.weekdays)) for s in app.org.dispatch.duty]
    return _pick(app, (row.user_id, row.set_at) if row else None, roster, now)


async def dispatcher_line(session: AsyncSession, app: App, tr: Translator, t: Ticket) -> str | None:
    """For an urgent ticket's dispatch card: who is the on-duty dispatcher (or that nobody is)."""
    if t.urgency != "urgent":
        return None
    who = await on_duty_dispatcher(session, app, app.now())
    if who is None:
        return tr("card.no_duty_dispatcher")
    return tr("card.duty_dispatcher", who=await person_label(session, who.user_id, tr))


async def set_duty_dispatcher(session: AsyncSession, app: App, user_id: int, now: datetime) -> datetime:
    """Put ``user_id`` on duty at the dispatch desk until the next working-hours start; returns then."""
    await duty_store.set_desk_duty(session, DISPATCH_DESK, user_id, now)
    return duty_rules.shift_end(app.calendar, now, _hours(app))


async def duty_line(session: AsyncSession, app: App, tr: Translator, t: Ticket, now: datetime) -> str | None:
    """For an urgent ticket outside working hours: who is on duty (or that nobody is)."""
    if t.urgency != "urgent" or not t.lead_dept:
        return None
    if not duty_rules.is_off_hours(app.calendar, now, _hours(app)):
        return None
    who = await on_duty(session, app, t.lead_dept, now)
    if who is None:
        return tr("sla.no_duty")
    return tr("sla.duty", who=await person_label(session, who.user_id, tr))


async def duty_call(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    """An urgent ticket just dispatched outside working hours: call the on-duty handler."""
    dept = await lead_department(session, t)
    if dept is None or dept.chat_id is None or t.accept_due is None:
        return
    tr = await notify.chat_translator(session, app, dept.chat_id)
    line = await duty_line(session, app, tr, t, now)
    if line is None:
        return
    text = tr("sla.duty_call", code=display(t.code), clock=tr("clock.accept"), when=local(app, t.accept_due))
    notify.send(session, app, dept.chat_id, text + "\n" + line, ticket=t, purpose="dept_note")


async def set_duty(session: AsyncSession, app: App, dept_code: str, user_id: int, now: datetime) -> datetime:
    """Put ``user_id`` on duty for the current (or next) off-hours shift; returns when it lapses."""
    await duty_store.set_duty(session, dept_code, user_id, now)
    return duty_rules.shift_end(app.calendar, now, _hours(app))
