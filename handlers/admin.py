"""/bind and /role: admins reshape the deployment from the chat; /health shows the queues."""
from __future__ import annotations

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.context import App, DbSession
from bot.services import admin_svc
from bot.services import health as health_svc
from bot.services.access import Roles
from handlers.common import _, reply, reply_op
from handlers.event_filters import CommandsOnly


async def sees_everything(bot: Bot, app: App, chat_id: int) -> bool:
    """Privacy mode off, or the bot is an admin here: hashtags, forwards and albums all reach it."""
    if app.reads_all_group_messages:
        return True
    try:
        member = await bot.get_chat_member(chat_id, app.bot_id)
    except TelegramAPIError:
        return False
    return member.status in ("administrator", "creator")


def build_admin_router() -> Router:
    router = Router(name="admin")
    router.message.filter(CommandsOnly(router))

    @router.message(Command("bind"))
    async def bind(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles,
                   bot: Bot) -> None:
        words = (command.args or "").split()

        async def op() -> None:
            name = await admin_svc.bind_command(session, app, roles, message.chat.id, message.chat.type == "private",
                                                message.chat.title, words)
            text = _("bind.done", kind=_(f"chatkind.{words[0]}"), name=name)
            if words[0] == "community" and not await sees_everything(bot, app, message.chat.id):
                text += "\n\n" + _("bind.privacy_note", bot=app.bot_username)
            reply(session, app, message, text)

        await reply_op(session, app, message, op)

    @router.message(Command("health"))
    async def health(message: Message, session: DbSession, app: App, roles: Roles) -> None:
        """Admins see whether updates wait or were parked as dead (nothing is dropped silently)."""
        async def op() -> None:
            h = await health_svc.health(session, roles)
            text = _("health.status", pending=h.inbox_pending, dead=h.inbox_dead, outbox=h.outbox_pending)
            if h.last_dead_error:
                text += "\n" + _("health.last_dead", error=h.last_dead_error)
            reply(session, app, message, text)

        await reply_op(session, app, message, op)

    @router.message(Command("role"))
    async def role(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles) -> None:
        replied = message.reply_to_message
        replied_to = replied.from_user.id if replied and replied.from_user else None

        async def op() -> None:
            change = await admin_svc.role_command(session, app, roles, (command.args or "").split(), replied_to)
            reply(session, app, message, _("role.revoked" if change.revoke else "role.granted",
                                           user=change.user_id, role=change.role))

        await reply_op(session, app, message, op)

    return router
