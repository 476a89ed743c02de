"""What the deadline scan does with one claimed ticket (DESIGN §3), by the ticket's status.

The scan (scheduler/jobs.py) claims due rows; this module decides what is due: the rating
clock of a resolved ticket (bot/services/ratings.py), the 正面回应 after closing
(bot/services/reviews.py), an answered consultation that closes by itself, or the
departments' and dispatchers' clocks (bot/services/clocks.py).
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain import rating as rating_rules
from bot.domain.lifecycle import Stale, Status
from bot.services import clocks, ratings, reviews, transition
from bot.services.transition import SYSTEM
from storage import tickets
from storage.models import Ticket

log = logging.getLogger(__name__)


async def on_due(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    """Do what is due for a claimed ticket and set its next check."""
    if t.status in clocks.RATING:
        await _rating_due(session, app, t, now)
    elif t.status == Status.ANSWERED:
        if now >= await clocks.answered_close_at(session, app, t):
            await _close_answered(session, app, t, now)
    else:
        await clocks.on_due(session, app, t, now)
        return
    await clocks.settle(session, app, await tickets.get(session, t.id) or t, now)


async def _rating_due(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    """One reminder, then 'not rated'; a 不满意 without a reason acted on; the 正面回应 once."""
    action = rating_rules.due_action(
        status=t.status, now=now, resolved_at=t.resolved_at, closed_at=t.closed_at, close_reason=t.close_reason,
        round_=await clocks.round_clock(session, t), public_response_done=t.public_response_at is not None,
        timers=clocks.timers(app))
    if action == "remind":
        await ratings.remind(session, app, t, now)
    elif action == "close_unrated":
        await ratings.close_unrated(session, app, t, now)
    elif action == "reason_timeout":
        await ratings.reason_timeout(session, app, t)
    elif action == "public_response":
        await reviews.public_response(session, app, t)


async def _close_answered(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    """ANSWERED ─▶ CLOSED: nobody said the answer did not help within the window."""
    try:
        await transition.move(session, app, t, "close_answered", SYSTEM, event="closed_answered",
                              values={"closed_at": now, "close_reason": rating_rules.CLOSE_ANSWERED})
    except Stale:
        log.info("ticket %s: the reporter's \"did not help\" got there first", t.id)
