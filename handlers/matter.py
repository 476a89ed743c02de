"""One matter (issue #11): 附议 replies in community chats, the one-tap 合并 into a suggested
duplicate, 高频共性 /hotspots, and 专项 (open from an alert, 成因排查 reply, 结项)."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.callbacks import CampaignAct, HotspotAct, MergeInto
from bot.context import App, DbSession
from bot.domain import intake as rules
from bot.domain.agreement import ReplyFacts
from bot.services import campaigns, dispatch, hotspot_alerts, intake, notify, support
from bot.services.access import Roles
from handlers.common import NOTED, _, current_tr, noted, press_op, reply, reply_op
from handlers.facts import facts, message_text, thread_of
from handlers.intake import file
from handlers.reply_filter import ReplyTo, awaited
from handlers.event_filters import OnLoop, RepliesOrCommands

GROUPS = {"group", "supergroup"}
# The bot's messages about a ticket that neighbours see in a community chat.
TICKET_MESSAGES = ("ack", "reporter_note", "follower_note", "progress_media", "result_media", "public_response")


def _reply_facts(message: Message) -> ReplyFacts:
    sticker = message.sticker.emoji or "" if message.sticker else None
    media = bool(message.photo or message.video or message.voice or message.audio or message.document
                 or message.animation or message.video_note)
    return ReplyFacts(text=message_text(message), sticker_emoji=sticker, has_media=media,
                      has_location=message.location is not None)


def build_matter_router() -> Router:
    router = Router(name="matter")
    router.message.filter(RepliesOrCommands(router))  # a plain appeal passes with one check

    @router.message(OnLoop(F.chat.type.in_(GROUPS), F.from_user), ReplyTo(*TICKET_MESSAGES))
    async def reply_to_ticket(message: Message, link, session: DbSession, app: App,  # noqa: ANN001
                              roles: Roles) -> None:
        chat = await intake.chat_info(session, message.chat.id)
        if chat is None or chat.kind != "community":
            raise SkipHandler()
        outcome = await support.on_reply(session, app, link.ticket_id, message.from_user.id, _reply_facts(message),
                                         chat_id=message.chat.id, message_id=message.message_id)
        if outcome is None or outcome.kind == "supplement":
            raise SkipHandler()  # the reporter adding to their ticket (handlers/intake.py)
        if outcome.kind == "substance":
            await _file_related(message, session, app, roles, chat.area_code, outcome.ticket.id)
            return
        said = support.answer_key(outcome)
        if said is None:
            return
        key, params = said
        if outcome.kind in support.QUIET:
            noted(session, app, message, _(key, **params), support.AGREED)
            return
        # PERSONAL: said in private when the person started the bot; in the group only a 👌 (words
        # only where the chat allows no reaction): five "+1"s on one's own ticket are not five messages.
        if not await notify.answer_in_private(session, app, message.from_user.id, key, chat_id=message.chat.id,
                                              message_id=message.message_id, thread_id=thread_of(message), **params):
            noted(session, app, message, _(key, **params))
            return
        notify.react(session, app, message.chat.id, message.message_id, NOTED, thread_id=thread_of(message))

    @router.callback_query(MergeInto.filter())
    async def merge_into(query: CallbackQuery, callback_data: MergeInto, session: DbSession, app: App,
                         roles: Roles) -> None:
        async def op() -> str:
            await dispatch.merge_into(session, app, callback_data.ticket_id, roles, callback_data.target_id)
            return "done.merged"

        await press_op(session, app, query, op)

    @router.message(Command("hotspots"))
    async def hotspots(message: Message, command: CommandObject, session: DbSession, app: App, roles: Roles) -> None:
        async def op() -> None:
            reply(session, app, message, await hotspot_alerts.hotspots_text(session, app, current_tr(), command.args,
                                                                            roles, message.chat.id))

        await reply_op(session, app, message, op)

    @router.callback_query(HotspotAct.filter(F.action == "open"))
    async def open_campaign(query: CallbackQuery, callback_data: HotspotAct, session: DbSession, app: App,
                            roles: Roles) -> None:
        async def op() -> None:
            await campaigns.ask_goal(session, app, callback_data.alert_id, roles, query.message.chat.id,
                                     query.message.message_thread_id if query.message.is_topic_message else None)

        await press_op(session, app, query, op)

    @router.callback_query(CampaignAct.filter(F.action == "close"))
    async def close_campaign(query: CallbackQuery, callback_data: CampaignAct, session: DbSession, app: App,
                             roles: Roles) -> None:
        async def op() -> str:
            await campaigns.close(session, app, callback_data.campaign_id, roles)
            return "done.campaign_closed"

        await press_op(session, app, query, op)

    @router.message(ReplyTo("campaign_prompt"))
    async def campaign_goal(message: Message, link, session: DbSession, app: App, roles: Roles) -> None:  # noqa: ANN001
        if not awaited(message, link):
            reply(session, app, message, _("prompt.not_yours"))
            return

        async def op() -> None:
            await campaigns.open_from_alert(session, app, int((link.data or {})["alert"]), roles,
                                            message_text(message))

        await reply_op(session, app, message, op, retry_link=link)

    @router.message(ReplyTo("campaign_cause"))
    async def campaign_cause(message: Message, link, session: DbSession, app: App) -> None:  # noqa: ANN001
        async def op() -> str:
            await campaigns.save_cause(session, app, int((link.data or {})["campaign"]), message.from_user.id,
                                       message_text(message), message.chat.id)
            return "campaign.cause_saved"

        await reply_op(session, app, message, op)

    return router


async def _file_related(message: Message, session: DbSession, app: App, roles: Roles, area: str | None,
                        related_to: int) -> None:
    """A reply with a matter of its own: filed like any appeal, marked related to the ticket."""
    f = facts(message, app.bot_id, app.bot_username, volunteer=roles.volunteer)
    decision = rules.decide(f, app.bot_username, community=True)
    if decision.action != "appeal":
        return
    await file(message, session, app, decision, area=area, related_to=related_to)
