"""Open311 GeoReport v2 (DESIGN §9): other channels file tickets and read their public status.

Service codes are the catalogue's categories. A POST becomes a ticket like any other
(routed, carded, dispatched, handled); the requester's contact details are kept for the
staff in `channel_requests` and never published: GET shows public fields only.
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.codes import display, parse_code
from bot.domain.lifecycle import FINAL, Status
from bot.domain.rating import public_result
from bot.i18n import Translator
from bot.org import CatalogSpec
from bot.domain.appeal import ChannelAppeal
from bot.services import group_ack, intake
from bot.services.reporter_names import reporter_names
from storage import console as store
from storage import directory, merges, tickets
from storage.models import Ticket

# GET /requests: the spec's default window and its widest span.
DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
CLOSED = frozenset(FINAL) | {Status.RESOLVED, Status.ANSWERED}
CONTACT_FIELDS = ("email", "phone", "first_name", "last_name", "address_string", "address_id", "device_id",
                  "account_id", "media_url")
LIMITS = {"description": 4000, "address_string": 500, "media_url": 2000, "email": 255, "phone": 64,
          "first_name": 128, "last_name": 128, "address_id": 128, "device_id": 128, "account_id": 128}


class Open311Error(Exception):
    """Answered in the spec's error format: HTTP status and code are the same number."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str
    keywords: list[str]
    group: str


@dataclass(frozen=True)
class PublicRequest:
    service_request_id: str
    status: str  # open | closed
    status_notes: str
    service_name: str
    service_code: str
    agency_responsible: str
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str


def _iso(app: App, when: datetime | None) -> str:
    """ISO 8601 with the offset of the org's timezone (the spec wants the offset or Z)."""
    return when.astimezone(app.tz).isoformat(timespec="seconds") if when else ""


def catalogue(app: App) -> dict[str, CatalogSpec]:
    return {row.category: row for row in app.org.catalog}


async def services(session: AsyncSession, app: App) -> list[Service]:
    names = {d.code: d.name for d in await directory.departments(session)}
    tr = Translator(app.default_locale)
    return [Service(code=row.category, name=row.category,
                    description=tr("open311.service_description", category=row.category,
                                   dept=names.get(row.lead, row.lead)),
                    keywords=list(row.keywords), group=names.get(row.lead, row.lead))
            for row in app.org.catalog]


async def service(session: AsyncSession, app: App, code: str) -> Service:
    for s in await services(session, app):
        if s.code == code:
            return s
    raise Open311Error(404, f"service_code {code!r} not found")


def channel_for_key(app: App, api_key: str | None) -> str | None:
    """The channel whose key this is; compared in constant time."""
    if not api_key:
        return None
    found = None
    for ch in app.org.channels:
        if hmac.compare_digest(ch.api_key.encode(), api_key.encode()):
            found = ch.name
    return found


def _float(form: dict[str, str], name: str, low: float, high: float) -> float | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number") from None
    if not low <= value <= high:
        raise Open311Error(400, f"{name} is out of range")
    return value


def _area_in(areas: list, *texts: str | None) -> str | None:  # noqa: ANN001
    """An area whose name the requester wrote (the address usually names the town)."""
    words = " ".join(t for t in texts if t)
    for a in sorted(areas, key=lambda a: -len(a.name)):
        if a.name and a.name in words:
            return a.code
    return None


async def file_request(session: AsyncSession, app: App, form: dict[str, str]) -> Ticket:
    """POST /requests: check the key and the fields, then a ticket through the same triage as any appeal."""
    channel = channel_for_key(app, form.get("api_key"))
    if channel is None:
        raise Open311Error(403, "api_key is missing or not valid")
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    row = catalogue(app).get(code)
    if row is None:
        raise Open311Error(404, f"service_code {code!r} not found")
    lat, lon = _float(form, "lat", -90, 90), _float(form, "long", -180, 180)
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat and long go together")
    address = (form.get("address_string") or "").strip()
    if lat is None and not address and not (form.get("address_id") or "").strip():
        raise Open311Error(400, "a location is required: lat and long, address_string or address_id")
    description = (form.get("description") or "").strip()
    if not description:
        raise Open311Error(400, "description is required: the department needs the words of the appeal")
    for name, limit in LIMITS.items():
        if len(form.get(name) or "") > limit:
            raise Open311Error(400, f"{name} is longer than {limit} characters")
    media = (form.get("media_url") or "").strip()
    if media and not media.lower().startswith(("http://", "https://")):  # the console links to it
        raise Open311Error(400, "media_url must be an http or https URL")

    text = description + (f"\n📍 {address}" if address else "")
    ticket = await intake.file_channel_appeal(session, app, ChannelAppeal(
        channel=channel, text=text, kind=row.kind, category=row.category, lead=row.lead, co=list(row.co),
        area_code=_area_in(app.org.areas, address, description)
        or (intake.located_in(app, lat, lon) if lat is not None and lon is not None else None),
        location=(lat, lon) if lat is not None and lon is not None else None))
    await store.add_channel_request(session, ticket.id, app.now(), **{
        f: ((form.get(f) or "").strip() or None) for f in CONTACT_FIELDS})
    return ticket


def _status_notes(tr: Translator, t: Ticket, reporter: list[str]) -> str:
    """What the public may read: the scrubbed result (the 正面回应 words), or why it ended."""
    if t.status == Status.DIVERTED.value:
        return tr("open311.note_diverted", channel=tr(f"divert.{t.close_reason}"))
    if t.status == Status.REJECTED.value:
        return tr("open311.note_rejected")
    if t.result_text and Status(t.status) in CLOSED:
        return public_result(t.result_text, reporter)
    return ""


async def _view(session: AsyncSession, app: App, tr: Translator, t: Ticket) -> tuple[str, str]:
    """Status and notes. A merged request follows the ticket that carries it — open until that
    closes, then its result — and names it when that one is public, so the channel can call its
    requester back with the outcome. A consultation the knowledge base answered shows the answer:
    nobody else tells the channel's caller."""
    if t.status == Status.MERGED.value:
        survivor = await merges.carrier(session, t)
        if survivor.status == Status.MERGED.value:  # a merge that leads nowhere
            return "closed", tr("open311.note_merged")
        public = await store.is_public(session, survivor.id)
        status, notes = await _view(session, app, tr, survivor) if public else ("", "")
        status = status or ("closed" if Status(survivor.status) in CLOSED else "open")
        head = tr("open311.note_merged_into", code=survivor.code) if public else tr("open311.note_merged")
        return status, "\n".join(n for n in (head, notes) if n)
    status = "closed" if Status(t.status) in CLOSED else "open"
    if group_ack.answered(t):
        return status, await tickets.knowledge_answer(session, t.id)
    names = await reporter_names(session, t) if t.result_text else []
    return status, _status_notes(tr, t, names)


async def public_view(session: AsyncSession, app: App, ts: list[Ticket]) -> list[PublicRequest]:
    names = {d.code: d.name for d in await directory.departments(session)}
    tr = Translator(app.default_locale)
    views = [await _view(session, app, tr, t) for t in ts]
    return [PublicRequest(
        service_request_id=t.code, status=status, status_notes=notes, service_name=t.category or "",
        service_code=t.category or "",
        agency_responsible=names.get(t.lead_dept, "") if t.lead_dept else "",
        requested_datetime=_iso(app, t.created_at), updated_datetime=_iso(app, t.updated_at),
        expected_datetime=_iso(app, t.resolve_due)) for t, (status, notes) in zip(ts, views)]


_OFFSET_AFTER_SPACE = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def _when(name: str, raw: str | None) -> datetime | None:
    if not raw:
        return None
    # An offset typed into a URL as "+08:00" arrives as " 08:00" (a + in a query is a space):
    # the one place a space can stand in such a date-time is before the offset.
    raw = _OFFSET_AFTER_SPACE.sub(r"\1+\2", raw.strip())
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} must be an ISO 8601 date-time like 2026-11-23T09:00:00+08:00") from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} needs a timezone (Z or an offset)")
    return value


def _codes(raw: str) -> list[str]:
    codes = [parse_code(part) for part in raw.split(",") if part.strip()]
    return [c for c in codes if c]


async def find_requests(session: AsyncSession, app: App, params: dict[str, str]) -> list[PublicRequest]:
    """GET /requests with the spec's filters; service_request_id overrides the rest."""
    ids = (params.get("service_request_id") or "").strip()
    if ids:  # the spec: it overrides all other arguments, so they are not even checked
        rows = await store.public_requests(session, codes=_codes(ids), categories=None, start=app.now(),
                                           end=app.now(), statuses=None, limit=MAX_RESULTS)
        return await public_view(session, app, rows)
    start, end = _when("start_date", params.get("start_date")), _when("end_date", params.get("end_date"))
    now = app.now()
    try:
        end = end or (start + DEFAULT_WINDOW if start else now)
        start = start or end - DEFAULT_WINDOW
    except OverflowError:  # 9999-12-31 plus 90 days
        raise Open311Error(400, "start_date or end_date is out of range") from None
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > DEFAULT_WINDOW:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    statuses: list[str] = []
    wanted: set[str] = set()
    for word in (params.get("status") or "").split(","):
        word = word.strip().lower()
        if word == "open":
            statuses += [s.value for s in Status if s not in CLOSED]
        elif word == "closed":
            statuses += [s.value for s in CLOSED]
        elif word:
            raise Open311Error(400, "status must be open or closed")
        wanted |= {word} if word else set()
    if statuses:  # a merged request shows its carrier's status: read it whatever, filter on what it shows
        statuses.append(Status.MERGED.value)
    categories = [c.strip() for c in (params.get("service_code") or "").split(",") if c.strip()]
    rows = await store.public_requests(session, codes=None, categories=categories or None, start=start, end=end,
                                       statuses=statuses or None, limit=MAX_RESULTS)
    shown = await public_view(session, app, rows)
    return [r for r in shown if r.status in wanted] if wanted else shown


async def find_request(session: AsyncSession, app: App, request_id: str) -> PublicRequest:
    """GET /requests/{id}: a ticket that is not public is not found (nobody learns it exists)."""
    code = parse_code(request_id)
    rows = await store.public_requests(session, codes=[code], categories=None, start=app.now(), end=app.now(),
                                       statuses=None, limit=1) if code else []
    if not rows:
        raise Open311Error(404, f"service request {request_id!r} not found")
    return (await public_view(session, app, rows))[0]


def service_notice(app: App, t: Ticket) -> str:
    return Translator(app.default_locale)("open311.notice", code=display(t.code))
