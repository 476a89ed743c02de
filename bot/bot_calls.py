"""One outbox row performed against the Bot API: the send, edit, delete or reaction it stands for.

The outbox worker (bot/outbox.py) decides when and handles what Telegram answers; this module
only turns a row's payload into the call.
"""
from __future__ import annotations

from aiogram import Bot
from aiogram.types import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    ReactionTypeEmoji,
    ReplyParameters,
)

from storage.models import OutboxMessage


def keyboard(rows: list[list[dict]] | None) -> InlineKeyboardMarkup | None:
    """Rows of {text, data} (a callback button) or {text, url} (a link, e.g. t.me/<bot>?start=…)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[_button(b) for b in row] for row in rows])


def _button(b: dict) -> InlineKeyboardButton:
    if "url" in b:
        return InlineKeyboardButton(text=b["text"], url=b["url"])
    return InlineKeyboardButton(text=b["text"], callback_data=b["data"])


async def call(bot: Bot, row: OutboxMessage, chat_id: int, thread_id: int | None, p: dict) -> list[int]:
    """Perform one outbox row against the Bot API; return the sent message ids."""
    reply = ReplyParameters(message_id=p["reply_to"], allow_sending_without_reply=True) if p.get("reply_to") else None
    markup = ForceReply(selective=True) if p.get("force_reply") else keyboard(p.get("keyboard"))
    common = dict(chat_id=chat_id, message_thread_id=thread_id, reply_parameters=reply)
    match row.method:
        case "message":
            msg = await bot.send_message(text=p["text"], reply_markup=markup, parse_mode=None, **common)
        case "photo":
            msg = await bot.send_photo(photo=p["photo"], caption=p.get("caption"), reply_markup=markup, parse_mode=None, **common)
        case "album":
            media = [InputMediaPhoto(media=f) for f in p["media"]]
            if p.get("caption"):
                media[0] = InputMediaPhoto(media=p["media"][0], caption=p["caption"], parse_mode=None)
            msgs = await bot.send_media_group(media=media, **common)
            return [m.message_id for m in msgs]
        case "location":
            msg = await bot.send_location(latitude=p["latitude"], longitude=p["longitude"], **common)
        case "document":
            msg = await bot.send_document(document=p["document"], caption=p.get("caption"), parse_mode=None, **common)
        case "edit_text":
            await bot.edit_message_text(
                chat_id=chat_id, message_id=p["message_id"], text=p["text"], reply_markup=keyboard(p.get("keyboard")),
                parse_mode=None,
            )
            return [p["message_id"]]
        case "edit_markup":
            await bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=p["message_id"], reply_markup=keyboard(p.get("keyboard"))
            )
            return [p["message_id"]]
        case "delete":
            await bot.delete_message(chat_id=chat_id, message_id=p["message_id"])
            return []
        case "react":
            await bot.set_message_reaction(chat_id=chat_id, message_id=p["message_id"],
                                           reaction=[ReactionTypeEmoji(emoji=p["emoji"])])
            return []
        case _:
            raise ValueError(f"unknown outbox method {row.method}")
    return [msg.message_id]
