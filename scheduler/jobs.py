"""Scheduler jobs; each takes the App (and so its clock) so tests drive time."""
from __future__ import annotations

import logging

from bot.context import App

log = logging.getLogger(__name__)


async def scan_job(app: App) -> int:
    """Placeholder until the deadline scan lands: nothing is due yet."""
    return 0
