"""/cards (the red and yellow card record) and /duty (who answers urgent matters tonight)."""
from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message

from bot.callbacks import button
from bot.context import App, DbSession
from bot.domain import duty as duty_rules
from bot.services import notify, sla_views
from bot.services.access import Roles
from handlers.common import _, alert, answer, current_tr, reply
from handlers.facts import thread_of
from handlers.membership import ChatMembers
from handlers.event_filters import CommandsOnly


class CardsPage(CallbackData, prefix="cg"):
    """◀ ▶ on the /cards answer; the scope is worked out again from the chat on each press."""

    page: int


def _nav(page: int, pages: int) -> list[list[dict]] | None:
    row = []
    if page > 0:
        row.append(button("◀", CardsPage(page=page - 1)))
    if page + 1 < pages:
        row.append(button("▶", CardsPage(page=page + 1)))
    return [row] if row else None


def duty_target(message: Message, args: str) -> sla_views.DutyTarget | None:
    """Whom `/duty …` names: a reply, a text mention, @username or a numeric id."""
    for e in message.entities or []:
        if e.type == "text_mention" and e.user:
            return sla_views.DutyTarget(e.user.id, e.user.username, e.user.full_name)
    word = args.split()[0] if args.split() else ""
    if word.startswith("@") and len(word) > 1:
        return sla_views.DutyTarget(username=word[1:])
    if word.lstrip("-").isdigit():
        return sla_views.DutyTarget(user_id=int(word))
    reply_to = message.reply_to_message
    if not word and reply_to and reply_to.from_user and not reply_to.from_user.is_bot:
        u = reply_to.from_user
        return sla_views.DutyTarget(u.id, u.username, u.full_name)
    return None


def build_deadlines_router() -> Router:
    router = Router(name="deadlines")
    router.message.filter(CommandsOnly(router))

    @router.message(Command("cards"))
    async def cards(message: Message, session: DbSession, app: App, roles: Roles) -> None:
        scope = await sla_views.cards_scope(session, roles, message.chat.id, message.chat.type == "private")
        if scope is None:
            reply(session, app, message, _("cards.not_here"))
            return
        text, pages = await sla_views.cards_listing(session, app, current_tr(), scope, 0)
        reply(session, app, message, text, keyboard=_nav(0, pages))
        for piece in await sla_views.cards_history(session, app, current_tr(), scope):
            notify.send(session, app, message.chat.id, piece, thread_id=thread_of(message))

    @router.callback_query(CardsPage.filter())
    async def cards_page(query: CallbackQuery, callback_data: CardsPage, session: DbSession, app: App,
                         roles: Roles) -> None:
        msg = query.message
        scope = await sla_views.cards_scope(session, roles, msg.chat.id, msg.chat.type == "private")
        if scope is None:
            await alert(session, app, query, "cards.not_here")
            return
        page = max(0, callback_data.page)
        text, pages = await sla_views.cards_listing(session, app, current_tr(), scope, page)
        notify.edit(session, app, msg.chat.id, msg.message_id, text, _nav(page, pages))
        await answer(session, app, query)

    @router.message(Command("duty"))
    async def duty(message: Message, command: CommandObject, session: DbSession, app: App,
                   roles: Roles, members: ChatMembers) -> None:
        tr, args = current_tr(), (command.args or "").strip()
        desk = await sla_views.duty_desk(session, tr, message.chat.id)
        if desk is None:
            reply(session, app, message, _("duty.not_department"))
            return
        target = duty_target(message, args)
        if not args and target is None:
            reply(session, app, message, await sla_views.show_duty(session, app, tr, desk))
            return
        if desk.dispatch:
            allowed = roles.admin or roles.dispatcher
        else:
            staff = await members.in_chat(session, roles, message.chat.id)
            allowed = staff.admin or staff.handles(desk.code)
        if not allowed:
            reply(session, app, message, _("duty.forbidden_dispatch" if desk.dispatch else "duty.forbidden"))
            return
        if args.lower() in duty_rules.CLEAR_WORDS:
            reply(session, app, message, await sla_views.clear_duty(session, tr, desk))
            return
        if target is None:
            reply(session, app, message, _("duty.usage"))
            return
        reply(session, app, message, await sla_views.set_duty(session, app, tr, desk, target))

    return router
