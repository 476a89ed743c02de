"""Exactly one outbox sender across instances: the OutboxWorker runs only under a database lease.

Telegram's flood limits are per bot, so pacing must live in one process.  Every instance
runs this loop; the one holding the ``outbox`` lease runs the worker and renews the lease,
the others wait and try to take it.  When the holder dies, its lease expires after
``LEASE_TTL`` and another instance starts sending within one more ``RENEW_EVERY``.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from aiogram import Bot

from bot.context import App
from bot.outbox import OutboxWorker
from storage import leases

log = logging.getLogger(__name__)
LEASE = "outbox"
LEASE_TTL = timedelta(seconds=15)
RENEW_EVERY = 3.0
WORKER_STOP_TIMEOUT = 10.0


def wall_clock() -> datetime:
    return datetime.now(timezone.utc)


class OutboxSender:
    def __init__(self, app: App, bot: Bot, holder: str, *, shared: bool) -> None:
        self.app, self.bot, self.holder = app, bot, holder
        # On a database shared by instances a commit elsewhere cannot wake our worker: poll.
        self.poke_every = 0.3 if shared else None
        self.worker: OutboxWorker | None = None
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()
        self._running: asyncio.Task | None = None
        self._held_until = float("-inf")  # loop time until which our last renewal holds the lease

    @property
    def sending(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run(self) -> None:
        self._running = asyncio.current_task()
        try:
            while not self._stopping.is_set():
                held = await self._renew()
                if self._stopping.is_set():
                    # stop() came while we were renewing: never start a worker after it.
                    break
                if held and not self.sending:
                    self._reap()
                    log.info("outbox lease taken by %s: this instance sends", self.holder)
                    self.worker = OutboxWorker(self.app, self.bot)
                    self._task = asyncio.create_task(self.worker.run(), name="outbox")
                elif not held and self.sending:
                    log.warning("outbox lease lost: this instance stops sending")
                    await self._stop_worker()
                await self._wait()
        finally:
            await self._stop_worker()

    async def _renew(self) -> bool:
        """Take or renew the lease. A failed renewal (a database hiccup) keeps sending while our
        last renewal still holds: stopping the worker mid-send would only make repeats."""
        loop = asyncio.get_running_loop()
        try:
            held = await self._take()
        except Exception:  # noqa: BLE001 — try again at the next renewal; the lease protects
            log.warning("outbox lease: could not take or renew", exc_info=True)
            return loop.time() < self._held_until
        # Renewals start RENEW_EVERY apart; keep a margin so a lease we think we hold cannot
        # already have passed to another instance.
        self._held_until = loop.time() + LEASE_TTL.total_seconds() - 2 * RENEW_EVERY if held else float("-inf")
        return held

    async def _wait(self) -> None:
        """Sleep until the next renewal; while sending on a shared database, poke the worker
        meanwhile (rows other instances enqueue cannot wake it)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + RENEW_EVERY
        step = self.poke_every if self.sending and self.poke_every else RENEW_EVERY
        while not self._stopping.is_set() and loop.time() < end:
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=max(0.01, min(step, end - loop.time())))
            except TimeoutError:
                if self.sending and self.poke_every:
                    self.app.wake_outbox()

    async def _take(self) -> bool:
        async with self.app.sessions() as session:
            ok = await leases.take_lease(session, LEASE, self.holder, wall_clock(), LEASE_TTL)
            await session.commit()
        return ok

    async def _stop_worker(self) -> None:
        """The worker finishes the row it is sending, then stops."""
        if self.worker is None or self._task is None:
            return
        self.worker.stop()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=WORKER_STOP_TIMEOUT)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        except Exception:  # noqa: BLE001 — see _reap
            log.exception("outbox: the worker ended with an error; its unmarked sends go again")
        self._task = None

    def _reap(self) -> None:
        """A worker that ended with an error (its last marks could not be written while the
        database was away) is logged and replaced. Its error used to escape the sender's loop and
        end it: after a database outage longer than the lease nothing was sent again until restart."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            if (exc := self._task.exception()) is not None:
                log.error("outbox: the worker ended with an error; starting another", exc_info=exc)
        self._task = None

    async def stop(self) -> None:
        """Stop sending: the renewal loop ends (and with it the worker, after the row it is
        sending), then the lease is released so another instance sends at once."""
        self._stopping.set()
        if self._running is not None and not self._running.done():
            await asyncio.gather(asyncio.shield(self._running), return_exceptions=True)
        await self._stop_worker()
        try:  # let another instance send at once
            async with self.app.sessions() as session:
                await leases.release_lease(session, LEASE, self.holder, wall_clock())
                await session.commit()
        except Exception:  # noqa: BLE001 — the lease expires anyway
            log.warning("outbox lease: could not release", exc_info=True)
