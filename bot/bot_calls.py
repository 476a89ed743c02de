"""One outbox row performed against the Bot API: the send, edit, delete or reaction it stands for.

The outbox worker (bot/outbox.py) decides when and handles what Telegram answers; this module
only turns a row's payload into the call. `api_call` is the one place that knows how: it gives
the Bot API method and its parameters as JSON. The outbox's own session (bot/client.py
`OutboxSession`) posts them as they are; an upload, or any other session, goes through
aiogram's typed method built from the same parameters.
"""
from __future__ import annotations

from typing import Any

import aiogram.methods
from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import InputFile

from bot.client import OutboxSession
from storage.models import OutboxMessage

# outbox method → Bot API method
API_METHODS = {
    "message": "sendMessage", "photo": "sendPhoto", "video": "sendVideo", "album": "sendMediaGroup",
    "location": "sendLocation", "document": "sendDocument", "edit_text": "editMessageText", "edit_markup": "editMessageReplyMarkup",
    "delete": "deleteMessage", "react": "setMessageReaction",
}


def keyboard(rows: list[list[dict]] | None) -> dict | None:
    """Rows of {text, data} (a callback button) or {text, url} (a link, e.g. t.me/<bot>?start=…)."""
    if not rows:
        return None
    return {"inline_keyboard": [[_button(b) for b in row] for row in rows]}


def _button(b: dict) -> dict:
    if "url" in b:
        return {"text": b["text"], "url": b["url"]}
    return {"text": b["text"], "callback_data": b["data"]}


def api_call(method: str, chat_id: int, thread_id: int | None, p: dict) -> tuple[str, dict[str, Any]]:
    """The Bot API method and its parameters for an outbox row."""
    if method not in API_METHODS:
        raise ValueError(f"unknown outbox method {method}")
    params: dict[str, Any] = {"chat_id": chat_id}
    if method in ("edit_text", "edit_markup", "delete", "react"):
        params["message_id"] = p["message_id"]
    else:
        params["message_thread_id"] = thread_id
        if p.get("reply_to"):
            params["reply_parameters"] = {"message_id": p["reply_to"], "allow_sending_without_reply": True}
    if method in ("message", "photo", "video", "document"):
        params["reply_markup"] = {"force_reply": True, "selective": True} if p.get("force_reply") \
            else keyboard(p.get("keyboard"))
    elif method in ("edit_text", "edit_markup"):
        params["reply_markup"] = keyboard(p.get("keyboard"))
    match method:
        case "message" | "edit_text":
            params["text"] = p["text"]
        case "photo":
            params.update(photo=p["photo"], caption=p.get("caption"))
        case "video":
            params.update(video=p["video"], caption=p.get("caption"))
        case "document":
            params.update(document=p["document"], caption=p.get("caption"))
        case "album":  # a bare file id is a photo (rows queued before videos were kept say only that)
            media = [dict(m) if isinstance(m, dict) else {"type": "photo", "media": m} for m in p["media"]]
            if p.get("caption"):
                media[0]["caption"] = p["caption"]
            params["media"] = media
        case "location":
            params.update(latitude=p["latitude"], longitude=p["longitude"])
        case "react":
            params["reaction"] = [{"type": "emoji", "emoji": p["emoji"]}]
    # Left out as aiogram's form leaves them out: None and an empty string (a 0 or a False stays).
    return API_METHODS[method], {k: v for k, v in params.items() if v is not None and v != ""}


def _uploads(value: Any) -> bool:
    """Whether a file to upload is anywhere in the parameters (an album's media, too)."""
    if isinstance(value, InputFile):
        return True
    if isinstance(value, dict):
        return any(_uploads(v) for v in value.values())
    return isinstance(value, list) and any(_uploads(v) for v in value)


def typed(api_method: str, params: dict[str, Any]) -> TelegramMethod:
    """aiogram's method object for the same call (an upload; a refusal's exception carries it)."""
    cls = getattr(aiogram.methods, api_method[0].upper() + api_method[1:])
    return cls.model_validate(params)


async def call(bot: Bot, row: OutboxMessage, chat_id: int, thread_id: int | None, p: dict) -> list[int]:
    """Perform one outbox row against the Bot API; return the sent message ids."""
    api_method, params = api_call(row.method, chat_id, thread_id, p)
    if isinstance(bot.session, OutboxSession) and not _uploads(params):
        answer = await bot.session.post_json(bot, api_method, params, lambda: typed(api_method, params))
    else:
        answer = await bot(typed(api_method, params))
    if row.method in ("edit_text", "edit_markup"):
        return [p["message_id"]]
    if row.method in ("delete", "react"):
        return []
    if row.method == "album":
        return [m.message_id for m in answer]
    return [answer.message_id]
