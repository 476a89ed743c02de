"""Small helpers shared by routers: replies through the outbox, localized text."""
from __future__ import annotations

from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import get_i18n, gettext

from bot.context import App, DbSession
from bot.i18n import Translator
from bot.services import notify
from handlers.facts import thread_of


def _(key: str, /, **params: object) -> str:
    """The current update's language (set by LocaleMiddleware)."""
    text = gettext(key)
    return text.format(**params) if params else text


def reply(session: DbSession, app: App, message: Message, text: str, **kw: object) -> None:
    """Answer a message in its chat and topic, through the outbox."""
    notify.send(session, app, message.chat.id, text, thread_id=thread_of(message), reply_to=message.message_id, **kw)


async def alert(query: CallbackQuery, key: str, **params: object) -> None:
    await query.answer(_(key, **params), show_alert=True)


def current_tr() -> Translator:
    """A Translator for the current update's language (for services that render)."""
    return Translator(get_i18n().current_locale)
