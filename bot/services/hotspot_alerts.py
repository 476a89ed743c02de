"""高频共性 alerts and `/hotspots`: detection runs in the transaction that files or supports a ticket.

The alert goes to the dispatch chat and the leaders' chat once per cluster (bot/domain/hotspots.py:
not while an earlier alert's tickets are still counted, nor while a 专项 runs for the area and
category). The check and the `hotspot_alerts` row are made under a lock on (area, category), and
the row's unique key is the cluster's, so two instances filing at once still alert once.
The leaders' copy carries 开设专项 (bot/services/campaigns.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import HotspotAct, button
from bot.context import App
from bot.domain.codes import display
from bot.domain.hotspots import (
    Hotspot,
    HotspotPolicy,
    TicketFact,
    detect,
    is_news,
    natural_span,
    period_bounds,
    rank,
    rank_groups,
)
from bot.domain.intake import summary
from bot.domain.report import HOTSPOTS_PER_AREA, HotspotLine
from bot.domain.lifecycle import Refusal
from bot.i18n import Translator
from bot.services import notify
from bot.services.access import Roles
from bot.services.addressing import dispatch_chat_id, leaders_chat_id
from storage import directory
from storage import matter as repo
from storage.common import serialize
from storage.models import HotspotAlert, Ticket

LISTED = 10  # tickets named in one alert; the rest are counted


def policy(app: App) -> HotspotPolicy:
    h = app.org.hotspots
    return HotspotPolicy.from_org(h.threshold, h.window, h.matter)


def fact(t: Ticket | Row, support: dict[int, int], campaigns: dict[int, int] | None = None,
         at: datetime | None = None) -> TicketFact:
    return TicketFact(t.id, t.code, t.area_code, t.category, at or t.created_at, t.status, support.get(t.id, 0),
                      (campaigns or {}).get(t.id))


async def check(session: AsyncSession, app: App, t: Ticket, *, supported: bool = False) -> HotspotAlert | None:
    """After a ticket is filed (or supported, or merged into): alert when its area+category is hot."""
    if not (t.area_code and t.category):
        return None
    pol = policy(app)
    now = app.now()
    rows = await repo.same_scope(session, t.area_code, t.category, since=now - pol.window)
    support = {r.id: int(r.support) for r in rows}
    if t.id not in support:  # supported or merged into after its window
        support.update(await repo.support_counts(session, [t.id]))
    trigger = fact(t, support, at=now if supported else None)
    hot = detect(trigger, [fact(r, support) for r in rows], pol)
    if hot is None:
        return None
    await serialize(session, "hotspot", hot.area, hot.category)
    alerted = await repo.alerted_tickets(session, hot.area, hot.category, since=hot.since)
    running = await repo.open_campaign_for(session, hot.area, hot.category) is not None
    if not is_news(hot, alerted, running):
        return None
    alert = await repo.record_alert(session, area=hot.area, category=hot.category, window_start=hot.key.start,
                                    trigger=hot.trigger.value, ticket_ids=[x.id for x in hot.tickets],
                                    support=hot.support, now=now)
    if alert is not None:
        await _announce(session, app, alert, hot)
    return alert


async def _names(session: AsyncSession, area: str) -> str:
    a = await directory.area(session, area)
    return a.name if a else area


def ticket_lines(tr: Translator, rows: list[TicketFact] | list[Ticket] | list[Row], texts: dict[int, str]) -> str:
    lines = [tr("hotspot.ticket_line", code=display(r.code), status=tr(f"status.{r.status}"),
                summary=summary(texts.get(r.id, ""), 30)) for r in rows[:LISTED]]
    if len(rows) > LISTED:
        lines.append("…")
    return "\n".join(lines)


async def _announce(session: AsyncSession, app: App, alert: HotspotAlert, hot: Hotspot) -> None:
    area = await _names(session, hot.area)
    texts = {t.id: t.text for t in await repo.alert_tickets(session, alert.id)}
    since = hot.since.astimezone(app.tz).strftime("%m-%d %H:%M")
    for chat_id, leaders in ((await dispatch_chat_id(session, app), False), (await leaders_chat_id(session, app), True)):
        if not chat_id:
            continue
        tr = await notify.chat_translator(session, app, chat_id)
        key = "hotspot.alert" if hot.trigger.value == "count" else "hotspot.alert_matter"
        text = tr(key, area=area, category=hot.category, since=since, count=hot.count, support=hot.support,
                  tickets=ticket_lines(tr, list(hot.tickets), texts))
        keyboard = None
        if leaders:
            text += "\n" + tr("hotspot.open_hint")
            keyboard = [[button(tr("btn.open_campaign"), HotspotAct(action="open", alert_id=alert.id))]]
        notify.send(session, app, chat_id, text, keyboard=keyboard, ticket_id=hot.top.id, purpose="hotspot_alert",
                    link_data={"alert": alert.id})


async def ranked(session: AsyncSession, app: App, period: str | None) -> tuple[datetime, list[Hotspot], dict[int, int]]:
    """The hot groups of a period (ValueError for a period we cannot read), and open 专项 per ticket."""
    pol = policy(app)
    now = app.now()
    since, until = period_bounds(period, now, app.tz, pol.window, natural_span)
    rows = await repo.in_period(session, since, until)
    support = await repo.support_counts(session, [r.id for r in rows])
    campaigns = await repo.campaign_ids_of(session, [r.id for r in rows])
    return since, rank([fact(r, support, campaigns) for r in rows], since, until, pol), campaigns


STAFF_CHATS = ("dispatch", "leaders")


async def hotspots_text(session: AsyncSession, app: App, tr: Translator, period: str | None, roles: Roles,
                        chat_id: int) -> str:
    """/hotspots: for dispatchers, leaders and admins, or anyone in the dispatch or leaders' chat."""
    chat = await directory.chat(session, chat_id)
    if not (roles.dispatcher or roles.leader or roles.admin or (chat is not None and chat.kind in STAFF_CHATS)):
        raise Refusal("hotspots.staff_only")
    try:
        since, hot, campaigns = await ranked(session, app, period)
    except ValueError:
        return tr("hotspots.bad_period", period=(period or "")[:30])
    when = since.astimezone(app.tz).strftime("%Y-%m-%d")
    if not hot:
        return tr("hotspots.none", since=when)
    lines = [tr("hotspots.head", since=when)]
    for i, h in enumerate(hot[:20], 1):
        running = any(t.campaign_id for t in h.tickets)
        lines.append(tr("hotspots.line", rank=i, area=await _names(session, h.area), category=h.category,
                        count=h.count, support=h.support, campaign=tr("hotspots.in_campaign") if running else ""))
    return "\n".join(lines)


async def top_for_report(session: AsyncSession, app: App, since: datetime, until: datetime,
                         per_area: int = HOTSPOTS_PER_AREA) -> list[HotspotLine]:
    """The report's view: the hottest groups of each area filed in [since, until), hottest first."""
    areas = {a.code: a.name for a in await directory.areas(session)}
    return [HotspotLine(areas.get(g.area, g.area), g.category, g.tickets, g.support)
            for g in rank_groups(await repo.period_groups(session, since, until), policy(app), per_area)]


def window_of(app: App) -> timedelta:
    return policy(app).window
