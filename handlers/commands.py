"""/start, /help, /lang, /ticket, /my, and a clear answer to commands we do not know."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from bot.context import App, DbSession
from bot.domain.codes import display, parse_code
from bot.i18n import Translator, normalize_locale
from bot.services import access, group_ack, intake, private_link, settings_svc, ticket_view
from bot.services.access import Roles
from handlers.common import _, current_tr, reply, reply_op
from handlers.facts import command_of
from handlers.event_filters import CommandsOnly, OnLoop

KNOWN = {"id", "start", "help", "lang", "ticket", "my", "appeal", "bind", "role", "queue", "mine", "open",
         "cards", "duty", "unsatisfied", "cancel", "console"}


def addressed(message: Message) -> bool:
    """The command names this bot ("/queue@huying_bot"); the command ends at any whitespace."""
    text = message.text or message.caption or ""
    return "@" in (text.split(maxsplit=1) or [""])[0]


def build_commands_router() -> Router:
    router = Router(name="commands")
    router.message.filter(CommandsOnly(router))

    @router.message(CommandStart(deep_link=True), OnLoop(F.chat.type == "private", F.from_user))
    async def start_with_link(message: Message, command: CommandObject, session: DbSession, app: App) -> None:
        """The acknowledgement's button (t.me/<bot>?start=t<code>): the ticket's details, for its reporter."""
        text = await private_link.open_ticket(session, app, current_tr(), message.from_user.id, command.args or "")
        reply(session, app, message, text or _("help.start") + "\n\n" + _(await help_key(session, message)))

    @router.message(CommandStart())
    async def start(message: Message, session: DbSession, app: App) -> None:
        reply(session, app, message, _("help.start") + "\n\n" + _(await help_key(session, message)))

    @router.message(Command("help"))
    async def help_(message: Message, session: DbSession, app: App) -> None:
        reply(session, app, message, _(await help_key(session, message)))

    @router.message(Command("lang"))
    async def lang(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles) -> None:
        wanted = (command.args or "").strip().lower()
        if wanted not in ("zh", "en"):
            reply(session, app, message, _("lang.usage"))
            return

        async def op() -> None:
            await settings_svc.set_language(session, app, roles, message.chat.id, message.from_user.id,
                                            message.chat.type != "private", wanted)
            reply(session, app, message, Translator(normalize_locale(wanted))("lang.done"))

        await reply_op(session, app, message, op)

    @router.message(Command("ticket"))
    async def ticket(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles) -> None:
        if not command.args:
            reply(session, app, message, _("ticket.usage"))
            return
        code = parse_code(command.args)
        if code is not None and not await access.staff_chat(session, message.chat.id, message.chat.type):
            # A community chat is public: even a ticket's kind and history say too much about its
            # reporter there. The same pointer whether the ticket exists or not (codes are guessable).
            reply(session, app, message, _("ticket.in_private", code=display(code)),
                  keyboard=[[group_ack.code_button(_("ack.btn_private"), app, code)]])
            return
        t = await ticket_view.find(session, command.args)
        if t is None or not await ticket_view.entitled(session, t, roles, message.chat.id):
            # The same answer for "no such ticket" and "not yours": codes are guessable.
            reply(session, app, message, _("ticket.not_found", code=command.args.strip()))
            return
        v = await ticket_view.view(session, t)
        reply(session, app, message, ticket_view.render(current_tr(), v, app))

    @router.message(Command("my"))
    async def my(message: Message, session: DbSession, app: App) -> None:
        if message.chat.type != "private":
            # One's own list holds words from private appeals: answer it in private only.
            reply(session, app, message, _("my.private_only"))
            return
        rows = await ticket_view.mine(session, message.from_user.id)
        if not rows:
            reply(session, app, message, _("my.none"))
            return
        tr = current_tr()
        lines = [_("my.header")] + [
            f"{display(t.code)} · {ticket_view.status_name(tr, t.status)} · {t.text[:30]}" for t in rows
        ]
        reply(session, app, message, "\n".join(lines))

    return router


def build_unknown_router() -> Router:
    """Last in line: commands nobody handled get a pointer to /help (ours only, not other bots')."""
    router = Router(name="unknown")

    @router.message(OnLoop(F.text.startswith("/")))
    async def unknown(message: Message, session: DbSession, app: App) -> None:
        name, _args = command_of(message, app.bot_username)
        if name is None:
            return
        if message.chat.type != "private" and not addressed(message) and name in KNOWN:
            return  # a known command used in the wrong kind of chat without addressing us: stay quiet
        reply(session, app, message, _("error.unknown_command", command="/" + name))

    return router


async def help_key(session: DbSession, message: Message) -> str:
    """Help fits the chat: private, community, dispatch or department."""
    if message.chat.type == "private":
        return "help.private"
    chat = await intake.chat_info(session, message.chat.id)
    kind = chat.kind if chat else None
    return {"dispatch": "help.dispatch", "department": "help.department"}.get(kind, "help.group")
