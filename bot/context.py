"""What every service needs, built once at start-up and injected into handlers."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.calendar import WorkCalendar
from bot.domain.routing import CatalogMatcher
from bot.domain.sla import SlaPolicy
from bot.org import OrgFile
from bot.settings import Settings

Clock = Callable[[], datetime]
# Handlers receive the update's session under this name; they never build SQL with it.
DbSession = AsyncSession


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


class TryLater(Exception):
    """A state that passes by itself within moments (e.g. an ack being sent right now): the
    inbox tries the update again after a short back-off instead of failing it."""


@dataclass
class Delivery:
    """One inbox row being handled, and how it went (told back to the inbox worker).

    The update's session marks the row done in the transaction of the work it caused and
    sets ``done``; a failure that will be tried again sets ``error`` instead.  On the
    ``final`` attempt a failure goes on to the errors router, so the person hears of it;
    the errors router sets ``settled`` when the failure does not matter (a button answered
    too late), and the row is then done rather than dead.
    """

    update_id: int
    attempt: int
    final: bool
    done: bool = False
    settled: bool = False
    error: str | None = None


@dataclass
class App:
    settings: Settings
    org: OrgFile
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = system_clock
    bot_id: int = 0
    bot_username: str = "huying_bot"
    reads_all_group_messages: bool = True  # getMe: False when privacy mode is on (BotFather /setprivacy)
    calendar: WorkCalendar = field(init=False)
    sla: SlaPolicy = field(init=False)
    matcher: CatalogMatcher = field(init=False)
    outbox_event: asyncio.Event = field(default_factory=asyncio.Event)
    inbox_event: asyncio.Event = field(default_factory=asyncio.Event)
    inflight: int = 0  # updates being handled right now
    # Every inbox worker busy and more updates waiting: an appeal's triage follows its ack
    # (bot/deferred_triage.py). Set by the inbox workers at each claim.
    inbox_full: bool = False
    # Since when (monotonic seconds) received updates could not be stored; None while they can.
    # /healthz says so: polling keeps trying, and the inbox alone would look quiet, not stuck.
    storing_failing_since: float | None = None
    # Since when getUpdates has kept failing, and Telegram's last word (a revoked token answers
    # 401, a webhook or another poller 409); None while it answers. /healthz shows it: a bot that
    # cannot poll otherwise only looks like a quiet neighbourhood.
    polling_failing_since: float | None = None
    polling_error: str | None = None
    polling_error_code: int | None = None

    def __post_init__(self) -> None:
        self.calendar = WorkCalendar.from_org(self.org.holidays, self.org.timezone)
        self.sla = SlaPolicy.from_org(self.org.sla)
        self.matcher = CatalogMatcher.from_org(
            [c.model_dump() for c in self.org.catalog],
            [k.model_dump() for k in self.org.knowledge],
            urgent_words=self.org.urgent_words or None,
            divert_words=self.org.divert_words or None,
            threshold=self.org.dispatch.confidence,
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.org.timezone)

    @property
    def default_locale(self) -> str:
        return self.settings.default_locale or self.org.locale

    def now(self) -> datetime:
        return self.clock()

    def wake_outbox(self) -> None:
        self.outbox_event.set()

    def wake_inbox(self) -> None:
        """New updates were committed to the inbox: let the workers look at once."""
        self.inbox_event.set()

    async def commit(self, session: AsyncSession) -> None:
        """End one domain operation: commit, then let the outbox deliver at once."""
        await session.commit()
        self.wake_outbox()
