"""One domain operation per web request, like one per update: commit, wake the outbox, retry when busy."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from storage.db import is_transient

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRIES = 5


async def run_op(app: App, op: Callable[[AsyncSession], Awaitable[T]], *, write: bool = True) -> T:
    """Run `op` in a fresh session; commit it (and wake the outbox) when it writes.

    An exception rolls everything back, so a refused action changes nothing.
    """
    for attempt in range(RETRIES):
        async with app.sessions() as session:
            try:
                result = await op(session)
                if write:
                    await app.commit(session)
                return result
            except Exception as exc:
                await session.rollback()
                if not is_transient(exc) or attempt == RETRIES - 1:
                    raise
                log.warning("database busy; retrying a web request")
        await asyncio.sleep(0.05 * (attempt + 1))
    raise RuntimeError("unreachable")
