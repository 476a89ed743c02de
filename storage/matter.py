"""One matter (issue #11): supporters, related tickets, hotspot alerts, 专项 — rows, no words."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Row, and_, bindparam, func, or_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.hotspots import GroupFacts
from bot.domain.lifecycle import Status
from storage.base import UtcDateTime
from storage.common import insert_ignore, run_core
from storage.models import (
    Attachment,
    Campaign,
    CampaignTicket,
    HotspotAlert,
    HotspotAlertTicket,
    RatingRound,
    RelatedTicket,
    Supporter,
    Ticket,
    TicketEvent,
)

# Tickets that count towards a hotspot or a 专项: everything but spam and merged duplicates (those
# count as support of the ticket they joined), as bot/domain/hotspots.py says.
NOT_COUNTED = (Status.REJECTED, Status.MERGED)
# The tickets table again, as the tickets merged into one. Made once: an alias copies every
# column, and building it per appeal cost more than the statement it is in.
MERGED = Ticket.__table__.alias("merged")

# --------------------------------------------------------------------------- supporters


async def add_supporter(session: AsyncSession, ticket_id: int, person_id: int, *, now: datetime,
                        chat_id: int | None = None, message_id: int | None = None, how: str = "reply") -> bool:
    """True when the person is a new supporter (a repeat changes nothing)."""
    return await insert_ignore(session, Supporter, {
        "ticket_id": ticket_id, "person_id": person_id, "chat_id": chat_id, "message_id": message_id,
        "how": how, "created_at": now})


async def supporters(session: AsyncSession, ticket_id: int) -> list[Supporter]:
    q = select(Supporter).where(Supporter.ticket_id == ticket_id).order_by(Supporter.created_at)
    return list((await session.execute(q)).scalars())


async def support_count(session: AsyncSession, ticket_id: int) -> int:
    return int(await session.scalar(select(func.count()).select_from(Supporter)
                                    .where(Supporter.ticket_id == ticket_id)) or 0)


async def merged_count(session: AsyncSession, ticket_id: int) -> int:
    return int(await session.scalar(select(func.count()).select_from(Ticket)
                                    .where(Ticket.merged_into_id == ticket_id)) or 0)


async def move_supporters(session: AsyncSession, from_id: int, to_id: int, *, skip: set[int], now: datetime) -> int:
    """Supporters of a merged ticket follow the surviving one (its own reporters excepted)."""
    moved = 0
    for s in await supporters(session, from_id):
        if s.person_id in skip:
            continue
        moved += await add_supporter(session, to_id, s.person_id, now=now, chat_id=s.chat_id,
                                     message_id=s.message_id, how="merged")
    return moved


# --------------------------------------------------------------------------- related tickets


async def mark_related(session: AsyncSession, ticket_id: int, related_to_id: int, now: datetime) -> None:
    await insert_ignore(session, RelatedTicket, {"ticket_id": ticket_id, "related_to_id": related_to_id,
                                                 "created_at": now})


async def related_to(session: AsyncSession, ticket_id: int) -> Ticket | None:
    q = select(Ticket).join(RelatedTicket, RelatedTicket.related_to_id == Ticket.id).where(
        RelatedTicket.ticket_id == ticket_id)
    return (await session.execute(q)).scalar_one_or_none()


# What the reporter added to an appeal after filing it (a reply to the acknowledgement, an edit):
# the cards carry it, so a dispatcher or a handler going out knows it.
REPORTER_WORDS = ("reporter_note", "appeal_edited")
_CARD_FACTS = select(
    select(func.count()).select_from(Attachment)  # the appeal's own, not the department's progress or result
    .where(Attachment.ticket_id == bindparam("t"), Attachment.source == "appeal").scalar_subquery(),
    select(func.count()).select_from(Supporter).where(Supporter.ticket_id == bindparam("t")).scalar_subquery(),
    select(RelatedTicket.related_to_id).where(RelatedTicket.ticket_id == bindparam("t")).limit(1).scalar_subquery(),
    select(CampaignTicket.campaign_id).where(CampaignTicket.ticket_id == bindparam("t")).limit(1).scalar_subquery(),
    select(func.count()).select_from(TicketEvent)
    .where(TicketEvent.ticket_id == bindparam("t"), TicketEvent.kind.in_(REPORTER_WORDS)).scalar_subquery())


async def card_facts(session: AsyncSession, ticket_id: int) -> tuple[int, int, int | None, int | None, int]:
    """What a card says beside the ticket's own row, in one statement: its attachments, its
    supporters, the id of the ticket it relates to and of its 专项 (None: none), how many times
    the reporter added words."""
    photos, supporters, related_id, campaign_id, words = (await run_core(session, _CARD_FACTS, {"t": ticket_id})).one()
    return int(photos or 0), int(supporters or 0), related_id, campaign_id, int(words or 0)


async def reporter_words(session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    """The reporter's additions and corrections (REPORTER_WORDS), oldest first."""
    q = (select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind.in_(REPORTER_WORDS))
         .order_by(TicketEvent.id))
    return list((await session.execute(q)).scalars())


async def related_from(session: AsyncSession, ticket_id: int) -> list[Ticket]:
    """The tickets filed as related to this one (replies with a matter of their own), oldest first."""
    q = (select(Ticket).join(RelatedTicket, RelatedTicket.ticket_id == Ticket.id)
         .where(RelatedTicket.related_to_id == ticket_id).order_by(Ticket.created_at, Ticket.id))
    return list((await session.execute(q)).scalars())


# --------------------------------------------------------------------------- candidates and hotspots


# The scope and candidate reads every appeal makes, built once (storage/common.py `run_core`).
# `exclude` -1 leaves nothing out (ids are positive).
_SUPPORT = (select(func.count()).select_from(Supporter).where(Supporter.ticket_id == Ticket.id)
            .correlate(Ticket).scalar_subquery()
            + select(func.count()).select_from(MERGED).where(MERGED.c.merged_into_id == Ticket.id)
            .correlate(Ticket).scalar_subquery())
_SAME_SCOPE = (
    select(Ticket.id, Ticket.code, Ticket.text, Ticket.area_code, Ticket.category, Ticket.created_at,
           Ticket.status, _SUPPORT.label("support"))
    .where(Ticket.area_code == bindparam("area"), Ticket.category == bindparam("category"),
           Ticket.created_at > bindparam("since"), Ticket.status.not_in(NOT_COUNTED),
           Ticket.id != bindparam("exclude"))
    .order_by(Ticket.created_at, Ticket.id))
_CANDIDATES = (
    select(Ticket.id, Ticket.code, Ticket.text, Ticket.created_at, Ticket.area_code, Ticket.category,
           Ticket.latitude, Ticket.longitude, Ticket.closed_at, Ticket.status)
    .where(Ticket.area_code == bindparam("area"), Ticket.category == bindparam("category"),
           Ticket.id != bindparam("exclude"), Ticket.status.not_in((Status.MERGED, Status.REJECTED)),
           or_(and_(Ticket.closed_at.is_(None), Ticket.created_at > bindparam("filed_since")),
               and_(Ticket.closed_at.is_not(None), Ticket.closed_at > bindparam("closed_since"))))
    .order_by(Ticket.created_at.desc()).limit(200))


async def same_scope(session: AsyncSession, area: str, category: str, *, since: datetime,
                     exclude: int | None = None) -> list[Row]:
    """Tickets of one area and category filed since `since` (spam left out), oldest first: the
    columns a hotspot or a 专项 reads (id, code, text, area_code, category, created_at, status)
    and `support`, as `support_counts` counts it. Each appeal asks this of its area, so whole
    ticket objects, or a second and third statement for the counts, would cost it per neighbour."""
    params = {"area": area, "category": category, "since": since, "exclude": -1 if exclude is None else exclude}
    return list((await run_core(session, _SAME_SCOPE, params)).all())


async def duplicate_candidates(session: AsyncSession, area: str, category: str, *, filed_since: datetime,
                               closed_since: datetime, exclude: int) -> list[Row]:
    """Open tickets filed since `filed_since`, or tickets closed since `closed_since`; merged ones
    are left out (their surviving ticket is the one to name). Only the columns a comparison reads
    (id, code, text, created_at, area_code, category, latitude, longitude, closed_at): a busy area
    has many, and whole ticket objects cost several times more to load."""
    params = {"area": area, "category": category, "exclude": exclude, "filed_since": filed_since,
              "closed_since": closed_since}
    return list((await run_core(session, _CANDIDATES, params)).all())


async def support_counts(session: AsyncSession, ticket_ids: list[int]) -> dict[int, int]:
    """Supporters plus tickets merged in, per ticket."""
    if not ticket_ids:
        return {}
    out = {tid: 0 for tid in ticket_ids}
    q1 = select(Supporter.ticket_id, func.count()).where(Supporter.ticket_id.in_(ticket_ids)).group_by(Supporter.ticket_id)
    q2 = (select(Ticket.merged_into_id, func.count()).where(Ticket.merged_into_id.in_(ticket_ids))
          .group_by(Ticket.merged_into_id))
    for q in (q1, q2):
        for tid, n in (await session.execute(q)).all():
            out[tid] += int(n)
    return out


async def record_alert(session: AsyncSession, *, area: str, category: str, window_start: datetime, trigger: str,
                       ticket_ids: list[int], support: int, now: datetime) -> HotspotAlert | None:
    """The alert row for this cluster (`window_start`: when its oldest ticket was filed), or None
    when this cluster already had its alert."""
    written = await insert_ignore(session, HotspotAlert, {
        "area_code": area, "category": category, "window_start": window_start, "trigger": trigger,
        "ticket_count": len(ticket_ids), "support_count": support, "created_at": now})
    if not written:
        return None
    alert = (await session.execute(select(HotspotAlert).where(
        HotspotAlert.area_code == area, HotspotAlert.category == category,
        HotspotAlert.window_start == window_start))).scalar_one()
    for tid in ticket_ids:
        await insert_ignore(session, HotspotAlertTicket, {"alert_id": alert.id, "ticket_id": tid})
    return alert


async def alerted_tickets(session: AsyncSession, area: str, category: str, *, since: datetime) -> set[int]:
    """The tickets filed after `since` that an alert of this area and category has listed (asked
    by every appeal of a hot area: built once)."""
    return set((await run_core(session, _ALERTED, {"area": area, "category": category, "since": since})).scalars())


_ALERTED = (select(HotspotAlertTicket.ticket_id)
            .join(HotspotAlert, HotspotAlert.id == HotspotAlertTicket.alert_id)
            .join(Ticket, Ticket.id == HotspotAlertTicket.ticket_id)
            .where(HotspotAlert.area_code == bindparam("area"), HotspotAlert.category == bindparam("category"),
                   Ticket.created_at > bindparam("since")))


async def alert(session: AsyncSession, alert_id: int) -> HotspotAlert | None:
    return await session.get(HotspotAlert, alert_id)


async def alert_tickets(session: AsyncSession, alert_id: int) -> list[Ticket]:
    q = (select(Ticket).join(HotspotAlertTicket, HotspotAlertTicket.ticket_id == Ticket.id)
         .where(HotspotAlertTicket.alert_id == alert_id).order_by(Ticket.created_at, Ticket.id))
    return list((await session.execute(q)).scalars())


async def in_period(session: AsyncSession, since: datetime, until: datetime) -> list[Ticket]:
    q = select(Ticket).where(Ticket.created_at >= since, Ticket.created_at <= until,
                             Ticket.area_code.is_not(None), Ticket.category.is_not(None),
                             Ticket.status.not_in(NOT_COUNTED))
    return list((await session.execute(q)).scalars())


async def period_groups(session: AsyncSession, since: datetime, until: datetime) -> list[GroupFacts]:
    """Every (area, category) of the tickets filed in [since, until), added up by the database:
    a report over a year reads a few rows per group, never the tickets themselves."""
    # The filing time is wrapped so that SQLite (which keeps no statistics here) walks
    # ix_tickets_scope alone, already in group order, instead of fetching every ticket of the
    # period by rowid from ix_tickets_created and sorting them: 40 ms instead of 200 for a year
    # of 100,000 (bench/report.py).
    filed = type_coerce(func.coalesce(Ticket.created_at, None), UtcDateTime())
    q = (select(Ticket.area_code, Ticket.category, func.count(), func.max(Ticket.created_at))
         .where(filed >= since, filed < until, Ticket.area_code.is_not(None), Ticket.category.is_not(None),
                Ticket.status.not_in(NOT_COUNTED))
         .group_by(Ticket.area_code, Ticket.category))
    groups = {(a, c): [int(n), latest] for a, c, n, latest in (await session.execute(q)).all()}
    # Supporters, and tickets merged in (few: found by their status), per ticket of the period.
    in_period = and_(Ticket.created_at >= since, Ticket.created_at < until, Ticket.status.not_in(NOT_COUNTED))
    supporters = (select(Supporter.ticket_id.label("tid"), func.count().label("n"))
                  .group_by(Supporter.ticket_id).subquery())
    merged = MERGED
    per_ticket: dict[int, list] = {}
    for q in (select(Ticket.id, Ticket.area_code, Ticket.category, supporters.c.n)
              .join(supporters, supporters.c.tid == Ticket.id).where(in_period),
              select(Ticket.id, Ticket.area_code, Ticket.category, func.count())
              .join(merged, merged.c.merged_into_id == Ticket.id)
              .where(merged.c.status == Status.MERGED.value, in_period).group_by(Ticket.id)):
        for tid, a, c, n in (await session.execute(q)).all():
            per_ticket.setdefault(tid, [a, c, 0])[2] += int(n)
    support: dict[tuple[str, str], list[int]] = {}
    for a, c, n in per_ticket.values():
        row = support.setdefault((a, c), [0, 0])
        row[0] += n
        row[1] = max(row[1], n)
    return [GroupFacts(a, c, n, *support.get((a, c), [0, 0]), latest=_aware(latest))
            for (a, c), (n, latest) in groups.items() if a is not None and c is not None]


def _aware(value: datetime | str) -> datetime:
    """max() over a SQLite text column comes back as text, not through the column's type."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------- 专项


_OPEN_CAMPAIGN = (select(Campaign.id).where(Campaign.area_code == bindparam("area"), Campaign.category == bindparam("category"),
                                            Campaign.closed_at.is_(None)).order_by(Campaign.id).limit(1))


async def open_campaign_for(session: AsyncSession, area: str, category: str) -> Campaign | None:
    """Asked for every new ticket, and almost always None: the id is looked up with a statement
    built once, the 专项 loaded only when there is one."""
    found = (await run_core(session, _OPEN_CAMPAIGN, {"area": area, "category": category})).scalar()
    return None if found is None else await campaign(session, found)


async def campaign(session: AsyncSession, campaign_id: int) -> Campaign | None:
    return await session.get(Campaign, campaign_id, populate_existing=True)


async def create_campaign(session: AsyncSession, **values: object) -> Campaign:
    c = Campaign(**values)
    session.add(c)
    await session.flush()
    return c


async def join(session: AsyncSession, campaign_id: int, ticket_id: int, now: datetime) -> bool:
    """True when the ticket joined; False when it already belongs to a 专项 (this or another)."""
    return await insert_ignore(session, CampaignTicket, {"ticket_id": ticket_id, "campaign_id": campaign_id,
                                                         "joined_at": now})


async def campaign_of(session: AsyncSession, ticket_id: int) -> Campaign | None:
    q = select(Campaign).join(CampaignTicket, CampaignTicket.campaign_id == Campaign.id).where(
        CampaignTicket.ticket_id == ticket_id)
    return (await session.execute(q)).scalar_one_or_none()


async def campaign_ids_of(session: AsyncSession, ticket_ids: list[int]) -> dict[int, int]:
    if not ticket_ids:
        return {}
    q = select(CampaignTicket.ticket_id, CampaignTicket.campaign_id).where(CampaignTicket.ticket_id.in_(ticket_ids))
    return {tid: cid for tid, cid in (await session.execute(q)).all()}


async def campaign_tickets(session: AsyncSession, campaign_id: int) -> list[Ticket]:
    q = (select(Ticket).join(CampaignTicket, CampaignTicket.ticket_id == Ticket.id)
         .where(CampaignTicket.campaign_id == campaign_id).order_by(Ticket.created_at, Ticket.id))
    return list((await session.execute(q)).scalars())


async def open_campaigns(session: AsyncSession, dept: str | None = None) -> list[Campaign]:
    q = select(Campaign).where(Campaign.closed_at.is_(None))
    if dept is not None:
        q = q.where(Campaign.lead_dept == dept)
    return list((await session.execute(q.order_by(Campaign.id))).scalars())


async def all_campaigns(session: AsyncSession, depts: set[str] | None = None) -> list[Campaign]:
    """Every 专项 (those of `depts` only when given): running ones first, then the newest."""
    q = select(Campaign)
    if depts is not None:
        q = q.where(Campaign.lead_dept.in_(sorted(depts)))
    q = q.order_by(Campaign.closed_at.is_not(None), Campaign.opened_at.desc(), Campaign.id.desc())
    return list((await session.execute(q)).scalars())


async def tickets_by_id(session: AsyncSession, ids: list[int]) -> dict[int, Ticket]:
    if not ids:
        return {}
    return {t.id: t for t in (await session.execute(select(Ticket).where(Ticket.id.in_(ids)))).scalars()}


async def campaigns_opened_before(session: AsyncSession, at: datetime) -> list[Campaign]:
    """专项 opened before `at` and not closed before it (in progress then), oldest first."""
    q = select(Campaign).where(Campaign.opened_at < at, or_(Campaign.closed_at.is_(None), Campaign.closed_at > at))
    return list((await session.execute(q.order_by(Campaign.id))).scalars())


async def due_campaigns(session: AsyncSession, now: datetime) -> list[Campaign]:
    q = select(Campaign).where(Campaign.closed_at.is_(None), Campaign.next_check_at <= now).order_by(Campaign.id)
    return list((await session.execute(q)).scalars())


async def set_campaign(session: AsyncSession, campaign_id: int, **values: object) -> None:
    await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(**values))


async def close_campaign(session: AsyncSession, campaign_id: int, by: int, now: datetime) -> bool:
    """Conditional: True only for the press that closed it."""
    result = await session.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.closed_at.is_(None))
                                   .values(closed_at=now, closed_by=by, next_check_at=None))
    return bool(result.rowcount)


async def latest_result_levels(session: AsyncSession, ticket_ids: list[int]) -> dict[int, int]:
    """The result rating of each ticket's latest answered round (4 非常满意 … 1 不满意)."""
    if not ticket_ids:
        return {}
    q = (select(RatingRound.ticket_id, RatingRound.round, RatingRound.result_level)
         .where(RatingRound.ticket_id.in_(ticket_ids), RatingRound.result_level.is_not(None))
         .order_by(RatingRound.ticket_id, RatingRound.round))
    return {tid: level for tid, _round, level in (await session.execute(q)).all()}
