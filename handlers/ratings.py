"""The reporter's side of 一事一评: rating buttons, the reason in words, comments after rating."""
from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.callbacks import Rate, RateReason
from bot.context import App, DbSession
from bot.services import intake, ratings
from handlers.event_filters import RepliesOrCommands
from handlers.common import _, noted, press_op, reply, reply_op
from handlers.facts import message_text
from handlers.reply_filter import ReplyTo, awaited

# Telegram's reactions have no pointing finger: 👀 under words typed at the rating request says "look at its buttons".
LOOK_AT_BUTTONS = "👀"

def in_group(message: Message) -> bool:
    return message.chat.type != "private"


async def neighbours_word(message: Message, link, session: DbSession) -> bool:  # noqa: ANN001
    """A reply to the rating message in a community chat from someone it does not wait for: the
    group is theirs, the bot says nothing (in private only the reporter can reply at all)."""
    return in_group(message) and (message.from_user is None
                                  or not await intake.speaks_for(session, link.ticket_id, message.from_user.id))


def _where(query: CallbackQuery) -> tuple[int, int] | None:
    msg = query.message
    return (msg.chat.id, msg.message_id) if msg is not None and msg.chat is not None else None


def build_ratings_router() -> Router:
    router = Router(name="ratings")
    router.message.filter(RepliesOrCommands(router))  # a plain appeal passes with one check

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

    @router.message(ReplyTo("rate_ask"))
    async def reply_to_question(message: Message, link, session: DbSession, app: App) -> None:  # noqa: ANN001
        if await neighbours_word(message, link, session):
            return
        if in_group(message):  # the neighbours' chat gets no fourth message of a ticket: a reaction says "the buttons"
            noted(session, app, message, _("rate.use_buttons"), emoji=LOOK_AT_BUTTONS)
            return
        reply(session, app, message, _("rate.use_buttons" if awaited(message, link) else "rate.not_yours"))

    @router.message(ReplyTo("rate_reason"))
    async def reason_in_words(message: Message, link, session: DbSession, app: App) -> None:  # noqa: ANN001
        """不满意 in the reporter's words (who may answer is the service's rule, as for the buttons)."""
        if await neighbours_word(message, link, session):
            return
        words = message_text(message).strip()
        if len(words) < 2:
            if in_group(message):
                noted(session, app, message, _("rate.reason_too_short"), emoji=LOOK_AT_BUTTONS)
            else:
                reply(session, app, message, _("rate.reason_too_short"))
            return
        await reply_op(session, app, message, lambda: ratings.reason(
            session, app, ticket_id=link.ticket_id, round_=None, reason_code="other", user_id=message.from_user.id,
            words=words), quiet=True)

    @router.message(ReplyTo("rate_process"))
    async def comment(message: Message, link, session: DbSession, app: App) -> None:  # noqa: ANN001
        if await neighbours_word(message, link, session):
            return
        words = message_text(message)
        await reply_op(session, app, message,
                       lambda: ratings.comment(session, app, link.ticket_id, message.from_user.id, words), quiet=True)

    # A reply to the 正面回应 ("public_response") has no handler on purpose: intake decides, as for
    # any reply to the bot in a community chat — a neighbour saying it is still not fixed is an appeal.

    return router
