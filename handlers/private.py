"""Private chat with the bot: /appeal files at once; anything else is the guided flow."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.callbacks import Flow
from bot.context import App, DbSession
from bot.domain import intake as rules
from bot.domain.lifecycle import Status
from bot.services import access, drafts, ratings
from handlers.common import _, alert, answer, current_tr, reply, reply_op
from handlers.facts import facts, media_not_kept, message_text, photos
from handlers.intake import file
from handlers.event_filters import OnLoop


def build_private_router() -> Router:
    router = Router(name="private")
    router.message.filter(OnLoop(F.chat.type == "private", F.from_user))

    @router.message(Command("appeal"))
    async def appeal_now(message: Message, command: CommandObject, session: DbSession, app: App,
                         roles: access.Roles) -> None:
        f = facts(message, app.bot_id, app.bot_username, volunteer=roles.volunteer)
        decision = rules.decide(f, app.bot_username, community=False)
        if decision.action != "appeal":
            reply(session, app, message, _("intake.empty"))
            return
        await file(message, session, app, decision, area=_area(roles))

    @router.message(Command("cancel"))
    async def cancel(message: Message, session: DbSession, app: App) -> None:
        done = await drafts.cancel(session, message.from_user.id)
        reply(session, app, message, _("flow.cancelled" if done else "flow.nothing_to_cancel"))

    @router.message(OnLoop(~F.text.startswith("/")))
    async def any_message(message: Message, session: DbSession, app: App, roles: access.Roles) -> None:
        await guided(message, session, app, roles)

    @router.callback_query(Flow.filter())
    async def flow_button(query: CallbackQuery, callback_data: Flow, session: DbSession, app: App) -> None:
        d = await drafts.current(session, query.from_user.id)
        if callback_data.step == "cancel":
            await drafts.cancel(session, query.from_user.id)
            await answer(session, app, query, _("flow.cancelled"))
            return
        if d is None:
            await alert(session, app, query, "flow.expired")
            return
        ticket = await drafts.step(session, app, d, current_tr(), callback_data.step, callback_data.value,
                                   query.message.message_id)
        await answer(session, app, query, _("flow.submitted", code=f"#{ticket.code}") if ticket else None)

    return router


def _area(roles: access.Roles) -> str | None:
    areas = roles.volunteer_areas - {"*"}
    return next(iter(areas)) if len(areas) == 1 else None


async def guided(message: Message, session: DbSession, app: App, roles: access.Roles) -> None:
    f = facts(message, app.bot_id, app.bot_username, volunteer=roles.volunteer)
    if f.is_forward and roles.volunteer:
        # A volunteer passing on someone's message: an appeal on their behalf, filed at once.
        decision = rules.decide(f, app.bot_username, community=False)
        if decision.action == "appeal":
            await file(message, session, app, decision, area=_area(roles))
            return
    if message.sticker or message.animation or message.dice or message.poll or message.contact:
        reply(session, app, message, _("flow.not_understood"))
        return
    text = message_text(message)
    pics = photos(message)
    loc = (message.location.latitude, message.location.longitude) if message.location else None
    d = await drafts.fresh(session, app, message.from_user.id)
    tr = current_tr()
    if d is None and not pics and len(text.strip()) >= 2 and (
            waiting := await ratings.reason_awaited_in_private(session, app, message.from_user.id)):
        await reply_op(session, app, message, lambda: ratings.reason(
            session, app, ticket_id=waiting.id, round_=None, reason_code="other", user_id=message.from_user.id,
            words=text.strip()), quiet=True)
        return
    if d is None and not pics and (t := await ratings.typed_rating(session, app, message.from_user.id, text)):
        if t.status != Status.RESOLVED:  # closed unrated before the answer came
            reply(session, app, message, _("rate.typed_too_late", code=f"#{t.code}"))
            return
        # The buttons come with the answer: the rating question itself may never have arrived (the
        # bot was blocked when the ticket was resolved, and a private chat has no group to fall back on).
        reply(session, app, message, _("rate.typed", code=f"#{t.code}"),
              keyboard=ratings.result_keyboard(tr, t.id, t.rating_round))
        return
    if media_not_kept(message):  # the caption is kept; the file, the video or the voice is not
        reply(session, app, message, _("intake.media_not_kept"))
    if d is None:
        await drafts.begin(session, app, message.from_user.id, tr, text, pics, area=_area(roles),
                           album=bool(message.media_group_id))
        if loc:
            d = await drafts.current(session, message.from_user.id)
            await drafts.feed(session, app, d, tr, location=loc)
        return
    await drafts.feed(session, app, d, tr, text=text, photos=pics, location=loc, album=bool(message.media_group_id))
