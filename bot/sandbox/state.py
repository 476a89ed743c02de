"""The sandbox's world: users, chats, messages and files, stored as Telegram JSON.

Messages are kept as the exact dicts the Bot API returns, so what the bot receives,
what the control API shows and what tests assert on are the same objects (copied).
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import CHAT_NOT_FOUND, THREAD_NOT_FOUND, ApiError, bad_request, forbidden

GROUP_TYPES = ("group", "supergroup")
ADMIN_STATUSES = ("creator", "administrator")
# Keys that make a message "content" rather than a service message.
CONTENT_KEYS = (
    "text",
    "entities",
    "photo",
    "caption",
    "caption_entities",
    "document",
    "location",
    "sticker",
    "video",
    "audio",
    "voice",
    "animation",
    "contact",
    "venue",
    "has_media_spoiler",
)


@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "zh-hans"
    is_bot: bool = False
    blocked: bool = False  # the user blocked the bot

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        return d

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


@dataclass
class MessageMeta:
    """Sandbox bookkeeping kept beside the Telegram dict (never sent to the bot)."""

    seq: int  # global order across chats, for transcripts
    from_bot: bool
    sent_at: float  # time.monotonic(), for observed-rate checks
    deleted: bool = False
    parse_mode: str | None = None
    reply_keyboard: dict[str, Any] | None = None  # non-inline markup is not part of Message
    original: dict[str, Any] | None = None  # the message as first sent, kept at its first edit
    bot_reaction: str | None = None  # the emoji the bot set on it (setMessageReaction)


@dataclass
class Chat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    is_forum: bool = False
    first_name: str | None = None  # private chats mirror the user
    last_name: str | None = None
    members: dict[int, str] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)  # thread id -> name
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    meta: dict[int, MessageMeta] = field(default_factory=dict)
    next_message_id: int = 1
    migrated_to: int | None = None
    bot_removed: bool = False
    pinned: int | None = None
    # Reactions the chat allows (None: every standard emoji), as an admin can restrict them.
    available_reactions: frozenset[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            d["first_name"] = self.first_name or str(self.id)
            if self.last_name:
                d["last_name"] = self.last_name
        else:
            d["title"] = self.title or str(self.id)
        if self.username:
            d["username"] = self.username
        if self.is_forum:
            d["is_forum"] = True
        return d

    def take_message_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid

    def live(self, message_id: Any) -> dict[str, Any] | None:
        """The stored message unless missing or deleted."""
        try:
            mid = int(message_id)
        except (TypeError, ValueError):
            return None
        if mid not in self.messages or self.meta[mid].deleted:
            return None
        return self.messages[mid]


@dataclass
class FileRecord:
    file_id: str
    file_unique_id: str
    kind: str  # photo | document | sticker | video | audio
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    sizes: list[dict[str, Any]] | None = None  # photos: the PhotoSize list this id belongs to
    media: dict[str, Any] | None = None  # other kinds: the Document/Sticker/... object

    def to_file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


_FILE_PREFIX = {"photo": "AgACAgIAAxk", "document": "BQACAgIAAxk", "sticker": "CAACAgIAAxk"}
_EXT = {"photo": ".jpg", "sticker": ".webp", "video": ".mp4", "audio": ".mp3"}


class World:
    """All chats/users/files plus the helpers that build Telegram-shaped messages."""

    def __init__(self, bot_user: dict[str, Any], clock: Callable[[], float] = time.time):
        self.bot_user = bot_user
        self.bot_id: int = bot_user["id"]
        self.clock = clock
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, FileRecord] = {}
        self.files_by_path: dict[str, FileRecord] = {}
        self.last_seq = 0  # global order of messages and sandbox events
        self._file_n = itertools.count(1)
        self.on_message: Callable[[Chat, dict[str, Any]], None] = lambda chat, msg: None

    def next_seq(self) -> int:
        self.last_seq += 1
        return self.last_seq

    def now(self) -> int:
        return int(self.clock())

    def user_dict(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return dict(self.bot_user)
        user = self.users.get(user_id)
        return (
            user.to_dict() if user else {"id": user_id, "is_bot": False, "first_name": str(user_id)}
        )

    # --- resolving a chat for a Bot API call -------------------------------------------
    def resolve_chat_id(self, chat_id: Any) -> int:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == chat_id[1:].lower():
                    return chat.id
            raise bad_request(CHAT_NOT_FOUND)
        try:
            return int(chat_id)
        except (TypeError, ValueError):
            raise bad_request(CHAT_NOT_FOUND) from None

    def target_chat(self, chat_id: Any) -> Chat:
        """The chat the bot may act in, or the exact error Telegram would answer."""
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        cid = self.resolve_chat_id(chat_id)
        chat = self.chats.get(cid)
        if chat is None:
            if cid in self.users:
                raise forbidden("bot can't initiate conversation with a user")
            raise bad_request(CHAT_NOT_FOUND)
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.bot_removed:
            if chat.type == "channel":
                raise forbidden("bot is not a member of the channel chat")
            raise forbidden(f"bot was kicked from the {chat.type} chat")
        if chat.type == "private":
            user = self.users.get(chat.id)
            if user is not None and user.blocked:
                raise forbidden("bot was blocked by the user")
        return chat

    def bot_status(self, chat: Chat) -> str:
        return chat.members.get(self.bot_id, "member")

    # --- building messages ----------------------------------------------------------------
    def reply_copy(self, chat: Chat, message_id: int) -> dict[str, Any] | None:
        """reply_to_message as Telegram nests it: without its own reply_to_message."""
        msg = chat.live(message_id)
        if msg is None:
            return None
        out = copy.deepcopy(msg)
        out.pop("reply_to_message", None)
        return out

    def thread_for(
        self, chat: Chat, thread_id: int | None, reply: dict[str, Any] | None, strict: bool
    ) -> tuple[int | None, bool]:
        """(message_thread_id, is_topic_message) for a new message.

        Only real forum topics are valid targets (General has no thread id). Replies in
        supergroups still carry the reply thread's root id without is_topic_message —
        the Telegram quirk that makes naive `message_thread_id=msg.message_thread_id`
        fail with "message thread not found".
        """
        if thread_id:
            if strict and not (chat.is_forum and thread_id in chat.topics):
                raise bad_request(THREAD_NOT_FOUND)
            return thread_id, True
        if reply is not None and chat.type == "supergroup":
            if reply.get("is_topic_message"):
                return reply["message_thread_id"], True
            return reply.get("message_thread_id") or reply["message_id"], False
        return None, False

    def new_message(
        self,
        chat: Chat,
        sender: dict[str, Any] | None,
        content: dict[str, Any],
        *,
        from_bot: bool,
        thread: tuple[int | None, bool] = (None, False),
        reply: dict[str, Any] | None = None,
        sender_chat: dict[str, Any] | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """Create, store and announce a message; returns the live stored dict."""
        mid = message_id if message_id is not None else chat.take_message_id()
        chat.next_message_id = max(chat.next_message_id, mid + 1)
        msg: dict[str, Any] = {"message_id": mid}
        if sender is not None:
            msg["from"] = sender
        if sender_chat is not None:
            msg["sender_chat"] = sender_chat
        msg["chat"] = chat.to_dict()
        msg["date"] = self.now()
        thread_id, is_topic = thread
        if thread_id:
            msg["message_thread_id"] = thread_id
            if is_topic:
                msg["is_topic_message"] = True
                if reply is None and thread_id != mid:
                    # In forums Telegram makes plain topic messages "reply" to the
                    # forum_topic_created service message.
                    reply = self.reply_copy(chat, thread_id)
        if reply is not None:
            msg["reply_to_message"] = reply
        msg.update(content)
        chat.messages[mid] = msg
        chat.meta[mid] = MessageMeta(
            seq=self.next_seq(), from_bot=from_bot, sent_at=time.monotonic()
        )
        self.on_message(chat, msg)
        return msg

    # --- files ----------------------------------------------------------------------------
    def new_file(
        self,
        kind: str,
        data: bytes,
        file_name: str | None = None,
        mime_type: str | None = None,
        ext: str | None = None,
    ) -> FileRecord:
        n = next(self._file_n)
        ext = ext or _EXT.get(kind) or _ext_of(file_name) or ".bin"
        folder = "photos" if kind == "photo" else f"{kind}s"
        rec = FileRecord(
            file_id=f"{_FILE_PREFIX.get(kind, 'BAACAgIAAxk')}{n:06d}sbx{self.bot_id % 9973:04d}",
            file_unique_id=f"AQAD{n:06d}sbx",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{n}{ext}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[rec.file_id] = rec
        self.files_by_path[rec.file_path] = rec
        return rec

    def new_photo(self, data: bytes | None = None) -> list[dict[str, Any]]:
        """A PhotoSize list (thumbnail + full size) for one picture."""
        sizes: list[dict[str, Any]] = []
        for width, height in ((90, 67), (1280, 960)):
            rec = self.new_file("photo", data if data is not None else _fake_jpeg(width))
            sizes.append(
                {
                    "file_id": rec.file_id,
                    "file_unique_id": rec.file_unique_id,
                    "file_size": len(rec.data),
                    "width": width,
                    "height": height,
                }
            )
            rec.sizes = sizes
        return sizes

    def new_document(
        self, data: bytes, file_name: str | None, mime_type: str | None, kind: str = "document"
    ) -> dict[str, Any]:
        rec = self.new_file(kind, data, file_name, mime_type)
        doc: dict[str, Any] = {
            "file_id": rec.file_id,
            "file_unique_id": rec.file_unique_id,
            "file_size": len(data),
        }
        if file_name:
            doc["file_name"] = file_name
        if mime_type:
            doc["mime_type"] = mime_type
        if kind == "video":
            doc.update(width=640, height=480, duration=1)
        elif kind == "audio":
            doc["duration"] = 1
        rec.media = doc
        return doc

    def new_sticker(self) -> dict[str, Any]:
        rec = self.new_file("sticker", b"RIFF\x00\x00\x00\x00WEBPsandbox")
        rec.media = {
            "file_id": rec.file_id,
            "file_unique_id": rec.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
            "file_size": len(rec.data),
        }
        return dict(rec.media)


def _ext_of(name: str | None) -> str | None:
    if name and "." in name:
        return "." + name.rsplit(".", 1)[1][:8]
    return None


def _fake_jpeg(tag: int) -> bytes:
    # Not a decodable image; enough for download round-trips and size checks.
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + f"sandbox-photo-{tag}".encode() + b"\xff\xd9"
