"""The console's 一类事 pages: the 高频共性 groups of a period and the 专项 with their tickets and figures.

Read through the services the chats use (bot/services/hotspot_alerts.py ranks the groups as
`/hotspots` does; bot/services/campaigns.py adds up a 专项 as its closing report does). The groups
span departments, so only those who see every ticket get them; a handler sees the 专项 their own
department leads.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain import campaigns as rules
from bot.domain.hotspots import Trigger
from bot.domain.lifecycle import Refusal
from bot.services import campaigns, hotspot_alerts
from bot.services.addressing import dept_names, person_name
from bot.services.console_auth import Staff
from storage import directory
from storage import matter as repo
from storage.models import Campaign, Ticket


@dataclass
class HotspotRow:
    area: str
    category: str
    trigger: Trigger
    count: int
    support: int
    tickets: list[Ticket]  # oldest first
    campaign_id: int | None  # the 专项 running for it, if any

    @property
    def heat(self) -> int:
        return self.count + self.support


@dataclass
class HotspotsPage:
    since: datetime
    rows: list[HotspotRow]


@dataclass
class CampaignRow:
    campaign: Campaign
    area: str
    dept: str
    leader: str
    figures: rules.CampaignReport
    tickets: list[Ticket]

    @property
    def running(self) -> bool:
        return self.campaign.closed_at is None


async def _area_names(session: AsyncSession) -> dict[str, str]:
    return {a.code: a.name for a in await directory.areas(session)}


async def hotspots(session: AsyncSession, app: App, staff: Staff, period: str | None) -> HotspotsPage:
    """The hot groups of a period, hottest first (ValueError for a period that cannot be read)."""
    if not staff.sees_all:
        raise Refusal("console.matter_staff_refused")
    since, hot, running = await hotspot_alerts.ranked(session, app, period)
    areas = await _area_names(session)
    ids = [t.id for h in hot for t in h.tickets]
    rows_by_id = await repo.tickets_by_id(session, ids)
    rows = []
    for h in hot:
        listed = [rows_by_id[t.id] for t in h.tickets if t.id in rows_by_id]
        campaign = next((running[t.id] for t in h.tickets if t.id in running), None)
        rows.append(HotspotRow(areas.get(h.area, h.area), h.category, h.trigger, h.count, h.support, listed, campaign))
    return HotspotsPage(since, rows)


async def campaign_rows(session: AsyncSession, app: App, staff: Staff) -> list[CampaignRow]:
    """Every 专项 this person may see, running ones first, each with its tickets and figures."""
    areas = await _area_names(session)
    names = await dept_names(session)
    out = []
    for c in await repo.all_campaigns(session, staff.departments):
        out.append(CampaignRow(c, areas.get(c.area_code, c.area_code), names.get(c.lead_dept, c.lead_dept),
                               await person_name(session, c.leader_id) or str(c.leader_id),
                               await campaigns.progress(session, c), await repo.campaign_tickets(session, c.id)))
    return out
