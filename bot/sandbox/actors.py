"""What people do in the chats: send, reply, edit, press buttons.

Every action stores the message like Telegram would and queues the update the bot
would receive (respecting privacy mode). None of these coroutines awaits anything
before returning, so the bot cannot answer "between" an action and the test's next
line: wait_for_bot_message relies on that.
"""

from __future__ import annotations

import copy
import itertools
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .entities import addressed_to_bot, parse_entities
from .errors import SandboxError
from .markup import button_rows
from .sending import MEDIA_KEYS
from .state import ADMIN_STATUSES, CONTENT_KEYS, GROUP_TYPES, Chat, User

if TYPE_CHECKING:
    from .server import TelegramSandbox

_album_ids = itertools.count(14_000_000_000_000_001)
_query_ids = itertools.count(4_382_179_284_763_001)


class UserActions:
    # --- plumbing ---------------------------------------------------------------------------
    def _user(self: TelegramSandbox, user_id: int) -> User:
        user = self.world.users.get(user_id)
        if user is None:
            raise SandboxError(f"unknown user {user_id}; add_user() first")
        return user

    def _chat(self: TelegramSandbox, chat_id: int) -> Chat:
        chat = self.world.chats.get(chat_id)
        if chat is None:
            raise SandboxError(f"unknown chat {chat_id}; add_chat() first")
        return chat

    def _push(self: TelegramSandbox, update: dict[str, Any], filtered: bool = True) -> dict | None:
        self._action_seq = self.world.last_seq  # see wait_for_bot_message
        return self.updates.push(update, filtered=filtered)

    def _bot_sees(self: TelegramSandbox, chat: Chat, msg: dict[str, Any]) -> bool:
        if chat.bot_removed:
            return False
        if chat.type not in GROUP_TYPES or not self.privacy_mode:
            return True
        if self.world.bot_status(chat) in ADMIN_STATUSES:
            return True  # admins see everything regardless of privacy mode
        if not any(k in msg for k in CONTENT_KEYS):
            return True  # service messages
        return addressed_to_bot(msg, self.world.bot_user["username"])

    def _emit(self: TelegramSandbox, chat: Chat, msg: dict[str, Any], edited: bool = False) -> None:
        self._action_seq = self.world.last_seq
        if not self._bot_sees(chat, msg):
            return
        kind = "channel_post" if chat.type == "channel" else "message"
        self._push({("edited_" if edited else "") + kind: copy.deepcopy(msg)})

    def _private_chat(self: TelegramSandbox, user: User) -> Chat:
        """The user's chat with the bot, created when they first write (= /start)."""
        chat = self.world.chats.get(user.id)
        if chat is None:
            chat = Chat(
                id=user.id,
                type="private",
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
            )
            self.world.chats[user.id] = chat
        if user.blocked:
            self.unblock_bot(user.id)
        return chat

    # --- sending ----------------------------------------------------------------------------
    async def user_sends(
        self: TelegramSandbox,
        user_id: int,
        chat_id: int,
        text: str | None = None,
        *,
        photo: bool | bytes = False,
        caption: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        media_group_id: str | None = None,
        location: tuple[float, float] | None = None,
        forward_from: dict[str, Any] | None = None,
        sticker: bool = False,
        document: bool | bytes = False,
        video: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A person posts a message; returns the stored Message dict (a copy)."""
        world = self.world
        user = self._user(user_id)
        chat = self._private_chat(user) if chat_id == user_id else self._chat(chat_id)
        if chat.type == "private" and chat.id != user_id:
            raise SandboxError(f"user {user_id} cannot post in {chat_id}'s private chat")
        if chat.migrated_to is not None:
            raise SandboxError(f"chat {chat_id} migrated to {chat.migrated_to}")
        if chat.type in GROUP_TYPES and chat.members.get(user_id) in (None, "left"):
            chat.members[user_id] = "member"  # only members can post
        reply = None
        if reply_to is not None:
            reply = world.reply_copy(chat, reply_to)
            if reply is None:
                raise SandboxError(f"no message {reply_to} in chat {chat_id} to reply to")
        if thread_id and not (chat.is_forum and thread_id in chat.topics):
            raise SandboxError(f"{thread_id} is not a topic of chat {chat_id}")
        content: dict[str, Any] = {}
        has_media = bool(photo or document or video or sticker or location)
        if has_media and caption is None and text is not None:
            caption, text = text, None
        if photo:
            content["photo"] = world.new_photo(photo if isinstance(photo, bytes) else None)
        if document:
            data = document if isinstance(document, bytes) else b"%PDF-1.4\n% sandbox document\n"
            content["document"] = world.new_document(data, "document.pdf", "application/pdf")
        if video:
            content["video"] = world.new_document(b"\x00\x00\x00\x18ftypmp42", "video.mp4", "video/mp4", "video")
        if sticker:
            content["sticker"] = world.new_sticker()
        if location:
            content["location"] = {"latitude": float(location[0]), "longitude": float(location[1])}
        if text is not None:
            content["text"] = text
            if ents := parse_entities(text):
                content["entities"] = ents
        if caption is not None and has_media:
            content["caption"] = caption
            if ents := parse_entities(caption):
                content["caption_entities"] = ents
        if media_group_id:
            content["media_group_id"] = str(media_group_id)
        if forward_from:
            content["forward_origin"] = {"date": world.now(), **forward_from}
        content.update(extra or {})
        is_channel = chat.type == "channel"
        msg = world.new_message(
            chat,
            None if is_channel else user.to_dict(),
            content,
            from_bot=False,
            thread=world.thread_for(chat, thread_id, reply, strict=False),
            reply=reply,
            sender_chat=chat.to_dict() if is_channel else None,
        )
        self._emit(chat, msg)
        return copy.deepcopy(msg)

    async def user_sends_album(
        self: TelegramSandbox,
        user_id: int,
        chat_id: int,
        count: int = 3,
        caption: str | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
        videos: int = 0,
    ) -> list[dict[str, Any]]:
        """Several photo messages sharing a media_group_id (the last `videos` of them videos); the
        caption rides on the first."""
        group_id = str(next(_album_ids))
        return [
            await self.user_sends(
                user_id,
                chat_id,
                photo=i < count - videos,
                video=i >= count - videos,
                caption=caption if i == 0 else None,
                thread_id=thread_id,
                reply_to=reply_to,
                media_group_id=group_id,
            )
            for i in range(count)
        ]

    async def user_edits(
        self: TelegramSandbox, user_id: int, chat_id: int, message_id: int, text: str
    ) -> dict[str, Any]:
        chat = self._chat(chat_id)
        msg = chat.live(message_id)
        if msg is None or (msg.get("from") or {}).get("id") != user_id:
            raise SandboxError(f"user {user_id} has no message {message_id} in chat {chat_id}")
        field, ents = (
            ("caption", "caption_entities")
            if any(k in msg for k in MEDIA_KEYS)
            else (
                "text",
                "entities",
            )
        )
        msg[field] = text
        msg.pop(ents, None)
        if parsed := parse_entities(text):
            msg[ents] = parsed
        msg["edit_date"] = self.world.now()
        self._emit(chat, msg, edited=True)
        self.notify()
        return copy.deepcopy(msg)

    # --- buttons ----------------------------------------------------------------------------
    async def press(
        self: TelegramSandbox, user_id: int, chat_id: int, message_id: int, button: str
    ) -> str:
        """Press an inline button found by its text or callback_data; returns the query id."""
        chat = self._chat(chat_id)
        msg = chat.live(message_id)
        if msg is None:
            raise SandboxError(f"no message {message_id} in chat {chat_id}")
        buttons = [b for row in button_rows(msg) for b in row]
        match = next((b for b in buttons if b["text"] == button), None) or next(
            (b for b in buttons if b.get("callback_data") == button), None
        )
        if match is None:
            raise SandboxError(
                f"no button {button!r} on message {message_id}; has {[b['text'] for b in buttons]}"
            )
        if "callback_data" not in match:
            raise SandboxError(f"button {button!r} is not a callback button")
        return self._callback(user_id, chat, message_id, match["callback_data"], match["text"])

    async def open_link(
        self: TelegramSandbox, user_id: int, chat_id: int, message_id: int, button: str
    ) -> dict[str, Any]:
        """Tap a URL button that deep-links to this bot (``https://t.me/<bot>?start=<payload>``):
        Telegram opens the private chat and sends ``/start <payload>`` as the user. Returns that
        message. A link anywhere else is refused (the sandbox has no web)."""
        chat = self._chat(chat_id)
        msg = chat.live(message_id)
        if msg is None:
            raise SandboxError(f"no message {message_id} in chat {chat_id}")
        buttons = [b for row in button_rows(msg) for b in row]
        match = next((b for b in buttons if b["text"] == button and "url" in b), None)
        if match is None:
            raise SandboxError(
                f"no link button {button!r} on message {message_id}; has {[b['text'] for b in buttons]}"
            )
        parsed = urlsplit(match["url"])
        username = self.world.bot_user["username"]
        query = parse_qs(parsed.query)
        if parsed.netloc not in ("t.me", "telegram.me") or parsed.path.strip("/").lower() != username.lower():
            raise SandboxError(f"{match['url']!r} does not open a chat with @{username}")
        payload = (query.get("start") or [""])[0]
        return await self.user_sends(user_id, user_id, f"/start {payload}" if payload else "/start")

    async def press_raw(
        self: TelegramSandbox, user_id: int, chat_id: int, message_id: int, data: str
    ) -> str:
        """A callback query with arbitrary (forged/stale) data; the message may not exist."""
        return self._callback(user_id, self._chat(chat_id), message_id, data, None)

    def _callback(
        self: TelegramSandbox,
        user_id: int,
        chat: Chat,
        message_id: int,
        data: str,
        label: str | None,
    ) -> str:
        user = self._user(user_id)
        qid = str(next(_query_ids))
        msg = chat.live(message_id)
        query: dict[str, Any] = {
            "id": qid,
            "from": user.to_dict(),
            "message": copy.deepcopy(msg)
            if msg is not None
            else {"chat": chat.to_dict(), "message_id": message_id, "date": 0},
            "chat_instance": str(abs(chat.id) * 7919 % 10**18),
            "data": data,
        }
        self.callback_queries[qid] = query
        self.events.append(
            {
                "seq": self.world.next_seq(),
                "type": "press",
                "chat_id": chat.id,
                "user_id": user_id,
                "message_id": message_id,
                "label": label,
                "data": data,
                "query_id": qid,
            }
        )
        self._push({"callback_query": copy.deepcopy(query)})
        return qid
