"""APScheduler: one periodic deadline scan and one digest check (never one job per ticket, DESIGN §3).

Every instance runs the scheduler; the jobs themselves take the database lease first, so
only one instance at a time does the work and another takes over when it stops renewing.
"""
from __future__ import annotations

import logging

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.context import App
from bot.domain.sla import parse_duration
from scheduler.bulletins import EVERY as BULLETIN_EVERY
from scheduler.bulletins import bulletin_job
from scheduler.jobs import digest_job, scan_job

log = logging.getLogger(__name__)
DIGEST_EVERY = 60.0  # seconds: the digest job only checks whether today's digest is due


def start_scheduler(app: App, bot: Bot, holder: str) -> AsyncIOScheduler:
    """`holder` names this instance in the scheduler lease (release it with the same name)."""
    every = max(1.0, parse_duration(app.org.scheduler.scan_every).as_timedelta().total_seconds())
    scheduler = AsyncIOScheduler(timezone=app.org.timezone)
    scheduler.add_job(scan_job, "interval", seconds=every, args=[app, holder],
                      id="deadline-scan", max_instances=1, coalesce=True)
    scheduler.add_job(digest_job, "interval", seconds=max(every, DIGEST_EVERY), args=[app, holder],
                      id="morning-digest", max_instances=1, coalesce=True)
    scheduler.add_job(bulletin_job, "interval", seconds=max(every, BULLETIN_EVERY), args=[app, holder],
                      id="bulletins", max_instances=1, coalesce=True)
    scheduler.start()
    log.info("scheduler started as %s (scan every %.0f s)", holder, every)
    return scheduler
