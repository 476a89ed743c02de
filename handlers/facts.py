"""Turn aiogram messages into the plain values the domain and services take."""
from __future__ import annotations

from aiogram.types import Message

from bot.domain.appeal import Photo
from bot.domain.intake import MessageFacts


def message_text(message: Message) -> str:
    return message.text or message.caption or ""


def _entities(message: Message):  # noqa: ANN202
    return message.entities or message.caption_entities or []


def entity_text(text: str, offset: int, length: int) -> str:
    """The entity's text; offsets count UTF-16 units and may (from a sloppy client) split a
    surrogate pair, so a half character is dropped instead of failing the update."""
    raw = text.encode("utf-16-le")[offset * 2:(offset + length) * 2]
    return raw.decode("utf-16-le", errors="ignore")


def command_of(message: Message, bot_username: str) -> tuple[str | None, str]:
    """('appeal', 'rest') for '/appeal@huying_bot rest'; a command for another bot is None.

    The command ends at any whitespace, as in aiogram's `Command`: on a phone a longer appeal
    goes on the line after "/appeal", and a Chinese keyboard types the full-width space."""
    text = message_text(message)
    if not text.startswith("/"):
        return None, ""
    head, *rest_ = text.split(maxsplit=1)
    rest = rest_[0] if rest_ else ""
    name, _, target = head[1:].partition("@")
    if target and target.lower() != bot_username.lower():
        return None, ""
    return name.lower(), rest.strip()


def facts(message: Message, bot_id: int, bot_username: str, *, volunteer: bool) -> MessageFacts:
    text = message_text(message)
    command, args = command_of(message, bot_username)
    mentions, tags = False, []
    for e in _entities(message):
        value = entity_text(text, e.offset, e.length)
        if e.type == "mention" and value.lower() == f"@{bot_username.lower()}":
            mentions = True
        elif e.type == "text_mention" and e.user and e.user.id == bot_id:
            mentions = True
        elif e.type == "hashtag":
            tags.append(value)
    reply = message.reply_to_message
    return MessageFacts(
        text=text,
        command=command,
        command_args=args,
        mentions_bot=mentions,
        hashtags=tuple(tags),
        reply_to_bot=bool(reply and reply.from_user and reply.from_user.id == bot_id),
        has_photos=bool(photos(message)),  # what intake keeps: a PDF alone is nothing to go on
        has_location=bool(message.location),
        is_forward=message.forward_origin is not None,
        sender_is_volunteer=volunteer,
        in_album=message.media_group_id is not None,
    )


def photos(message: Message) -> list[Photo]:
    if message.photo:
        biggest = message.photo[-1]
        return [Photo(biggest.file_id, biggest.file_unique_id)]
    if message.video:  # a leaking pipe or a noisy site is often filmed, not photographed
        return [Photo(message.video.file_id, message.video.file_unique_id, "video")]
    if message.document and (message.document.mime_type or "").startswith("image/"):
        return [Photo(message.document.file_id, message.document.file_unique_id, "document")]
    return []


def media_not_kept(message: Message) -> bool:
    """Something the sender means for the department that the bot cannot pass on yet: a round video,
    a voice message, a sound file or a document that is no picture."""
    return bool(message.video_note or message.voice or message.audio
                or (message.document and not photos(message)))


def origin(message: Message) -> tuple[str | None, int | None, str | None]:
    """Who a forwarded message came from: (kind, user id, display name)."""
    o = message.forward_origin
    if o is None:
        return None, None, None
    if o.type == "user":
        return "user", o.sender_user.id, o.sender_user.full_name
    if o.type == "hidden_user":
        return "hidden_user", None, o.sender_user_name
    if o.type == "chat":
        return "chat", o.sender_chat.id, o.sender_chat.title
    if o.type == "channel":
        return "channel", o.chat.id, o.chat.title
    return o.type, None, None


def thread_of(message: Message) -> int | None:
    # In a forum's General topic a reply carries a thread id that is not a topic (DESIGN §5).
    return message.message_thread_id if message.is_topic_message else None
