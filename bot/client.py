"""The Bot API client made from the settings: Telegram's servers, or a local Bot API server (or
the sandbox) when TELEGRAM_API_URL is set. Used by `run` and by `python -m bot check`."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import aiogram.methods
from aiohttp import ClientError
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods.base import Response, TelegramMethod, TelegramType

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
# The outbox holds no database connection while it waits, and a send that times out is sent again
# (Telegram may have delivered it meanwhile: the reader sees it twice), so it waits as long as
# aiogram would.
OUTBOX_REQUEST_TIMEOUT = 60.0


class OutboxSession(AiohttpSession):
    """aiogram's session for the outbox's sends, without the costs only the outbox can spare: a
    call without files goes as a JSON body, not a multipart form; the outbox hands it that body
    ready made (`post_json`, from bot/bot_calls.py), so no pydantic method, keyboard or reply
    object is built per send; and a successful answer is not validated into pydantic models. The
    outbox reads only the message ids, so a sent message comes back as a `Sent` holding just its
    `message_id`. Any other answer — a refusal, a 429 — goes through aiogram's own
    `check_response`, and raises what it always raised. Never the bot the handlers use."""

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None) -> TelegramType:
        files: dict[str, Any] = {}
        body = {}
        for key, value in method.model_dump(warnings=False).items():
            value = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            # What aiogram's form leaves out (None, an empty string) is left out here too; a 0,
            # a 0.0 or a False it sends (as text), and so does this (latitude 0.0 is a place).
            if value is not None and value != "":
                body[key] = value
        if files:
            return await super().make_request(bot, method, timeout)
        return cast(TelegramType, await self.post_json(bot, method.__api_method__, body, lambda: method, timeout))

    async def post_json(self, bot: Bot, api_method: str, body: dict[str, Any],
                        typed: Callable[[], TelegramMethod[Any]], timeout: int | None = None) -> Any:
        """Post a call's parameters, already in the Bot API's JSON, as they are (the outbox builds
        them: bot/bot_calls.py). `typed` makes aiogram's method object, needed only when the
        answer is not a success: the exception aiogram raises carries it."""
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=api_method)
        try:
            async with session.post(url, data=json.dumps(body, ensure_ascii=False).encode(),
                                    headers={"Content-Type": "application/json"},
                                    timeout=self.timeout if timeout is None else timeout) as resp:
                raw = await resp.text()
        except asyncio.TimeoutError as e:
            raise TelegramNetworkError(method=typed(), message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=typed(), message=f"{type(e).__name__}: {e}") from e
        if resp.status == 200:
            try:
                answer = json.loads(raw)
            except ValueError:  # not JSON after all: aiogram's own reading says what is wrong
                answer = {}
            if isinstance(answer, dict) and answer.get("ok") is True and "result" in answer:
                return _sent(answer["result"])
        return self.check_response(bot=bot, method=typed(), status_code=resp.status, content=raw).result


class Sent(NamedTuple):
    """What the outbox reads of a message it sent (even pydantic's `model_construct` of a
    `Message` cost as much as the rest of the send: it fills in a hundred defaults)."""

    message_id: int


def _sent(result: Any) -> Any:
    if isinstance(result, dict) and "message_id" in result:
        return Sent(result["message_id"])
    if isinstance(result, list):
        return [_sent(r) for r in result]
    return result


def make_bot(settings: Settings, *, for_outbox: bool = False) -> Bot:
    where = {"api": TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/"))} if settings.telegram_api_url else {}
    session = (OutboxSession(timeout=OUTBOX_REQUEST_TIMEOUT, **where) if for_outbox
               else AiohttpSession(timeout=REQUEST_TIMEOUT, **where))
    return Bot(settings.require_token(), session=session, default=DefaultBotProperties(parse_mode=None))
