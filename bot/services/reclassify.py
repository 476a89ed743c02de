"""改类型 / 标紧急 / 改普通 on the dispatch card (issue #13): a dispatcher corrects the kind and
the urgency the words suggested, while the ticket waits for them or a department has it.

The change is a ticket event (``kind_changed`` / ``urgency_changed``). A ticket made urgent takes
the urgent path again — to its department at once when the catalogue match is confident and the
org allows it (bot/services/dispatch.py ``auto_dispatch``), the leaders' chat told. While a
department works it, the deadlines move with the class (bot/domain/sla.py ``reclassified``: a
tighter window runs from now, never later than before; a looser one from the dispatch, never
earlier than before), the clocks start again from the new deadlines and the department hears.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain import sla
from bot.domain.codes import display
from bot.domain.lifecycle import WORKING, Refusal, Status, authorise
from bot.services import department_cards, dispatch, dispatch_cards, notify, transition
from bot.services.access import Roles
from bot.services.addressing import lead_department, load
from bot.services.ticket_lines import local
from storage import assignments
from storage.models import Ticket

URGENCIES = ("urgent", "normal")
CLOCKS = ("accept", "progress", "resolve")


async def show_kinds(session: AsyncSession, app: App, ticket_id: int, roles: Roles, chat_id: int,
                     message_id: int) -> None:
    """改类型: the five kinds on the card, for a dispatcher."""
    t = await load(session, ticket_id)
    authorise("reclassify", t.status, roles.actors_for(t))
    await dispatch_cards.show_picker(session, app, t, chat_id, message_id, "kinds")


async def set_kind(session: AsyncSession, app: App, ticket_id: int, roles: Roles, kind: str) -> Ticket:
    t = await load(session, ticket_id)
    authorise("reclassify", t.status, roles.actors_for(t))
    if kind not in dispatch_cards.KINDS:
        raise Refusal("error.bad_button")
    if kind == t.kind:  # chosen again: the card as it was
        await dispatch_cards.redraw(session, app, t)
        return t
    return await _change(session, app, t, roles, "kind_changed", kind=kind, urgency=t.urgency)


async def set_urgency(session: AsyncSession, app: App, ticket_id: int, roles: Roles, urgency: str) -> Ticket:
    t = await load(session, ticket_id)
    authorise("reclassify", t.status, roles.actors_for(t))
    if urgency not in URGENCIES:
        raise Refusal("error.bad_button")
    if urgency == t.urgency:  # a second press of a card not redrawn yet
        await dispatch_cards.redraw(session, app, t)
        return t
    return await _change(session, app, t, roles, "urgency_changed", kind=t.kind, urgency=urgency)


async def _change(session: AsyncSession, app: App, t: Ticket, roles: Roles, event: str, *, kind: str,
                  urgency: str) -> Ticket:
    before = (t.kind, t.urgency)
    working = Status(t.status) in WORKING and t.dispatched_at is not None
    values: dict[str, object] = {"kind": kind, "urgency": urgency}
    if working:
        values.update(_moved_deadlines(app, t, kind, urgency))
    field = "kind" if event == "kind_changed" else "urgency"
    data = {"from": before[0] if field == "kind" else before[1], "to": kind if field == "kind" else urgency}
    t = await transition.record(session, app, t, "reclassify", roles.actors_for(t), event=event,
                                actor_id=roles.user_id, values=values, data=data)
    if working:
        await assignments.reclassified(session, t.id, t.accept_due, t.resolve_due, app.now())
    made_urgent = urgency == "urgent" and before[1] != "urgent"
    if made_urgent and t.status == Status.TRIAGE:
        moved = await dispatch.auto_dispatch(session, app, t)
        t = moved or t
        await dispatch.tell_urgent(session, app, t, "dispatched" if moved else "waiting")
        if moved is not None:
            return t  # dispatching rewrote the card
    elif made_urgent:
        await dispatch.tell_urgent(session, app, t, "raised" if working else "waiting")
    await dispatch_cards.redraw(session, app, t)
    if working:
        await department_cards.refresh(session, app, t)
        await _tell_department(session, app, t)
    return t


def _moved_deadlines(app: App, t: Ticket, kind: str, urgency: str) -> dict[str, datetime | None]:
    assert t.dispatched_at is not None
    now, out = app.now(), {}
    for clock in CLOCKS:
        old = getattr(t, f"{clock}_due")
        before = app.sla.window(clock, t.kind, t.urgency == "urgent")
        after = app.sla.window(clock, kind, urgency == "urgent")
        out[f"{clock}_due"] = sla.reclassified(old, before, after, t.dispatched_at, now, app.calendar)
    return out


async def _tell_department(session: AsyncSession, app: App, t: Ticket) -> None:
    """The lead department hears of the change and of the deadlines it now works to."""
    dept = await lead_department(session, t)
    if dept is None or dept.chat_id is None:
        return
    tr = await notify.chat_translator(session, app, dept.chat_id)
    lines = [tr("dept.reclassified", code=display(t.code), kind=tr(f"kind.{t.kind}"),
                urgency=tr(f"urgency.{t.urgency}"))]
    for clock, due in (("accept", t.accept_due), ("resolve", t.resolve_due)):
        if due is not None and not (clock == "accept" and t.accepted_at):
            lines.append(tr("card.due", clock=tr(f"clock.{clock}"), when=local(app, due)))
    notify.send(session, app, dept.chat_id, "\n".join(lines), ticket=t, purpose="dept_note")
