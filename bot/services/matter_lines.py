"""What the cards and /ticket say about one matter: supporters, a related ticket, the 专项, and
likely duplicates with a one-tap 合并 (a leaf: card modules import it, it imports no card module)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MergeInto, button
from bot.context import App
from bot.domain import duplicates
from bot.domain.codes import display
from bot.domain.rating import clip
from bot.domain.lifecycle import RESULT_GIVEN, Status
from bot.domain.routing_text import has_cjk
from bot.i18n import Translator
from storage import directory, tickets
from storage import matter as repo
from storage.models import Campaign, Ticket

POLICY = duplicates.Policy()
SHOWN = 2  # duplicates named on a card (each with its own 合并 button)


@dataclass(frozen=True)
class CardFacts:
    attachments: int
    supporters: int
    related: Ticket | None
    campaign: Campaign | None
    added: list[tuple[str, str]]  # the reporter's words since filing: (event kind, text)


async def card_facts(session: AsyncSession, t: Ticket) -> CardFacts:
    """What a card says about a ticket beside its own row (one statement; more only for a related
    ticket or a 专项, when there is one)."""
    attachments, supporters, related_id, campaign_id, words = await repo.card_facts(session, t.id)
    related = await tickets.get(session, related_id, refresh=False) if related_id else None
    campaign = await repo.campaign(session, campaign_id) if campaign_id else None
    added = [(e.kind, str((e.data or {}).get("text") or "")) for e in await repo.reporter_words(session, t.id)] if words else []
    return CardFacts(attachments, supporters, related, campaign, added)


async def card_lines(session: AsyncSession, app: App, tr: Translator, t: Ticket,
                     facts: CardFacts | None = None) -> list[str]:
    """Supporters, the related ticket, the 专项, what the reporter added — for the dispatch and
    department cards."""
    f = facts or await card_facts(session, t)
    lines = _added_lines(tr, f.added)
    if f.supporters:
        lines.append(tr("card.supporters", count=f.supporters))
    if f.related is not None:
        lines.append(tr("card.related", code=display(f.related.code)))
    c = f.campaign
    if c is not None:
        area = await directory.area(session, c.area_code)
        lines.append(tr("card.campaign", area=area.name if area else c.area_code, category=c.category,
                        deadline=c.deadline.astimezone(app.tz).strftime("%Y-%m-%d")))
    return lines


# The reporter's last few additions, each cut: a card must stay a card.
ADDED_SHOWN, ADDED_CHARS = 3, 200


def _added_lines(tr: Translator, added: list[tuple[str, str]]) -> list[str]:
    """The latest correction (an edit of the appeal) and the latest additions, oldest first."""
    edits = [text for kind, text in added if kind == "appeal_edited" and text.strip()]
    notes = [text for kind, text in added if kind == "reporter_note" and text.strip()][-ADDED_SHOWN:]
    lines = [tr("card.reporter_edit", text=clip(edits[-1], ADDED_CHARS))] if edits else []
    return lines + [tr("card.reporter_added", text=clip(n, ADDED_CHARS)) for n in notes]


def _matter(t: Ticket | Row) -> duplicates.Matter:
    return duplicates.Matter(id=t.id, code=t.code, text=t.text or "", created_at=t.created_at, area=t.area_code,
                             category=t.category, latitude=t.latitude, longitude=t.longitude, closed_at=t.closed_at,
                             result_given=t.status in RESULT_GIVEN)


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


def reason(tr: Translator, s: duplicates.Suggestion, text: str = "") -> str:
    """A dispatcher's reason at a glance: place, words, when, closed. An appeal without Chinese
    shows only the shared words it wrote: it matches Chinese ones through the glossary, and its
    card named Chinese words it never used (a Chinese one keeps its synonyms: 菜场 shares 菜市场)."""
    parts = []
    written = (text or "").casefold()
    chinese = has_cjk(written)
    words = [w for w in s.shared_words if chinese or w.casefold() in written]
    if s.same_building:
        parts.append(tr("dup.reason.building", building=s.same_building))
    if s.distance_m is not None:
        parts.append(tr("dup.reason.distance", metres=s.distance_m))
    if words:
        parts.append(tr("dup.reason.words", words=tr("report.list_sep").join(words[:3])))
    parts.append(tr("dup.reason.age", age=_age(tr, s.age)))
    if s.closed:
        parts.append(tr("dup.reason.closed"))
    return tr("dup.sep").join(parts)


async def duplicate_lines(session: AsyncSession, app: App, tr: Translator,
                          t: Ticket) -> tuple[list[str], list[list[dict]]]:
    """The dispatch card's duplicate lines and one 合并 button per open suggestion."""
    lines, rows = [], []
    for s in await likely_duplicates(session, app, t):
        lines.append(tr("card.duplicate", code=display(s.code), reason=reason(tr, s, t.text or "")))
        if not s.closed:  # a closed ticket cannot take a merge; naming it is enough
            rows.append([button(tr("btn.merge_into", code=display(s.code)),
                                MergeInto(ticket_id=t.id, target_id=s.ticket_id))])
    return lines, rows
