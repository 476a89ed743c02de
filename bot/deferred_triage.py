"""The second half of an appeal filed during a burst: 专项, knowledge answer or dispatch card, 高频共性.

While every inbox worker is busy and more updates wait (``App.inbox_full``), an appeal is filed
with its acknowledgement only, in one short transaction, and its ticket stays NEW. Residents
then hear back at the rate tickets can be written, about twice the rate of whole appeals
(bench/intake.py); the dispatchers' cards follow from here:

* at once, whenever the inbox has room;
* for a ticket that has waited ``LATE_AFTER``, even while updates still queue, so a long burst
  delays a card by seconds, not by the length of the burst.

One ticket per transaction, oldest first. A ticket stays NEW until its triage commits, so a
restart finds it again, and on PostgreSQL another instance passes over the row one is working on
(it is locked). A ticket whose triage fails is tried again after a back-off; after
``MAX_ATTEMPTS`` it is left to the dispatchers, whose /queue lists it as waiting, with one error
in the log.
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


class DeferredTriage:
    def __init__(self, app: App) -> None:
        self.app = app
        self.wake = asyncio.Event()
        self._stopping = False
        self._working = False
        self._failures: dict[int, tuple[int, float]] = {}  # ticket id → failures, monotonic time of the next try

    async def run(self) -> None:
        while not self._stopping:
            self.wake.clear()
            try:
                took = await self._one()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("deferred triage: looking for tickets failed")
                took = False
            if took:
                await asyncio.sleep(0)  # one ticket at a time between the inbox's updates
                continue
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        """Finish the ticket in hand (what waits stays NEW for the next start)."""
        self._stopping = True
        self.wake.set()

    async def idle(self) -> bool:
        """No ticket in hand and none waiting but those given up on (tests wait on this)."""
        if self._working:
            return False
        async with self.app.sessions() as session:
            return await intake.waiting_triage(session, None, self._given_up()) is None

    async def _one(self) -> bool:
        """Triage one waiting ticket; whether there was one."""
        filed_by = self.app.now() - LATE_AFTER if self.app.inbox_full else None
        self._working = True
        try:
            async with self.app.sessions() as session:
                ticket = await intake.waiting_triage(session, filed_by, self._resting())
                if ticket is None:
                    return False
                ticket_id = ticket.id
                try:
                    await intake.triage_now(session, self.app, ticket)
                    await self.app.commit(session)
                except Exception:  # noqa: BLE001 — this ticket's trouble must not stop the others
                    await session.rollback()
                    self._failed(ticket_id)
                else:
                    self._failures.pop(ticket_id, None)
                    metrics.TRIAGE_DEFERRED.inc()
                return True
        finally:
            self._working = False

    def _failed(self, ticket_id: int) -> None:
        n = self._failures.get(ticket_id, (0, 0.0))[0] + 1
        self._failures[ticket_id] = (n, time.monotonic() + min(60.0, 0.5 * 2 ** n))
        if n >= MAX_ATTEMPTS:
            log.error("deferred triage: ticket %s failed %d times; left to the dispatchers' /queue",
                      ticket_id, n, exc_info=True)
        else:
            log.warning("deferred triage: ticket %s failed (attempt %d); trying again", ticket_id, n, exc_info=True)

    def _given_up(self) -> frozenset[int]:
        return frozenset(t for t, (n, _) in self._failures.items() if n >= MAX_ATTEMPTS)

    def _resting(self) -> frozenset[int]:
        now = time.monotonic()
        return frozenset(t for t, (n, again) in self._failures.items() if n >= MAX_ATTEMPTS or again > now)
