"""Scheduler jobs; each takes the App (and so its clock) so tests drive time.

* ``scan(app, now)`` — the deadline scan (DESIGN §3).  It reads the due tickets through the
  ``next_check_at`` index in batches, claims each row in its own transaction with a
  conditional UPDATE on (id, next_check_at), does what is due (the messages go to the outbox
  in that same transaction) and sets the next check.  A crash rolls the row back, so it is
  done again later; a second scanner loses the claim, so it is never done twice.
* ``scan_job`` / ``digest_job`` — what APScheduler runs: only the instance holding the
  database lease does the work (exactly one scheduler at a time across instances).
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

from bot.context import App
from bot.metrics import SCAN_SECONDS
from bot.domain.sla import parse_duration
from bot.services import campaigns, deadline_scan, digest
from storage import due_scan, leases, tickets

log = logging.getLogger(__name__)
LEASE = "scheduler"
BATCH = 200
RETRY_AFTER = timedelta(minutes=5)


def instance_id() -> str:
    """Who holds the lease: host, process and a random tail (two Apps in one process differ)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


DEFAULT_HOLDER = instance_id()


def lease_ttl(app: App) -> timedelta:
    """Three missed scans and the lease is free for another instance."""
    every = parse_duration(app.org.scheduler.scan_every).as_timedelta()
    return max(3 * every, timedelta(seconds=30))


async def hold_lease(app: App, holder: str, now: datetime | None = None) -> bool:
    """Take or renew the scheduler lease; False while another live instance holds it."""
    async with app.sessions() as session:
        ok = await leases.take_lease(session, LEASE, holder, now or app.now(), lease_ttl(app))
        await session.commit()
    return ok


async def release_lease(app: App, holder: str) -> None:
    async with app.sessions() as session:
        await leases.release_lease(session, LEASE, holder, app.now())
        await session.commit()


async def _one(app: App, ticket_id: int, seen: datetime, now: datetime) -> bool:
    """Claim and handle one due ticket in one transaction; True when this call did it."""
    async with app.sessions() as session:
        try:
            if not await due_scan.claim(session, ticket_id, seen):
                await session.rollback()
                return False  # another scanner took it, or the ticket moved on meanwhile
            t = await tickets.get(session, ticket_id)
            if t is not None:
                await deadline_scan.on_due(session, app, t, now)
            await app.commit(session)
            return True
        except Exception:
            log.exception("deadline scan: ticket %s failed; trying again in %s", ticket_id, RETRY_AFTER)
            await session.rollback()
    async with app.sessions() as session:
        await due_scan.postpone(session, ticket_id, seen, now + RETRY_AFTER)
        await session.commit()
    return False


async def scan(app: App, now: datetime | None = None, batch: int = BATCH) -> int:
    """Handle every ticket whose ``next_check_at`` is due; returns how many this call handled.

    Cost grows with the due tickets only: keyset pages over the index, one primary-key
    claim per row.  A ticket is handled at most once per call.
    """
    now = now or app.now()
    handled, cursor, seen = 0, None, set()
    while True:
        async with app.sessions() as session:
            rows = await due_scan.due(session, now, batch, cursor)
        for ticket_id, check_at in rows:
            cursor = (check_at, ticket_id)
            if ticket_id in seen:
                continue
            seen.add(ticket_id)
            handled += await _one(app, ticket_id, check_at, now)
        if len(rows) < batch:
            break
    if handled:
        log.info("deadline scan: %d ticket(s) handled", handled)
    return handled


async def scan_job(app: App, holder: str | None = None) -> int:
    """The periodic scan, on the lease holder only."""
    if not await hold_lease(app, holder or DEFAULT_HOLDER):
        log.debug("deadline scan skipped: another instance holds the scheduler lease")
        return 0
    with SCAN_SECONDS.time():
        handled = await scan(app)
    return handled + await campaign_scan(app)


async def campaign_scan(app: App) -> int:
    """专项 clocks: few rows (one per running campaign), one transaction."""
    async with app.sessions() as session:
        acted = await campaigns.scan(session, app)
        await app.commit(session)
    return acted


async def digest_job(app: App, holder: str | None = None, now: datetime | None = None) -> bool:
    """The morning digest, on the lease holder only; idempotent per day."""
    if not await hold_lease(app, holder or DEFAULT_HOLDER, now):
        return False
    return await digest.morning(app, now)
