"""Buttons on the dispatch and department cards (派单 合并 分流 驳回 / 签收 退单 办结 申请延期)."""
from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import CallbackQuery

from bot.callbacks import ExtDecision, PickDept, TicketAct
from bot.context import App, DbSession
from bot.services import dispatching, handling, triage, workviews
from bot.services.access import Roles
from handlers.common import alert, press_op
from handlers.membership import MemberCache

log = logging.getLogger(__name__)
DISPATCHER_ACTIONS = {"dispatch", "route", "co", "merge", "divert", "reject"}


def build_workflow_router(members: MemberCache | None = None) -> Router:
    router = Router(name="workflow")
    members = members or MemberCache()

    async def member_dept(bot: Bot, session: DbSession, query: CallbackQuery) -> str | None:
        """The department whose chat the presser is a member of (members count as its handlers)."""
        chat_id = query.message.chat.id if query.message else None
        dept = await workviews.department_of_chat(session, chat_id) if chat_id else None
        if dept and await members.is_member(bot, chat_id, query.from_user.id):
            return dept
        return None

    @router.callback_query(TicketAct.filter())
    async def ticket_action(query: CallbackQuery, callback_data: TicketAct, session: DbSession, app: App,
                            bot: Bot, roles: Roles) -> None:
        action, tid, msg = callback_data.action, callback_data.ticket_id, query.message
        if action in DISPATCHER_ACTIONS and not roles.can_dispatch:
            await alert(query, "error.forbidden")
            return

        async def op() -> str | None:
            if action == "dispatch":
                await dispatching.dispatch_suggested(session, app, tid, roles)
                return "done.dispatched"
            if action in ("route", "co", "divert"):
                await workviews.show_picker(session, app, tid, roles, msg.chat.id, msg.message_id, action)
                return None
            if action in ("merge", "reject"):
                await dispatching.ask(session, app, tid, roles, action, msg.chat.id, msg.message_id)
                return "done.asked"
            if action == "accept":
                await handling.accept(session, app, tid, roles, await member_dept(bot, session, query))
                return "done.accepted"
            if action in ("return", "resolve", "extend"):
                await handling.ask(session, app, tid, roles, await member_dept(bot, session, query), action,
                                   msg.chat.id, msg.message_id)
                return "done.asked"
            if action == "coaccept":
                chat_dept = await workviews.department_of_chat(session, msg.chat.id)
                allowed = chat_dept and (chat_dept in roles.handler_of or await member_dept(bot, session, query))
                await handling.coaccept(session, app, tid, roles, chat_dept if allowed else None)
                return "done.coaccepted"
            if action == "nohelp":
                await triage.not_helpful(session, app, tid, roles)
                return "done.to_triage"
            raise dispatching.Refusal("error.bad_button")

        await press_op(session, app, query, op)

    @router.callback_query(PickDept.filter())
    async def pick(query: CallbackQuery, callback_data: PickDept, session: DbSession, app: App,
                   roles: Roles) -> None:
        if not roles.can_dispatch:
            await alert(query, "error.forbidden")
            return
        msg, tid, dept = query.message, callback_data.ticket_id, callback_data.dept

        async def op() -> str | None:
            if callback_data.role == "lead":
                await dispatching.dispatch_elsewhere(session, app, tid, roles, dept)
                return "done.dispatched"
            if callback_data.role == "co":
                await dispatching.set_co(session, app, tid, roles, dept)
                await workviews.show_picker(session, app, tid, roles, msg.chat.id, msg.message_id, "co")
                return None
            if callback_data.role == "divert":
                await dispatching.divert(session, app, tid, roles, dept)
                return "done.diverted"
            await workviews.show_card_buttons(session, app, tid, roles, msg.chat.id, msg.message_id)
            return None

        await press_op(session, app, query, op)

    @router.callback_query(ExtDecision.filter())
    async def extension(query: CallbackQuery, callback_data: ExtDecision, session: DbSession, app: App,
                        roles: Roles) -> None:
        if not roles.can_dispatch:
            await alert(query, "error.forbidden")
            return

        async def op() -> str:
            await handling.decide_extension(session, app, callback_data.extension_id, roles,
                                            callback_data.action == "approve")
            return "done.decided"

        await press_op(session, app, query, op)

    return router


def build_forged_router() -> Router:
    """Last in line for buttons: data we cannot read (forged, or from an old version)."""
    router = Router(name="forged")

    @router.callback_query()
    async def forged(query: CallbackQuery) -> None:
        log.info("unreadable callback data from %s: %r", query.from_user.id, query.data)
        await alert(query, "error.bad_button")

    return router
