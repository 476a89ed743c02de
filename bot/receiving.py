"""Receiving updates into the inbox: long polling of our own, and the webhook's group commit.

Long polling: getUpdates → commit the raw updates to the inbox → only then move the offset.

Telegram forgets an update once getUpdates is called with a higher offset, so the offset
moves past an update only after it is committed to the inbox.  The updates are kept as
raw JSON (parsed later, one by one, by the inbox workers): one update that aiogram cannot
parse never blocks the ones behind it.
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Any

import aiohttp
from aiogram import Bot

from bot.context import App
from storage import inbox
from storage.db import refuses_the_rows

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
RETRY_PAUSES = (0.5, 1, 2, 5, 10)
TOKEN_REFUSED = (401, 404)  # what Telegram answers a revoked or mistyped token: it will not pass


class ApiRefused(Exception):
    """Telegram answered getUpdates with ok=false (a webhook is set, a bad token, …)."""

    def __init__(self, description: str, code: int | None = None) -> None:
        super().__init__(description)
        self.code = code


async def set_aside(app: App, raw: dict[str, Any], exc: BaseException) -> None:
    """One update the database will never take as it came: a dead row holds its place."""
    async with app.sessions() as session:
        await inbox.set_aside(session, raw["update_id"], f"cannot be stored: {exc!r}"[:2000], datetime.now(timezone.utc))
        await session.commit()
    log.error("polling: update %s cannot be stored (%r); set aside as dead: %.2000r", raw["update_id"], exc, raw)


async def store_updates(app: App, raws: list[dict[str, Any]]) -> int:
    """Commit raw updates to the inbox and wake the workers; how many were new."""
    try:
        async with app.sessions() as session:
            new = await inbox.receive(session, raws, datetime.now(timezone.utc))
            await session.commit()
    except Exception:
        if app.storing_failing_since is None:
            app.storing_failing_since = time.monotonic()
        raise
    app.storing_failing_since = None
    app.wake_inbox()
    return new


class WebhookInbox:
    """Webhook updates committed together (a group commit): the requests that arrive while one
    commit is under way go into the next, and each is answered once its own update is committed.
    One transaction per request cost a commit and, on PostgreSQL, three round trips each, while
    Telegram keeps up to 40 requests open. A failed commit answers each of its requests 500, and
    Telegram sends those updates again."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writing: asyncio.Task | None = None

    @property
    def waiting(self) -> int:
        """Updates waiting for the next commit."""
        return len(self._waiting)

    async def store(self, raw: dict[str, Any]) -> None:
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((raw, answered))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name="webhook-inbox")
        await answered

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            outcomes = await self._store([raw for raw, _ in batch])
            for (_, answered), outcome in zip(batch, outcomes):
                if answered.done():  # the request went away meanwhile; its update is stored or not, as the batch
                    continue
                if outcome is None:
                    answered.set_result(None)
                else:
                    answered.set_exception(outcome)

    async def _store(self, raws: list[dict[str, Any]]) -> list[BaseException | None]:
        """Each update's outcome (None: stored). Trouble that may pass fails them all (Telegram
        sends them again); a batch the database refuses as such is stored update by update, and
        an update refused on its own is set aside as a dead row, so it stops coming back."""
        try:
            await store_updates(self.app, raws)
            return [None] * len(raws)
        except Exception as exc:  # noqa: BLE001 — each request of the batch answers 500
            if refuses_the_rows(exc):
                if len(raws) > 1:
                    return [outcome for raw in raws for outcome in await self._store([raw])]
                try:
                    await set_aside(self.app, raws[0], exc)
                    return [None]
                except Exception:  # noqa: BLE001 — not even its dead row: the database's trouble
                    pass
            log.warning("webhook: %d updates could not be stored; Telegram will send them again: %r", len(raws), exc)
            return [exc] * len(raws)


def valid_updates(result: Any) -> list[dict[str, Any]]:
    """The updates of a getUpdates answer that carry an update_id; the rest are logged."""
    raws = []
    for raw in result if isinstance(result, list) else []:
        if isinstance(raw, dict) and isinstance(raw.get("update_id"), int) and 0 <= raw["update_id"] < 2**63:
            raws.append(raw)
        else:
            log.error("polling: an update without an update_id was skipped: %.300r", raw)
    return raws


class Poller:
    def __init__(self, app: App, bot: Bot, *, timeout: int = 25) -> None:
        self.app, self.bot, self.timeout = app, bot, timeout
        self.url = bot.session.api.api_url(token=bot.token, method="getUpdates")
        self.offset: int | None = None
        self._stopping = False
        self._fetch: asyncio.Task | None = None
        self._storing: asyncio.Task | None = None
        self._stopped = asyncio.Event()

    async def run(self) -> None:
        failures = 0
        async with aiohttp.ClientSession() as http:
            while not self._stopping:
                self._fetch = asyncio.create_task(self._get(http))
                try:
                    result = await self._fetch
                except asyncio.CancelledError:
                    if self._stopping:
                        break
                    raise
                except (aiohttp.ClientError, TimeoutError, ValueError, ApiRefused) as exc:
                    pause = RETRY_PAUSES[min(failures, len(RETRY_PAUSES) - 1)]
                    failures += 1
                    self._failing(exc)
                    log.warning("polling: getUpdates failed (%s); again in %ss", exc, pause)
                    await self._sleep(pause)
                    continue
                failures = 0
                self.app.polling_failing_since = self.app.polling_error = self.app.polling_error_code = None
                raws = valid_updates(result)
                if raws and not await self._commit(raws):
                    break  # asked to stop first: the offset stays, and Telegram keeps them
                if raws:  # moving the offset is what tells Telegram the updates arrived (an id out of
                    # range never moves it: an offset past every real update would drop them all)
                    self.offset = max(r["update_id"] for r in raws) + 1

    def _failing(self, exc: BaseException) -> None:
        """What /healthz shows of a getUpdates that keeps failing: since when, and why."""
        if self.app.polling_failing_since is None:
            self.app.polling_failing_since = time.monotonic()
        code = getattr(exc, "code", None)
        self.app.polling_error, self.app.polling_error_code = (str(exc) or type(exc).__name__)[:300], code
        if code in TOKEN_REFUSED:
            log.error("polling: Telegram refuses this BOT_TOKEN (%s); fix the token and restart", exc)

    async def _commit(self, raws: list[dict[str, Any]]) -> bool:
        """Keep trying: the offset must not move before the updates are in the database. False:
        asked to stop before they were. Any other trouble (a busy or unreachable database)
        is waited out; a batch the database refuses as such is stored update by update, and an
        update refused on its own is set aside as a dead row (`set_aside`) — never dropped, and
        never blocking the updates behind it."""
        attempt = 0
        while not self._stopping:
            self._storing = storing = asyncio.create_task(store_updates(self.app, raws))
            stopped = asyncio.create_task(self._stopped.wait())
            try:
                # Not `await storing`: a commit the database holds up (a lock another process
                # keeps) would hold the stop up with it. Uncommitted, its updates stay Telegram's.
                await asyncio.wait({storing, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
            if not storing.done():
                storing.cancel()
                return False
            try:
                storing.result()
                return True
            except asyncio.CancelledError:
                if self._stopping:
                    return False
                raise
            except Exception as exc:  # noqa: BLE001 — sorted below: wait, split, or set aside
                if refuses_the_rows(exc):
                    if len(raws) > 1:
                        return all([await self._commit([raw]) for raw in raws])
                    if await self._set_aside(raws[0], exc):
                        return True
                log.exception("polling: could not store %d updates; retrying", len(raws))
                await self._sleep(RETRY_PAUSES[min(attempt, len(RETRY_PAUSES) - 1)])
                attempt += 1
        return False

    async def _set_aside(self, raw: dict[str, Any], exc: BaseException) -> bool:
        """False when not even its dead row can be written: then it is the database, not the
        update, and the update waits like the others."""
        try:
            await set_aside(self.app, raw, exc)
        except Exception:  # noqa: BLE001
            return False
        return True

    async def _get(self, http: aiohttp.ClientSession) -> Any:
        body: dict[str, Any] = {"timeout": self.timeout, "allowed_updates": ALLOWED_UPDATES}
        if self.offset is not None:
            body["offset"] = self.offset
        client_timeout = aiohttp.ClientTimeout(total=self.timeout + 15)
        async with http.post(self.url, json=body, timeout=client_timeout) as resp:
            data = await resp.json(content_type=None)
        if not isinstance(data, dict) or not data.get("ok"):
            code = data.get("error_code") if isinstance(data, dict) else None
            raise ApiRefused(str(data.get("description") if isinstance(data, dict) else data)[:300],
                             code if isinstance(code, int) else resp.status)
        return data.get("result")

    async def _sleep(self, seconds: float) -> None:
        end = asyncio.get_running_loop().time() + seconds
        while not self._stopping and asyncio.get_running_loop().time() < end:
            await asyncio.sleep(min(0.1, end - asyncio.get_running_loop().time()))

    def stop(self) -> None:
        """Stop asking; an answer not yet committed is not acknowledged, so Telegram keeps it."""
        self._stopping = True
        self._stopped.set()  # a commit the database holds up is given up too (`_commit`)
        if self._fetch is not None and not self._fetch.done():
            self._fetch.cancel()
