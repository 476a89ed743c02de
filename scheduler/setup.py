"""APScheduler: one periodic deadline scan (never one job per ticket, DESIGN §3)."""
from __future__ import annotations

import logging

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.context import App
from bot.domain.sla import parse_duration

log = logging.getLogger(__name__)


def start_scheduler(app: App, bot: Bot) -> AsyncIOScheduler:
    from scheduler.jobs import scan_job

    every = parse_duration(app.org.scheduler.scan_every).as_timedelta()
    scheduler = AsyncIOScheduler(timezone=app.org.timezone)
    scheduler.add_job(scan_job, "interval", seconds=max(1, every.total_seconds()), args=[app],
                      id="deadline-scan", max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
