"""The dispatch chat's desk: the card's buttons (派单 另选部门 协办部门 合并 分流 驳回, and
改类型 标紧急 / 改普通), the extension requests, the review of twice-unsatisfied tickets, replies to its prompts, /queue and
/unsatisfied. Who may press what is the services' rule (bot/domain/lifecycle.py)."""
from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.callbacks import ExtDecision, Page, PickDept, Reclassify, Review, TicketAct
from bot.context import App, DbSession
from bot.domain.lifecycle import Refusal
from bot.services import department_work, dispatch, dispatch_cards, notify, reclassify, reviews, workviews
from bot.services.access import Roles
from handlers.event_filters import RepliesOrCommands
from handlers.common import _, alert, current_tr, press_op, reply, reply_op
from handlers.facts import message_text
from handlers.reply_filter import ReplyTo, awaited

log = logging.getLogger(__name__)
CARD_ACTIONS = {"dispatch", "route", "co", "merge", "divert", "reject"}


def build_dispatch_desk_router() -> Router:
    router = Router(name="dispatch_desk")
    router.message.filter(RepliesOrCommands(router))  # a plain appeal passes with one check

    @router.callback_query(TicketAct.filter(F.action.in_(CARD_ACTIONS)))
    async def card_button(query: CallbackQuery, callback_data: TicketAct, session: DbSession, app: App,
                          roles: Roles) -> None:
        action, tid, msg = callback_data.action, callback_data.ticket_id, query.message

        async def op() -> str | None:
            if msg is not None:
                await dispatch_cards.link_pressed(session, app, tid, msg.chat.id, msg.message_id)
            if action == "dispatch":
                await dispatch.dispatch_suggested(session, app, tid, roles)
                return "done.dispatched"
            if action in ("route", "co", "divert"):
                await dispatch.show_picker(session, app, tid, roles, msg.chat.id, msg.message_id, action)
                return None
            await dispatch.ask(session, app, tid, roles, action, msg.chat.id, msg.message_id)
            return "done.asked"

        await press_op(session, app, query, op)

    @router.callback_query(Reclassify.filter())
    async def reclassify_button(query: CallbackQuery, callback_data: Reclassify, session: DbSession, app: App,
                                roles: Roles) -> None:
        what, tid, value, msg = callback_data.what, callback_data.ticket_id, callback_data.value, query.message

        async def op() -> str | None:
            await dispatch_cards.link_pressed(session, app, tid, msg.chat.id, msg.message_id)
            match what:
                case "kinds":
                    await reclassify.show_kinds(session, app, tid, roles, msg.chat.id, msg.message_id)
                    return None
                case "kind":
                    await reclassify.set_kind(session, app, tid, roles, value)
                    return "done.reclassified"
                case "urgency":
                    await reclassify.set_urgency(session, app, tid, roles, value)
                    return "done.reclassified"
            raise Refusal("error.bad_button")

        await press_op(session, app, query, op)

    @router.callback_query(PickDept.filter())
    async def pick(query: CallbackQuery, callback_data: PickDept, session: DbSession, app: App,
                   roles: Roles) -> None:
        msg, tid, dept = query.message, callback_data.ticket_id, callback_data.dept

        async def op() -> str | None:
            if callback_data.role == "lead":
                await dispatch.dispatch_elsewhere(session, app, tid, roles, dept)
                return "done.dispatched"
            if callback_data.role == "co":
                await dispatch.set_co(session, app, tid, roles, dept)
                await dispatch.show_picker(session, app, tid, roles, msg.chat.id, msg.message_id, "co")
                return None
            if callback_data.role == "divert":
                await dispatch.divert(session, app, tid, roles, dept)
                return "done.diverted"
            await dispatch.show_card_buttons(session, app, tid, roles, msg.chat.id, msg.message_id)
            return None

        await press_op(session, app, query, op)

    @router.callback_query(ExtDecision.filter())
    async def extension(query: CallbackQuery, callback_data: ExtDecision, session: DbSession, app: App,
                        roles: Roles) -> None:
        async def op() -> str:
            await department_work.decide_extension(session, app, callback_data.extension_id, roles,
                                                   callback_data.action == "approve")
            return "done.decided"

        await press_op(session, app, query, op)

    @router.callback_query(Review.filter())
    async def review(query: CallbackQuery, callback_data: Review, session: DbSession, app: App,
                     roles: Roles) -> None:
        tid, msg = callback_data.ticket_id, query.message

        async def op() -> str:
            match callback_data.action:
                case "close" if msg is not None:
                    await reviews.ask_explanation(session, app, tid, roles, msg.chat.id, msg.message_id)
                    return "done.asked"
                case "back":
                    await reviews.send_back(session, app, tid, roles)
                    return "review.back_ack"
                case "elsewhere":
                    await reviews.elsewhere(session, app, tid, roles)
                    return "review.elsewhere_ack"
            raise Refusal("error.bad_button")

        await press_op(session, app, query, op)

    @router.message(ReplyTo("merge_prompt", "reject_prompt", "review_close_prompt"))
    async def answered_prompt(message: Message, link, session: DbSession, app: App,  # noqa: ANN001
                              roles: Roles) -> None:
        if not awaited(message, link):
            reply(session, app, message, _("prompt.not_yours"))
            return
        words, tid = message_text(message), link.ticket_id
        operations = {
            "merge_prompt": (lambda: dispatch.merge(session, app, tid, roles, words), "done.merged"),
            "reject_prompt": (lambda: dispatch.reject(session, app, tid, roles, words), "done.rejected"),
            "review_close_prompt": (lambda: reviews.close_explained(session, app, tid, roles, words),
                                    "review.closed_done"),
        }
        run, done = operations[link.purpose]

        async def op() -> str:
            await run()
            return done

        await reply_op(session, app, message, op,
                       retry_link=link if link.purpose != "review_close_prompt" else None)

    @router.message(ReplyTo("dispatch_card", "ext_card", "review_card"))
    async def card_reply(message: Message, session: DbSession, app: App) -> None:
        reply(session, app, message, _("dispatch.use_buttons"))

    @router.message(Command("queue"))
    async def queue(message: Message, session: DbSession, app: App, roles: Roles) -> None:
        async def op() -> None:
            await workviews.may_see_queue(session, roles, message.chat.id, message.chat.type)
            text, kb = await workviews.listing(session, app, current_tr(), "queue", message.chat.id, roles, 0)
            reply(session, app, message, text, keyboard=kb)

        await reply_op(session, app, message, op)

    @router.callback_query(Page.filter(F.listing == "queue"))
    async def queue_page(query: CallbackQuery, callback_data: Page, session: DbSession, app: App,
                         roles: Roles) -> None:
        msg = query.message

        async def op() -> None:
            text, kb = await workviews.listing(session, app, current_tr(), "queue", msg.chat.id, roles,
                                               max(0, callback_data.page))
            notify.edit(session, app, msg.chat.id, msg.message_id, text, kb)

        await press_op(session, app, query, op)

    @router.message(Command("unsatisfied"))
    async def unsatisfied(message: Message, command: CommandObject, session: DbSession, app: App,
                          roles: Roles) -> None:
        """/unsatisfied [page]: the 不满意台账, fifteen a page (the page as the ledger's last line says)."""
        arg = (command.args or "").strip()
        page = int(arg) - 1 if arg.isascii() and arg.isdigit() and 0 < int(arg) < 10_000 else 0

        async def op() -> None:
            await reviews.may_see_ledger(session, roles, message.chat.id, message.chat.type)
            reply(session, app, message, await reviews.ledger(session, app, current_tr(), page))

        await reply_op(session, app, message, op)

    return router


def build_forged_router() -> Router:
    """Last in line for buttons: data we cannot read (forged, or from an old version)."""
    router = Router(name="forged")

    @router.callback_query()
    async def forged(query: CallbackQuery, session: DbSession, app: App) -> None:
        log.info("unreadable callback data from %s: %r", query.from_user.id, query.data)
        await alert(session, app, query, "error.bad_button")

    return router
