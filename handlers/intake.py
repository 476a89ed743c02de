"""Community chats: appeals, album items, locations, replies to the bot, edits, migrations."""
from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.types import CallbackQuery, Message

from bot.callbacks import TicketAct
from bot.context import App, DbSession
from bot.domain import intake as rules
from bot.domain.appeal import Appeal
from bot.services import access, department_work, intake, triage
from handlers.common import _, noted, press_op, reply
from handlers.facts import facts, media_not_kept, message_text, origin, photos, thread_of
from handlers.reply_filter import ReplyTo
from handlers.event_filters import OnLoop, RepliesOrCommands

log = logging.getLogger(__name__)
GROUPS = {"group", "supergroup"}


def build_borrowed_identity_router() -> Router:
    """Posts in a group under a borrowed identity: the group's linked channel forwarded in by
    Telegram, a channel, or an anonymous admin. Telegram names one shared account as their sender
    (@Channel_Bot, @GroupAnonymousBot, 777000), so as a reporter nobody could rate, and anybody
    posting the same way could add to the ticket: an appeal gets a polite word to send it as
    oneself, replies to tickets are left alone, commands go on as usual."""
    router = Router(name="borrowed-identity")
    router.message.filter(OnLoop(F.sender_chat, F.chat.type.in_(GROUPS)))

    @router.message()
    async def borrowed(message: Message, session: DbSession, app: App, roles: access.Roles) -> None:
        if message.is_automatic_forward:
            return  # the linked channel's post: nobody's appeal, and the group needs no answer
        f = facts(message, app.bot_id, app.bot_username, volunteer=roles.volunteer)
        decision = rules.decide(f, app.bot_username, community=True)
        if f.command and f.command != "appeal":
            raise SkipHandler()
        chat = await intake.chat_info(session, message.chat.id)
        if chat is None or chat.kind != "community":
            raise SkipHandler()  # the staff chats' own rules
        if decision.action != "ignore" and not f.reply_to_bot:
            reply(session, app, message, _("intake.borrowed_identity"))

    return router


def build_intake_router() -> Router:
    router = Router(name="intake")

    @router.message(OnLoop(F.migrate_to_chat_id))
    async def migrated(message: Message, session: DbSession, app: App) -> None:
        # The old group announces its new supergroup id: bindings follow (DESIGN §5).
        await intake.follow_migration(session, app, message.chat.id, message.migrate_to_chat_id)

    @router.message(OnLoop(F.migrate_from_chat_id))
    async def migrated_from(message: Message, session: DbSession, app: App) -> None:
        await intake.follow_migration(session, app, message.migrate_from_chat_id, message.chat.id)

    @router.message(OnLoop(F.chat.type.in_(GROUPS), F.from_user))
    async def in_group(message: Message, session: DbSession, app: App, roles: access.Roles) -> None:
        await group_appeal(message, session, app, roles)

    @router.edited_message(OnLoop(F.from_user))
    async def edited(message: Message, session: DbSession, app: App, roles: access.Roles) -> None:
        # Edits never make a second ticket; an edited appeal keeps its new words in the history.
        if await intake.record_edit(session, app, message.chat.id, message.message_id, message_text(message),
                                    message.from_user.id if message.from_user else None):
            return
        if await department_work.correct_words(session, app, message.chat.id, message.message_id,
                                               message_text(message), message.from_user.id if message.from_user else None):
            return
        if message.chat.type in GROUPS:  # the mention forgotten and added by editing: the appeal it now is
            await _edited_into_appeal(message, session, app, roles)

    return router


async def group_appeal(message: Message, session: DbSession, app: App, roles: access.Roles) -> None:
    chat = await intake.chat_info(session, message.chat.id)
    f = facts(message, app.bot_id, app.bot_username, volunteer=roles.volunteer)
    decision = rules.decide(f, app.bot_username, community=True)
    if decision.action == "ignore":
        if chat and chat.kind == "community":
            await _untriggered(message, session, app)
        return
    if chat is None or chat.kind != "community":
        if (chat is None or chat.kind == "unknown") and not await intake.told_not_bound(session, app, message.chat.id):
            reply(session, app, message, _("intake.chat_not_bound"), purpose=intake.NOT_BOUND)
        elif f.reply_to_bot:
            # A reply in a staff chat to a bot message that is no ticket's: say where words go.
            reply(session, app, message, _("staff.reply_hint"))
        return
    if message.forward_origin is not None and origin(message)[1] == app.bot_id:
        return  # the bot's own message passed on (a rating question shown to the family): nobody's appeal
    if (told := retold(message, roles, app.bot_id, app.bot_username)) is not None:
        if await intake.is_appeal(session, told.chat.id, told.message_id):
            # Passed on before (by another volunteer, or by this one twice): one matter, one ticket.
            noted(session, app, message, _("intake.already_passed_on"))
            return
        await file(message, session, app, decision, area=chat.area_code, retelling=told)
        return
    if decision.action == "empty":
        reply(session, app, message, _("intake.empty"))
        return
    await file(message, session, app, decision, area=chat.area_code)


async def _edited_into_appeal(message: Message, session: DbSession, app: App, roles: access.Roles) -> None:
    """A community message that made no ticket and calls the bot since its edit is filed, once (the
    next edit finds its ticket). Replies are left alone: their words went where they were meant."""
    chat = await intake.chat_info(session, message.chat.id)
    decision = rules.decide(facts(message, app.bot_id, app.bot_username, volunteer=roles.volunteer),
                            app.bot_username, community=True)
    if chat is not None and chat.kind == "community" and decision.action == "appeal" \
            and "reply" not in decision.reasons and message.reply_to_message is None:
        await file(message, session, app, decision, area=chat.area_code)


def retold(message: Message, roles: access.Roles, bot_id: int, bot_username: str) -> Message | None:
    """A grid volunteer or building leader calling the bot in reply to a neighbour's message passes
    that neighbour's matter on (DESIGN §1: on behalf of the original person), the way a group
    does it: the neighbour's message, when it has words or a photo."""
    reply_to = message.reply_to_message
    if not roles.volunteer or reply_to is None or reply_to.from_user is None:
        return None
    if reply_to.from_user.is_bot or reply_to.from_user.id in (bot_id, message.from_user.id if message.from_user else 0):
        return None
    if reply_to.sender_chat is not None or reply_to.is_automatic_forward:
        return None  # a channel's post (Telegram's 777000 carries it): nobody's appeal to pass on
    own = facts(reply_to, bot_id, bot_username, volunteer=False)
    if own.mentions_bot or own.command == "appeal":
        return None  # the neighbour filed it themselves: this is the volunteer's own word on it
    return reply_to if (message_text(reply_to).strip() or photos(reply_to)) else None


async def file(message: Message, session: DbSession, app: App, decision: rules.Decision,
               area: str | None, related_to: int | None = None, retelling: Message | None = None) -> None:
    kind, uid, name = origin(message) if decision.on_behalf else (None, None, None)
    if kind == "user" and message.from_user and uid == message.from_user.id:
        kind, uid, name = None, None, None  # a volunteer forwarding their own words files for themself
    text, pics = decision.text, photos(message)
    if retelling is not None and retelling.from_user is not None:  # the neighbour's words first, then the volunteer's
        kind, uid, name = "user", retelling.from_user.id, retelling.from_user.full_name
        text = "\n".join(w for w in (message_text(retelling).strip(), decision.text) if w)
        pics = photos(retelling) + pics
    appeal = Appeal(
        chat_id=message.chat.id, chat_kind=message.chat.type, message_id=message.message_id,
        user_id=message.from_user.id, text=text, thread_id=thread_of(message), kind=decision.kind,
        photos=pics, media_group_id=message.media_group_id, area_code=area,
        location=(message.location.latitude, message.location.longitude) if message.location else None,
        on_behalf_kind=kind, on_behalf_user_id=uid, on_behalf_name=name, urgent=decision.urgent,
        related_to=related_to,
    )
    if retelling is None and (joined := await intake.join_forwarded(session, app, appeal)) is not None:
        noted(session, app, message, _("intake.supplement_added", code=f"#{joined.code}"))
        return
    ticket, _created = await intake.file_appeal(session, app, appeal)
    if retelling is not None:
        await intake.remember_retold(session, app, retelling.chat.id, retelling.message_id, ticket)


async def _untriggered(message: Message, session: DbSession, app: App) -> None:
    """Album siblings and follow-up locations belong to a ticket; other chatter is not ours."""
    user_id = message.from_user.id if message.from_user else None
    if message.media_group_id and (p := photos(message)) and user_id:
        await intake.buffer_album_item(session, app, message.chat.id, message.message_id, message.media_group_id,
                                       user_id, p[0])
    elif message.location and user_id:
        await intake.locate_recent(session, app, message.chat.id, user_id,
                                   message.location.latitude, message.location.longitude)


def build_reporter_router() -> Router:
    """What a reporter does with the bot's messages about their ticket, in any chat: adds to it by
    replying, or says a knowledge answer did not help."""
    router = Router(name="reporter")
    router.message.filter(RepliesOrCommands(router))  # a plain appeal passes with one check

    @router.message(ReplyTo("ack", "reporter_note", "follower_note", "progress_media", "result_media",
                            reporter_only=True))
    async def supplement(message: Message, link, session: DbSession, app: App) -> None:  # noqa: ANN001
        """The reporter's reply to the bot's words about their ticket adds to that ticket.

        Anyone else's reply does not match: it goes on to intake as their own matter.
        """
        loc = (message.location.latitude, message.location.longitude) if message.location else None
        words = message_text(message).strip()
        if message.contact:  # a phone card for the department (staff chats only ever see notes)
            c = message.contact
            words = " ".join(x for x in (words, "📇", c.first_name, c.last_name or "", c.phone_number) if x)
        unkept = media_not_kept(message)
        if not (words or photos(message) or loc):
            if unkept:
                # Something the reporter means for the department that cannot reach it: say so,
                # rather than let them think it was added.
                reply(session, app, message, _("intake.media_not_kept"))
            return  # nothing to add (a sticker, a poll): confirming an addition would be untrue
        if message.chat.type == "private" and words and await intake.is_over(session, link.ticket_id):
            # Their ticket is over: "it is back" is a new appeal, related to the old one (in a
            # group the neighbours' reply rules decide the same, bot/services/support.py).
            await file(message, session, app, rules.Decision("appeal", text=words, reasons=("reply",)), area=None,
                       related_to=link.ticket_id)
            return
        t = await intake.supplement(session, app, link.ticket_id, message.from_user.id, words, photos(message), loc)
        if t is not None and unkept:  # the words are added; the video is not
            reply(session, app, message, _("intake.words_kept_media_not", code=f"#{t.code}"))
        elif t is not None:
            noted(session, app, message, _("intake.supplement_added", code=f"#{t.code}"))

    @router.callback_query(TicketAct.filter(F.action == "nohelp"))
    async def not_helpful(query: CallbackQuery, callback_data: TicketAct, session: DbSession, app: App,
                          roles: access.Roles) -> None:
        async def op() -> str:
            await triage.not_helpful(session, app, callback_data.ticket_id, roles)
            return "done.to_triage"

        await press_op(session, app, query, op)

    return router
