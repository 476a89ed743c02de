"""A department chat's desk: 签收 退单 办结 申请延期 and 协办签收 on the card, the replies that carry
the work (a reason, a result, progress), and the work lists /open and /mine.

Members of the department's chat count as its handlers: `members.in_chat` adds that to the
person's roles; what they may do is the services' rule (bot/domain/lifecycle.py)."""
from __future__ import annotations

from datetime import date

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import Page, TicketAct
from bot.context import App, DbSession
from bot.services import department_work, notify, prompts, workviews
from bot.services.access import Roles
from handlers.event_filters import RepliesOrCommands
from handlers.common import _, alert, current_tr, press_op, reply, reply_op
from handlers.facts import message_text, photos
from handlers.membership import ChatMembers
from handlers.reply_filter import ReplyTo, awaited

CARD_ACTIONS = {"accept", "return", "resolve", "extend", "coaccept"}
WORK_PROMPTS = ("return_prompt", "resolve_prompt", "extend_prompt")


def _album(message: Message) -> department_work.Album | None:
    return department_work.Album(message.chat.id, message.media_group_id) if message.media_group_id else None


def build_department_desk_router() -> Router:
    router = Router(name="department_desk")
    router.message.filter(RepliesOrCommands(router))  # a plain appeal passes with one check

    @router.callback_query(TicketAct.filter(F.action.in_(CARD_ACTIONS)))
    async def card_button(query: CallbackQuery, callback_data: TicketAct, session: DbSession, app: App,
                          roles: Roles, members: ChatMembers) -> None:
        action, tid, msg = callback_data.action, callback_data.ticket_id, query.message

        async def op() -> str:
            staff = await members.in_chat(session, roles, msg.chat.id if msg else None)
            if action == "accept":
                await department_work.accept(session, app, tid, staff)
                return "done.accepted"
            if action == "coaccept":
                await department_work.coaccept(session, app, tid, staff, msg.chat.id)
                return "done.coaccepted"
            await department_work.ask(session, app, tid, staff, action, msg.chat.id, msg.message_id)
            return "done.asked"

        await press_op(session, app, query, op)

    @router.message(ReplyTo(*WORK_PROMPTS))
    async def answered_prompt(message: Message, link, session: DbSession, app: App,  # noqa: ANN001
                              roles: Roles, members: ChatMembers) -> None:
        if not awaited(message, link):
            reply(session, app, message, _("prompt.not_yours"))
            return
        if not await prompts.still_asked(session, link):
            reply(session, app, message, _("prompt.overtaken"))
            return
        words, pics, tid, album = message_text(message), photos(message), link.ticket_id, _album(message)
        if link.purpose == "resolve_prompt" and album and not words.strip():
            kept = await department_work.album_item(session, app, tid, album, message.message_id,
                                                    message.from_user.id, pics)
            if kept == "kept_first":  # the photos wait for the result's words: say so, once per album
                reply(session, app, message, _("resolve.photos_wait_for_words"))
            return
        staff = await members.in_chat(session, roles, message.chat.id)
        operations = {
            "return_prompt": (lambda: department_work.return_ticket(session, app, tid, staff, words),
                              "done.returned"),
            "resolve_prompt": (lambda: department_work.resolve(session, app, tid, staff, words, pics, album,
                                                               asked=link),
                               "done.resolved"),
            "extend_prompt": (lambda: department_work.request_extension(session, app, tid, staff, words),
                              "done.extension_asked"),
        }
        run, done = operations[link.purpose]

        async def op() -> str | None:
            outcome = await run()
            if link.purpose == "resolve_prompt" and words.strip():  # an edit of it corrects the result
                await department_work.keep_words(session, app, message.chat.id, message.message_id, tid, "result",
                                                 words.strip())
            if isinstance(outcome, date):  # the day as understood, so a misreading is caught at once
                reply(session, app, message, _(done, until=outcome.isoformat()))
                return None
            return done

        await reply_op(session, app, message, op, retry_link=link)

    @router.message(ReplyTo("dept_card", "dept_media", "co_card", "dept_note"))
    async def progress_note(message: Message, link, session: DbSession, app: App,  # noqa: ANN001
                            roles: Roles, members: ChatMembers) -> None:
        """A handler's reply to any bot message about the ticket is a progress note."""
        words, pics, album = message_text(message), photos(message), _album(message)
        if not words.strip() and not pics:
            reply(session, app, message, _("progress.words_or_photos"))
            return
        if album and not words.strip() and await department_work.album_item(
                session, app, link.ticket_id, album, message.message_id, message.from_user.id, pics,
                may_start=True) != "start":
            return  # a later photo of an album whose first made the note
        staff = await members.in_chat(session, roles, message.chat.id)

        async def op() -> str:
            t = await department_work.progress(session, app, link.ticket_id, staff, words, pics, album)
            if words.strip():
                await department_work.keep_words(session, app, message.chat.id, message.message_id, t.id, "progress",
                                                 words.strip())
            # Not "passed on" to a reporter the bot cannot write to: the note stays with the ticket.
            return "done.progress" if await notify.reporters_in_private(session, t) else "done.progress_kept"

        # "已记录进展" is about the ticket: a handler's reply to it is the next note, not a stray message.
        await reply_op(session, app, message, op, done_link={"ticket_id": link.ticket_id, "purpose": "dept_note"})

    async def show(message: Message, session: DbSession, app: App, roles: Roles, name: str) -> None:
        text, kb = await workviews.listing(session, app, current_tr(), name, message.chat.id, roles, 0)
        reply(session, app, message, text, keyboard=kb)

    @router.message(Command("open"))
    async def open_(message: Message, session: DbSession, app: App, roles: Roles) -> None:
        await show(message, session, app, roles, "open")

    @router.message(Command("mine"))
    async def mine(message: Message, session: DbSession, app: App, roles: Roles) -> None:
        await show(message, session, app, roles, "mine")

    @router.callback_query(Page.filter(F.listing != "queue"))
    async def page(query: CallbackQuery, callback_data: Page, session: DbSession, app: App, roles: Roles) -> None:
        msg = query.message
        asked_by = msg.reply_to_message.from_user if msg.reply_to_message else None
        if callback_data.listing == "mine" and asked_by is not None and asked_by.id != query.from_user.id:
            # Someone's /mine is their list: a colleague's press would redraw it with the colleague's.
            await alert(session, app, query, "page.not_yours")
            return

        async def op() -> None:
            text, kb = await workviews.listing(session, app, current_tr(), callback_data.listing, msg.chat.id,
                                               roles, max(0, callback_data.page))
            notify.edit(session, app, msg.chat.id, msg.message_id, text, kb)

        await press_op(session, app, query, op)

    return router
