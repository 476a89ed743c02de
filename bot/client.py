"""The Bot API client made from the settings: Telegram's servers, or a local Bot API server (or
the sandbox) when TELEGRAM_API_URL is set. Used by `run` and by `python -m bot check`."""
from __future__ import annotations

import aiogram.methods
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods.base import Response, TelegramMethod

from bot.settings import Settings


def _answer_types() -> list[type]:
    """aiogram reads every Bot API answer into ``Response[T]``, a pydantic generic built on first
    use and held only weakly: each time the cyclic GC took it, the next call built it again
    (8 ms — once every few sends under load). Built here once for every answer type, and held."""
    returning = {}
    for name in aiogram.methods.__all__:
        method = getattr(aiogram.methods, name, None)
        answer = getattr(method, "__returning__", None) if isinstance(method, type) else None
        if answer is not None and not isinstance(answer, property) and issubclass(method, TelegramMethod):
            returning[repr(answer)] = answer
    return [Response[t] for t in returning.values()]  # type: ignore[valid-type]


ANSWER_TYPES = _answer_types()


# A few Bot API calls are made while an update's transaction is open (a membership check, an
# alert on a button): on SQLite that holds the one connection every other update waits for, up
# to the pool's 30 s. An answer that has not come in 20 s is taken as a network failure (the
# update or the outbox row is tried again later), not waited for with the whole bot (aiogram: 60 s).
REQUEST_TIMEOUT = 20.0


def make_bot(settings: Settings) -> Bot:
    where = {"api": TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/"))} if settings.telegram_api_url else {}
    session = AiohttpSession(timeout=REQUEST_TIMEOUT, **where)
    return Bot(settings.require_token(), session=session, default=DefaultBotProperties(parse_mode=None))
