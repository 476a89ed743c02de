"""Bot API methods that create, change or remove messages."""

from __future__ import annotations

import copy
import itertools
from typing import TYPE_CHECKING, Any

from .errors import (
    EDIT_NOT_FOUND,
    NOT_MODIFIED,
    REPLY_NOT_FOUND,
    WRONG_FILE_ID,
    bad_request,
)
from .markup import STANDARD_REACTIONS, check_reply_markup, check_text
from .params import Upload, resolve_input_file
from .state import ADMIN_STATUSES, CONTENT_KEYS, GROUP_TYPES, Chat

if TYPE_CHECKING:
    from .server import TelegramSandbox

MEDIA_KEYS = ("photo", "document", "video", "audio", "animation", "voice")
_media_group_ids = itertools.count(13_000_000_000_000_001)


class SendingMethods:
    sb: TelegramSandbox

    # --- shared steps -----------------------------------------------------------------------
    def _target(self, p: dict[str, Any]) -> tuple[Chat, tuple[int | None, bool], dict | None]:
        """Chat, thread and reply for a send, validated in Telegram's order."""
        world = self.sb.world
        chat = world.target_chat(p.get("chat_id"))
        rp = p.get("reply_parameters") or {}
        rid = rp.get("message_id") or p.get("reply_to_message_id")
        allow = rp.get("allow_sending_without_reply", p.get("allow_sending_without_reply", False))
        reply = None
        if rid:
            source = chat
            if rp.get("chat_id") not in (None, "", chat.id):
                source = world.target_chat(rp["chat_id"])
            reply = world.reply_copy(source, rid)
            if reply is None and not allow:
                raise bad_request(REPLY_NOT_FOUND)
            if reply is not None and source is not chat:
                # Cross-chat replies become external_reply; keep it minimal.
                reply = _external_reply(source, reply)
        thread = world.thread_for(
            chat,
            p.get("message_thread_id"),
            None if isinstance(reply, ExternalReply) else reply,
            strict=True,
        )
        return chat, thread, reply

    def _store(
        self,
        chat: Chat,
        thread: tuple[int | None, bool],
        reply: dict[str, Any] | None,
        content: dict[str, Any],
        p: dict[str, Any],
        *,
        markup: tuple[dict | None, dict | None] = (None, None),
    ) -> dict[str, Any]:
        world = self.sb.world
        inline, other = markup
        if inline:
            content["reply_markup"] = inline
        if isinstance(reply, ExternalReply):
            content["external_reply"], reply = dict(reply), None
        if p.get("protect_content"):
            content["has_protected_content"] = True
        msg = world.new_message(
            chat,
            dict(world.bot_user),
            content,
            from_bot=True,
            thread=thread,
            reply=reply,
            sender_chat=chat.to_dict() if chat.type == "channel" else None,
        )
        meta = chat.meta[msg["message_id"]]
        meta.parse_mode = p.get("parse_mode")
        meta.reply_keyboard = other
        self.sb.flood.record(chat.id)
        return copy.deepcopy(msg)

    def _flood_check(self, chat: Chat, count: int = 1) -> None:
        self.sb.flood.check(chat.id, chat.type in (*GROUP_TYPES, "channel"), count)

    def _caption(self, p: dict[str, Any], content: dict[str, Any]) -> None:
        caption = p.get("caption")
        check_text(caption, p.get("parse_mode"), caption=True)
        if caption:
            content["caption"] = caption
            if p.get("caption_entities"):
                content["caption_entities"] = p["caption_entities"]

    def _photo(self, value: Any, uploads: dict[str, Upload], field: str) -> list[dict[str, Any]]:
        world = self.sb.world
        f = resolve_input_file(value, field, uploads)
        if f is None:
            raise bad_request("there is no photo in the request")
        if isinstance(f, Upload):
            return world.new_photo(f.data)
        if f.startswith(("http://", "https://")):
            return world.new_photo(None)  # offline: a placeholder stands in for the URL
        rec = world.files.get(f)
        if rec is None:
            raise bad_request(WRONG_FILE_ID)
        if rec.kind != "photo" or rec.sizes is None:
            raise bad_request(f"can't use file of type {rec.kind.capitalize()} as Photo")
        return copy.deepcopy(rec.sizes)

    def _file(self, value: Any, uploads: dict[str, Upload], kind: str) -> dict[str, Any]:
        world = self.sb.world
        f = resolve_input_file(value, kind, uploads)
        if f is None:
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(f, Upload):
            return world.new_document(f.data, f.filename, f.content_type, kind)
        if f.startswith(("http://", "https://")):
            return world.new_document(b"", f.rsplit("/", 1)[-1] or None, None, kind)
        rec = world.files.get(f)
        if rec is None:
            raise bad_request(WRONG_FILE_ID)
        if rec.media is None or (rec.kind != kind and kind != "document"):
            raise bad_request(
                f"can't use file of type {rec.kind.capitalize()} as {kind.capitalize()}"
            )
        return copy.deepcopy(rec.media)

    # --- sends ------------------------------------------------------------------------------
    async def api_sendmessage(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat, thread, reply = self._target(p)
        text = p.get("text")
        if not text or not str(text).strip():
            raise bad_request("message text is empty")
        text = str(text)
        check_text(text, p.get("parse_mode"))
        markup = check_reply_markup(p.get("reply_markup"))
        content: dict[str, Any] = {"text": text}
        if p.get("entities"):
            content["entities"] = p["entities"]
        if p.get("link_preview_options"):
            content["link_preview_options"] = p["link_preview_options"]
        self._flood_check(chat)
        return self._store(chat, thread, reply, content, p, markup=markup)

    async def api_sendphoto(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat, thread, reply = self._target(p)
        content: dict[str, Any] = {"photo": self._photo(p.get("photo"), uploads, "photo")}
        self._caption(p, content)
        if p.get("has_spoiler"):
            content["has_media_spoiler"] = True
        markup = check_reply_markup(p.get("reply_markup"))
        self._flood_check(chat)
        return self._store(chat, thread, reply, content, p, markup=markup)

    async def api_senddocument(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        return await self._send_file(p, uploads, "document")

    async def api_sendvideo(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        return await self._send_file(p, uploads, "video")

    async def _send_file(self, p: dict[str, Any], uploads: dict[str, Upload], kind: str) -> Any:
        chat, thread, reply = self._target(p)
        content: dict[str, Any] = {kind: self._file(p.get(kind), uploads, kind)}
        self._caption(p, content)
        markup = check_reply_markup(p.get("reply_markup"))
        self._flood_check(chat)
        return self._store(chat, thread, reply, content, p, markup=markup)

    async def api_sendlocation(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat, thread, reply = self._target(p)
        lat, lon = p.get("latitude"), p.get("longitude")
        if lat is None or lon is None:
            raise bad_request("latitude and longitude must be specified")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise bad_request("wrong location specified")
        location: dict[str, Any] = {"latitude": lat, "longitude": lon}
        for key in ("horizontal_accuracy", "live_period", "heading", "proximity_alert_radius"):
            if p.get(key) is not None:
                location[key] = p[key]
        markup = check_reply_markup(p.get("reply_markup"))
        self._flood_check(chat)
        return self._store(chat, thread, reply, {"location": location}, p, markup=markup)

    async def api_sendmediagroup(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat, thread, reply = self._target(p)
        media = p.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("media group must include 2-10 items")
        contents: list[dict[str, Any]] = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request("wrong type of the media specified")
            if kind == "photo":
                content: dict[str, Any] = {"photo": self._photo(item.get("media"), uploads, "")}
            else:
                content = {kind: self._file(item.get("media"), uploads, kind)}
            self._caption(item, content)
            if item.get("has_spoiler"):
                content["has_media_spoiler"] = True
            contents.append(content)
        kinds = {next(iter(c)) for c in contents}
        if len(kinds) > 1 and kinds & {"document", "audio"}:  # as Telegram: files and songs only among their own
            raise bad_request("document and audio can't be mixed with other media types")
        self._flood_check(chat, len(contents))  # each item of an album counts against the limits
        group_id = str(next(_media_group_ids))
        sent = []
        for i, content in enumerate(contents):
            content["media_group_id"] = group_id
            sent.append(self._store(chat, thread, reply if i == 0 else None, content, p))
        return sent

    async def api_forwardmessage(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        return await self._forward(p, copy_only=False)

    async def api_copymessage(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        return await self._forward(p, copy_only=True)

    async def _forward(self, p: dict[str, Any], copy_only: bool) -> Any:
        world = self.sb.world
        source = world.target_chat(p.get("from_chat_id"))
        original = source.live(p.get("message_id"))
        verb = "copy" if copy_only else "forward"
        if original is None:
            raise bad_request(f"message to {verb} not found")
        content = {k: copy.deepcopy(v) for k, v in original.items() if k in CONTENT_KEYS}
        if not content:
            raise bad_request(f"message can't be {verb}ed".replace("copyed", "copied"))
        chat, thread, reply = self._target(p)
        markup: tuple[dict | None, dict | None] = (None, None)
        if copy_only:
            if "caption" in p:
                content.pop("caption", None)
                content.pop("caption_entities", None)
                self._caption(p, content)
            markup = check_reply_markup(p.get("reply_markup"))
        else:
            content["forward_origin"] = original.get("forward_origin") or _origin(original)
        self._flood_check(chat)
        msg = self._store(chat, thread, reply, content, p, markup=markup)
        return {"message_id": msg["message_id"]} if copy_only else msg

    # --- edits and deletes ----------------------------------------------------------------
    def _own_message(self, p: dict[str, Any]) -> tuple[Chat, dict[str, Any]]:
        if p.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self.sb.world.target_chat(p.get("chat_id"))
        msg = chat.live(p.get("message_id"))
        if msg is None:
            raise bad_request(EDIT_NOT_FOUND)
        if not chat.meta[msg["message_id"]].from_bot:
            raise bad_request("message can't be edited")
        return chat, msg

    def _apply_edit(self, chat: Chat, msg: dict[str, Any], changes: dict[str, Any]) -> Any:
        """Apply changes (None = remove the key); refuse a no-op like Telegram."""
        if all(msg.get(k) == v for k, v in changes.items()):
            raise bad_request(NOT_MODIFIED)
        meta = chat.meta[msg["message_id"]]
        if meta.original is None:  # transcripts show the message as sent, then each edit when it happened
            meta.original = copy.deepcopy(msg)
        for key, value in changes.items():
            if value is None:
                msg.pop(key, None)
            else:
                msg[key] = value
        msg["edit_date"] = self.sb.world.now()
        self.sb.events.append({"type": "edit", "seq": self.sb.world.next_seq(), "chat_id": chat.id,
                               "message": copy.deepcopy(msg)})
        self.sb.notify()
        return copy.deepcopy(msg)

    async def api_editmessagetext(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat, msg = self._own_message(p)
        if "text" not in msg:
            raise bad_request("there is no text in the message to edit")
        text = p.get("text")
        if not text or not str(text).strip():
            raise bad_request("message text is empty")
        check_text(str(text), p.get("parse_mode"))
        inline, _ = check_reply_markup(p.get("reply_markup"))
        chat.meta[msg["message_id"]].parse_mode = p.get("parse_mode")
        # Omitting reply_markup removes the inline keyboard, as on Telegram.
        changes = {"text": str(text), "entities": p.get("entities") or None, "reply_markup": inline}
        return self._apply_edit(chat, msg, changes)

    async def api_editmessagecaption(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        chat, msg = self._own_message(p)
        if not any(k in msg for k in MEDIA_KEYS):
            raise bad_request("there is no caption in the message to edit")
        check_text(p.get("caption"), p.get("parse_mode"), caption=True)
        inline, _ = check_reply_markup(p.get("reply_markup"))
        changes = {
            "caption": p.get("caption") or None,
            "caption_entities": p.get("caption_entities") or None,
            "reply_markup": inline,
        }
        return self._apply_edit(chat, msg, changes)

    async def api_editmessagereplymarkup(
        self, p: dict[str, Any], uploads: dict[str, Upload]
    ) -> Any:
        chat, msg = self._own_message(p)
        inline, _ = check_reply_markup(p.get("reply_markup"))
        return self._apply_edit(chat, msg, {"reply_markup": inline})

    async def api_setmessagereaction(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        """A bot sets (or, with an empty list, removes) its one reaction on a message."""
        chat = self.sb.world.target_chat(p.get("chat_id"))
        msg = chat.live(p.get("message_id"))
        if msg is None:
            raise bad_request("MESSAGE_ID_INVALID")
        reaction = p.get("reaction") or []
        if not isinstance(reaction, list):
            raise bad_request("REACTION_INVALID")
        if len(reaction) > 1:
            raise bad_request("REACTIONS_TOO_MANY")  # bots, like non-premium users, set one
        emoji = None
        if reaction:
            r = reaction[0]
            emoji = r.get("emoji") if isinstance(r, dict) and r.get("type") == "emoji" else None
            allowed = STANDARD_REACTIONS if chat.available_reactions is None else chat.available_reactions
            if emoji not in allowed:
                raise bad_request("REACTION_INVALID")
        chat.meta[msg["message_id"]].bot_reaction = emoji
        self.sb.events.append({"type": "reaction", "seq": self.sb.world.next_seq(), "chat_id": chat.id,
                               "message_id": msg["message_id"], "emoji": emoji})
        self.sb.notify()
        return True

    async def api_deletemessage(self, p: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        world = self.sb.world
        chat = world.target_chat(p.get("chat_id"))
        msg = chat.live(p.get("message_id"))
        if msg is None:
            raise bad_request("message to delete not found")
        meta = chat.meta[msg["message_id"]]
        if (
            not meta.from_bot
            and chat.type in (*GROUP_TYPES, "channel")
            and world.bot_status(chat) not in ADMIN_STATUSES
        ):
            raise bad_request("message can't be deleted")
        meta.deleted = True
        self.sb.notify()
        return True


def _origin(msg: dict[str, Any]) -> dict[str, Any]:
    if msg["chat"]["type"] == "channel":
        return {
            "type": "channel",
            "chat": msg["chat"],
            "message_id": msg["message_id"],
            "date": msg["date"],
        }
    if "from" in msg:
        return {"type": "user", "sender_user": msg["from"], "date": msg["date"]}
    return {"type": "chat", "sender_chat": msg.get("sender_chat", msg["chat"]), "date": msg["date"]}


class ExternalReply(dict):  # type: ignore[type-arg]
    """Marks a reply target in another chat (sent as external_reply, not reply_to_message)."""


def _external_reply(source: Chat, msg: dict[str, Any]) -> ExternalReply:
    ext = ExternalReply(origin=_origin(msg), chat=source.to_dict(), message_id=msg["message_id"])
    ext.update({k: msg[k] for k in ("photo", "document", "location", "sticker") if k in msg})
    return ext
