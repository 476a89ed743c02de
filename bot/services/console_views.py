"""What the console shows and does: the queue, a ticket's page, its photos, and its actions.

Actions are the very operations the buttons and commands call (bot/services/dispatch.py: dispatch /
merge / reject; bot/services/supervision.py: 批示 as /instruct, 领导包案 as /take), with the staff
member's roles, so the chats hear exactly what a button press or a command tells them; the services
decide who may act.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.codes import parse_code
from bot.domain.lifecycle import FINAL, WORKING, Refusal, Status, is_open
from bot.services import dispatch as dispatch_service
from bot.services import dispatch_cards, ratings, reviews, supervision
from bot.services.console_auth import Staff
from storage import console as store
from storage import directory, merges, tickets
from storage import matter as matter_store
from storage import ratings as ratings_store
from storage.console import QueueFilter
from storage.models import Attachment, Campaign, Card, ChannelRequest, RatingRound, Supporter, Ticket, TicketEvent

OPEN_STATUSES = [s.value for s in Status if s not in FINAL]


class NotFound(Exception):
    """No such ticket (or not one this person may see: the console does not tell which)."""


@dataclass
class QueueRow:
    ticket: Ticket
    channel: str
    dept: str
    area: str
    due: datetime | None
    overdue: bool


@dataclass
class Choices:
    """What the filters can be set to (also what a filter value is checked against)."""

    statuses: list[str]
    departments: dict[str, str]
    areas: dict[str, str]
    kinds: list[str]
    channels: list[str]


@dataclass
class TicketPage:
    ticket: Ticket
    channel: str
    events: list[TicketEvent]
    photos: list[Attachment]
    departments: list[tuple[str, str, str]]  # (code, lead|co, name)
    ratings: list[RatingRound]
    cards: list[Card]
    contact: ChannelRequest | None
    merged: list[Ticket]
    merged_into: Ticket | None
    area: str
    dept_names: dict[str, str]
    people: dict[int, str] = field(default_factory=dict)
    due: datetime | None = None
    overdue: bool = False
    supporters: list[Supporter] = field(default_factory=list)  # 附议, oldest first
    related_to: Ticket | None = None  # the ticket this one was filed under as a related matter
    related_here: list[Ticket] = field(default_factory=list)  # tickets filed as related to this one
    campaign: Campaign | None = None


def current_due(t: Ticket) -> datetime | None:
    return t.accept_due if t.accepted_at is None and t.accept_due else t.resolve_due


def is_overdue(t: Ticket, now: datetime) -> bool:
    due = current_due(t)
    return bool(due and due < now and Status(t.status) in WORKING)


async def choices(session: AsyncSession, app: App) -> Choices:
    return Choices(
        statuses=[s.value for s in Status],
        departments={d.code: d.name for d in await directory.departments(session)},
        areas={a.code: a.name for a in app.org.areas},
        kinds=["consultation", "help", "complaint", "suggestion", "report"],
        channels=["telegram"] + [c.name for c in app.org.channels],
    )


async def queue(session: AsyncSession, app: App, staff: Staff, f: QueueFilter) -> tuple[list[QueueRow], int]:
    """The rows the page shows and how many tickets the filter matches in all."""
    f.departments_allowed = staff.departments
    if not f.statuses:
        f.statuses = OPEN_STATUSES
    now = app.now()
    names = {d.code: d.name for d in await directory.departments(session)}
    areas = {a.code: a.name for a in app.org.areas}
    found, total = await store.queue(session, f, now)
    return [QueueRow(ticket=t, channel=t.channel or "telegram", dept=names.get(t.lead_dept or "", ""),
                     area=areas.get(t.area_code or "", ""), due=current_due(t), overdue=is_overdue(t, now))
            for t in found], total


async def _visible(session: AsyncSession, staff: Staff, code_text: str) -> Ticket:
    code = parse_code(code_text or "")
    t = await tickets.get_by_code(session, code) if code else None
    if t is None:
        raise NotFound(code_text)
    depts = {d.dept_code for d in await tickets.departments_of(session, t.id)}
    if t.lead_dept:
        depts.add(t.lead_dept)
    if not staff.may_see(depts):
        raise NotFound(code_text)
    return t


async def ticket_page(session: AsyncSession, app: App, staff: Staff, code_text: str) -> TicketPage:
    t = await _visible(session, staff, code_text)
    names = {d.code: d.name for d in await directory.departments(session)}
    contact = await store.channel_request(session, t.id)
    events = await tickets.events(session, t.id)
    supporters = await matter_store.supporters(session, t.id)
    people: dict[int, str] = {}
    ids = {e.actor_id for e in events} | {t.reporter_id, t.owner_id} | {s.person_id for s in supporters}
    for uid in (i for i in ids if i is not None):
        person = await directory.person(session, uid)
        people[uid] = (person.full_name or person.username or str(uid)) if person else str(uid)
    merged_into = await tickets.get(session, t.merged_into_id) if t.merged_into_id else None
    return TicketPage(
        ticket=t, channel=t.channel or "telegram", events=events,
        photos=[a for a in await tickets.attachments(session, t.id) if a.kind in ("photo", "document")],  # pictures
        # After a 退单 the rows stay until the next dispatch; the page names no department the ticket left.
        departments=[(d.dept_code, d.role, names.get(d.dept_code, d.dept_code))
                     for d in await tickets.departments_of(session, t.id)] if t.lead_dept else [],
        ratings=await ratings_store.of_ticket(session, t.id), cards=await store.cards_of(session, t.id),
        contact=contact, merged=await merges.merged_into(session, t.id), merged_into=merged_into,
        area=next((a.name for a in app.org.areas if a.code == t.area_code), ""), dept_names=names,
        people=people, due=current_due(t), overdue=is_overdue(t, app.now()), supporters=supporters,
        related_to=await matter_store.related_to(session, t.id),
        related_here=await matter_store.related_from(session, t.id),
        campaign=await matter_store.campaign_of(session, t.id))


async def photo(session: AsyncSession, staff: Staff, code_text: str, attachment_id: int) -> Attachment:
    t = await _visible(session, staff, code_text)
    for a in await tickets.attachments(session, t.id):
        if a.id == attachment_id:
            return a
    raise NotFound(str(attachment_id))


# ---------------------------------------------------------------- actions (the buttons' operations)


async def dispatch(session: AsyncSession, app: App, staff: Staff, code_text: str, lead: str,
                   co: list[str]) -> Ticket:
    t = await _visible(session, staff, code_text)
    if not staff.roles.can_dispatch:
        raise Refusal("error.forbidden")
    if t.status == Status.REVIEW and not await dispatch_cards.decisions_open(session, t):
        # Under 不满意审核 a dispatch is the review's 改派: the review card is settled and the
        # matter recorded as sent elsewhere, as the buttons in the dispatch chat do.
        await reviews.elsewhere(session, app, t.id, staff.roles)
    return await dispatch_service.dispatch(session, app, t.id, staff.roles, lead, [c for c in co if c != lead])


async def merge(session: AsyncSession, app: App, staff: Staff, code_text: str, target: str) -> Ticket:
    t = await _visible(session, staff, code_text)
    if not staff.roles.can_dispatch:
        raise Refusal("error.forbidden")
    return await dispatch_service.merge(session, app, t.id, staff.roles, target)


async def reject(session: AsyncSession, app: App, staff: Staff, code_text: str, reason: str) -> Ticket:
    t = await _visible(session, staff, code_text)
    if not staff.roles.can_dispatch:
        raise Refusal("error.forbidden")
    return await dispatch_service.reject(session, app, t.id, staff.roles, reason)


async def rate(session: AsyncSession, app: App, staff: Staff, code_text: str, score: int, reason: str | None,
               words: str | None) -> Ticket:
    """回访: the rating a requester from another channel gave the centre by phone."""
    t = await _visible(session, staff, code_text)
    if not staff.roles.can_dispatch:
        raise Refusal("error.forbidden")
    return await ratings.rate_by_callback(session, app, t.id, staff.user_id, score, reason, words)


async def instruct(session: AsyncSession, app: App, staff: Staff, code_text: str, words: str) -> Ticket:
    """批示 from the ticket page: the service /instruct calls (leaders only), to the department chat."""
    t = await _visible(session, staff, code_text)
    if len(words.strip()) < 2:
        raise Refusal("console.instruct_empty")
    await supervision.instruct(session, app, t, staff.roles, words)
    return t


async def take(session: AsyncSession, app: App, staff: Staff, code_text: str) -> Ticket:
    """领导包案 from the ticket page: the service /take and the 领导包案 button call (leaders only)."""
    t = await _visible(session, staff, code_text)
    return await supervision.take(session, app, t, staff.roles)


def allowed_actions(staff: Staff, t: Ticket) -> list[str]:
    """Which forms the ticket page offers this person (the server checks again on POST)."""
    out: list[str] = []
    if staff.roles.leader and is_open(t.status):
        out.append("instruct")
        if t.leader_id is None:
            out.append("take")
    if staff.roles.can_dispatch and t.status in (Status.TRIAGE, Status.REVIEW):
        out.append("dispatch")
    if staff.roles.can_dispatch and t.status in (Status.NEW, Status.TRIAGE):
        out += ["merge", "reject"]
    if staff.roles.can_dispatch and t.status == Status.RESOLVED and (t.channel or "telegram") != "telegram":
        out.append("rate")
    return out
