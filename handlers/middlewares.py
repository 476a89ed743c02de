"""Middlewares: one database session per update, deduplication, language, and
who the sender is — injected into handlers the aiogram way."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from contextlib import contextmanager
import logging
from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import CallbackQuery, Message, TelegramObject, Update
from aiogram.utils.i18n import I18n, I18nMiddleware, gettext

from bot.context import App, Delivery, TryLater
from bot.i18n import DEFAULT_LOCALE, LOCALES_DIR, catalogs, normalize_locale
from bot.services import access
from handlers.common import answer
from storage import inbox
from storage.db import is_transient, may_pass

log = logging.getLogger(__name__)
LOCK_RETRIES = 3


def retryable(exc: BaseException) -> bool:
    """A failure that may pass by itself (database or network trouble); a bug or a refusal
    by Telegram would fail the same way again, so it goes to the errors router at once."""
    return may_pass(exc) or isinstance(exc, (
        TryLater, TelegramNetworkError, TelegramServerError, TelegramRetryAfter, TimeoutError, ConnectionError))


class SessionMiddleware(BaseMiddleware):
    """Opens the update's session, drops repeated deliveries, commits what is left.

    Updates reach the Dispatcher only from the inbox (``bot.inbox``), where the raw update
    was committed before Telegram was told it arrived.  The seen ``update_id`` and the inbox
    row's done-mark are written in the same transaction as the work the update causes: an
    update whose handling fails leaves no mark, stays pending in the inbox and is handled
    again (after a back-off; parked as dead after the last attempt).
    """

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        self.app.inflight += 1
        try:
            return await self._handle(handler, event, data)
        finally:
            self.app.inflight -= 1

    async def _handle(self, handler, event: Update, data: dict[str, Any]) -> Any:  # noqa: ANN001
        delivery: Delivery | None = data.get("delivery")
        for attempt in range(LOCK_RETRIES):
            async with self.app.sessions() as session:
                try:
                    if not await access.first_delivery(session, self.app, event.update_id):
                        log.info("update %s delivered again; ignored", event.update_id)
                        await self._done(session, delivery)
                        return None
                    data["session"], data["app"] = session, self.app
                    result = await handler(event, data)
                    await self._done(session, delivery)
                    return result
                except Exception as exc:
                    # A briefly busy database (beyond SQLite's busy timeout): try the update again.
                    await session.rollback()
                    if is_transient(exc) and attempt < LOCK_RETRIES - 1:
                        log.warning("database locked; retrying update %s", event.update_id)
                        await asyncio.sleep(0.2 * (attempt + 1))
                        continue
                    if delivery is None:
                        raise
                    delivery.error = repr(exc)
                    if not delivery.final and retryable(exc):
                        log.warning("update %s failed, will be tried again: %r", event.update_id, exc)
                        return None  # still pending in the inbox: tried again after a back-off
                    delivery.final = True
                    raise  # the errors router tells the person; the inbox parks the update
        return None

    async def _done(self, session, delivery: Delivery | None) -> None:  # noqa: ANN001
        if delivery is not None:
            await inbox.mark_done(session, delivery.update_id, datetime.now(timezone.utc))
        await self.app.commit(session)
        if delivery is not None:
            delivery.done = True


class HuyingI18n(I18n):
    """aiogram's I18n over our catalogs (compiled in memory when a .mo is missing)."""

    def find_locales(self):  # noqa: ANN201
        return dict(catalogs())

    @contextmanager
    def context(self):  # noqa: ANN201
        # aiogram's gettext() looks the instance up on the base class's context variable.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)


class LocaleMiddleware(I18nMiddleware):
    """Per chat in groups, per person in private (DESIGN §5)."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        session, app = data.get("session"), data.get("app")
        chat = getattr(event, "chat", None) or (event.message.chat if isinstance(event, CallbackQuery) and event.message else None)
        user = getattr(event, "from_user", None)
        if session is None or app is None:
            return DEFAULT_LOCALE
        locale = await access.locale_for(session, app, chat.id if chat else None, chat.type if chat else None,
                                         user.id if user else None, user.language_code if user else None)
        return normalize_locale(locale)


class SenderMiddleware(BaseMiddleware):
    """Remember people as they speak, and hand handlers their roles."""

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        user = getattr(event, "from_user", None)
        session, app = data["session"], data["app"]
        if user is not None and not user.is_bot:
            private = isinstance(event, Message) and event.chat.type == "private"
            data["roles"] = await access.remember(session, app, user.id, user.full_name, user.username, private,
                                                  user.language_code)
        else:
            data["roles"] = access.Roles()
        return await handler(event, data)


class ButtonMessageMiddleware(BaseMiddleware):
    """A press that carries no message (a button of an inline-mode message) cannot be matched
    to a card or a chat: answer it politely and change nothing."""

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, CallbackQuery) and event.message is None:
            await answer(data["session"], data["app"], event, gettext("error.button_gone"), show_alert=True)
            return None
        return await handler(event, data)


def setup_middlewares(dp, app: App) -> None:  # noqa: ANN001
    dp.update.outer_middleware(SessionMiddleware(app))
    LocaleMiddleware(HuyingI18n(path=LOCALES_DIR, default_locale=DEFAULT_LOCALE, domain="messages")).setup(dp)
    sender = SenderMiddleware()
    dp.message.outer_middleware(sender)
    dp.callback_query.outer_middleware(sender)
    dp.callback_query.outer_middleware(ButtonMessageMiddleware())
    dp.edited_message.outer_middleware(sender)
