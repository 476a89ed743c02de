"""The Bot API client made from the settings: Telegram's servers, or a local Bot API server (or
the sandbox) when TELEGRAM_API_URL is set. Used by `run` and by `python -m bot check`."""
from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.settings import Settings


def make_bot(settings: Settings) -> Bot:
    session = None
    if settings.telegram_api_url:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/")))
    return Bot(settings.require_token(), session=session, default=DefaultBotProperties(parse_mode=None))
