"""The leaders' desk (issue #10): /take (领导包案), /instruct (批示), /mine (a leader's cases) and the
督办 buttons — 包案 on red-card and 职责争议 notices, 提请领导决定 on the dispatch card, the leader's
choice of lead department."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.callbacks import Supervise
from bot.context import App, DbSession
from bot.services import supervision
from bot.services.access import Roles
from handlers.common import _, current_tr, press_op, reply, reply_op
from handlers.event_filters import CommandsOnly


async def leader_in_private(message: Message, roles: Roles) -> bool:  # a coroutine: see handlers/event_filters.py
    return message.chat.type == "private" and roles.leader


def build_leaders_router() -> Router:
    router = Router(name="leaders")
    router.message.filter(CommandsOnly(router))

    @router.message(Command("take"))
    async def take(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles) -> None:
        words = (command.args or "").split()

        async def op() -> None:
            t = await supervision.take_by_code(session, app, words[0] if words else "", roles)
            heard = await supervision.hears_in_private(session, roles.user_id)
            reply(session, app, message, _("take.done" if heard else "take.done_start_private", code="#" + t.code,
                                           bot=app.bot_username))

        await reply_op(session, app, message, op)

    @router.message(Command("instruct"))
    async def instruct(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles) -> None:
        code, _sep, words = (command.args or "").strip().partition(" ")

        async def op() -> None:
            t, done = await supervision.instruct_by_code(session, app, code, words, roles)
            reply(session, app, message, _(done, code="#" + t.code))

        await reply_op(session, app, message, op)

    @router.message(Command("mine"), leader_in_private)
    async def mine(message: Message, session: DbSession, app: App, roles: Roles) -> None:
        reply(session, app, message, await supervision.my_cases(session, app, roles, current_tr()))

    @router.callback_query(Supervise.filter(F.action == "take"))
    async def take_button(query: CallbackQuery, callback_data: Supervise, session: DbSession, app: App,
                          roles: Roles) -> None:
        async def op() -> str:
            t = await supervision.load(session, callback_data.ticket_id)
            await supervision.take(session, app, t, roles)
            return "take.pressed" if await supervision.hears_in_private(session, roles.user_id) \
                else "take.pressed_start_private"
        await press_op(session, app, query, op)

    @router.callback_query(Supervise.filter(F.action == "raise"))
    async def raise_dispute(query: CallbackQuery, callback_data: Supervise, session: DbSession, app: App,
                            roles: Roles) -> None:
        await press_op(session, app, query,
                       lambda: supervision.raise_dispute(session, app, callback_data.ticket_id, roles))

    @router.callback_query(Supervise.filter(F.action == "decide"))
    async def decide(query: CallbackQuery, callback_data: Supervise, session: DbSession, app: App,
                     roles: Roles) -> None:
        msg = query.message
        await press_op(session, app, query,
                       lambda: supervision.decide(session, app, callback_data.ticket_id, roles, callback_data.dept,
                                                  msg.chat.id, msg.message_id))

    return router
