"""A readable, one-line-per-event transcript for `make demo` and failing tests.

    [港口镇社区群] 张阿姨: 小区门口垃圾三天没人清运了 📷×3
    [港口镇社区群] 呼应 ↪ 张阿姨「小区门口垃圾三天没人…」: 已受理 [签收] [退单]
    [调度群] 李调度 ▶ [签收]

Albums fold into one line; replies show who and what they answer; button presses,
callback answers and the bot's edits (``✎#<message id>: new text``) are interleaved in the
order they happened, the edited message itself shown as it was first sent.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import TelegramSandbox
    from .state import Chat


_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


def plain_text(text: str, parse_mode: str | None) -> str:
    """Readable text: HTML tags dropped, escapes resolved (storage keeps it raw)."""
    if (parse_mode or "").lower() == "html":
        return html.unescape(_HTML_TAG.sub("", text))
    return text


def _short(text: str, n: int = 12) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= n else text[:n] + "…"


class _Namer:
    def __init__(self, sb: TelegramSandbox, names: dict[int, str] | None):
        self.sb, self.names = sb, names or {}

    def person(self, user: dict[str, Any] | None) -> str:
        if not user:
            return "?"
        if user["id"] in self.names:
            return self.names[user["id"]]
        known = self.sb.world.users.get(user["id"])
        if known:
            return known.full_name
        return " ".join(filter(None, [user.get("first_name"), user.get("last_name")])) or str(
            user["id"]
        )

    def chat(self, chat: Chat, thread_id: int | None = None) -> str:
        if chat.id in self.names:
            label = self.names[chat.id]
        elif chat.type == "private":
            label = "私聊·" + self.person({"id": chat.id, "first_name": chat.first_name})
        else:
            label = chat.title or str(chat.id)
        if thread_id and thread_id in chat.topics:
            label += f" › {chat.topics[thread_id]}"
        return f"[{label}]"

    def sender(self, msg: dict[str, Any]) -> str:
        if "from" in msg:
            return self.person(msg["from"])
        sender_chat = msg.get("sender_chat") or msg.get("chat") or {}
        return self.names.get(sender_chat.get("id"), sender_chat.get("title") or "?")


def _body(msg: dict[str, Any], namer: _Namer, album: int, parse_mode: str | None) -> str:
    parts: list[str] = []
    origin = msg.get("forward_origin")
    if origin:
        who = (
            origin.get("sender_user_name")
            or (origin.get("sender_user") and namer.person(origin["sender_user"]))
            or ((origin.get("sender_chat") or origin.get("chat") or {}).get("title"))
            or "?"
        )
        parts.append(f"[转发自 {who}]")
    text = msg.get("text") or msg.get("caption")
    if text:
        parts.append(plain_text(text, parse_mode).replace("\n", " │ "))
    if "photo" in msg:
        parts.append(f"📷×{album}" if album > 1 else "📷")
    for key, icon in (("document", "📎"), ("video", "🎬"), ("audio", "🎵")):
        if key in msg:
            name = msg[key].get("file_name", "")
            parts.append(f"{icon}{name}" + (f"×{album}" if album > 1 else ""))
    if "location" in msg:
        loc = msg["location"]
        parts.append(f"📍{loc['latitude']:.5f},{loc['longitude']:.5f}")
    if "sticker" in msg:
        parts.append(f"[贴纸 {msg['sticker'].get('emoji', '')}]")
    parts.extend(_service(msg, namer))
    return " ".join(parts)


def _service(msg: dict[str, Any], namer: _Namer) -> list[str]:
    out = []
    if "new_chat_members" in msg:
        out.append("➕ " + "、".join(namer.person(u) for u in msg["new_chat_members"]) + " 加入")
    if "left_chat_member" in msg:
        out.append("➖ " + namer.person(msg["left_chat_member"]) + " 离开")
    if "pinned_message" in msg:
        pinned = msg["pinned_message"]
        out.append(
            "📌 置顶「" + _short(pinned.get("text") or pinned.get("caption") or "…", 20) + "」"
        )
    if "forum_topic_created" in msg:
        out.append(f"🗂 新话题「{msg['forum_topic_created'].get('name', '')}」")
    if "migrate_to_chat_id" in msg:
        out.append(f"⇢ 群升级为超级群 {msg['migrate_to_chat_id']}")
    if "migrate_from_chat_id" in msg:
        out.append(f"⇠ 由群 {msg['migrate_from_chat_id']} 升级而来")
    return out


def _buttons(msg: dict[str, Any], reply_keyboard: dict[str, Any] | None) -> str:
    rows = (msg.get("reply_markup") or {}).get("inline_keyboard") or []
    out = " ".join(f"[{b['text']}]" for row in rows for b in row)
    keys = (reply_keyboard or {}).get("keyboard")
    if keys:
        labels = [b if isinstance(b, str) else b.get("text", "") for row in keys for b in row]
        out += (" " if out else "") + "⌨ " + " ".join(f"[{t}]" for t in labels)
    return out


def _chat_of(sb: TelegramSandbox, chat_id: int) -> Chat | None:
    return sb.world.chats.get(chat_id)


def format_transcript(
    sb: TelegramSandbox, chat_ids: list[int] | None = None, names: dict[int, str] | None = None
) -> str:
    namer = _Namer(sb, names)
    wanted = set(chat_ids) if chat_ids is not None else None
    rows: list[tuple[int, str]] = []
    for chat in sb.world.chats.values():
        if wanted is not None and chat.id not in wanted:
            continue
        albums: dict[str, list[int]] = {}
        for mid, msg in chat.messages.items():
            if msg.get("media_group_id"):
                albums.setdefault(msg["media_group_id"], []).append(mid)
        for mid in sorted(chat.messages):
            msg, meta = chat.messages[mid], chat.meta[mid]
            if meta.from_bot and meta.original is not None:
                msg = meta.original  # as it was sent; its edits follow at the moment they happened
            group = albums.get(msg.get("media_group_id") or "", [mid])
            if mid != group[0]:
                continue  # folded into the album's first line
            album_msgs = [chat.messages[m] for m in group]
            lead = next((m for m in album_msgs if m.get("caption")), msg)
            line = f"{namer.chat(chat, msg.get('message_thread_id'))} {namer.sender(msg)}"
            reply = msg.get("reply_to_message")
            if reply and not (
                msg.get("is_topic_message") and reply["message_id"] == msg.get("message_thread_id")
            ):
                quoted = (
                    reply.get("text") or reply.get("caption") or ("📷" if "photo" in reply else "…")
                )
                line += f" ↪ {namer.sender(reply)}「{_short(quoted)}」"
            elif ext := msg.get("external_reply"):
                where = namer.chat(_chat_of(sb, ext["chat"]["id"]) or chat)
                line += f" ↪ {where}#{ext['message_id']}"
            if lead is not msg and meta.from_bot and meta.original is not None:
                lead = msg
            line += ": " + _body(lead, namer, len(group), meta.parse_mode)
            if buttons := _buttons(msg, meta.reply_keyboard):
                line += "  " + buttons
            if "edit_date" in msg:
                line += " ✎"
            if meta.deleted:
                line += " 🗑(已删除)"
            rows.append((meta.seq, line))
    for ev in sb.events:
        chat = sb.world.chats.get(ev.get("chat_id"))  # type: ignore[arg-type]
        if chat is None or (wanted is not None and chat.id not in wanted):
            continue
        if ev["type"] == "press":
            label = ev["label"] if ev["label"] is not None else f"data={ev['data']!r}"
            who = namer.person(sb.world.user_dict(ev["user_id"]))
            rows.append((ev["seq"], f"{namer.chat(chat)} {who} ▶ [{label}]"))
        elif ev["type"] == "edit":
            msg = ev["message"]
            line = f"{namer.chat(chat, msg.get('message_thread_id'))} {namer.sender(msg)} ✎#{msg['message_id']}: "
            line += _body(msg, namer, 1, None)
            if buttons := _buttons(msg, None):
                line += "  " + buttons
            rows.append((ev["seq"], line))
        elif ev["type"] == "reaction":
            target = chat.messages.get(ev["message_id"]) or {}
            quoted = target.get("text") or target.get("caption") or "…"
            bot_name = namer.person(sb.world.bot_user)
            rows.append((ev["seq"], f"{namer.chat(chat)} {bot_name} {ev['emoji'] or '∅'} → "
                                    f"{namer.sender(target)}「{_short(quoted)}」"))
        elif ev["type"] == "answer" and ev.get("text"):
            kind = "弹窗" if ev.get("show_alert") else "提示"
            rows.append((ev["seq"], f"{namer.chat(chat)}   ↳ ({kind}) {ev['text']}"))
    rows.sort()
    return "\n".join(line for _, line in rows)
