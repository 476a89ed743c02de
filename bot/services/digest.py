"""The morning digest (DESIGN §3) to the dispatch and leaders' chats: new, waiting, open,
due today and overdue by department.  Once a day, whatever the number of instances or restarts.
"""
from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from bot.context import App
from bot.domain.codes import display
from bot.domain.dates import parse_hhmm
from bot.i18n import Translator
from bot.services import notify
from bot.services.addressing import dispatch_chat_id, leaders_chat_id
from storage import digest as store
from storage import directory
from storage import leases as marks

log = logging.getLogger(__name__)
MARK = "digest"


def render(tr: Translator, app: App, f: store.Figures, names: dict[str, str], day: str) -> str:
    lines = [tr("digest.header", date=day),
             tr("digest.totals", new=f.new, waiting=f.waiting, open=f.open, due_today=f.due_today,
                overdue=f.overdue)]
    if not f.depts:
        lines.append(tr("digest.no_open"))
    for d in sorted(f.depts, key=lambda d: (-d.overdue, -d.due_today, d.dept)):
        lines.append(tr("digest.dept_line", dept=names.get(d.dept, d.dept), open=d.open, due_today=d.due_today,
                        overdue=d.overdue))
        if d.overdue_codes:
            more = "…" if d.overdue > len(d.overdue_codes) else ""
            lines.append(tr("digest.dept_overdue", codes=" ".join(display(c) for c in d.overdue_codes) + more))
    return "\n".join(lines)


def due_today(app: App, now: datetime) -> bool:
    """Whether ``now`` is past today's digest time (on a day the digest goes out)."""
    local = now.astimezone(app.tz)
    if local.time() < parse_hhmm(app.org.scheduler.digest_at):
        return False
    every_day = getattr(app.org.scheduler, "digest_on", "working_days") == "every_day"
    return every_day or app.calendar.is_working_day(local.date())


async def morning(app: App, now: datetime | None = None) -> bool:
    """Send today's digest if it is time and nobody sent it yet; True when this call sent it."""
    now = now or app.now()
    if not due_today(app, now):
        return False
    local = now.astimezone(app.tz)
    day = local.date().isoformat()
    day_end = datetime.combine(local.date(), time(23, 59, 59), tzinfo=app.tz)
    async with app.sessions() as session:
        if not await marks.mark_day(session, MARK, day, now):
            await session.rollback()
            return False
        figures = await store.figures(session, now, now - timedelta(hours=24), day_end)
        names = {d.code: d.name for d in await directory.departments(session)}
        targets = [await dispatch_chat_id(session, app), await leaders_chat_id(session, app)]
        for chat_id in dict.fromkeys(c for c in targets if c is not None):
            tr = await notify.chat_translator(session, app, chat_id)
            notify.send(session, app, chat_id, render(tr, app, figures, names, day), purpose="digest")
        await app.commit(session)
    log.info("morning digest for %s sent", day)
    return True
