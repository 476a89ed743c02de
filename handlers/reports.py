"""/report and /export: the 督/考 figures and the annex ledgers, for the office's own chats."""
from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import metrics
from bot.context import App, DbSession
from bot.domain.periods import PeriodError
from bot.services import exports, reports
from bot.services.access import Roles
from handlers.common import _, current_tr, reply
from handlers.facts import thread_of
from handlers.event_filters import CommandsOnly


def build_reports_router() -> Router:
    router = Router(name="reports")
    router.message.filter(CommandsOnly(router))

    async def desk_of(message: Message, session: DbSession, roles: Roles, exports_: bool):  # noqa: ANN202
        return await reports.desk(session, message.chat.id, message.chat.type, leader=roles.leader,
                                  dispatcher=roles.dispatcher, admin=roles.admin, exports=exports_)

    @router.message(Command("report"))
    async def report(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles) -> None:
        if await desk_of(message, session, roles, False) is None:
            # In a neighbours' group a bare /report is most often meant for the group's moderation
            # bot (a reply to spam): no answer there. Addressed to us (/report@huying_bot), one.
            if message.chat.type == "private" or command.mention or not await reports.is_community(
                    session, message.chat.id):
                reply(session, app, message, _("report.not_here"))
            return
        now = app.now()
        try:
            period = await reports.choose_period(session, app, (command.args or "").split(), now)
        except PeriodError as exc:
            reply(session, app, message, _(exc.code, **exc.params))
            return
        tr = current_tr()
        built = await reports.build(session, app, period, now)
        rendered = await reports.render(built, await reports.department_names(session), app, tr)
        await reports.queue(session, app, message.chat.id, rendered, thread_id=thread_of(message),
                            reply_to=message.message_id)
        metrics.report_run(period.kind.value, "command")

    @router.message(Command("export"))
    async def export(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles) -> None:
        desk = await desk_of(message, session, roles, True)
        if desk is None:
            reply(session, app, message, _("export.not_here"))
            return
        words = (command.args or "").split()
        if not words:
            reply(session, app, message, _("export.usage"))
            return
        try:
            form = exports.form_of(words[0])
            period = await reports.choose_period(session, app, words[1:], app.now())
        except exports.UnknownForm as exc:
            reply(session, app, message, _("export.unknown_form", given=exc.given))
            return
        except PeriodError as exc:
            reply(session, app, message, _(exc.code, **exc.params))
            return
        name, data, caption = await exports.workbook(session, app, form, period, current_tr(),
                                                     depts=None if desk.dept is None else [desk.dept],
                                                     with_contacts=desk.contacts)
        await reports.queue_document(session, app, message.chat.id, name, data, caption,
                                     thread_id=thread_of(message), reply_to=message.message_id)

    return router
