"""Replies that carry work (reasons, results, progress) and the work lists (/queue, /open, /mine)."""
from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import Page
from bot.context import App, DbSession
from bot.services import access, dispatching, handling, notify, workviews
from bot.services.access import Roles
from handlers import replies
from handlers.common import _, current_tr, reply, reply_op
from handlers.facts import message_text, photos
from handlers.membership import MemberCache

_members = MemberCache()


async def _member_dept(bot: Bot, session: DbSession, message: Message) -> str | None:
    dept = await workviews.department_of_chat(session, message.chat.id)
    if dept and await _members.is_member(bot, message.chat.id, message.from_user.id):
        return dept
    return None


def _album(message: Message) -> handling.Album | None:
    return handling.Album(message.chat.id, message.media_group_id) if message.media_group_id else None


def _awaited(message: Message, link) -> bool:  # noqa: ANN001
    return link.awaiting_user_id is None or link.awaiting_user_id == message.from_user.id


@replies.on_reply("return_prompt", "resolve_prompt", "extend_prompt", "merge_prompt", "reject_prompt")
async def answered_prompt(message: Message, *, link, session: DbSession, app: App, bot: Bot,  # noqa: ANN001
                          roles: Roles, **_kw) -> bool:
    if not _awaited(message, link):
        reply(session, app, message, _("prompt.not_yours"))
        return True
    words, pics = message_text(message), photos(message)
    tid = link.ticket_id
    album = _album(message)
    if link.purpose == "resolve_prompt" and album and not words.strip():
        await handling.album_item(session, app, tid, album, message.message_id, message.from_user.id, pics)
        return True
    member = await _member_dept(bot, session, message)
    operations = {
        "return_prompt": (lambda: handling.return_ticket(session, app, tid, roles, member, words), "done.returned"),
        "resolve_prompt": (lambda: handling.resolve(session, app, tid, roles, member, words, pics, album),
                           "done.resolved"),
        "extend_prompt": (lambda: handling.request_extension(session, app, tid, roles, member, words),
                          "done.extension_asked"),
        "merge_prompt": (lambda: dispatching.merge(session, app, tid, roles, words), "done.merged"),
        "reject_prompt": (lambda: dispatching.reject(session, app, tid, roles, words), "done.rejected"),
    }
    run, done = operations[link.purpose]

    async def op() -> str:
        await run()
        return done

    return await reply_op(session, app, message, op, retry_link=link)


@replies.on_reply("dept_card", "dept_media", "co_card", "dept_note")
async def progress_note(message: Message, *, link, session: DbSession, app: App, bot: Bot,  # noqa: ANN001
                        roles: Roles, **_kw) -> bool:
    """A handler's reply to any bot message about the ticket is a progress note."""
    member = await _member_dept(bot, session, message)
    words, pics = message_text(message), photos(message)
    album = _album(message)
    if not words.strip() and not pics:
        reply(session, app, message, _("progress.words_or_photos"))
        return True
    if album and not words.strip():
        await handling.album_item(session, app, link.ticket_id, album, message.message_id, message.from_user.id, pics)
        return True

    async def op() -> str:
        await handling.progress(session, app, link.ticket_id, roles, member, words, pics, album)
        return "done.progress"

    return await reply_op(session, app, message, op)


@replies.on_reply("dispatch_card", "ext_card")
async def dispatch_note(message: Message, *, link, session: DbSession, app: App, **_kw) -> bool:  # noqa: ANN001
    reply(session, app, message, _("dispatch.use_buttons"))
    return True


def build_work_router() -> Router:
    router = Router(name="work")

    async def show(message: Message, session: DbSession, app: App, name: str) -> None:
        text, kb = await workviews.listing(session, app, current_tr(), name, message.chat.id,
                                           message.from_user.id, 0)
        reply(session, app, message, text, keyboard=kb)

    @router.message(Command("queue"))
    async def queue(message: Message, session: DbSession, app: App, roles: Roles) -> None:
        if not roles.can_dispatch:
            reply(session, app, message, _("error.forbidden"))
            return
        if not await access.staff_chat(session, message.chat.id, message.chat.type):
            reply(session, app, message, _("list.staff_only"))
            return
        await show(message, session, app, "queue")

    @router.message(Command("open"))
    async def open_(message: Message, session: DbSession, app: App) -> None:
        await show(message, session, app, "open")

    @router.message(Command("mine"))
    async def mine(message: Message, session: DbSession, app: App) -> None:
        await show(message, session, app, "mine")

    @router.callback_query(Page.filter())
    async def page(query: CallbackQuery, callback_data: Page, session: DbSession, app: App, roles: Roles) -> None:
        if callback_data.listing == "queue" and not roles.can_dispatch:
            await query.answer(_("error.forbidden"), show_alert=True)
            return
        text, kb = await workviews.listing(session, app, current_tr(), callback_data.listing,
                                           query.message.chat.id, query.from_user.id, max(0, callback_data.page))
        notify.edit(session, app, query.message.chat.id, query.message.message_id, text, kb)
        await app.commit(session)
        await query.answer()

    return router
