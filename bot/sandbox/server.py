"""TelegramSandbox: the object tests, the demo and benchmarks hold.

It owns the world (users, chats, messages), the update queue, flood control and
fault injection, and serves the Bot API plus a JSON control API over aiohttp.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .actors import UserActions
from .api import BotApi, Call
from .control import add_control_routes
from .errors import SandboxError
from .events import ChatEvents
from .limits import FaultInjector, FloodControl, Hold
from .markup import button_rows
from .state import Chat, User, World
from .transcript import format_transcript, plain_text
from .updates import UpdateQueue


class SandboxTimeout(asyncio.TimeoutError):
    """A wait_for_* gave up; the message says what was there instead."""


class TelegramSandbox(UserActions, ChatEvents):
    def __init__(
        self,
        bot_token: str = "123456:TEST",
        bot_username: str = "huying_bot",
        *,
        bot_name: str = "呼应",
        privacy_mode: bool = True,
        first_update_id: int = 1,
        clock: Callable[[], float] = time.time,
    ):
        self.token = bot_token
        self.bot_id = int(bot_token.split(":", 1)[0])
        bot_user = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.world = World(bot_user, clock)
        self.world.on_message = lambda chat, msg: self.notify()
        # Privacy mode (BotFather /setprivacy): in groups where the bot is not an admin it
        # only receives commands, mentions of it, replies to it and service messages.
        self.privacy_mode = privacy_mode
        self.api = BotApi(self)
        self.updates = UpdateQueue(first_update_id, execute=self.api.execute)
        self.flood = FloodControl()
        self.faults = FaultInjector()
        self.calls: list[Call] = []
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []  # presses and answers, for transcripts
        self.base_url: str | None = None
        self._action_seq = 0
        self._consumed: set[tuple[int, int]] = set()
        self._waiters: set[asyncio.Future[None]] = set()
        self._runner: web.AppRunner | None = None

    # --- lifecycle --------------------------------------------------------------------------
    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)  # uploads up to 50 MB
        app.router.add_route("*", "/bot{token}/{method}", self.api.handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self.api.handle_file)
        add_control_routes(app, self)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 = a free port); returns and sets base_url."""
        if self._runner is not None:
            raise SandboxError("sandbox already started")
        self.updates.open()
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        real_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{real_port}"
        return self.base_url

    async def stop(self) -> None:
        await self.updates.close()  # releases pending long polls first
        self.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- setup ------------------------------------------------------------------------------
    def add_user(
        self,
        id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> dict[str, Any]:
        user = User(id, first_name, last_name, username, language_code)
        self.world.users[id] = user
        return user.to_dict()

    def add_chat(
        self,
        id: int,
        type: str = "supergroup",
        title: str | None = None,
        is_forum: bool = False,
        members: dict[int, str] | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        if type not in ("private", "group", "supergroup", "channel"):
            raise SandboxError(f"bad chat type {type!r}")
        chat = Chat(
            id=id,
            type=type,
            title=title,
            username=username,
            is_forum=is_forum and type == "supergroup",
        )
        if type == "private":
            user = self._user(id)
            chat.first_name, chat.last_name, chat.username = (
                user.first_name,
                user.last_name,
                user.username,
            )
        chat.members = {int(k): v for k, v in (members or {}).items()}
        self.world.chats[id] = chat
        return chat.to_dict()

    def add_member(self, chat_id: int, user_id: int, status: str = "member") -> None:
        self._chat(chat_id).members[user_id] = status

    def set_privacy_mode(self, enabled: bool) -> None:
        self.privacy_mode = enabled

    def set_next_update_id(self, update_id: int) -> None:
        """Simulate Telegram restarting the update_id sequence."""
        self.updates.set_next_update_id(update_id)

    # --- flood and faults -------------------------------------------------------------------
    def set_flood(
        self,
        enabled: bool = True,
        *,
        global_per_second: float | None = None,
        group_per_minute: float | None = None,
        chat_per_second: float | None = None,
    ) -> None:
        self.flood.configure(
            enabled,
            global_per_second=global_per_second,
            group_per_minute=group_per_minute,
            chat_per_second=chat_per_second,
        )

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        count: int = 1,
        retry_after: int | None = None,
    ) -> None:
        self.faults.fail_next(method, error_code, description, count, retry_after)

    def hold_next(self, method: str) -> Hold:
        """Keep the next `method` call unanswered until ``hold.release()`` (a slow Telegram);
        ``hold.arrived`` is set when the call comes in."""
        return self.faults.hold_next(method)

    def send_times(self, chat_id: int) -> list[float]:
        """time.monotonic() of every message the bot delivered into chat_id."""
        return list(self.flood.send_times.get(chat_id, []))

    # --- reading ----------------------------------------------------------------------------
    @staticmethod
    def _export(chat: Chat, mid: int) -> dict[str, Any]:
        msg = copy.deepcopy(chat.messages[mid])
        if chat.meta[mid].deleted:
            msg["_deleted"] = True
        return msg

    def transcript(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message of the chat in order; deleted ones carry "_deleted": True."""
        chat = self.world.chats.get(chat_id)
        return [self._export(chat, mid) for mid in sorted(chat.messages)] if chat else []

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages still visible in the chat (not deleted), in order."""
        chat = self.world.chats.get(chat_id)
        if chat is None:
            return []
        return [
            copy.deepcopy(chat.messages[mid])
            for mid in sorted(chat.messages)
            if chat.meta[mid].from_bot and not chat.meta[mid].deleted
        ]

    def last_bot_message(self, chat_id: int) -> dict[str, Any] | None:
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    @staticmethod
    def buttons(message: Any) -> list[list[str]]:
        """Inline button texts by row; takes a message dict or an aiogram Message."""
        if not isinstance(message, dict):
            message = message.model_dump(exclude_none=True)
        return [[b["text"] for b in row] for row in button_rows(message)]

    def bot_reaction(self, chat_id: int, message_id: int) -> str | None:
        """The emoji the bot reacted to a message with (None: no reaction)."""
        chat = self.world.chats.get(chat_id)
        meta = chat.meta.get(message_id) if chat else None
        return meta.bot_reaction if meta else None

    def restrict_reactions(self, chat_id: int, emojis: list[str] | None) -> None:
        """An admin limits the reactions of a chat (None: all standard ones again)."""
        self._chat(chat_id).available_reactions = None if emojis is None else frozenset(emojis)

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        chat = self.world.chats.get(chat_id)
        return self._export(chat, message_id) if chat and message_id in chat.messages else None

    def format_transcript(
        self, chat_ids: list[int] | None = None, names: dict[int, str] | None = None
    ) -> str:
        return format_transcript(self, chat_ids, names)

    # --- waiting ----------------------------------------------------------------------------
    def notify(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    async def _wait_until(
        self, check: Callable[[], Any], timeout: float, what: Callable[[], str]
    ) -> Any:
        deadline = time.monotonic() + timeout
        while (found := check()) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxTimeout(what())
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.add(fut)
            try:
                await asyncio.wait_for(fut, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(fut)
        return found

    async def wait_for_bot_message(
        self,
        chat_id: int,
        contains: str | None = None,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
        since: int | None = None,
    ) -> dict[str, Any]:
        """The first matching bot message in chat_id that is new.

        "New" by default means: sent after the most recent sandbox action that produced an
        update (user_sends, press, inject_update, ...) and not already returned by an
        earlier wait_for_bot_message. Actions never yield to the event loop before
        returning, so the bot's reply cannot slip in before this call: no race. Pass
        `since=<message_id>` to instead take the first match with a greater id.
        `contains` matches the text or caption, raw or with HTML markup removed. Deleted
        messages still count (they were sent).
        """
        mark = self._action_seq

        def check() -> tuple[int, dict[str, Any]] | None:
            chat = self.world.chats.get(chat_id)
            if chat is None:
                return None
            for mid in sorted(chat.messages):
                meta = chat.meta[mid]
                if not meta.from_bot:
                    continue
                if since is not None:
                    if mid <= since:
                        continue
                elif meta.seq <= mark or (chat_id, mid) in self._consumed:
                    continue
                msg = chat.messages[mid]
                if contains is not None:
                    raw = msg.get("text") or msg.get("caption") or ""
                    if contains not in raw and contains not in plain_text(raw, meta.parse_mode):
                        continue
                exported = self._export(chat, mid)
                if predicate is not None and not predicate(exported):
                    continue
                return mid, exported
            return None

        def describe() -> str:
            seen = [
                (m["message_id"], (m.get("text") or m.get("caption") or "")[:60])
                for m in self.transcript(chat_id)
                if m.get("from", {}).get("id") == self.bot_id
            ][-5:]
            return (
                f"no bot message in chat {chat_id} matching contains={contains!r} within "
                f"{timeout}s; last bot messages: {seen}"
            )

        mid, msg = await self._wait_until(check, timeout, describe)
        self._consumed.add((chat_id, mid))
        return msg

    def record_callback_answer(self, query_id: str, answer: dict[str, Any]) -> None:
        self.callback_answers[query_id] = answer
        query = self.callback_queries[query_id]
        chat = (query.get("message") or {}).get("chat", {}).get("id")
        self.events.append(
            {
                "seq": self.world.next_seq(),
                "type": "answer",
                "chat_id": chat,
                "query_id": query_id,
                **answer,
            }
        )
        self.notify()

    async def callback_answer(self, query_id: str, timeout: float = 5) -> dict[str, Any]:
        """Wait for the bot's answerCallbackQuery: {"text", "show_alert", "url"}."""
        answer = await self._wait_until(
            lambda: self.callback_answers.get(query_id),
            timeout,
            lambda: f"bot did not answer callback query {query_id} within {timeout}s",
        )
        return dict(answer)

    def pending_updates(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(item.update) for item in self.updates.pending]
