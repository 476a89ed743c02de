"""The bot's update queue: getUpdates long polling and webhook delivery.

Offset semantics follow the Bot API: an update is confirmed (dropped) once getUpdates
is called with an offset greater than its id. One exception models Telegram restarting
the id sequence (DESIGN §5): updates created after a restart are protected from
numeric confirmation until they have been returned once, because the bot's offset still
belongs to the old, higher sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .errors import ApiError

log = logging.getLogger(__name__)

# Telegram's default when allowed_updates is not specified (or is empty).
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
WEBHOOK_BACKOFF = (0.05, 0.1, 0.2, 0.4)  # short: tests should see retries quickly


def update_type(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "unknown")


@dataclass
class _Item:
    update: dict[str, Any]
    protected: bool = False
    delivered: bool = False
    posting: bool = False  # a webhook POST of it is under way (parallel delivery)


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # attempts, for tests


class UpdateQueue:
    def __init__(
        self,
        first_update_id: int = 1,
        execute: Callable[[str, dict[str, Any]], Awaitable[Any]] | None = None,
    ):
        self.next_update_id = first_update_id
        self.pending: list[_Item] = []
        self.allowed: list[str] | None = None
        self.webhook: Webhook | None = None
        self.webhook_history: list[Webhook] = []
        self._execute = execute  # runs a method returned in a webhook response
        self._waiters: set[asyncio.Future[None]] = set()
        self._poll_gen = 0
        self._protect_new = False
        self._closing = False
        self._worker: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        # Webhook delivery: one update at a time by default (deterministic for tests); True:
        # up to the webhook's max_connections POSTs at once, as Telegram does (benchmarks).
        self.parallel_webhook = False

    # --- producing ----------------------------------------------------------------------
    def set_next_update_id(self, n: int) -> None:
        self.next_update_id = n
        self._protect_new = True

    def push(self, update: dict[str, Any], *, filtered: bool = True) -> dict[str, Any] | None:
        """Queue an update; None if the bot's allowed_updates excludes its type."""
        if filtered and not self._wanted(update_type(update)):
            return None
        if "update_id" not in update:
            update = {"update_id": self.next_update_id, **update}
        self.next_update_id = max(self.next_update_id, update["update_id"] + 1)
        self.pending.append(_Item(update, protected=self._protect_new))
        self._wake()
        return update

    def _wanted(self, kind: str) -> bool:
        allowed = self.webhook.allowed_updates if self.webhook else self.allowed
        if allowed:
            return kind in allowed
        return kind not in NOT_BY_DEFAULT

    def _wake(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    async def _wait(self, timeout: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(fut)

    # --- getUpdates -----------------------------------------------------------------------
    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self.pending = self.pending[offset:]  # keep the last -offset updates
        elif offset > 0:
            self.pending = [
                it
                for it in self.pending
                if it.update["update_id"] >= offset or (it.protected and not it.delivered)
            ]

    async def get_updates(
        self,
        offset: int = 0,
        limit: int = 100,
        timeout: float = 0,
        allowed_updates: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if allowed_updates is not None:
            self.allowed = list(allowed_updates) or None
        self._confirm(int(offset or 0))
        limit = max(1, min(int(limit or 100), 100))
        self._poll_gen += 1
        gen = self._poll_gen
        deadline = time.monotonic() + float(timeout or 0)
        while True:
            if gen != self._poll_gen:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            batch = self.pending[:limit]
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._closing:
                for it in batch:
                    it.delivered = True
                return [it.update for it in batch]
            await self._wait(remaining)

    # --- webhook --------------------------------------------------------------------------
    def set_webhook(
        self,
        url: str,
        secret_token: str | None = None,
        max_connections: int | None = None,
        allowed_updates: list[str] | None = None,
        drop_pending: bool = False,
    ) -> None:
        if drop_pending:
            self.pending.clear()
        if not url:
            self.delete_webhook()
            return
        self.webhook = Webhook(url, secret_token, max_connections or 40, allowed_updates or None)
        self.webhook_history.append(self.webhook)
        self._poll_gen += 1  # a waiting getUpdates must not keep serving
        self._wake()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._deliver_loop())

    def delete_webhook(self, drop_pending: bool = False) -> None:
        if drop_pending:
            self.pending.clear()
        self.webhook = None
        self._wake()

    def webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }
        if self.webhook:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates:
                info["allowed_updates"] = self.webhook.allowed_updates
            if self.webhook.last_error_date:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        return info

    async def _deliver_loop(self) -> None:
        # One update at a time, in order: deterministic for tests. Telegram would use
        # up to max_connections in parallel (``parallel_webhook``).
        if self.parallel_webhook and self.webhook is not None:
            await asyncio.gather(*(self._deliver_some() for _ in range(self.webhook.max_connections)))
            return
        while not self._closing and self.webhook is not None:
            if not self.pending:
                await self._wait(3600)
                continue
            hook, item = self.webhook, self.pending[0]
            finished = await self._deliver(hook, item.update)
            if finished and self.pending and self.pending[0] is item:
                self.pending.pop(0)

    async def _deliver_some(self) -> None:
        """One of max_connections: the oldest update nobody is posting, again and again."""
        while not self._closing and self.webhook is not None:
            item = next((it for it in self.pending if not it.posting), None)
            if item is None:
                await self._wait(3600)
                continue
            item.posting = True
            finished = await self._deliver(self.webhook, item.update)
            item.posting = False
            if finished:
                self.pending = [it for it in self.pending if it is not item]

    async def _deliver(self, hook: Webhook, update: dict[str, Any]) -> bool:
        """True once delivered or given up; False if the webhook changed meanwhile."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        body = json.dumps(update, ensure_ascii=False).encode()
        error = "no attempt"
        for attempt, pause in enumerate((0.0, *WEBHOOK_BACKOFF)):
            if pause:
                await asyncio.sleep(pause)
            if self._closing or self.webhook is not hook:
                return False
            try:
                async with self._http.post(
                    hook.url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
                ) as resp:
                    hook.deliveries.append(
                        {
                            "update_id": update["update_id"],
                            "attempt": attempt,
                            "status": resp.status,
                        }
                    )
                    if 200 <= resp.status < 300:
                        await self._run_response_method(resp)
                        return True
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                hook.deliveries.append(
                    {"update_id": update["update_id"], "attempt": attempt, "error": str(exc)}
                )
                error = f"Connection failed: {exc.__class__.__name__}"
        hook.last_error_date = int(time.time())
        hook.last_error_message = error
        log.warning("sandbox webhook gave up on update %s: %s", update["update_id"], error)
        return True

    async def _run_response_method(self, resp: aiohttp.ClientResponse) -> None:
        """Telegram executes a Bot API call returned as the webhook response body."""
        if self._execute is None:
            return
        params: dict[str, Any] = {}
        ctype = resp.content_type
        try:
            if ctype == "application/json":
                data = await resp.json(content_type=None)
                if isinstance(data, dict):
                    params = data
            elif ctype.startswith("multipart/"):
                reader = aiohttp.MultipartReader.from_response(resp)
                while (part := await reader.next()) is not None:
                    if isinstance(part, aiohttp.BodyPartReader) and part.name:
                        raw = await part.read()
                        params[part.name] = raw if part.filename else raw.decode()
        except (ValueError, aiohttp.ClientError):
            return
        method = params.pop("method", None)
        if method:
            try:
                await self._execute(str(method), params)
            except Exception:
                log.debug("webhook response method %s failed", method, exc_info=True)

    def open(self) -> None:
        self._closing = False

    async def close(self) -> None:
        self._closing = True
        self._wake()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker
        if self._http is not None:
            await self._http.close()
