"""After intake: knowledge answers, routing and the way to the dispatch chat (DESIGN §2)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import TicketAct, button
from bot.context import App
from bot.domain.codes import display
from bot.domain.lifecycle import Actor, Refusal, Status, plan
from bot.services import deadlines, dispatching, notify
from bot.services.access import Roles
from storage import tickets
from storage.models import Ticket


async def after_intake(session: AsyncSession, app: App, ticket: Ticket) -> None:
    now = app.now()
    answer = app.router.answer(ticket.text) if ticket.kind == "consultation" and ticket.text else None
    if answer is not None:
        # A consultation the knowledge base answers is answered at once; "did not help" reopens triage.
        if await tickets.move(session, ticket.id, Status.NEW.value, {"status": Status.ANSWERED.value}, now):
            await tickets.add_event(session, ticket.id, "answered", now, from_status="NEW", to_status="ANSWERED")
            ticket = await tickets.get(session, ticket.id)
            await deadlines.reschedule(session, app, ticket)  # an answered consultation closes by itself
            tr = await notify.person_translator(session, app, ticket.reporter_id)
            kb = [[button(tr("btn.not_helpful"), TicketAct(action="nohelp", ticket_id=ticket.id))]]
            await notify.tell_reporter(session, app, ticket, "reporter.answered", keyboard=kb,
                                       code=display(ticket.code), answer=answer.answer)
        return
    if await tickets.move(session, ticket.id, Status.NEW.value, {"status": Status.TRIAGE.value}, now):
        await tickets.add_event(session, ticket.id, "triage", now, from_status="NEW", to_status="TRIAGE")
        ticket = await tickets.get(session, ticket.id)
        await dispatching.to_triage(session, app, ticket)


async def not_helpful(session: AsyncSession, app: App, ticket_id: int, roles: Roles) -> Ticket:
    t = await dispatching.load(session, ticket_id)
    actors = roles.actors_for(t)
    if roles.user_id == t.on_behalf_user_id:
        actors.add(Actor.REPORTER)
    plan("triage", t.status, actors)
    now = app.now()
    if not await tickets.move(session, t.id, Status.ANSWERED.value, {"status": Status.TRIAGE.value}, now):
        raise Refusal("error.stale")
    await tickets.add_event(session, t.id, "not_helpful", now, actor_id=roles.user_id, from_status="ANSWERED",
                            to_status="TRIAGE")
    t = await tickets.get(session, t.id)
    await dispatching.to_triage(session, app, t)
    await notify.tell_reporter(session, app, t, "reporter.to_triage", code=display(t.code))
    return t
