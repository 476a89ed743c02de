"""The inbox workers: every update is handled from the database, never straight off the wire.

A bounded pool (sized to the database's connections) claims chat heads from the inbox,
parses each raw update on its own and feeds it to the Dispatcher.  The update's session
(``handlers.middlewares.SessionMiddleware``) marks the row done in the transaction of
its work; a failure is tried again with a back-off and, after ``max_attempts`` (or at
once when the update cannot even be parsed), parked as dead with its error, logged once.
A crash leaves the row pending with a claim that expires, so it is handled again.
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError

from bot import metrics
from bot.context import App, Delivery
from bot.deferred_triage import DeferredTriage
from storage import inbox as store

log = logging.getLogger(__name__)
CLAIM_TTL = timedelta(seconds=30)  # a claim older than this belongs to a dead worker
POLL_SECONDS = 1.0  # look for rows received by other instances, or due for a retry
PRUNE_EVERY = 300.0
KEEP_DONE = timedelta(hours=1)
# SQLite has one connection and every transaction takes its write lock, so updates queue for it
# whatever the number of workers; they wait in asyncio (the pool), never in SQLite's busy handler.
# Eight in hand are claimed a few at a time and their acks leave in fewer outbox rounds: over a
# burst (bench/intake.py) 48 → 64 appeals/s and 20 → 15 ms of CPU each, against two workers.
SQLITE_WORKERS = 8


def without_nul(value: Any) -> Any:
    """The update with every NUL character taken out of its strings: it means nothing in a
    message, and PostgreSQL refuses it in any text column — the appeal that carried one was
    refused on PostgreSQL and filed on SQLite."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def wall_clock() -> datetime:
    """Claims and back-offs follow real time, not the (test-shiftable) business clock."""
    return datetime.now(timezone.utc)


def backoff(attempt: int) -> timedelta:
    return timedelta(seconds=min(30.0, 0.25 * 2 ** max(0, attempt - 1)))


def pool_workers(app: App) -> int:
    """As many workers as the database hands out connections; on SQLite, `SQLITE_WORKERS`."""
    if app.settings.inbox_workers:
        return app.settings.inbox_workers
    engine = app.sessions.kw.get("bind")
    if getattr(getattr(engine, "dialect", None), "name", None) == "sqlite":
        return SQLITE_WORKERS
    size = getattr(getattr(engine, "pool", None), "size", None)
    try:
        return max(2, int(size()) if callable(size) else 5)
    except (TypeError, ValueError):
        return 5


class InboxWorkers:
    def __init__(self, app: App, bot: Bot, dp: Dispatcher, holder: str, *, workers: int | None = None,
                 exclusive: bool = False) -> None:
        self.app, self.bot, self.dp, self.holder = app, bot, dp, holder
        self.workers = workers or pool_workers(app)
        self.max_attempts = app.settings.inbox_max_attempts
        self.exclusive = exclusive  # the only process on this database (SQLite): every claim is stale
        self._active: set[asyncio.Task] = set()
        self._stopping = False
        self._pruned = 0.0
        self.triage = DeferredTriage(app)  # what appeals filed while updates queued left for later
        self._triage_task: asyncio.Task | None = None

    async def run(self) -> None:
        async with self.app.sessions() as session:
            if n := await store.release(session, None if self.exclusive else self.holder):
                log.warning("inbox: %d updates were left mid-handling; they will be handled again", n)
            await session.commit()
        self._triage_task = asyncio.create_task(self.triage.run(), name="deferred-triage")
        while not self._stopping:
            self.app.inbox_event.clear()
            try:
                wait = await self._fill()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("inbox: claiming failed")
                wait = 1.0
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self.app.inbox_event.wait(), timeout=wait)
            except TimeoutError:
                pass

    async def _fill(self) -> float:
        """Claim as many heads as there are free workers; how long to sleep before looking again."""
        free = self.workers - len(self._active)
        now = wall_clock()
        if free <= 0:
            return POLL_SECONDS
        async with self.app.sessions() as session:
            rows = await store.claim(session, self.holder, now, now + CLAIM_TTL, free)
            full = len(rows) == free and await store.more_due(session, now)
            await session.commit()
            upcoming = None if rows else await store.next_due(session)
        self._set_full(full)
        for row in rows:
            task = asyncio.create_task(self._handle(row.update_id, row.payload, row.attempts),
                                       name=f"update-{row.update_id}")
            self._active.add(task)
            task.add_done_callback(self._finished)
        if time.monotonic() - self._pruned > PRUNE_EVERY:
            await self._prune(now)
        if rows:
            return 0.0 if len(rows) == free and len(self._active) < self.workers else POLL_SECONDS
        if upcoming is not None and upcoming > now:
            return max(0.02, min(POLL_SECONDS, (upcoming - now).total_seconds()))
        return POLL_SECONDS

    def _set_full(self, full: bool) -> None:
        """Every worker busy and more updates due: until that ends, appeals are filed with their
        ack only and triaged afterwards (bot/deferred_triage.py)."""
        if self.app.inbox_full and not full:
            self.triage.wake.set()
        self.app.inbox_full = full

    def _finished(self, task: asyncio.Task) -> None:
        self._active.discard(task)
        self.app.wake_inbox()  # a worker is free, and the chat's next update may be due

    async def _handle(self, update_id: int, payload: dict, attempts: int) -> None:
        try:
            update = Update.model_validate(without_nul(payload), context={"bot": self.bot})
        except (ValidationError, TypeError, ValueError) as exc:
            await self._park(update_id, f"cannot parse the update: {exc}")
            return
        delivery = Delivery(update_id=update_id, attempt=attempts, final=attempts >= self.max_attempts)
        try:
            await self.dp.feed_update(self.bot, update, delivery=delivery)
        except Exception as exc:  # noqa: BLE001 — aiogram's own error path failed too
            delivery.error = delivery.error or repr(exc)
        if delivery.done:
            metrics.update_handled(True)
            return
        if delivery.settled:  # a failure that does not matter (the errors router said so)
            await self._store(store.mark_done, update_id, wall_clock())
            metrics.update_handled(True)
            return
        error = delivery.error or "the update was not handled"
        if delivery.final:
            await self._park(update_id, error)
        else:
            log.warning("inbox: update %s failed (attempt %d of %d), trying again: %s",
                        update_id, attempts, self.max_attempts, error)
            await self._store(store.retry, update_id, error, wall_clock() + backoff(attempts))

    async def _park(self, update_id: int, error: str) -> None:
        metrics.update_handled(False)
        if await self._store(store.park, update_id, error, wall_clock()):
            log.error("inbox: update %s parked as dead: %s", update_id, error)

    async def _store(self, fn, *args) -> object:  # noqa: ANN001
        for attempt in range(3):
            try:
                async with self.app.sessions() as session:
                    result = await fn(session, *args)
                    await session.commit()
                    return result
            except Exception:  # noqa: BLE001 — the claim expires anyway; then it is handled again
                log.warning("inbox: could not record the outcome of an update", exc_info=True)
                await asyncio.sleep(0.2 * (attempt + 1))
        return None

    async def _prune(self, now: datetime) -> None:
        self._pruned = time.monotonic()
        async with self.app.sessions() as session:
            await store.prune(session, now - KEEP_DONE)
            await session.commit()

    async def stop(self, timeout: float = 10.0) -> None:
        """Take nothing new; let what runs finish within ``timeout``; what does not stays in the inbox."""
        self._stopping = True
        self.app.wake_inbox()
        if self._active:
            done, pending = await asyncio.wait(set(self._active), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                log.warning("inbox: %d updates left unfinished; they stay in the inbox", len(pending))
        await self.triage.stop()
        if self._triage_task is not None:
            try:
                await asyncio.wait_for(self._triage_task, timeout=timeout)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("inbox: the deferred triage did not finish its ticket; it stays NEW")
        try:
            async with self.app.sessions() as session:
                await store.release(session, self.holder)
                await session.commit()
        except Exception:  # noqa: BLE001 — the claims expire anyway
            log.warning("inbox: could not release the claims", exc_info=True)

    async def drained(self) -> bool:
        """Nothing pending in the inbox, no worker busy and no triage left for later (tests wait on this)."""
        if self._active:
            return False
        async with self.app.sessions() as session:
            if (await store.counts(session))["pending"]:
                return False
        return await self.triage.idle()
