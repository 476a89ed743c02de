"""Asking one person for words by reply (a reason, a code, a result, an explanation).

The question is linked to the ticket with the person it awaits; their reply finds it through
`message_links` (handlers/reply_filter.py), never through the text.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.codes import display
from bot.domain.lifecycle import Refusal
from bot.services import notify
from storage import outbox, tickets
from storage.common import serialize
from storage.models import MessageLink, Ticket


def asked_in(t: Ticket) -> list:
    """Which dispatch and which round of the ticket a question belongs to (its 派单 moment, to the
    millisecond, and its reopenings): the answer is for that one only. A colleague's reply under
    last round's 退单 or 办结 question must not return or resolve the next dispatch."""
    return [tickets.dispatch_mark(t), t.reopen_count]


async def still_asked(session: AsyncSession, link: MessageLink) -> bool:
    """Whether the question the link is (asked before this rule: no record) still stands."""
    asked = (link.data or {}).get("asked_in")
    if asked is None:
        return True
    t = await tickets.get(session, link.ticket_id)
    return t is not None and asked == asked_in(t)


# A second press of the same button within this time is a double tap (or a slow network): the
# question above still stands, and asking it again would only fill the chat. Later, the first may
# have scrolled away, and it is asked again.
ASKED_AGAIN_AFTER = timedelta(minutes=2)


async def prompt(session: AsyncSession, app: App, chat_id: int, t: Ticket, user_id: int | None, purpose: str,
                 key: str, reply_to: int | None = None) -> None:
    """Ask; refused (`prompt.already_asked`) when the same question of the same round went to the
    same person lately."""
    await serialize(session, "prompt", chat_id, t.id, user_id)
    lately = await outbox.asked_lately(session, chat_id=chat_id, ticket_id=t.id, purpose=purpose, user_id=user_id,
                                       since=app.now() - ASKED_AGAIN_AFTER)
    if any(data.get("asked_in") == asked_in(t) for data in lately):  # this round's question, not last round's
        raise Refusal("prompt.already_asked")
    tr = await notify.chat_translator(session, app, chat_id)
    notify.send(session, app, chat_id, tr(key, code=display(t.code)), ticket=t, purpose=purpose,
                awaiting_user_id=user_id, force_reply=True, reply_to=reply_to, link_data={"asked_in": asked_in(t)})
