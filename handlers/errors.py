"""Last resort: an update whose handling failed still gets an answer, never silence."""
from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from bot.context import App, Delivery
from bot.i18n import Translator
from bot.services import notify

log = logging.getLogger(__name__)
STALE_QUERY = ("query is too old", "query id is invalid")


def build_errors_router(app: App) -> Router:
    router = Router(name="errors")

    @router.errors(ExceptionTypeFilter(TelegramBadRequest))
    async def telegram_refused(event: ErrorEvent, delivery: Delivery | None = None) -> bool:
        if any(s in str(event.exception).lower() for s in STALE_QUERY):
            # The person pressed long ago (or the bot was down): the work is done, the popup is moot.
            log.info("callback answer too late: %s", event.exception)
            if delivery is not None:
                delivery.settled = True
            return True
        return await unexpected(event)

    @router.errors()
    async def unexpected(event: ErrorEvent) -> bool:
        log.error("update %s failed: %r", event.update.update_id, event.exception, exc_info=event.exception)
        message = event.update.message or event.update.edited_message
        query = event.update.callback_query
        try:
            if query is not None:
                tr = Translator(query.from_user.language_code)
                await query.answer(tr("error.internal"), show_alert=True)
            elif message is not None and message.from_user is not None:
                async with app.sessions() as session:
                    tr = await notify.chat_translator(session, app, message.chat.id)
                    notify.send(session, app, message.chat.id, tr("error.internal"),
                                thread_id=message.message_thread_id if message.is_topic_message else None,
                                reply_to=message.message_id)
                    await app.commit(session)
        except Exception:  # noqa: BLE001 — telling the person is best effort
            log.exception("could not tell the person about a failed update")
        return True

    return router
