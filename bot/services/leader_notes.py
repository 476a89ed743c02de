"""领导包案 (seed 004): the leader who took a ticket is told of every step, in private.

A leaf: the transition engine calls `tell_leader` after each move of a taken ticket.
"""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.codes import display
from bot.i18n import Translator
from bot.services import notify
from bot.services.access import roles_of
from storage.models import Ticket


async def tell_leader(session: AsyncSession, app: App, t: Ticket, event: str) -> None:
    if not t.leader_id or not (await roles_of(session, t.leader_id)).leader:
        return  # nobody took it, or they left the office (the case waits for another leader)
    tr = await notify.person_translator(session, app, t.leader_id)
    step = _step_name(tr, event)
    notify.send(session, app, t.leader_id, tr("case.step", code=display(t.code), step=step,
                                              status=tr(f"status.{t.status}")),
                ticket=t, purpose="leader_case")


def _step_name(tr: Translator, event: str) -> str:
    """The step as the leader reads it: its sentence (`case.event.*`) where one is written,
    else the name the history shows (`event.*`), which every kind has (tests/test_event_names)."""
    sentence = tr(f"case.event.{event}")
    return sentence if sentence != f"case.event.{event}" else tr(f"event.{event}")
