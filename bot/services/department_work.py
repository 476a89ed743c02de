"""A department's work on a ticket, in its chat: 签收, 退单, progress by reply, 办结, 申请延期 (DESIGN §2).

Comes after bot/services/dispatch.py; a resolution asks the reporter to rate it
(bot/services/ratings.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ExtDecision, button
from bot.context import App
from bot.domain.appeal import Photo
from bot.domain.codes import display
from bot.domain.dates import split_date
from bot.domain.lifecycle import WORKING, Actor, NotAllowed, Refusal, Stale, Status, authorise
from bot.services import clocks, department_cards, dispatch_cards, notify, oversight, ratings, support, transition
from bot.services.access import Roles
from bot.services.addressing import (
    department_of_chat,
    dept_names,
    dispatch_chat_id,
    dispatch_translator,
    lead_department,
    load,
    person_name,
)
from bot.services.prompts import prompt
from bot.services.ticket_lines import local
from storage import assignments, directory, extensions, media_buffer, tickets
from storage.common import serialize
from storage.models import Extension, MessageLink, Ticket


async def accept(session: AsyncSession, app: App, ticket_id: int, roles: Roles) -> Ticket:
    t = await load(session, ticket_id)
    now = app.now()
    try:
        t = await transition.move(session, app, t, "accept", roles.actors_for(t), event="accepted",
                                  actor_id=roles.user_id,
                                  values={"owner_id": roles.user_id, "accepted_at": now,
                                          "progress_due": clocks.progress_from_acceptance(app, t, now)},
                                  data={"dept": t.lead_dept})
    except Stale:
        fresh = await load(session, ticket_id)
        if fresh.owner_id:
            raise Refusal("accept.taken", name=await person_name(session, fresh.owner_id) or "") from None
        raise
    await department_cards.refresh(session, app, t)
    await notify.tell_reporter(session, app, t, "reporter.accepted", code=display(t.code))
    return t


async def coaccept(session: AsyncSession, app: App, ticket_id: int, roles: Roles, chat_id: int) -> Ticket:
    """协办签收: a co-department confirms it takes part; once per department."""
    t = await load(session, ticket_id)
    if t.status not in WORKING:
        raise Refusal("error.stale")
    dept_code = await department_of_chat(session, chat_id)
    co = {d.dept_code for d in await tickets.departments_of(session, t.id) if d.role == "co"}
    if dept_code is None or dept_code not in co or not roles.handles(dept_code):
        raise Refusal("error.forbidden")
    if not await tickets.mark_co_accepted(session, t.id, dept_code, roles.user_id):
        raise Refusal("coaccept.already")
    await tickets.add_event(session, t.id, "co_accepted", app.now(), actor_id=roles.user_id, data={"dept": dept_code})
    dept = await directory.department(session, dept_code)
    for link in await tickets.links_of(session, t.id, "co_card", dept.chat_id if dept else None):
        tr = await notify.chat_translator(session, app, link.chat_id)
        notify.edit(session, app, link.chat_id, link.message_id, None, None, ticket=t)
        notify.send(session, app, link.chat_id, tr("coaccept.done", code=display(t.code),
                                                    name=await person_name(session, roles.user_id) or ""),
                    reply_to=link.message_id, ticket=t, purpose="dept_note")
    return t


async def ask(session: AsyncSession, app: App, ticket_id: int, roles: Roles, action: str, chat_id: int,
              card_message_id: int) -> Ticket:
    """退单 / 办结 / 申请延期 need words first: ask the presser for them by reply."""
    t = await load(session, ticket_id)
    authorise(action, t.status, roles.actors_for(t))
    if action == "return":
        oversight.refuse_return(t)
    await prompt(session, app, chat_id, t, roles.user_id, f"{action}_prompt", f"prompt.{action}",
                 reply_to=card_message_id)
    return t


async def return_ticket(session: AsyncSession, app: App, ticket_id: int, roles: Roles, reason: str) -> Ticket:
    t = await load(session, ticket_id)
    actors = roles.actors_for(t)
    authorise("return", t.status, actors)
    oversight.refuse_return(t)
    reason = reason.strip()
    if len(reason) < 2:
        raise Refusal("return.no_reason")
    dept = t.lead_dept
    # The returning department's card loses its buttons; written first, while the ticket still
    # names that department (a lost race rolls it back with the rest).
    await department_cards.refresh(session, app, t, lambda tr: tr("card.returned", reason=reason),
                                   with_buttons=False)
    t = await transition.move(session, app, t, "return", actors, event="returned", actor_id=roles.user_id,
                              values={"returns_count": t.returns_count + 1, "lead_dept": None, "accept_due": None,
                                      "resolve_due": None, "progress_due": None},
                              data={"reason": reason, "dept": dept})
    t = await oversight.after_return(session, t, app.now())  # the second return: 职责争议
    await _lapse_extensions(session, app, t)
    names = await dept_names(session)
    for co in [d.dept_code for d in await tickets.departments_of(session, t.id) if d.role == "co"]:
        # A co-department working alongside hears that the lead gave the ticket back.
        await department_cards.tell_department(session, app, t, co, "co.lead_returned", dept=names.get(dept, dept))
    tr = await dispatch_translator(session, app)
    note = tr("card.returned_note", dept=names.get(dept, dept), reason=reason, count=t.returns_count)
    # The earlier card said "已派单：<dept>"; it says the ticket came back, and the new card decides.
    await dispatch_cards.refresh(session, app, t, note)
    await dispatch_cards.post(session, app, t, note)
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
    early = await media_buffer.take_buffered(session, album.chat_id, album.group)
    return photos + [Photo(b.file_id, b.file_unique_id, b.kind) for b in early]


async def album_item(session: AsyncSession, app: App, ticket_id: int, album: Album, message_id: int,
                     user_id: int, photos: list[Photo], *, may_start: bool = False) -> str:
    """A wordless photo of an album replying to a card or the 办结 prompt: it belongs with its
    sibling's note — attached (and passed on) if that one was made ("attached"). Else a progress
    album's first item makes the note itself ("start": the caller records it, its later items
    follow it; an album of photos alone is a progress note as one photo is), and a result's is kept
    until the result's words come ("kept_first" for the album's first, which the sender is told)."""
    await serialize(session, "album", album.chat_id, album.group)
    done = await tickets.event_for_album(session, ticket_id, album.group)
    if done is None:
        first = not await media_buffer.has_buffered(session, album.chat_id, album.group)
        if may_start and first:
            return "start"
        for p in photos:
            await media_buffer.buffer_media(session, chat_id=album.chat_id, message_id=message_id,
                                       media_group_id=album.group, user_id=user_id, kind=p.kind, file_id=p.file_id,
                                       file_unique_id=p.file_unique_id, created_at=app.now())
        return "kept_first" if first else "kept"
    source = "result" if done.kind == "resolved" else "progress"
    t = await load(session, ticket_id)
    await _attach(session, app, t, photos, source, user_id)
    await _media_to_reporter(session, app, t, photos, f"{source}_media")
    return "attached"


async def _attach(session: AsyncSession, app: App, t: Ticket, photos: list[Photo], source: str,
                  user_id: int | None) -> None:
    for p in photos:
        await tickets.add_attachment(session, t.id, file_id=p.file_id, file_unique_id=p.file_unique_id, kind=p.kind,
                                     source=source, now=app.now(), added_by=user_id)


async def progress(session: AsyncSession, app: App, ticket_id: int, roles: Roles, text: str,
                   photos: list[Photo], album: Album | None = None) -> Ticket:
    t = await load(session, ticket_id)
    co = [d.dept_code for d in await tickets.departments_of(session, t.id) if d.role == "co"]
    actors = roles.actors_for(t, co)
    lead = bool(actors & {Actor.HANDLER, Actor.OWNER, Actor.ADMIN})
    if lead and t.status == Status.DISPATCHED:
        raise Refusal("progress.accept_first")
    authorise("progress" if lead else "co_progress", t.status, actors)
    photos = await _with_album(session, album, photos)
    await _attach(session, app, t, photos, "progress", roles.user_id)
    if not lead:
        return await _co_progress(session, app, t, actors, roles, next(d for d in co if roles.handles(d)),
                                  text, photos, album)
    first = {} if t.first_progress_at else {"first_progress_at": app.now()}
    t = await transition.record(session, app, t, "progress", actors, event="progress", actor_id=roles.user_id,
                                values=first,
                                data={"text": text, "photos": len(photos), "album": album.group if album else None})
    await notify.tell_reporter(session, app, t, "reporter.progress", code=display(t.code), text=text or "📷")
    await _media_to_reporter(session, app, t, photos, "progress_media")
    return t


async def _co_progress(session: AsyncSession, app: App, t: Ticket, actors: set[Actor], roles: Roles, dept: str,
                       text: str, photos: list[Photo], album: Album | None) -> Ticket:
    """A co-department's (协办) progress note: in the history and in the lead department's chat,
    which answers for the ticket (首接负责), and to the reporter. It does not stop the lead's
    progress clock: that one is the lead department's to meet."""
    t = await transition.record(session, app, t, "co_progress", actors, event="co_progress", actor_id=roles.user_id,
                                data={"dept": dept, "text": text, "photos": len(photos),
                                      "album": album.group if album else None})
    name = (await dept_names(session)).get(dept, dept)
    await department_cards.tell(session, app, t, "co.progress_to_lead", dept=name, text=text or "📷")
    await notify.tell_reporter(session, app, t, "reporter.progress", code=display(t.code), text=text or "📷")
    await _media_to_reporter(session, app, t, photos, "progress_media")
    return t


async def _media_to_reporter(session: AsyncSession, app: App, t: Ticket, photos: Sequence[notify.Media],
                            purpose: str) -> None:
    """Progress and result photos go to the reporter in private only: a community chat sees the
    ticket's state on its acknowledgement, never the department's photos of someone's home."""
    if not photos:
        return
    reporter = await notify.in_private(session, t.reporter_id)
    if reporter is not None:
        notify.send_media(session, app, reporter.id, photos, None, ticket=t, purpose=purpose)


async def resolve(session: AsyncSession, app: App, ticket_id: int, roles: Roles, text: str,
                  photos: list[Photo], album: Album | None = None, *, asked: MessageLink | None = None) -> Ticket:
    """办结 with the result's words. `asked`: the prompt they answer — the after-photos its asker sent
    under it before the words (an album without a caption) go with the result."""
    t = await load(session, ticket_id)
    actors = roles.actors_for(t)
    authorise("resolve", t.status, actors)
    text = text.strip()
    if len(text) < 2:
        raise Refusal("resolve.no_result")
    photos = await _with_album(session, album, photos)
    if asked is not None and roles.user_id is not None:
        early = await media_buffer.take_buffered_from(session, asked.chat_id, roles.user_id, asked.created_at)
        photos += [Photo(b.file_id, b.file_unique_id, b.kind) for b in early
                   if (b.kind, b.file_unique_id) not in {(p.kind, p.file_unique_id) for p in photos}]
    t = await transition.move(
        session, app, t, "resolve", actors, event="resolved", actor_id=roles.user_id,
        values={"resolved_at": app.now(), "result_text": text, "owner_id": t.owner_id or roles.user_id},
        data={"text": text, "photos": len(photos), "album": album.group if album else None},
        then=lambda moved: ratings.open_round(session, app, moved))
    await _attach(session, app, t, photos, "result", roles.user_id)
    await _lapse_extensions(session, app, t)
    await department_cards.refresh(session, app, t, lambda tr: tr("card.resolved"), with_buttons=False)
    await notify.tell_reporter(session, app, t, "reporter.resolved", code=display(t.code), text=text)
    await support.tell_supporters(session, app, t, "supporter.result", result=text)  # 附议 hear the result too
    await _media_to_reporter(session, app, t, photos, "result_media")
    await ratings.ask(session, app, t)
    return t


async def request_extension(session: AsyncSession, app: App, ticket_id: int, roles: Roles, words: str) -> date:
    """The day asked for, as understood (the handler is told it, to catch a misreading)."""
    t = await load(session, ticket_id)
    authorise("extend", t.status, roles.actors_for(t))
    now = app.now()
    local_today = now.astimezone(app.tz).date()
    day, reason = split_date(words, local_today)
    if day is None or day <= local_today:
        raise Refusal("extend.bad_date")
    if len(reason) < 2:
        raise Refusal("extend.no_reason")
    new_due = datetime.combine(day, time(23, 59, 59), tzinfo=app.tz)
    if t.resolve_due is not None and new_due <= t.resolve_due:  # an extension never brings a deadline forward
        raise Refusal("extend.not_later", due=local(app, t.resolve_due, "%Y-%m-%d %H:%M"))
    if roles.user_id is None:
        raise Refusal("error.forbidden")
    current = await assignments.current(session, t.id)
    ext = await extensions.create(session, t.id, roles.user_id, reason, new_due, now,
                                  current.id if current else None, t.reopen_count)
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
                    keyboard=kb, ticket=t, purpose="ext_card", link_data={"extension": ext.id})
    return day


async def _request_cards(session: AsyncSession, t: Ticket) -> list[tuple[MessageLink, int | None]]:
    """The ticket's extension-request cards in the dispatch chat, each with the request it asks for."""
    asked = sorted(await extensions.of_ticket(session, t.id), key=lambda e: (e.created_at, e.id))
    cards = []
    for link in await tickets.links_of(session, t.id, "ext_card"):
        wanted = (link.data or {}).get("extension")
        if wanted is None:  # a card sent before cards named their request: the last one asked before it
            wanted = next((e.id for e in reversed(asked) if e.created_at <= link.created_at), None)
        cards.append((link, wanted))
    return cards


async def _lapse_extensions(session: AsyncSession, app: App, t: Ticket) -> None:
    """Requests nobody decided before the round ended (办结, 退单) are overtaken: marked so, and their
    cards in the dispatch chat say so instead of offering 批准 / 不予 that could only be refused."""
    lapsed = await extensions.lapse_pending(session, t.id, app.now())
    if not lapsed:
        return
    for link, wanted in await _request_cards(session, t):
        ext = next((e for e in lapsed if e.id == wanted), None)
        if ext is not None and ext.new_due is not None:
            tr = await notify.chat_translator(session, app, link.chat_id)
            notify.edit(session, app, link.chat_id, link.message_id,
                        tr("ext.lapsed", code=display(t.code), until=local(app, ext.new_due, "%Y-%m-%d"),
                           status=tr(f"status.{t.status}")), None, ticket=t)


async def _of_this_round(session: AsyncSession, ext: Extension, t: Ticket) -> bool:
    """Whether a request was asked in the ticket's current handling round (the same dispatch,
    not reopened since) and would still move its deadline later. Requests older than the
    columns (round None) are judged by the deadline alone."""
    if t.resolve_due is not None and ext.new_due is not None and ext.new_due <= t.resolve_due:
        return False
    if ext.round is None:
        return True
    current = await assignments.current(session, t.id)
    return ext.round == t.reopen_count and current is not None and ext.assignment_id == current.id


async def decide_extension(session: AsyncSession, app: App, extension_id: int, roles: Roles,
                           approve: bool) -> tuple[Ticket, bool]:
    ext = await extensions.get(session, extension_id)
    if ext is None:
        raise Refusal("error.bad_button")
    t = await load(session, ext.ticket_id)
    actors = roles.actors_for(t)
    authorise("decide_extension", t.status, actors)
    now = app.now()
    if roles.user_id is None or ext.new_due is None:
        raise Refusal("error.bad_button")
    if not await _of_this_round(session, ext, t):
        raise NotAllowed("decide_extension", t.status)  # asked before a 办结, a 退单 or a 改派: stale
    if approve and ext.new_due <= now:
        # Approved after the day it asked for: the clock would restart at a deadline already past.
        raise Refusal("ext.day_passed", until=local(app, ext.new_due, "%Y-%m-%d"))
    if not await extensions.decide(session, ext.id, "approved" if approve else "refused", roles.user_id, now):
        raise Refusal("ext.already")
    if approve:
        await assignments.extended(session, t.id, ext.new_due, now)
    t = await transition.record(session, app, t, "decide_extension", actors,
                                event="extension_approved" if approve else "extension_refused",
                                actor_id=roles.user_id, values={"resolve_due": ext.new_due} if approve else None,
                                data={"until": ext.new_due.isoformat()}, tell_leader=False)
    until = ext.new_due.astimezone(app.tz).strftime("%Y-%m-%d")
    if approve:  # record() has put the new deadline on the acknowledgement; the card shows it too
        await notify.tell_reporter(session, app, t, "reporter.extended", code=display(t.code), until=until)
        await department_cards.refresh(session, app, t)
    dept = await lead_department(session, t)
    if dept and dept.chat_id:
        tr = await notify.chat_translator(session, app, dept.chat_id)
        notify.send(session, app, dept.chat_id,
                    tr("ext.approved" if approve else "ext.refused", code=display(t.code), until=until,
                       due=local(app, t.resolve_due) if t.resolve_due else "-"),
                    ticket=t, purpose="dept_note")
    for link, wanted in await _request_cards(session, t):
        if wanted != ext.id:
            continue  # another request's card: still to be decided, with its own date
        tr = await notify.chat_translator(session, app, link.chat_id)
        notify.edit(session, app, link.chat_id, link.message_id,
                    tr("ext.decided", code=display(t.code), until=until,
                       decision=tr("ext.yes" if approve else "ext.no")), None, ticket=t)
    return t, approve


# A handler's own message that said a result or a progress note: an edit of it corrects what it said.
WORDS = "dept_words"


async def keep_words(session: AsyncSession, app: App, chat_id: int, message_id: int, ticket_id: int, said_as: str,
                     text: str) -> None:
    await tickets.link(session, chat_id, message_id, ticket_id, WORDS, app.now(), data={"as": said_as, "text": text})


async def correct_words(session: AsyncSession, app: App, chat_id: int, message_id: int, text: str,
                        user_id: int | None) -> bool:
    """A handler fixed their result or note by editing it (the wrong building, a typo): the correction
    is in the history, a result still standing is the corrected one, and the reporter hears it.
    False when the message said no such thing."""
    link = await tickets.find_link(session, chat_id, message_id)
    if link is None or link.purpose != WORDS or not text.strip():
        return False
    said_as, was, text = (link.data or {}).get("as"), (link.data or {}).get("text"), text.strip()
    t = await load(session, link.ticket_id)
    now = app.now()
    await tickets.add_event(session, t.id, f"{said_as}_edited", now, actor_id=user_id, data={"text": text, "was": was})
    if said_as == "result" and t.result_text == was and len(text) >= 2:
        await tickets.touch(session, t.id, {"result_text": text}, now)
        await notify.tell_reporter(session, app, t, "reporter.result_corrected", code=display(t.code), text=text)
    link.data = {"as": said_as, "text": text}
    return True
