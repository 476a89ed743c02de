"""/id: the ids an operator needs for the org file, HUYING_ADMINS and /role.

A router of its own: it answers anyone, in any chat, before the bot knows a single admin.
"""
from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.context import App, DbSession
from bot.services import access
from handlers.common import _, reply
from handlers.event_filters import CommandsOnly


def build_identity_router() -> Router:
    router = Router(name="identity")
    router.message.filter(CommandsOnly(router))

    @router.message(Command("id"))
    async def ids(message: Message, session: DbSession, app: App) -> None:
        lines = [_("id.chat", chat_id=message.chat.id, kind=message.chat.type)]
        if message.message_thread_id and message.is_topic_message:
            lines.append(_("id.topic", thread_id=message.message_thread_id))
        if message.from_user is not None:
            lines.append(_("id.you", user_id=message.from_user.id))
        other = message.reply_to_message.from_user if message.reply_to_message else None
        # Someone else's name and id only where the public cannot read them: a resident's id is
        # nobody's business in their community chat (each person can send /id for their own).
        if other is not None and not other.is_bot and await access.staff_chat(session, message.chat.id,
                                                                               message.chat.type):
            lines.append(_("id.them", name=other.full_name, user_id=other.id))
        reply(session, app, message, "\n".join(lines))

    return router
