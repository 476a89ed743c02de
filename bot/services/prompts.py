"""Asking one person for words by reply (a reason, a code, a result, an explanation).

The question is linked to the ticket with the person it awaits; their reply finds it through
`message_links` (handlers/reply_filter.py), never through the text.
"""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.codes import display
from bot.services import notify
from storage.models import Ticket


async def prompt(session: AsyncSession, app: App, chat_id: int, t: Ticket, user_id: int | None, purpose: str,
                 key: str, reply_to: int | None = None) -> None:
    tr = await notify.chat_translator(session, app, chat_id)
    notify.send(session, app, chat_id, tr(key, code=display(t.code)), ticket=t, purpose=purpose,
                awaiting_user_id=user_id, force_reply=True, reply_to=reply_to)
