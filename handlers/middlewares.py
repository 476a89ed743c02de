"""Middlewares: one database session per update, deduplication, language, and
who the sender is — injected into handlers the aiogram way."""
from __future__ import annotations

import asyncio
from contextlib import contextmanager
import logging
from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.context import App
from bot.i18n import DEFAULT_LOCALE, LOCALES_DIR, catalogs, normalize_locale
from bot.services import access
from storage.db import is_transient

log = logging.getLogger(__name__)
LOCK_RETRIES = 3


class SessionMiddleware(BaseMiddleware):
    """Opens the update's session, drops repeated deliveries, commits what is left.

    The seen `update_id` is written in the same transaction as the work the update
    causes: a failed update leaves no mark and can be delivered again.
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
        for attempt in range(LOCK_RETRIES):
            async with self.app.sessions() as session:
                if not await access.first_delivery(session, self.app, event.update_id):
                    log.info("update %s delivered again; ignored", event.update_id)
                    return None
                data["session"], data["app"] = session, self.app
                try:
                    result = await handler(event, data)
                    await self.app.commit(session)
                    return result
                except Exception as exc:
                    # A briefly busy database (beyond SQLite's busy timeout): try the update again.
                    await session.rollback()
                    if not is_transient(exc) or attempt == LOCK_RETRIES - 1:
                        raise
                    log.warning("database locked; retrying update %s", event.update_id)
                    await asyncio.sleep(0.2 * (attempt + 1))
        return None


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
            data["roles"] = await access.remember(session, app, user.id, user.full_name, user.username, private)
        else:
            data["roles"] = access.Roles()
        return await handler(event, data)


def setup_middlewares(dp, app: App) -> None:  # noqa: ANN001
    dp.update.outer_middleware(SessionMiddleware(app))
    LocaleMiddleware(HuyingI18n(path=LOCALES_DIR, default_locale=DEFAULT_LOCALE, domain="messages")).setup(dp)
    sender = SenderMiddleware()
    dp.message.outer_middleware(sender)
    dp.callback_query.outer_middleware(sender)
    dp.edited_message.outer_middleware(sender)
