"""/bind and /role: admins reshape the deployment from the chat; /health shows the queues."""
from __future__ import annotations

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.context import App, DbSession
from bot.domain.lifecycle import TransitionError
from bot.services import admin_svc
from bot.services import health as health_svc
from bot.services.access import Roles
from handlers.common import _, reply


async def sees_everything(bot: Bot, app: App, chat_id: int) -> bool:
    """Privacy mode off, or the bot is an admin here: hashtags, forwards and albums all reach it."""
    if app.reads_all_group_messages:
        return True
    try:
        member = await bot.get_chat_member(chat_id, app.bot_id)
    except TelegramAPIError:
        return False
    return member.status in ("administrator", "creator")


MAX_USER_ID = 2**52  # Telegram user ids have at most 52 significant bits


def build_admin_router() -> Router:
    router = Router(name="admin")

    @router.message(Command("bind"))
    async def bind(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles,
                   bot: Bot) -> None:
        if not roles.admin:
            reply(session, app, message, _("error.admin_only"))
            return
        if message.chat.type == "private":
            reply(session, app, message, _("bind.group_only"))
            return
        parts = (command.args or "").split()
        if not parts:
            reply(session, app, message, _("bind.usage"))
            return
        try:
            name = await admin_svc.bind(session, app, message.chat.id, message.chat.title, parts[0],
                                        parts[1] if len(parts) > 1 else None)
        except TransitionError as exc:
            await session.rollback()
            reply(session, app, message, _(exc.code, **getattr(exc, "params", {})))
            return
        text = _("bind.done", kind=_(f"chatkind.{parts[0]}"), name=name)
        if parts[0] == "community" and not await sees_everything(bot, app, message.chat.id):
            text += "\n\n" + _("bind.privacy_note", bot=app.bot_username)
        reply(session, app, message, text)

    @router.message(Command("health"))
    async def health(message: Message, session: DbSession, app: App, roles: Roles) -> None:
        """Admins see whether updates wait or were parked as dead (nothing is dropped silently)."""
        if not roles.admin:
            reply(session, app, message, _("error.admin_only"))
            return
        h = await health_svc.health(session)
        text = _("health.status", pending=h.inbox_pending, dead=h.inbox_dead, outbox=h.outbox_pending)
        if h.last_dead_error:
            text += "\n" + _("health.last_dead", error=h.last_dead_error)
        reply(session, app, message, text)

    @router.message(Command("role"))
    async def role(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles) -> None:
        if not roles.admin:
            reply(session, app, message, _("error.admin_only"))
            return
        parts = (command.args or "").split()
        target = message.reply_to_message.from_user.id if message.reply_to_message and message.reply_to_message.from_user else None
        if parts and parts[0].isascii() and parts[0].isdigit():
            if int(parts[0]) > MAX_USER_ID:
                reply(session, app, message, _("role.bad_user", user=parts[0][:40]))
                return
            target, parts = int(parts[0]), parts[1:]
        if target is None or not parts:
            reply(session, app, message, _("role.usage"))
            return
        revoke = parts[0].startswith("-")
        name = parts[0].lstrip("-")
        try:
            await admin_svc.set_role(session, app, target, name, parts[1] if len(parts) > 1 else None, revoke)
        except TransitionError as exc:
            await session.rollback()
            reply(session, app, message, _(exc.code, **getattr(exc, "params", {})))
            return
        reply(session, app, message, _("role.revoked" if revoke else "role.granted", user=target, role=name))

    return router
