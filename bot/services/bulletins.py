"""The automatic 通报 (seed 002: 一月一通报、一季度一测评、半年一排名、年终总评).

At 09:00 local on the first working day after a month (quarter, half-year, year) the report
for it goes to the leaders' chat and the dispatch chat. Run from the scheduler's lease holder
every scan; each period is posted once: the `bulletins` row is inserted in the same
transaction as the outbox rows that carry the report, so a restart at 09:05 still posts it
and a second instance finds the row and posts nothing.
"""
from __future__ import annotations

import logging
from datetime import datetime

from bot import metrics
from bot.context import App
from bot.domain.report import bulletins_due
from bot.services import notify, reports
from storage import bulletins as store
from storage import directory
from storage import report_facts as facts

log = logging.getLogger(__name__)


async def target_chats(session, app: App) -> list[int]:  # noqa: ANN001
    """The leaders' chat and the dispatch chat (bound ones first, else the org file's)."""
    out = []
    for kind, fallback in (("leaders", app.org.leaders_chat), ("dispatch", app.org.dispatch_chat)):
        chat = await directory.first_chat_of_kind(session, kind)
        chat_id = chat.id if chat else fallback
        if chat_id is not None and chat_id not in out:
            out.append(chat_id)
    return out


async def post_due(app: App, now: datetime | None = None, holder: str | None = None) -> list[str]:
    """Post every 通报 whose time has come and that nobody posted; returns the periods posted."""
    now = now or app.now()
    due = bulletins_due(now, app.calendar)
    async with app.sessions() as session:
        done = await store.posted(session, [p.key for p in due])
        first = await facts.first_ticket_at(session)
    posted = []
    for period in due:
        if period.key in done or first is None or period.bounds(app.tz)[1] <= first:
            continue  # posted already, or nothing had happened yet
        async with app.sessions() as session:
            report = await reports.build(session, app, period, now)
            names = await reports.department_names(session)
            chats = await target_chats(session, app)
            translators = {c: await notify.chat_translator(session, app, c) for c in chats}
        rendered = {}
        for tr in translators.values():
            if tr.locale not in rendered:
                rendered[tr.locale] = await reports.render(report, names, app, tr)
        async with app.sessions() as session:
            if not await store.claim(session, period.key, period.kind.value, now, holder):
                await session.rollback()
                continue  # another instance posted it meanwhile
            for chat_id, tr in translators.items():
                await reports.queue(session, app, chat_id, rendered[tr.locale], purpose="bulletin")
            await app.commit(session)
        metrics.report_run(period.kind.value, "scheduled")
        log.info("bulletin for %s posted to %d chat(s)", period.key, len(chats))
        posted.append(period.key)
    return posted
