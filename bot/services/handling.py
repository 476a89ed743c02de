"""In the department chat: 签收, 退单, progress by reply, 办结, 申请延期 (DESIGN §2, issue 3)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ExtDecision, button
from bot.context import App
from bot.domain.codes import display
from bot.domain.dates import find_date, strip_date
from bot.domain.lifecycle import Refusal, Status, plan
from bot.services import cards, deadlines, notify
from bot.services.access import Roles
from bot.services.dispatching import dept_names, dispatch_chat_id, load, post_card
from bot.services.intake import Photo
from storage import directory, extensions, outbox, tickets
from storage.common import serialize
from storage.models import Ticket

CARD_PURPOSES = ("dept_card", "co_card")


async def _person_name(session: AsyncSession, user_id: int | None) -> str | None:
    p = await directory.person(session, user_id) if user_id else None
    return (p.full_name or (f"@{p.username}" if p.username else str(p.id))) if p else None


async def post_department_cards(session: AsyncSession, app: App, t: Ticket, lead: str, co: list[str]) -> None:
    names = await dept_names(session)
    photos = [a.file_id for a in await tickets.attachments(session, t.id, "appeal") if a.kind == "photo"]
    for code, role in [(lead, "lead")] + [(c, "co") for c in co if c != lead]:
        dept = await directory.department(session, code)
        if dept is None or dept.chat_id is None:
            continue
        tr = await notify.chat_translator(session, app, dept.chat_id)
        if role == "lead":
            notify.send_media(session, app, dept.chat_id, photos, cards.head(tr, t), ticket=t, purpose="dept_media")
            if t.latitude is not None:
                outbox.enqueue(session, chat_id=dept.chat_id, method="location", now=app.now(), ticket_id=t.id,
                               purpose="dept_media", payload={"latitude": t.latitude, "longitude": t.longitude})
        co_names = [names.get(c, c) for c in co if c != lead]
        text = cards.dept_card(tr, app, t, len(photos), role, co_names)
        notify.send(session, app, dept.chat_id, text, keyboard=cards.dept_keyboard(tr, t, role), ticket=t,
                    purpose="dept_card" if role == "lead" else "co_card")


async def refresh_dept_cards(session: AsyncSession, app: App, t: Ticket, note: str | None = None,
                             buttons: bool = True) -> None:
    names = await dept_names(session)
    owner = await _person_name(session, t.owner_id)
    depts = await tickets.departments_of(session, t.id)
    co_names = [names.get(d.dept_code, d.dept_code) for d in depts if d.role == "co"]
    photos = len(await tickets.attachments(session, t.id, "appeal"))
    # Only the current lead department's card: an old one (after 退单) must stay disarmed.
    lead = await directory.department(session, t.lead_dept) if t.lead_dept else None
    if lead is None or lead.chat_id is None:
        return
    for link in await tickets.links_of(session, t.id, "dept_card", lead.chat_id):
        tr = await notify.chat_translator(session, app, link.chat_id)
        text = cards.dept_card(tr, app, t, photos, "lead", co_names, owner, note(tr) if callable(note) else note)
        notify.edit(session, app, link.chat_id, link.message_id, text,
                    cards.dept_keyboard(tr, t, "lead") if buttons else None, ticket=t)


def _actors(t: Ticket, roles: Roles, member: str | None):  # noqa: ANN202
    """`member`: the department whose chat the person was seen to be a member of."""
    return roles.actors_for(t, member_of_lead=bool(member) and member == t.lead_dept)


async def accept(session: AsyncSession, app: App, ticket_id: int, roles: Roles, member: str | None) -> Ticket:
    t = await load(session, ticket_id)
    plan("accept", t.status, _actors(t, roles, member))
    now = app.now()
    if not await tickets.move(session, t.id, Status.DISPATCHED.value,
                              {"status": "ACCEPTED", "owner_id": roles.user_id, "accepted_at": now}, now):
        fresh = await load(session, t.id)
        if fresh.owner_id:
            raise Refusal("accept.taken", name=await _person_name(session, fresh.owner_id) or "")
        raise Refusal("error.stale")
    await tickets.add_event(session, t.id, "accepted", now, actor_id=roles.user_id, from_status="DISPATCHED",
                            to_status="ACCEPTED", data={"dept": t.lead_dept})
    t = await load(session, t.id)
    await deadlines.reschedule(session, app, t)
    await refresh_dept_cards(session, app, t)
    await notify.tell_reporter(session, app, t, "reporter.accepted", code=display(t.code))
    return t


async def coaccept(session: AsyncSession, app: App, ticket_id: int, roles: Roles, dept_code: str | None) -> Ticket:
    """协办签收: a co-department confirms it takes part; once per department."""
    t = await load(session, ticket_id)
    if Status(t.status) not in (Status.DISPATCHED, Status.ACCEPTED, Status.REOPENED):
        raise Refusal("error.stale")
    co = {d.dept_code for d in await tickets.departments_of(session, t.id) if d.role == "co"}
    if dept_code is None or dept_code not in co:
        raise Refusal("error.forbidden")
    now = app.now()
    if not await tickets.mark_co_accepted(session, t.id, dept_code, roles.user_id):
        raise Refusal("coaccept.already")
    await tickets.add_event(session, t.id, "co_accepted", now, actor_id=roles.user_id, data={"dept": dept_code})
    dept = await directory.department(session, dept_code)
    for link in await tickets.links_of(session, t.id, "co_card", dept.chat_id if dept else None):
        tr = await notify.chat_translator(session, app, link.chat_id)
        notify.edit(session, app, link.chat_id, link.message_id, None, None, ticket=t)
        notify.send(session, app, link.chat_id, tr("coaccept.done", code=display(t.code),
                                                    name=await _person_name(session, roles.user_id) or ""),
                    reply_to=link.message_id, ticket=t, purpose="dept_note")
    return t


async def ask(session: AsyncSession, app: App, ticket_id: int, roles: Roles, member: str | None, action: str,
              chat_id: int, card_message_id: int) -> Ticket:
    """退单 / 办结 / 申请延期 need words first: ask the presser for them by reply."""
    t = await load(session, ticket_id)
    plan(action, t.status, _actors(t, roles, member))
    from bot.services.dispatching import prompt

    await prompt(session, app, chat_id, t, roles.user_id, f"{action}_prompt", f"prompt.{action}",
                 reply_to=card_message_id)
    return t


async def return_ticket(session: AsyncSession, app: App, ticket_id: int, roles: Roles, member: str | None,
                        reason: str) -> Ticket:
    t = await load(session, ticket_id)
    plan("return", t.status, _actors(t, roles, member))
    reason = reason.strip()
    if len(reason) < 2:
        raise Refusal("return.no_reason")
    now = app.now()
    dept = t.lead_dept
    if not await tickets.move(session, t.id, Status.DISPATCHED.value, {
            "status": "TRIAGE", "returns_count": t.returns_count + 1, "lead_dept": None, "accept_due": None,
            "resolve_due": None, "progress_due": None, "next_check_at": None}, now):
        raise Refusal("error.stale")
    await tickets.add_event(session, t.id, "returned", now, actor_id=roles.user_id, from_status="DISPATCHED",
                            to_status="TRIAGE", data={"reason": reason, "dept": dept})
    names = await dept_names(session)
    await refresh_dept_cards(session, app, t, lambda tr: tr("card.returned", reason=reason), buttons=False)
    t = await load(session, t.id)
    await deadlines.reschedule(session, app, t)
    tr = await notify.chat_translator(session, app, await dispatch_chat_id(session, app) or 0)
    await post_card(session, app, t, tr("card.returned_note", dept=names.get(dept, dept), reason=reason,
                                         count=t.returns_count))
    return t


@dataclass(frozen=True)
class Album:
    """Where an album reply came from: its other photos arrive as separate messages."""

    chat_id: int
    group: str


async def _with_album(session: AsyncSession, album: Album | None, photos: list[Photo]) -> list[Photo]:
    """Serialise the album's items and collect those that arrived before the captioned one."""
    if album is None:
        return photos
    await serialize(session, "album", album.chat_id, album.group)
    early = await tickets.take_buffered(session, album.chat_id, album.group)
    return photos + [Photo(b.file_id, b.file_unique_id, b.kind) for b in early]


async def album_item(session: AsyncSession, app: App, ticket_id: int, album: Album, message_id: int,
                     user_id: int, photos: list[Photo]) -> None:
    """A wordless photo of an album replying to a card or the 办结 prompt: it belongs with its
    captioned sibling — attached (and passed on) if that one was handled, else kept until it is."""
    await serialize(session, "album", album.chat_id, album.group)
    done = await tickets.event_for_album(session, ticket_id, album.group)
    if done is None:
        for p in photos:
            await tickets.buffer_media(session, chat_id=album.chat_id, message_id=message_id,
                                       media_group_id=album.group, user_id=user_id, kind=p.kind, file_id=p.file_id,
                                       file_unique_id=p.file_unique_id, created_at=app.now())
        return
    source = "result" if done.kind == "resolved" else "progress"
    t = await load(session, ticket_id)
    for p in photos:
        await tickets.add_attachment(session, t.id, file_id=p.file_id, file_unique_id=p.file_unique_id, kind=p.kind,
                                     source=source, now=app.now(), added_by=user_id)
    await _media_to_reporter(session, app, t, [p.file_id for p in photos if p.kind == "photo"], f"{source}_media")


async def progress(session: AsyncSession, app: App, ticket_id: int, roles: Roles, member: str | None, text: str,
                   photos: list[Photo], album: Album | None = None) -> Ticket:
    t = await load(session, ticket_id)
    if t.status == Status.DISPATCHED.value:
        raise Refusal("progress.accept_first")
    plan("progress", t.status, _actors(t, roles, member))
    photos = await _with_album(session, album, photos)
    now = app.now()
    for p in photos:
        await tickets.add_attachment(session, t.id, file_id=p.file_id, file_unique_id=p.file_unique_id, kind=p.kind,
                                     source="progress", now=now, added_by=roles.user_id)
    await tickets.add_event(session, t.id, "progress", now, actor_id=roles.user_id,
                            data={"text": text, "photos": len(photos), "album": album.group if album else None})
    await deadlines.update_state(session, t.id, lambda state: state.setdefault("progress_at", now.isoformat()),
                                 now=now)
    await deadlines.reschedule(session, app, t)
    await notify.tell_reporter(session, app, t, "reporter.progress", code=display(t.code), text=text or "📷")
    await _media_to_reporter(session, app, t, [p.file_id for p in photos if p.kind == "photo"], "progress_media")
    return t


async def _media_to_reporter(session: AsyncSession, app: App, t: Ticket, file_ids: list[str], purpose: str) -> None:
    if not file_ids:
        return
    reporter = await directory.person(session, t.reporter_id) if t.reporter_id else None
    if reporter and reporter.started and not reporter.blocked:
        notify.send_media(session, app, reporter.id, file_ids, None, ticket=t, purpose=purpose)
    elif t.origin_chat_id:
        notify.send_media(session, app, t.origin_chat_id, file_ids, None, thread_id=t.origin_thread_id,
                          reply_to=t.origin_message_id, ticket=t, purpose=purpose)


async def resolve(session: AsyncSession, app: App, ticket_id: int, roles: Roles, member: str | None, text: str,
                  photos: list[Photo], album: Album | None = None) -> Ticket:
    t = await load(session, ticket_id)
    plan("resolve", t.status, _actors(t, roles, member))
    text = text.strip()
    if len(text) < 2:
        raise Refusal("resolve.no_result")
    photos = await _with_album(session, album, photos)
    now = app.now()
    if not await tickets.move(session, t.id, {"ACCEPTED", "REOPENED"}, {
            "status": "RESOLVED", "resolved_at": now, "result_text": text,
            "owner_id": t.owner_id or roles.user_id}, now):
        raise Refusal("error.stale")
    for p in photos:
        await tickets.add_attachment(session, t.id, file_id=p.file_id, file_unique_id=p.file_unique_id, kind=p.kind,
                                     source="result", now=now, added_by=roles.user_id)
    await tickets.add_event(session, t.id, "resolved", now, actor_id=roles.user_id, from_status=t.status,
                            to_status="RESOLVED",
                            data={"text": text, "photos": len(photos), "album": album.group if album else None})
    t = await load(session, t.id)
    await refresh_dept_cards(session, app, t, lambda tr: tr("card.resolved"), buttons=False)
    await notify.tell_reporter(session, app, t, "reporter.resolved", code=display(t.code), text=text)
    await _media_to_reporter(session, app, t, [p.file_id for p in photos if p.kind == "photo"], "result_media")
    from bot.services import ratings

    await ratings.ask(session, app, t)
    await deadlines.reschedule(session, app, t)
    return t


async def request_extension(session: AsyncSession, app: App, ticket_id: int, roles: Roles, member: str | None,
                            words: str) -> Ticket:
    t = await load(session, ticket_id)
    plan("extend", t.status, _actors(t, roles, member))
    now = app.now()
    local_today = now.astimezone(app.tz).date()
    day = find_date(words, local_today)
    reason = strip_date(words)
    if day is None or day <= local_today:
        raise Refusal("extend.bad_date")
    if len(reason) < 2:
        raise Refusal("extend.no_reason")
    new_due = datetime.combine(day, time(23, 59, 59), tzinfo=app.tz)
    ext = await extensions.create(session, t.id, roles.user_id, reason, new_due, now)
    await tickets.add_event(session, t.id, "extension_asked", now, actor_id=roles.user_id,
                            data={"reason": reason, "until": day.isoformat()})
    chat_id = await dispatch_chat_id(session, app)
    names = await dept_names(session)
    if chat_id is not None:
        tr = await notify.chat_translator(session, app, chat_id)
        kb = [[button(tr("btn.approve"), ExtDecision(action="approve", extension_id=ext.id)),
               button(tr("btn.refuse"), ExtDecision(action="refuse", extension_id=ext.id))]]
        notify.send(session, app, chat_id, tr("ext.card", code=display(t.code), dept=names.get(t.lead_dept, "-"),
                                              reason=reason, until=day.isoformat()),
                    keyboard=kb, ticket=t, purpose="ext_card")
    return t


async def decide_extension(session: AsyncSession, app: App, extension_id: int, roles: Roles,
                           approve: bool) -> tuple[Ticket, bool]:
    ext = await extensions.get(session, extension_id)
    if ext is None:
        raise Refusal("error.bad_button")
    t = await load(session, ext.ticket_id)
    plan("decide_extension", t.status, roles.actors_for(t))
    now = app.now()
    if not await extensions.decide(session, ext.id, "approved" if approve else "refused", roles.user_id, now):
        raise Refusal("ext.already")
    if approve:
        await tickets.touch(session, t.id, {"resolve_due": ext.new_due}, now)
    await tickets.add_event(session, t.id, "extension_approved" if approve else "extension_refused", now,
                            actor_id=roles.user_id, data={"until": ext.new_due.isoformat()})
    t = await load(session, t.id)
    await deadlines.reschedule(session, app, t)
    dept = await directory.department(session, t.lead_dept) if t.lead_dept else None
    until = ext.new_due.astimezone(app.tz).strftime("%Y-%m-%d")
    if dept and dept.chat_id:
        tr = await notify.chat_translator(session, app, dept.chat_id)
        notify.send(session, app, dept.chat_id,
                    tr("ext.approved" if approve else "ext.refused", code=display(t.code), until=until),
                    ticket=t, purpose="dept_note")
    for link in await tickets.links_of(session, t.id, "ext_card"):
        tr = await notify.chat_translator(session, app, link.chat_id)
        notify.edit(session, app, link.chat_id, link.message_id,
                    tr("ext.decided", code=display(t.code), until=until,
                       decision=tr("ext.yes" if approve else "ext.no")), None, ticket=t)
    return t, approve
