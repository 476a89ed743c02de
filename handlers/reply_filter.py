"""Replies to the bot's own messages find their ticket in `message_links` (never in the text).

`ReplyTo("dept_card", …)` is an aiogram filter: it matches a reply to a bot message linked to a
ticket with one of those purposes and hands the handler the link (`link=`), the aiogram way
("a filter returns a dict"). `reporter_only=True` also requires that the person replying speaks
for the ticket (its reporter, or the person it was reported for); anyone else's reply falls
through to the next handler (in a community chat: their own appeal).
"""
from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import Message

from bot.context import App, DbSession, Delivery, TryLater
from bot.services import intake


class ReplyTo(Filter):
    def __init__(self, *purposes: str, reporter_only: bool = False) -> None:
        self.purposes = frozenset(purposes)
        self.reporter_only = reporter_only

    async def __call__(self, message: Message, session: DbSession, app: App,
                       delivery: Delivery | None = None) -> bool | dict[str, Any]:
        target = message.reply_to_message
        if target is None or message.from_user is None:
            return False
        if not (target.from_user and target.from_user.id == app.bot_id):
            return False
        link = await intake.find_link(session, message.chat.id, target.message_id)
        if link is None and (delivery is None or not delivery.final) \
                and await intake.link_on_its_way(session, message.chat.id):
            # A reply quicker than the outbox's next round: handled again in a moment, when the
            # message it answers is linked, rather than taken for a message about no ticket.
            raise TryLater(f"the link of message {target.message_id} is on its way")
        if link is None or link.purpose not in self.purposes:
            return False
        if self.reporter_only and not await intake.speaks_for(session, link.ticket_id, message.from_user.id):
            return False
        return {"link": link}


def awaited(message: Message, link: Any) -> bool:
    """The reply comes from the person the question waits for (or the question waits for anyone)."""
    return link.awaiting_user_id is None or (message.from_user is not None
                                             and link.awaiting_user_id == message.from_user.id)
