"""Message entities the way Telegram's clients produce them for user messages.

Offsets and lengths are in UTF-16 code units (Telegram's rule): an emoji counts two,
a CJK character one. Handlers that slice text by entity must get this right.
"""

from __future__ import annotations

import re
from typing import Any

# A command is Latin letters/digits/underscore, optionally addressed to one bot.
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}")
# Hashtags run over any Unicode letters/digits, so "#诉求小区门口" is one hashtag,
# exactly like Telegram; a space or punctuation ends it.
_HASHTAG = re.compile(r"(?<![\w#])#\w+")
_URL = re.compile(r"https?://[^\s\u3000-\u303f\uff00-\uffef]+")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _entity(text: str, start: int, end: int, kind: str) -> dict[str, Any]:
    return {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}


def parse_entities(text: str | None) -> list[dict[str, Any]]:
    """bot_command, mention, hashtag and url entities, sorted by offset."""
    if not text:
        return []
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []

    def add(pattern: re.Pattern[str], kind: str) -> None:
        for m in pattern.finditer(text):
            s, e = m.span()
            if any(s < te and ts < e for ts, te in taken):
                continue  # "@bot" inside "/cmd@bot" is part of the command
            taken.append((s, e))
            found.append((s, e, kind))

    add(_URL, "url")
    add(_COMMAND, "bot_command")
    add(_MENTION, "mention")
    add(_HASHTAG, "hashtag")
    found.sort()
    return [_entity(text, s, e, kind) for s, e, kind in found]


def entity_text(text: str, entity: dict[str, Any]) -> str:
    raw = text.encode("utf-16-le")
    start = entity["offset"] * 2
    return raw[start : start + entity["length"] * 2].decode("utf-16-le")


def addressed_to_bot(message: dict[str, Any], bot_username: str) -> bool:
    """Would a bot in privacy mode see this group message?

    Telegram delivers commands (bare or @this_bot), mentions of the bot and replies to
    the bot's messages; service messages are handled by the caller.
    """
    name = bot_username.lower()
    for text_key, ent_key in (("text", "entities"), ("caption", "caption_entities")):
        text = message.get(text_key)
        if not text:
            continue
        for ent in message.get(ent_key) or []:
            word = entity_text(text, ent).lower()
            if ent["type"] == "bot_command":
                if ent["offset"] == 0 and ("@" not in word or word.endswith("@" + name)):
                    return True
            elif ent["type"] == "mention" and word == "@" + name:
                return True
    reply = message.get("reply_to_message") or {}
    return (reply.get("from") or {}).get("username", "").lower() == name
