"""After intake: a knowledge answer for a consultation, else the way to the dispatch chat (DESIGN §2).

Comes after bot/services/intake.py; hands the ticket to bot/services/dispatch.py.
"""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import TicketAct, button
from bot.context import App
from bot.domain.codes import display
from bot.domain.lifecycle import Actor, Refusal, Status
from bot.services import dispatch, notify, transition
from bot.services.access import Roles
from bot.services.addressing import load
from bot.services.transition import SYSTEM
from storage.models import Ticket


async def after_intake(session: AsyncSession, app: App, ticket: Ticket) -> None:
    answer = app.matcher.answer(ticket.text) if ticket.kind == "consultation" and ticket.text else None
    if answer is not None:
        # A consultation the knowledge base answers is answered at once (and closes by itself
        # unless the person says it did not help, which reopens triage).
        ticket = await transition.move(session, app, ticket, "answer", SYSTEM, event="answered",
                                       data={"answer": answer.answer})
        tr = await notify.person_translator(session, app, ticket.reporter_id)
        kb = [[button(tr("btn.not_helpful"), TicketAct(action="nohelp", ticket_id=ticket.id))]]
        await notify.tell_reporter(session, app, ticket, "reporter.answered", keyboard=kb,
                                   code=display(ticket.code), answer=answer.answer)
        return
    ticket = await transition.move(session, app, ticket, "triage", SYSTEM, event="triage")
    await dispatch.to_triage(session, app, ticket, first=True)


async def not_helpful(session: AsyncSession, app: App, ticket_id: int, roles: Roles) -> Ticket:
    """没有解决我的问题 under a knowledge answer: the consultation goes to the dispatchers."""
    t = await load(session, ticket_id)
    actors = roles.actors_for(t)
    if Actor.REPORTER not in actors and t.status == Status.ANSWERED:
        raise Refusal("nohelp.not_yours")  # a neighbour under someone's question: say whose it is
    t = await transition.move(session, app, t, "triage", actors, event="not_helpful",
                              actor_id=roles.user_id)
    await dispatch.to_triage(session, app, t)
    await notify.tell_reporter(session, app, t, "reporter.to_triage", code=display(t.code))
    return t
