"""The second half of an appeal filed during a burst: 专项, knowledge answer or dispatch card, 高频共性.

While every inbox worker is busy and more updates wait (``App.inbox_full``), an appeal is filed
with its acknowledgement only, in one short transaction, and its ticket stays NEW. Residents
then hear back at the rate tickets can be written, about twice the rate of whole appeals
(bench/intake.py); the dispatchers' cards follow from here:

* at once, whenever the inbox has room;
* for a ticket that has waited ``LATE_AFTER``, even while updates still queue, so a long burst
  delays a card by seconds, not by the length of the burst.

Up to ``BATCH`` tickets, oldest first, in one transaction: one claim and one commit for them
all (a transaction each cost a third more CPU per appeal on PostgreSQL). When a batch fails, its
tickets are taken one at a time until the one that failed is found. A ticket stays NEW until its
triage commits, so a restart finds it again, and on PostgreSQL another instance passes over the
rows one is working on (they are locked). A ticket whose triage fails is tried again after a
back-off that grows to a minute and is never given up: it has its ticket and its ack, and a
dispatcher cannot act on it before it is triaged. From ``MAX_ATTEMPTS`` failures on, each is logged
as an error.
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from bot import metrics
from bot.context import App
from bot.services import intake

log = logging.getLogger(__name__)
LATE_AFTER = timedelta(seconds=10)
POLL_SECONDS = 1.0  # tickets left by a previous run or by another instance
MAX_ATTEMPTS = 5
BATCH = 10  # holds SQLite's one connection for some 50 ms: the inbox's updates wait no longer than that


class DeferredTriage:
    def __init__(self, app: App) -> None:
        self.app = app
        self.wake = asyncio.Event()
        self._stopping = False
        self._working = False
        self._failures: dict[int, tuple[int, float]] = {}  # ticket id → failures, monotonic time of the next try
        self._single = 0  # rounds left that take one ticket each (after a batch failed)

    async def run(self) -> None:
        while not self._stopping:
            self.wake.clear()
            try:
                took = await self._batch()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("deferred triage: looking for tickets failed")
                took = False
            if took:
                await asyncio.sleep(0)  # the inbox's updates get the connection between batches
                continue
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        """Finish the batch in hand (what waits stays NEW for the next start)."""
        self._stopping = True
        self.wake.set()

    async def idle(self) -> bool:
        """No ticket in hand and none waiting but those that keep failing (tests wait on this)."""
        if self._working:
            return False
        async with self.app.sessions() as session:
            return not await intake.waiting_triage(session, None, self._failing())

    async def _batch(self) -> bool:
        """Triage a batch of waiting tickets; whether there was one."""
        filed_by = self.app.now() - LATE_AFTER if self.app.inbox_full else None
        self._working = True
        try:
            async with self.app.sessions() as session:
                batch = await intake.waiting_triage(session, filed_by, self._resting(), 1 if self._single else BATCH)
                if not batch:
                    self._single = 0
                    return False
                ids = [t.id for t in batch]
                try:
                    for ticket in batch:
                        await intake.triage_now(session, self.app, ticket)
                    await self.app.commit(session)
                except Exception:  # noqa: BLE001 — one ticket's trouble must not stop the others
                    await session.rollback()
                    self._batch_failed(ids)
                    return True
            for ticket_id in ids:
                self._failures.pop(ticket_id, None)
            self._single = max(0, self._single - 1)
            metrics.TRIAGE_DEFERRED.inc(len(ids))
            return True
        finally:
            self._working = False

    def _batch_failed(self, ids: list[int]) -> None:
        """A lone ticket is charged the failure; a batch's tickets are taken one by one next, to find it."""
        if len(ids) == 1:
            self._failed(ids[0])
            self._single = max(0, self._single - 1)
        else:
            self._single = len(ids)
            log.warning("deferred triage: a batch of %d failed; trying them one by one", len(ids), exc_info=True)

    def _failed(self, ticket_id: int) -> None:
        n = self._failures.get(ticket_id, (0, 0.0))[0] + 1
        self._failures[ticket_id] = (n, time.monotonic() + min(60.0, 0.5 * 2 ** n))
        if n >= MAX_ATTEMPTS:
            log.error("deferred triage: ticket %s failed %d times; trying again within a minute",
                      ticket_id, n, exc_info=True)
        else:
            log.warning("deferred triage: ticket %s failed (attempt %d); trying again", ticket_id, n, exc_info=True)

    def _failing(self) -> frozenset[int]:
        """Tickets that failed ``MAX_ATTEMPTS`` times: still tried, but not waited for (`idle`)."""
        return frozenset(t for t, (n, _) in self._failures.items() if n >= MAX_ATTEMPTS)

    def _resting(self) -> frozenset[int]:
        now = time.monotonic()
        return frozenset(t for t, (_, again) in self._failures.items() if again > now)
