"""What the cards and /ticket say about one matter: supporters, a related ticket, the 专项, and
likely duplicates with a one-tap 合并 (a leaf: card modules import it, it imports no card module)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MergeInto, button
from bot.context import App
from bot.domain import duplicates
from bot.domain.codes import display
from bot.domain.lifecycle import Status
from bot.i18n import Translator
from storage import directory
from storage import matter as repo
from storage.models import Ticket

POLICY = duplicates.Policy()
SHOWN = 2  # duplicates named on a card (each with its own 合并 button)


async def card_lines(session: AsyncSession, app: App, tr: Translator, t: Ticket) -> list[str]:
    """Supporters, the related ticket, the 专项 — for the dispatch and department cards."""
    lines = []
    count = await repo.support_count(session, t.id)
    if count:
        lines.append(tr("card.supporters", count=count))
    related = await repo.related_to(session, t.id)
    if related is not None:
        lines.append(tr("card.related", code=display(related.code)))
    c = await repo.campaign_of(session, t.id)
    if c is not None:
        area = await directory.area(session, c.area_code)
        lines.append(tr("card.campaign", area=area.name if area else c.area_code, category=c.category,
                        deadline=c.deadline.astimezone(app.tz).strftime("%Y-%m-%d")))
    return lines


def _matter(t: Ticket) -> duplicates.Matter:
    return duplicates.Matter(id=t.id, code=t.code, text=t.text or "", created_at=t.created_at, area=t.area_code,
                             category=t.category, latitude=t.latitude, longitude=t.longitude, closed_at=t.closed_at)


async def likely_duplicates(session: AsyncSession, app: App, t: Ticket) -> list[duplicates.Suggestion]:
    """Open or recently closed tickets of the same area and category that look like the same matter."""
    if not (t.area_code and t.category) or t.status not in (Status.NEW, Status.TRIAGE):
        return []
    now = t.created_at
    rows = await repo.duplicate_candidates(session, t.area_code, t.category, filed_since=now - POLICY.open_window,
                                           closed_since=now - POLICY.closed_window, exclude=t.id)
    return duplicates.suggest(_matter(t), [_matter(r) for r in rows], POLICY)[:SHOWN]


def _age(tr: Translator, age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return tr("dup.age.minutes", n=max(minutes, 1))
    if minutes < 48 * 60:
        return tr("dup.age.hours", n=minutes // 60)
    return tr("dup.age.days", n=minutes // (24 * 60))


def reason(tr: Translator, s: duplicates.Suggestion) -> str:
    """A dispatcher's reason at a glance: place, words, when, closed."""
    parts = []
    if s.same_building:
        parts.append(tr("dup.reason.building", building=s.same_building))
    if s.distance_m is not None:
        parts.append(tr("dup.reason.distance", metres=s.distance_m))
    if s.shared_words:
        parts.append(tr("dup.reason.words", words="、".join(s.shared_words[:3])))
    parts.append(tr("dup.reason.age", age=_age(tr, s.age)))
    if s.closed:
        parts.append(tr("dup.reason.closed"))
    return "；".join(parts)


async def duplicate_lines(session: AsyncSession, app: App, tr: Translator,
                          t: Ticket) -> tuple[list[str], list[list[dict]]]:
    """The dispatch card's duplicate lines and one 合并 button per open suggestion."""
    lines, rows = [], []
    for s in await likely_duplicates(session, app, t):
        lines.append(tr("card.duplicate", code=display(s.code), reason=reason(tr, s)))
        if not s.closed:  # a closed ticket cannot take a merge; naming it is enough
            rows.append([button(tr("btn.merge_into", code=display(s.code)),
                                MergeInto(ticket_id=t.id, target_id=s.ticket_id))])
    return lines, rows
