"""/bind and /role: admins reshape the deployment from the chat; /health shows the queues."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import ChatMemberUpdated, Message, TelegramObject, Update

from bot.command_menus import publish_desk_menu
from bot.context import App, DbSession
from bot.services import access, admin_svc
from bot.services import health as health_svc
from bot.services.access import Roles
from handlers.common import _, reply, reply_op
from handlers.event_filters import CommandsOnly, command_name

log = logging.getLogger(__name__)


async def sees_everything(bot: Bot, app: App, chat_id: int) -> bool:
    """Privacy mode off, or the bot is an admin here: hashtags, forwards and albums all reach it."""
    if app.reads_all_group_messages:
        return True
    try:
        member = await bot.get_chat_member(chat_id, app.bot_id)
    except TelegramAPIError:
        return False
    return member.status in ("administrator", "creator")


def binding_community(update: Update) -> tuple[int, int] | None:
    """(chat, sender) of a ``/bind community …`` in a group: its answer says whether privacy mode
    hides messages there, which only Telegram knows."""
    message = update.message
    if message is None or message.chat.type == "private" or message.from_user is None \
            or command_name(message) != "bind":
        return None
    words = (message.text or message.caption or "").split()
    return (message.chat.id, message.from_user.id) if len(words) > 1 and words[1] == "community" else None


class PrivacyLookahead(BaseMiddleware):
    """An outer middleware on updates, set before the session's: an admin's ``/bind community`` asks
    Telegram about the bot's own rights in the group (`sees_everything`) with no transaction open,
    and hands the answer to the handler as ``bot_sees_everything``. Asked inside, the transaction
    waited for Telegram, and on SQLite so did every other chat's updates (handlers/membership.py
    does the same for a department's members). Others' ``/bind`` is refused without asking."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        binding = binding_community(event) if isinstance(event, Update) else None
        if binding is not None:
            try:
                async with self.app.sessions() as session:  # the directory's copy, as a rule
                    admin = (await access.roles_of(session, binding[1])).admin
                if admin:
                    data["bot_sees_everything"] = await sees_everything(data["bot"], self.app, binding[0])
            except Exception:  # noqa: BLE001 — only a head start: the handler asks itself if it must
                log.warning("privacy lookahead failed for update %s", event.update_id, exc_info=True)
        return await handler(event, data)


def build_admin_router() -> Router:
    router = Router(name="admin")
    router.message.filter(CommandsOnly(router))

    @router.message(Command("bind"))
    async def bind(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles,
                   bot: Bot, bot_sees_everything: bool | None = None) -> None:
        words = (command.args or "").split()

        async def op() -> None:
            name = await admin_svc.bind_command(session, app, roles, message.chat.id, message.chat.type == "private",
                                                message.chat.title, words)
            text = _("bind.done", kind=_(f"chatkind.{words[0]}"), name=name)
            if words[0] == "community" and not (
                    bot_sees_everything if bot_sees_everything is not None
                    else await sees_everything(bot, app, message.chat.id)):
                text += "\n\n" + _("bind.privacy_note", bot=app.bot_username)
            reply(session, app, message, text)
            await publish_desk_menu(bot, message.chat.id, words[0])

        await reply_op(session, app, message, op)

    @router.my_chat_member()
    async def bot_membership(event: ChatMemberUpdated, session: DbSession, app: App) -> None:
        """The bot added back to a chat it had lost: see admin_svc.bot_membership."""
        await admin_svc.bot_membership(session, app, event.chat.id, event.new_chat_member.status)

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
