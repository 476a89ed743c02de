"""The Bot API endpoint: routing, the call log, and the non-sending methods."""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from aiohttp import web

from .errors import CHAT_NOT_FOUND, QUERY_TOO_OLD, ApiError, bad_request
from .params import Upload, read_params, split_uploads
from .sending import SendingMethods
from .state import ADMIN_STATUSES, GROUP_TYPES, Chat

if TYPE_CHECKING:
    from .server import TelegramSandbox

_dumps = functools.partial(json.dumps, ensure_ascii=False)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
# Camel-case names for the call log; lookup is case-insensitive like Telegram's.
METHODS = (
    "getMe getUpdates setWebhook deleteWebhook getWebhookInfo sendMessage sendPhoto sendVideo "
    "sendMediaGroup sendLocation sendDocument forwardMessage copyMessage editMessageText "
    "editMessageReplyMarkup editMessageCaption deleteMessage setMessageReaction answerCallbackQuery getFile "
    "getChat getChatMember getChatAdministrators getChatMemberCount setMyCommands "
    "deleteMyCommands getMyCommands sendChatAction pinChatMessage unpinChatMessage "
    "unpinAllChatMessages leaveChat createForumTopic editForumTopic closeForumTopic "
    "reopenForumTopic deleteForumTopic setMyDescription setMyShortDescription setMyName "
    "setChatMenuButton setMyDefaultAdministratorRights close logOut"
).split()
CANONICAL = {m.lower(): m for m in METHODS}
UNLOGGED = frozenset({"getUpdates"})  # long polling would drown the log


class Call(NamedTuple):
    method: str
    params: dict[str, Any]
    ok: bool


def _admin_rights(user: dict[str, Any]) -> dict[str, Any]:
    rights = dict.fromkeys(
        "can_be_edited is_anonymous can_manage_chat can_delete_messages can_manage_video_chats "
        "can_restrict_members can_promote_members can_change_info can_invite_users "
        "can_post_stories can_edit_stories can_delete_stories can_send_welcome_messages "
        "can_pin_messages can_manage_topics".split(),
        True,
    )
    rights.update(can_be_edited=False, is_anonymous=False)
    return {"status": "administrator", "user": user, **rights}


class BotApi(SendingMethods):
    def __init__(self, sb: TelegramSandbox):
        self.sb = sb

    # --- HTTP -------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.sb.token:
            return self._json({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        try:
            params, uploads = await read_params(request)
        except ApiError as exc:
            return self._json(exc.payload(), exc.code)
        status, body = await self.call(request.match_info["method"], params, uploads)
        return self._json(body, status)

    async def handle_file(self, request: web.Request) -> web.Response:
        rec = self.sb.world.files_by_path.get(request.match_info["path"])
        if request.match_info["token"] != self.sb.token or rec is None:
            return self._json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return web.Response(body=rec.data, content_type=rec.mime_type or "application/octet-stream")

    @staticmethod
    def _json(body: Any, status: int = 200) -> web.Response:
        return web.json_response(body, status=status, dumps=_dumps)

    async def execute(self, method: str, raw: dict[str, Any]) -> Any:
        """A call made without HTTP (a method returned in a webhook response)."""
        params, uploads = split_uploads(raw)
        status, body = await self.call(method, params, uploads)
        if status != 200:
            raise ApiError(status, body["description"], body.get("parameters"))
        return body["result"]

    async def call(
        self, method: str, params: dict[str, Any], uploads: dict[str, Upload]
    ) -> tuple[int, dict[str, Any]]:
        name = CANONICAL.get(method.lower())
        if name is None:
            return 404, {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        hold = self.sb.faults.take_hold(name)
        if hold is not None:
            hold.params = dict(params)
            hold.arrived.set()
            await hold.released.wait()
        try:
            fault = self.sb.faults.take(name)
            if fault is not None:
                raise fault
            result = await getattr(self, f"api_{name.lower()}")(params, uploads)
        except ApiError as exc:
            self._log(name, params, False)
            return exc.code, exc.payload()
        self._log(name, params, True)
        return 200, {"ok": True, "result": result}

    def _log(self, name: str, params: dict[str, Any], ok: bool) -> None:
        if name not in UNLOGGED:
            self.sb.calls.append(Call(name, params, ok))

    # --- bot and updates --------------------------------------------------------------------
    async def api_getme(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        return {
            **self.sb.world.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.sb.privacy_mode,
            "supports_inline_queries": False,
        }

    async def api_getupdates(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        updates = await self.sb.updates.get_updates(
            p.get("offset") or 0,
            p.get("limit") or 100,
            p.get("timeout") or 0,
            p.get("allowed_updates"),
        )
        return copy.deepcopy(updates)

    async def api_setwebhook(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        url = p.get("url") or ""
        if url and not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        self.sb.updates.set_webhook(
            url,
            secret,
            p.get("max_connections"),
            p.get("allowed_updates"),
            bool(p.get("drop_pending_updates")),
        )
        return True

    async def api_deletewebhook(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        self.sb.updates.delete_webhook(bool(p.get("drop_pending_updates")))
        return True

    async def api_getwebhookinfo(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        return self.sb.updates.webhook_info()

    async def api_answercallbackquery(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        qid = str(p.get("callback_query_id") or "")
        if qid not in self.sb.callback_queries or qid in self.sb.callback_answers:
            raise bad_request(QUERY_TOO_OLD)
        text = p.get("text")
        if text and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.sb.record_callback_answer(
            qid,
            {
                "text": text,
                "show_alert": bool(p.get("show_alert")),
                "url": p.get("url"),
            },
        )
        return True

    # --- files ------------------------------------------------------------------------------
    async def api_getfile(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        rec = self.sb.world.files.get(str(p.get("file_id") or ""))
        if rec is None:
            raise bad_request("invalid file_id")
        return rec.to_file()

    # --- chats and members ------------------------------------------------------------------
    def _chat_for_read(self, chat_id: Any) -> Chat:
        world = self.sb.world
        cid = world.resolve_chat_id(chat_id)
        if cid not in world.chats and cid in world.users:
            return Chat(
                id=cid,
                type="private",
                first_name=world.users[cid].first_name,
                last_name=world.users[cid].last_name,
                username=world.users[cid].username,
            )
        return world.target_chat(cid)

    async def api_getchat(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        chat = self._chat_for_read(p.get("chat_id"))
        info = chat.to_dict()
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        if chat.pinned and chat.live(chat.pinned):
            info["pinned_message"] = copy.deepcopy(chat.live(chat.pinned))
        return info

    def _member(self, chat: Chat, user_id: int) -> dict[str, Any]:
        world = self.sb.world
        user = world.user_dict(user_id)
        if chat.type == "private":
            status = "member" if user_id in (chat.id, world.bot_id) else "left"
        else:
            status = chat.members.get(user_id) or (
                world.bot_status(chat) if user_id == world.bot_id else "left"
            )
        if status == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if status == "administrator":
            return _admin_rights(user)
        if status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        if status == "restricted":
            perms = dict.fromkeys(
                "can_send_messages can_send_audios can_send_documents can_send_photos "
                "can_send_videos can_send_video_notes can_send_voice_notes can_send_polls "
                "can_send_other_messages can_add_web_page_previews can_react_to_messages "
                "can_edit_tag can_change_info can_invite_users can_pin_messages "
                "can_manage_topics".split(),
                False,
            )
            return {
                "status": "restricted",
                "user": user,
                "is_member": True,
                "until_date": 0,
                **perms,
            }
        return {"status": status if status in ("member", "left") else "member", "user": user}

    async def api_getchatmember(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        chat = self._chat_for_read(p.get("chat_id"))
        if p.get("user_id") is None:
            raise bad_request("invalid user_id specified")
        return self._member(chat, int(p["user_id"]))

    async def api_getchatadministrators(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        chat = self._chat_for_read(p.get("chat_id"))
        if chat.type not in (*GROUP_TYPES, "channel"):
            raise bad_request("there are no administrators in the private chat")
        ids = [uid for uid, s in chat.members.items() if s in ADMIN_STATUSES]
        if self.sb.world.bot_status(chat) in ADMIN_STATUSES and self.sb.world.bot_id not in ids:
            ids.append(self.sb.world.bot_id)
        return [self._member(chat, uid) for uid in ids]

    async def api_getchatmembercount(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        chat = self._chat_for_read(p.get("chat_id"))
        if chat.type == "private":
            return 2
        present = [s for s in chat.members.values() if s not in ("left", "kicked")]
        return len(present) + (0 if self.sb.world.bot_id in chat.members else 1)

    async def api_sendchataction(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        self.sb.world.target_chat(p.get("chat_id"))
        return True

    async def api_pinchatmessage(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        chat = self.sb.world.target_chat(p.get("chat_id"))
        if chat.live(p.get("message_id")) is None:
            raise bad_request("message to pin not found")
        chat.pinned = int(p["message_id"])
        return True

    async def api_unpinchatmessage(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        self.sb.world.target_chat(p.get("chat_id")).pinned = None
        return True

    async def api_unpinallchatmessages(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        return await self.api_unpinchatmessage(p, u)

    async def api_leavechat(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        chat = self.sb.world.target_chat(p.get("chat_id"))
        if chat.type == "private":
            raise bad_request(CHAT_NOT_FOUND)
        chat.bot_removed = True
        return True

    # --- forum topics -----------------------------------------------------------------------
    async def api_createforumtopic(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        chat = self.sb.world.target_chat(p.get("chat_id"))
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        name = p.get("name") or ""
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_INVALID")
        color = p.get("icon_color") or 7322096
        thread_id = self.sb.open_topic(chat, name, color, creator=dict(self.sb.world.bot_user))
        return {"message_thread_id": thread_id, "name": name, "icon_color": color}

    def _topic(self, p: dict[str, Any]) -> Chat:
        chat = self.sb.world.target_chat(p.get("chat_id"))
        if p.get("message_thread_id") not in chat.topics:
            raise bad_request("TOPIC_ID_INVALID")
        return chat

    async def api_editforumtopic(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        chat = self._topic(p)
        if p.get("name"):
            chat.topics[p["message_thread_id"]] = p["name"]
        return True

    async def api_closeforumtopic(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        self._topic(p)
        return True

    api_reopenforumtopic = api_closeforumtopic

    async def api_deleteforumtopic(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        chat = self._topic(p)
        thread_id = p["message_thread_id"]
        del chat.topics[thread_id]
        for mid, msg in chat.messages.items():
            if msg.get("message_thread_id") == thread_id and msg.get("is_topic_message"):
                chat.meta[mid].deleted = True
        return True

    # --- commands and profile ---------------------------------------------------------------
    @staticmethod
    def _commands_key(p: dict[str, Any]) -> str:
        scope = p.get("scope") or {"type": "default"}
        return f"{json.dumps(scope, sort_keys=True)}|{p.get('language_code') or ''}"

    async def api_setmycommands(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for cmd in commands:
            if not _COMMAND_NAME.fullmatch(str(cmd.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(cmd.get("description") or "") <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.sb.commands[self._commands_key(p)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def api_deletemycommands(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        self.sb.commands.pop(self._commands_key(p), None)
        return True

    async def api_getmycommands(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        return copy.deepcopy(self.sb.commands.get(self._commands_key(p), []))

    async def _accept(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        return True

    api_setmydescription = api_setmyshortdescription = api_setmyname = _accept
    api_setchatmenubutton = api_setmydefaultadministratorrights = _accept
    api_close = api_logout = _accept
