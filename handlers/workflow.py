"""Buttons on the dispatch and department cards (派单 合并 分流 驳回 / 签收 退单 办结 申请延期)."""
from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import CallbackQuery

from bot.callbacks import ExtDecision, PickDept, TicketAct
from bot.context import App, DbSession
from bot.domain.lifecycle import TransitionError
from bot.services import dispatching, handling, triage, workviews
from bot.services.access import Roles
from handlers.common import _, alert, current_tr
from handlers.membership import MemberCache

log = logging.getLogger(__name__)
DISPATCHER_ACTIONS = {"dispatch", "route", "co", "merge", "divert", "reject"}
DEPARTMENT_ACTIONS = {"accept", "return", "resolve", "extend", "coaccept"}


def build_workflow_router(members: MemberCache | None = None) -> Router:
    router = Router(name="workflow")
    members = members or MemberCache()

    async def member_dept(bot: Bot, session: DbSession, query: CallbackQuery) -> str | None:
        chat_id = query.message.chat.id if query.message else None
        dept = await workviews.department_of_chat(session, chat_id) if chat_id else None
        if dept and await members.is_member(bot, chat_id, query.from_user.id):
            return dept
        return None

    @router.callback_query(TicketAct.filter())
    async def ticket_action(query: CallbackQuery, callback_data: TicketAct, session: DbSession, app: App,
                            bot: Bot, roles: Roles) -> None:
        action, tid = callback_data.action, callback_data.ticket_id
        msg = query.message
        try:
            if action in DISPATCHER_ACTIONS and not roles.can_dispatch:
                await alert(query, "error.forbidden")
                return
            if action == "dispatch":
                t = await dispatching.load(session, tid)
                route = t.route or {}
                if not route.get("lead"):
                    await alert(query, "dispatch.choose_first")
                    return
                await dispatching.dispatch(session, app, tid, roles, route["lead"], list(route.get("co") or []))
                done = "done.dispatched"
            elif action in ("route", "co", "divert"):
                await workviews.show_picker(session, app, tid, roles, msg.chat.id, msg.message_id, action)
                done = None
            elif action in ("merge", "reject"):
                await dispatching.ask(session, app, tid, roles, action, msg.chat.id, msg.message_id)
                done = "done.asked"
            elif action == "accept":
                await handling.accept(session, app, tid, roles, await member_dept(bot, session, query))
                done = "done.accepted"
            elif action in ("return", "resolve", "extend"):
                await handling.ask(session, app, tid, roles, await member_dept(bot, session, query), action,
                                   msg.chat.id, msg.message_id)
                done = "done.asked"
            elif action == "coaccept":
                chat_dept = await workviews.department_of_chat(session, msg.chat.id)
                allowed = chat_dept and (chat_dept in roles.handler_of or await member_dept(bot, session, query))
                dept = chat_dept if allowed else None
                await handling.coaccept(session, app, tid, roles, dept)
                done = "done.coaccepted"
            elif action == "nohelp":
                await triage.not_helpful(session, app, tid, roles)
                done = "done.to_triage"
            else:
                await alert(query, "error.bad_button")
                return
        except TransitionError as exc:
            await session.rollback()
            await alert(query, exc.code, **getattr(exc, "params", {}))
            return
        await app.commit(session)
        await query.answer(_(done) if done else None)

    @router.callback_query(PickDept.filter())
    async def pick(query: CallbackQuery, callback_data: PickDept, session: DbSession, app: App,
                   roles: Roles) -> None:
        if not roles.can_dispatch:
            await alert(query, "error.forbidden")
            return
        msg, tid = query.message, callback_data.ticket_id
        try:
            if callback_data.role == "lead":
                t = await dispatching.load(session, tid)
                co = [c for c in (t.route or {}).get("co") or [] if c != callback_data.dept]
                await dispatching.dispatch(session, app, tid, roles, callback_data.dept, co)
                done = "done.dispatched"
            elif callback_data.role == "co":
                await dispatching.set_co(session, app, tid, roles, callback_data.dept)
                await workviews.show_picker(session, app, tid, roles, msg.chat.id, msg.message_id, "co")
                done = None
            elif callback_data.role == "divert":
                await dispatching.divert(session, app, tid, roles, callback_data.dept)
                done = "done.diverted"
            else:  # back to the card
                await workviews.show_card_buttons(session, app, tid, roles, msg.chat.id, msg.message_id)
                done = None
        except TransitionError as exc:
            await session.rollback()
            await alert(query, exc.code, **getattr(exc, "params", {}))
            return
        await app.commit(session)
        await query.answer(_(done) if done else None)

    @router.callback_query(ExtDecision.filter())
    async def extension(query: CallbackQuery, callback_data: ExtDecision, session: DbSession, app: App,
                        roles: Roles) -> None:
        if not roles.can_dispatch:
            await alert(query, "error.forbidden")
            return
        try:
            await handling.decide_extension(session, app, callback_data.extension_id, roles,
                                            callback_data.action == "approve")
        except TransitionError as exc:
            await session.rollback()
            await alert(query, exc.code, **getattr(exc, "params", {}))
            return
        await app.commit(session)
        await query.answer(_("done.decided"))

    return router


def build_forged_router() -> Router:
    """Last in line for buttons: data we cannot read (forged, or from an old version)."""
    router = Router(name="forged")

    @router.callback_query()
    async def forged(query: CallbackQuery) -> None:
        log.info("unreadable callback data from %s: %r", query.from_user.id, query.data)
        await alert(query, "error.bad_button")

    return router


__all__ = ["build_workflow_router", "build_forged_router", "current_tr"]
