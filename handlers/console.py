"""/console: a staff member gets a one-time link to the web console, in private only."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.context import App, DbSession
from bot.services import console_auth
from handlers.common import _, reply
from handlers.event_filters import CommandsOnly, OnLoop


def build_console_router() -> Router:
    router = Router(name="console")
    router.message.filter(CommandsOnly(router))

    @router.message(Command("console"), OnLoop(F.chat.type == "private"))
    async def console_link(message: Message, session: DbSession, app: App) -> None:
        link = await console_auth.login_link(session, app, message.from_user.id)
        if link is None:
            reply(session, app, message, _("console.bot_not_staff"))
            return
        minutes = int(console_auth.LINK_TTL.total_seconds() // 60)
        reply(session, app, message, _("console.bot_link", link=link, minutes=minutes))

    @router.message(Command("console"))
    async def console_in_group(message: Message, session: DbSession, app: App) -> None:
        # A login link in a group could be opened by anyone there: it only ever goes to a private chat.
        reply(session, app, message, _("console.bot_private_only", bot=app.bot_username))

    return router
