"""JSON control API under /control/…, mirroring TelegramSandbox's Python API.

For driving the sandbox from another process (the demo runner, a benchmark client,
curl). Every answer is {"ok": true, "result": …} or {"ok": false, "error": "…"}.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import SandboxError

if TYPE_CHECKING:
    from .server import TelegramSandbox

_dumps = functools.partial(json.dumps, ensure_ascii=False)
Handler = Callable[[web.Request], Awaitable[web.Response]]


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result}, dumps=_dumps)


def _fail(message: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status, dumps=_dumps)


def _route(fn: Callable[[dict[str, Any], web.Request], Awaitable[Any]]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        body: Any = {}
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return _fail("body must be JSON")
        if not isinstance(body, dict | list):
            return _fail("body must be a JSON object")
        try:
            return _ok(await fn(body, request))
        except SandboxError as exc:
            return _fail(str(exc))
        except TimeoutError as exc:
            return _fail(str(exc), 408)
        except (KeyError, TypeError, ValueError) as exc:
            return _fail(f"bad request: {exc.__class__.__name__}: {exc}")

    return handler


def _pick(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: body[k] for k in keys if k in body}


def add_control_routes(app: web.Application, sb: TelegramSandbox) -> None:
    async def users(body: Any, _: web.Request) -> Any:
        items = body if isinstance(body, list) else [body]
        return [
            sb.add_user(
                int(u["id"]), u["first_name"], **_pick(u, "last_name", "username", "language_code")
            )
            for u in items
        ]

    async def chats(body: Any, _: web.Request) -> Any:
        items = body if isinstance(body, list) else [body]
        return [
            sb.add_chat(
                int(c["id"]), **_pick(c, "type", "title", "is_forum", "members", "username")
            )
            for c in items
        ]

    async def members(body: dict[str, Any], _: web.Request) -> Any:
        sb.add_member(int(body["chat_id"]), int(body["user_id"]), body.get("status", "member"))
        return True

    async def topics(body: dict[str, Any], _: web.Request) -> Any:
        uid = body.get("user_id")
        return {
            "message_thread_id": await sb.create_topic(
                int(body["chat_id"]), body["name"], user_id=int(uid) if uid is not None else None
            )
        }

    async def send(body: dict[str, Any], _: web.Request) -> Any:
        kwargs = _pick(
            body,
            "text",
            "photo",
            "caption",
            "reply_to",
            "thread_id",
            "media_group_id",
            "forward_from",
            "sticker",
            "document",
            "extra",
        )
        if body.get("location"):
            kwargs["location"] = tuple(body["location"])
        return await sb.user_sends(int(body["user_id"]), int(body["chat_id"]), **kwargs)

    async def album(body: dict[str, Any], _: web.Request) -> Any:
        return await sb.user_sends_album(
            int(body["user_id"]),
            int(body["chat_id"]),
            **_pick(body, "count", "caption", "thread_id", "reply_to"),
        )

    async def edit(body: dict[str, Any], _: web.Request) -> Any:
        return await sb.user_edits(
            int(body["user_id"]), int(body["chat_id"]), int(body["message_id"]), body["text"]
        )

    async def service(body: dict[str, Any], _: web.Request) -> Any:
        fields = dict(body)
        chat_id = int(fields.pop("chat_id"))
        return await sb.service_message(chat_id, **fields)

    async def migrate(body: dict[str, Any], _: web.Request) -> Any:
        old, new = await sb.migrate_chat(
            int(body["old_id"]), int(body["new_id"]), **_pick(body, "user_id")
        )
        return [old, new]

    async def press(body: dict[str, Any], _: web.Request) -> Any:
        args = (int(body["user_id"]), int(body["chat_id"]), int(body["message_id"]))
        if "data" in body:
            qid = await sb.press_raw(*args, body["data"])
        else:
            qid = await sb.press(*args, body["button"])
        return {"callback_query_id": qid}

    async def open_link(body: dict[str, Any], _: web.Request) -> Any:
        return await sb.open_link(
            int(body["user_id"]), int(body["chat_id"]), int(body["message_id"]), body["button"]
        )

    async def callback_answer(body: dict[str, Any], request: web.Request) -> Any:
        return await sb.callback_answer(
            request.match_info["query_id"], float(request.query.get("timeout", 5))
        )

    async def update(body: dict[str, Any], _: web.Request) -> Any:
        return await sb.inject_update(body)

    async def block(body: dict[str, Any], _: web.Request) -> Any:
        (sb.block_bot if body.get("blocked", True) else sb.unblock_bot)(int(body["user_id"]))
        return True

    async def delete_chat(body: dict[str, Any], request: web.Request) -> Any:
        sb.delete_chat(int(request.match_info["chat_id"]))
        return True

    async def transcript(body: dict[str, Any], request: web.Request) -> Any:
        return sb.transcript(int(request.match_info["chat_id"]))

    async def bot_messages(body: dict[str, Any], request: web.Request) -> Any:
        return sb.bot_messages(int(request.match_info["chat_id"]))

    async def wait(body: dict[str, Any], _: web.Request) -> Any:
        return await sb.wait_for_bot_message(
            int(body["chat_id"]), **_pick(body, "contains", "timeout", "since")
        )

    async def formatted(body: dict[str, Any], request: web.Request) -> Any:
        ids = request.query.get("chat_ids")
        return sb.format_transcript([int(i) for i in ids.split(",")] if ids else None)

    async def flood(body: dict[str, Any], _: web.Request) -> Any:
        if body:
            sb.set_flood(
                body.get("enabled", sb.flood.enabled),
                **_pick(body, "global_per_second", "group_per_minute", "chat_per_second"),
            )
        return sb.flood.settings()

    async def fail(body: dict[str, Any], _: web.Request) -> Any:
        sb.fail_next(
            body["method"],
            int(body["error_code"]),
            body["description"],
            int(body.get("count", 1)),
            body.get("retry_after"),
        )
        return sb.faults.pending()

    async def calls(body: dict[str, Any], request: web.Request) -> Any:
        method = request.query.get("method")
        return [
            c._asdict() for c in sb.calls if method is None or c.method.lower() == method.lower()
        ]

    async def privacy(body: dict[str, Any], _: web.Request) -> Any:
        sb.set_privacy_mode(bool(body["enabled"]))
        return True

    async def next_update_id(body: dict[str, Any], _: web.Request) -> Any:
        sb.set_next_update_id(int(body["update_id"]))
        return True

    async def send_times(body: dict[str, Any], request: web.Request) -> Any:
        return sb.send_times(int(request.match_info["chat_id"]))

    r = app.router
    r.add_post("/control/users", _route(users))
    r.add_post("/control/chats", _route(chats))
    r.add_post("/control/members", _route(members))
    r.add_post("/control/topics", _route(topics))
    r.add_post("/control/send", _route(send))
    r.add_post("/control/album", _route(album))
    r.add_post("/control/edit", _route(edit))
    r.add_post("/control/service", _route(service))
    r.add_post("/control/migrate", _route(migrate))
    r.add_post("/control/press", _route(press))
    r.add_post("/control/open_link", _route(open_link))
    r.add_get("/control/callback_answers/{query_id}", _route(callback_answer))
    r.add_post("/control/update", _route(update))
    r.add_post("/control/block", _route(block))
    r.add_delete("/control/chats/{chat_id}", _route(delete_chat))
    r.add_get("/control/chats/{chat_id}/transcript", _route(transcript))
    r.add_get("/control/chats/{chat_id}/bot_messages", _route(bot_messages))
    r.add_get("/control/chats/{chat_id}/send_times", _route(send_times))
    r.add_post("/control/wait", _route(wait))
    r.add_get("/control/transcript", _route(formatted))
    r.add_post("/control/flood", _route(flood))
    r.add_get("/control/flood", _route(flood))
    r.add_post("/control/fail", _route(fail))
    r.add_get("/control/calls", _route(calls))
    r.add_post("/control/privacy", _route(privacy))
    r.add_post("/control/next_update_id", _route(next_update_id))
