"""Chat-level events: service messages, topics, migrations, membership, raw updates.

Like UserActions these never await before returning (see actors.py).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .errors import SandboxError
from .state import ADMIN_STATUSES, Chat, MessageMeta, User

if TYPE_CHECKING:
    from .server import TelegramSandbox


class ChatEvents:
    async def service_message(
        self: TelegramSandbox, chat_id: int, *, from_user: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A service message; user ids in new_chat_members/left_chat_member are expanded,
        pinned_message may be a message id. Membership follows the event."""
        world = self.world
        chat = self._chat(chat_id)
        if "new_chat_members" in fields:
            fields["new_chat_members"] = [
                world.user_dict(m) if isinstance(m, int) else m for m in fields["new_chat_members"]
            ]
            for member in fields["new_chat_members"]:
                chat.members.setdefault(member["id"], "member")
                if chat.members[member["id"]] in ("left", "kicked"):
                    chat.members[member["id"]] = "member"
        if isinstance(fields.get("left_chat_member"), int):
            fields["left_chat_member"] = world.user_dict(fields["left_chat_member"])
        if "left_chat_member" in fields:
            chat.members[fields["left_chat_member"]["id"]] = "left"
        if isinstance(fields.get("pinned_message"), int):
            pinned = world.reply_copy(chat, fields["pinned_message"])
            if pinned is None:
                raise SandboxError(f"no message {fields['pinned_message']} to pin")
            chat.pinned = pinned["message_id"]
            fields["pinned_message"] = pinned
        sender = world.user_dict(from_user) if from_user is not None else None
        msg = world.new_message(chat, sender, fields, from_bot=from_user == world.bot_id)
        if "forum_topic_created" in fields:
            chat.topics[msg["message_id"]] = fields["forum_topic_created"].get("name", "")
            msg.update(message_thread_id=msg["message_id"], is_topic_message=True)
        self._emit(chat, msg)
        return copy.deepcopy(msg)

    def open_topic(
        self: TelegramSandbox, chat: Chat, name: str, icon_color: int, creator: dict | None
    ) -> int:
        """Create a forum topic: its id is the id of its forum_topic_created message."""
        mid = chat.take_message_id()
        chat.topics[mid] = name
        msg = self.world.new_message(
            chat,
            creator,
            {"forum_topic_created": {"name": name, "icon_color": icon_color}},
            from_bot=bool(creator and creator["id"] == self.world.bot_id),
            thread=(mid, True),
            message_id=mid,
        )
        if not (creator and creator["id"] == self.world.bot_id):
            self._emit(chat, msg)
        return mid

    async def create_topic(
        self: TelegramSandbox,
        chat_id: int,
        name: str,
        *,
        user_id: int | None = None,
        icon_color: int = 7322096,
    ) -> int:
        chat = self._chat(chat_id)
        if not chat.is_forum:
            raise SandboxError(f"chat {chat_id} is not a forum")
        creator = self.world.user_dict(user_id) if user_id is not None else None
        return self.open_topic(chat, name, icon_color, creator)

    async def migrate_chat(
        self: TelegramSandbox, old_id: int, new_id: int, *, user_id: int | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Upgrade a basic group: the two service messages, then old_id is dead."""
        world = self.world
        old = self._chat(old_id)
        if old.type != "group" or old.migrated_to is not None:
            raise SandboxError(f"chat {old_id} is not a basic group")
        if new_id in world.chats:
            raise SandboxError(f"chat {new_id} already exists")
        new = Chat(id=new_id, type="supergroup", title=old.title, members=dict(old.members))
        world.chats[new_id] = new
        sender = world.user_dict(user_id) if user_id is not None else None
        first = world.new_message(old, sender, {"migrate_to_chat_id": new_id}, from_bot=False)
        self._emit(old, first)
        old.migrated_to = new_id
        second = world.new_message(
            new,
            sender,
            {"migrate_from_chat_id": old_id},
            from_bot=False,
            sender_chat=old.to_dict() if sender is None else None,
        )
        self._emit(new, second)
        return copy.deepcopy(first), copy.deepcopy(second)

    # --- raw updates and membership ---------------------------------------------------------
    async def inject_update(self: TelegramSandbox, raw: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update as-is (update_id assigned if missing). Chats, users and
        messages in it are learned so the bot's replies to it work."""
        update = copy.deepcopy(raw)
        self._learn(update)
        pushed = self._push(update, filtered=False)
        assert pushed is not None
        return copy.deepcopy(pushed)

    def _learn(self: TelegramSandbox, update: dict[str, Any]) -> None:
        world = self.world
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            msg = update.get(key)
            if not isinstance(msg, dict) or not isinstance(msg.get("chat"), dict):
                continue
            c = msg["chat"]
            chat = world.chats.get(c["id"])
            if chat is None:
                chat = Chat(
                    id=c["id"],
                    type=c.get("type", "private"),
                    title=c.get("title"),
                    username=c.get("username"),
                    is_forum=bool(c.get("is_forum")),
                    first_name=c.get("first_name"),
                    last_name=c.get("last_name"),
                )
                world.chats[chat.id] = chat
            sender = msg.get("from")
            if (
                isinstance(sender, dict)
                and not sender.get("is_bot")
                and sender["id"] not in world.users
            ):
                world.users[sender["id"]] = User(
                    id=sender["id"],
                    first_name=sender.get("first_name", ""),
                    last_name=sender.get("last_name"),
                    username=sender.get("username"),
                    language_code=sender.get("language_code"),
                )
            mid = msg.get("message_id")
            if isinstance(mid, int) and (key.startswith("edited") or mid not in chat.messages):
                chat.messages[mid] = copy.deepcopy(msg)
                if mid not in chat.meta:
                    chat.meta[mid] = MessageMeta(
                        seq=world.next_seq(),
                        from_bot=(sender or {}).get("id") == world.bot_id,
                        sent_at=0.0,
                    )
                chat.next_message_id = max(chat.next_message_id, mid + 1)

    def _bot_membership_update(
        self: TelegramSandbox, chat: Chat, old: str, new: str, actor: int | None
    ) -> None:
        bot = dict(self.world.bot_user)

        def member(status: str) -> dict[str, Any]:
            return {
                "status": status,
                "user": bot,
                **({"until_date": 0} if status == "kicked" else {}),
            }

        if actor is None:  # Telegram always names who did it; default to the owner
            owners = [u for u, s in chat.members.items() if s in ADMIN_STATUSES and u != bot["id"]]
            actor = chat.id if chat.type == "private" else (owners[0] if owners else 777000)
        self._push(
            {
                "my_chat_member": {
                    "chat": chat.to_dict(),
                    "from": self.world.user_dict(actor),
                    "date": self.world.now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def block_bot(self: TelegramSandbox, user_id: int) -> None:
        user = self._user(user_id)
        user.blocked = True
        if user_id in self.world.chats:
            self._bot_membership_update(self.world.chats[user_id], "member", "kicked", user_id)

    def unblock_bot(self: TelegramSandbox, user_id: int) -> None:
        user = self._user(user_id)
        if user.blocked:
            user.blocked = False
            if user_id in self.world.chats:
                self._bot_membership_update(self.world.chats[user_id], "kicked", "member", user_id)

    def delete_chat(self: TelegramSandbox, chat_id: int, *, by_user: int | None = None) -> None:
        """Groups: the bot is removed (sends answer 403 "bot was kicked from the ... chat").
        Private: the chat is gone, as if the user never started the bot (403 can't initiate)."""
        chat = self._chat(chat_id)
        if chat.type == "private":
            del self.world.chats[chat_id]
            return
        old = self.world.bot_status(chat)
        chat.bot_removed = True
        chat.members[self.world.bot_id] = "kicked" if chat.type != "group" else "left"
        self._bot_membership_update(chat, old, chat.members[self.world.bot_id], by_user)
