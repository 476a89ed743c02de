"""Rating buttons and replies (一事一评), the review buttons, and /unsatisfied (不满意台账)."""
from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import Rate, RateReason, Review
from bot.context import App, DbSession
from bot.domain.lifecycle import Refusal
from bot.services import access, ratings, reviews
from bot.services.access import Roles
from handlers import replies
from handlers.common import _, alert, current_tr, press_op, reply, reply_op
from handlers.facts import message_text


def _where(query: CallbackQuery) -> tuple[int, int] | None:
    msg = query.message
    return (msg.chat.id, msg.message_id) if msg is not None and msg.chat is not None else None


def _awaited(message: Message, link) -> bool:  # noqa: ANN001
    return link.awaiting_user_id is None or link.awaiting_user_id == message.from_user.id


@replies.on_reply("rate_ask")
async def reply_to_question(message: Message, *, link, session: DbSession, app: App,  # noqa: ANN001
                            **_kw) -> bool:
    reply(session, app, message, _("rate.use_buttons" if _awaited(message, link) else "rate.not_yours"))
    return True


@replies.on_reply("rate_reason")
async def reason_in_words(message: Message, *, link, session: DbSession, app: App, **_kw) -> bool:  # noqa: ANN001
    """不满意 in the reporter's words (who may answer is the service's rule, as for the buttons)."""
    words = message_text(message).strip()
    if len(words) < 2:
        reply(session, app, message, _("rate.reason_too_short"))
        return True
    return await reply_op(session, app, message, lambda: ratings.reason(
        session, app, ticket_id=link.ticket_id, round_=None, reason_code="other", user_id=message.from_user.id,
        words=words))


@replies.on_reply("rate_process")
async def comment(message: Message, *, link, session: DbSession, app: App, **_kw) -> bool:  # noqa: ANN001
    words = message_text(message)
    return await reply_op(session, app, message,
                            lambda: ratings.comment(session, app, link.ticket_id, message.from_user.id, words))


@replies.on_reply("review_close_prompt")
async def explanation(message: Message, *, link, session: DbSession, app: App, roles: Roles,  # noqa: ANN001
                      **_kw) -> bool:
    if not _awaited(message, link):
        reply(session, app, message, _("prompt.not_yours"))
        return True

    async def op() -> str:
        await reviews.close_explained(session, app, link.ticket_id, roles, message_text(message))
        return "review.closed_done"

    return await reply_op(session, app, message, op)


@replies.on_reply("review_card")
async def use_buttons(message: Message, *, session: DbSession, app: App, **_kw) -> bool:
    reply(session, app, message, _("dispatch.use_buttons"))
    return True


# A reply to the 正面回应 ("public_response") has no handler on purpose: intake decides, as for
# any reply to the bot in a community chat — a neighbour saying it is still not fixed is an appeal.


def build_ratings_router() -> Router:
    router = Router(name="ratings")

    @router.callback_query(Rate.filter())
    async def rate(query: CallbackQuery, callback_data: Rate, session: DbSession, app: App) -> None:
        await press_op(session, app, query, lambda: ratings.rate(
            session, app, ticket_id=callback_data.ticket_id, round_=callback_data.round,
            question=callback_data.question, score=callback_data.score, user_id=query.from_user.id,
            where=_where(query)))

    @router.callback_query(RateReason.filter())
    async def reason(query: CallbackQuery, callback_data: RateReason, session: DbSession, app: App) -> None:
        await press_op(session, app, query, lambda: ratings.reason(
            session, app, ticket_id=callback_data.ticket_id, round_=callback_data.round,
            reason_code=callback_data.reason, user_id=query.from_user.id, where=_where(query)))

    @router.callback_query(Review.filter())
    async def review(query: CallbackQuery, callback_data: Review, session: DbSession, app: App,
                     roles: Roles) -> None:
        if not roles.can_dispatch:
            await alert(query, "error.forbidden")
            return
        tid, where = callback_data.ticket_id, _where(query)

        async def op() -> str:
            match callback_data.action:
                case "close" if where:
                    await reviews.ask_explanation(session, app, tid, roles, where[0], where[1])
                    return "done.asked"
                case "back":
                    await reviews.send_back(session, app, tid, roles)
                    return "review.back_ack"
                case "elsewhere":
                    await reviews.elsewhere(session, app, tid, roles)
                    return "review.elsewhere_ack"
            raise Refusal("error.bad_button")

        await press_op(session, app, query, op)

    @router.message(Command("unsatisfied"))
    async def unsatisfied(message: Message, session: DbSession, app: App, roles: Roles) -> None:
        if not (roles.can_dispatch or roles.leader or await reviews.is_dispatch_chat(session, message.chat.id)):
            reply(session, app, message, _("error.forbidden"))
            return
        if not await access.staff_chat(session, message.chat.id, message.chat.type):
            reply(session, app, message, _("list.staff_only"))
            return
        reply(session, app, message, await reviews.ledger(session, app, current_tr()))

    return router
