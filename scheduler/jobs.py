"""Scheduler jobs; each takes the App (and so its clock) so tests drive time.

* ``scan(app, now)`` — the deadline scan (DESIGN §3).  It reads the due tickets through the
  ``next_check_at`` index a page at a time; each page is one batch and one transaction: one
  conditional UPDATE on (id, next_check_at) claims the batch's rows, what they need is read
  in a few queries (storage/scan_batch.py), each ticket's due work is done (the messages go to
  the outbox in that same transaction) and its next check set, and the commit writes it all.
  A crash rolls the batch back, so it is done again later; a second scanner loses the claim,
  so nothing is done twice.  A ticket whose handling fails is left out of its batch (the
  batch is done again without it) and looked at again a few minutes later.
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
from storage import due_scan, held_rows, leases, scan_batch

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


class TicketFailed(Exception):
    """One ticket of a batch failed (the cause is chained); the batch is done again without it."""

    def __init__(self, ticket_id: int) -> None:
        super().__init__(ticket_id)
        self.ticket_id = ticket_id


async def _batch(app: App, rows: list[tuple[int, datetime]], now: datetime) -> int:
    """Claim ``rows`` and do what is due for each in one transaction; how many this call did."""
    async with app.sessions() as session:
        claimed = await due_scan.claim(session, rows)
        if not claimed:
            await session.rollback()
            return 0  # other scanners took them, or the tickets moved on meanwhile
        for t in await scan_batch.open(session, claimed):
            try:
                await deadline_scan.on_due(session, app, t, now)
            except held_rows.HeldWriteFailed:
                raise  # earlier tickets' rows: the batch is split to find whose
            except Exception as exc:
                raise TicketFailed(t.id) from exc
        await scan_batch.close(session)
        await app.commit(session)
    return len(claimed)


async def _handle(app: App, rows: list[tuple[int, datetime]], now: datetime) -> int:
    """A batch, with the tickets that fail left out: they are tried again after RETRY_AFTER.

    A ticket that raises is dropped and the rest done again; a failure no ticket owns (the
    commit) splits the batch in halves until it is pinned on one ticket.
    """
    handled, failed, parts = 0, [], [rows]
    while parts:
        part = parts.pop()
        if not part:
            continue
        try:
            handled += await _batch(app, part, now)
        except TicketFailed as failure:
            log.error("deadline scan: ticket %s failed; trying again in %s", failure.ticket_id, RETRY_AFTER,
                      exc_info=failure.__cause__)
            failed += [row for row in part if row[0] == failure.ticket_id]
            parts.append([row for row in part if row[0] != failure.ticket_id])
        except Exception:
            if len(part) > 1:
                log.warning("deadline scan: a batch of %d failed; splitting it", len(part), exc_info=True)
                parts += [part[len(part) // 2:], part[:len(part) // 2]]
                continue
            log.exception("deadline scan: ticket %s failed; trying again in %s", part[0][0], RETRY_AFTER)
            failed += part
    if failed:
        async with app.sessions() as session:
            await due_scan.postpone(session, failed, now + RETRY_AFTER)
            await session.commit()
    return handled


async def scan(app: App, now: datetime | None = None, batch: int = BATCH) -> int:
    """Handle every ticket whose ``next_check_at`` is due; returns how many this call handled.

    Cost grows with the due tickets only: keyset pages over the index, one claim and one
    transaction per page.  A ticket is handled at most once per call.
    """
    now = now or app.now()
    handled, cursor, seen = 0, None, set()
    while True:
        async with app.sessions() as session:
            rows = await due_scan.due(session, now, batch, cursor)
        if rows:
            cursor = (rows[-1][1], rows[-1][0])
        fresh = [(ticket_id, check_at) for ticket_id, check_at in rows if ticket_id not in seen]
        seen.update(ticket_id for ticket_id, _ in fresh)
        if fresh:
            handled += await _handle(app, fresh, now)
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
