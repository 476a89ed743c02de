"""Appeals become tickets (the intake end of DESIGN §2); the next stage is bot/services/triage.py."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.context import App
from bot.domain.appeal import Appeal, ChannelAppeal, Photo
from bot.domain.areas import area_at
from bot.domain.codes import display
from bot.domain.lifecycle import WORKING, Status
from bot.domain.routing_kinds import says_report_in_chinese
from bot.services import (
    addressing, campaigns, department_cards, dispatch_cards, group_ack, hotspot_alerts, notify, support, triage,
)
from storage import directory, media_buffer, merges, outbox, tickets
from storage import matter as matter_repo
from storage.common import serialize
from storage.models import Ticket

log = logging.getLogger(__name__)


async def file_appeal(session: AsyncSession, app: App, appeal: Appeal) -> tuple[Ticket, bool]:
    """Make (or find, for a repeated delivery) the ticket for an appeal; queue the ack."""
    now = app.now()
    if appeal.media_group_id:
        await serialize(session, "album", appeal.chat_id, appeal.media_group_id)
    existing = await tickets.find_by_origin(session, appeal.chat_id, appeal.message_id)
    if existing is None and appeal.media_group_id:
        existing = await tickets.find_by_album(session, appeal.chat_id, appeal.media_group_id)
    if existing is not None:
        await add_photos(session, app, existing, appeal.photos, appeal.user_id)
        return existing, False

    suggestion = app.matcher.suggest(appeal.text) if appeal.text else None
    kind = appeal.kind or (suggestion.kind if suggestion else "help")
    urgent = appeal.urgent or bool(suggestion and suggestion.urgent)
    route = suggestion_json(suggestion) if suggestion else None
    if appeal.urgent and route is not None:
        route["urgent"], route["urgent_matched"] = True, ["#紧急", *route["urgent_matched"]]
    ticket = await tickets.create(
        session, now=now, code_year=now.astimezone(app.tz).year,
        kind=kind, urgency="urgent" if urgent else "normal", status=Status.NEW.value, text=appeal.text,
        area_code=appeal.area_code, reporter_id=appeal.user_id,
        on_behalf_kind=appeal.on_behalf_kind, on_behalf_user_id=appeal.on_behalf_user_id,
        on_behalf_name=appeal.on_behalf_name, origin_chat_id=appeal.chat_id,
        origin_message_id=appeal.message_id, origin_thread_id=appeal.thread_id,
        media_group_id=appeal.media_group_id,
        latitude=appeal.location[0] if appeal.location else None,
        longitude=appeal.location[1] if appeal.location else None,
        category=suggestion.category if suggestion else None,
        route=route, channel=appeal.channel,
    )
    await tickets.add_event(session, ticket.id, "created", now, actor_id=appeal.user_id, to_status=Status.NEW.value,
                            data={"chat_id": appeal.chat_id, "on_behalf": appeal.on_behalf_name})
    photos = list(appeal.photos)
    if appeal.media_group_id:
        photos += [Photo(b.file_id, b.file_unique_id, b.kind)
                   for b in await media_buffer.take_buffered(session, appeal.chat_id, appeal.media_group_id)]
    for p in photos:
        await tickets.add_attachment(session, ticket.id, file_id=p.file_id, file_unique_id=p.file_unique_id,
                                     kind=p.kind, now=now, added_by=appeal.user_id)
    related = await tickets.get(session, appeal.related_to) if appeal.related_to else None
    if related is not None:
        await matter_repo.mark_related(session, ticket.id, related.id, now)
    await _ack(session, app, ticket, appeal, len(photos), related)
    if not app.inbox_full or urgent:
        await _one_matter(session, app, ticket)
    # else updates are queuing: the ticket and its ack now; the rest waits (as NEW, so a restart
    # finds it) for bot/deferred_triage.py, which takes it as soon as the inbox has room. An
    # emergency never waits: it goes to its department and the leaders at once.
    return ticket, True


async def waiting_triage(session: AsyncSession, filed_by: datetime | None, skip: frozenset[int],
                         limit: int = 1) -> list[Ticket]:
    """The oldest tickets whose triage was left for later (see `file_appeal`) filed no later than
    `filed_by` (None: any), `skip` left out."""
    return await tickets.oldest_untriaged(session, filed_by, skip, limit)


async def triage_now(session: AsyncSession, app: App, ticket: Ticket) -> None:
    """The rest of an appeal whose triage was left for later: what `file_appeal` does after the ack.

    An album's photos may still be arriving. Each takes the album's lock (see `file_appeal`), and
    so does this: a photo waits for the card to be committed and then recounts it, or the card is
    drawn after the photo. Without it, on PostgreSQL, a photo committed while the card was being
    drawn was counted on neither."""
    if ticket.media_group_id and ticket.origin_chat_id is not None:
        await serialize(session, "album", ticket.origin_chat_id, ticket.media_group_id)
    await _one_matter(session, app, ticket)


async def _one_matter(session: AsyncSession, app: App, ticket: Ticket) -> None:
    """A running 专项 gathers the new ticket before its card is drawn (the card names it); routing,
    knowledge answers and the dispatch card follow in the same transaction, then a 高频共性 check."""
    await campaigns.join_new(session, app, ticket)
    await triage.after_intake(session, app, ticket)
    await hotspot_alerts.check(session, app, ticket)


async def file_channel_appeal(session: AsyncSession, app: App, appeal: ChannelAppeal) -> Ticket:
    """An appeal from another channel (Open311) becomes a ticket on the same path as a chat's:
    the same triage, dispatch card and clocks. The channel chose the service, so that is the
    route; the words still decide urgency and a divert hint. No acknowledgement: the channel's
    own answer carries the code."""
    now = app.now()
    suggestion = app.matcher.suggest(appeal.text)
    route = suggestion_json(suggestion) if suggestion else {}
    # A 举报 stays a 举报 (never published) whichever service the channel filed it under. Only
    # that kind, and only as the words state it in Chinese: an English form "reports" every
    # problem, and the service the channel chose is otherwise the kind.
    kind = "report" if says_report_in_chinese(appeal.text) else appeal.kind
    route.update(category=appeal.category, lead=appeal.lead, co=list(appeal.co), kind=kind,
                 confidence=1.0, matched=[], chosen_by=appeal.channel)
    ticket = await tickets.create(
        session, now=now, code_year=now.astimezone(app.tz).year, kind=kind,
        urgency="urgent" if route.get("urgent") else "normal", status=Status.NEW.value, text=appeal.text,
        area_code=appeal.area_code, reporter_id=None, category=appeal.category, route=route, channel=appeal.channel,
        latitude=appeal.location[0] if appeal.location else None,
        longitude=appeal.location[1] if appeal.location else None)
    await tickets.add_event(session, ticket.id, "created", now, to_status=Status.NEW.value,
                            data={"channel": appeal.channel})
    await _one_matter(session, app, ticket)
    return ticket


def suggestion_json(s) -> dict:  # noqa: ANN001
    return {
        "category": s.category, "lead": s.lead, "co": list(s.co), "kind": s.kind,
        "confidence": round(float(s.confidence), 3), "matched": list(s.matched),
        "urgent": bool(s.urgent), "urgent_matched": list(s.urgent_matched),
        "divert": bool(s.divert), "divert_matched": list(s.divert_matched),
    }


async def _ack(session: AsyncSession, app: App, ticket: Ticket, appeal: Appeal, photo_count: int,
               related: Ticket | None = None) -> None:
    # An album arrives as several updates: hold the ack briefly so it counts them all.
    delay = app.settings.album_debounce if appeal.media_group_id else 0.0
    await group_ack.post(session, app, ticket, appeal.chat_id, appeal.message_id, appeal.thread_id, photo_count,
                         related, delay)


async def add_photos(session: AsyncSession, app: App, ticket: Ticket, photos: list[Photo], user_id: int | None,
                     source: str = "appeal") -> int:
    """Attach photos (idempotent by file_unique_id) and recount the acknowledgement: rewritten while
    it waits (an album's debounced ack), edited once sent (a late album photo, a supplement)."""
    now, added = app.now(), 0
    for p in photos:
        added += await tickets.add_attachment(session, ticket.id, file_id=p.file_id, file_unique_id=p.file_unique_id,
                                              kind=p.kind, source=source, now=now, added_by=user_id)
    if added and source == "appeal":
        if await outbox.pending_for(session, ticket.id, "ack") is None:
            await tickets.add_event(session, ticket.id, "photos_added", now, actor_id=user_id, data={"count": added})
        await group_ack.refresh(session, app, ticket, counts=True)
        await dispatch_cards.recount(session, app, ticket)
    return added


def located_in(app: App, lat: float, lon: float) -> str | None:
    """The area whose org-file bounds (`areas[].bounds`) hold the point — the first listed — if any."""
    return area_at(((a.code, a.bounds) for a in app.org.areas), lat, lon)


async def set_location(session: AsyncSession, app: App, ticket: Ticket, lat: float, lon: float, user_id: int) -> None:
    """The place of a ticket; one filed without an area (in private) takes the area it lies in."""
    now = app.now()
    values: dict[str, object] = {"latitude": lat, "longitude": lon}
    area = located_in(app, lat, lon) if ticket.area_code is None else None
    if area is not None:
        values["area_code"] = area
    await tickets.touch(session, ticket.id, values, now)
    await tickets.add_event(session, ticket.id, "location_set", now, actor_id=user_id, data={"lat": lat, "lon": lon})
    if area is not None:
        set_committed_value(ticket, "area_code", area)
        await dispatch_cards.recount(session, app, ticket)  # the card names the area now


async def add_note(session: AsyncSession, app: App, ticket: Ticket, text: str, user_id: int) -> None:
    await tickets.add_event(session, ticket.id, "reporter_note", app.now(), actor_id=user_id, data={"text": text})


async def buffer_album_item(session: AsyncSession, app: App, chat_id: int, message_id: int, media_group_id: str,
                            user_id: int, photo: Photo) -> Ticket | None:
    """An album item without a trigger: attach to its ticket, or keep it until the ticket exists."""
    await serialize(session, "album", chat_id, media_group_id)
    ticket = await tickets.find_by_album(session, chat_id, media_group_id)
    if ticket is not None:
        await add_photos(session, app, ticket, [photo], user_id)
        return ticket
    await media_buffer.buffer_media(session, chat_id=chat_id, message_id=message_id, media_group_id=media_group_id,
                               user_id=user_id, kind=photo.kind, file_id=photo.file_id,
                               file_unique_id=photo.file_unique_id, created_at=app.now())
    return None


async def follow_migration(session: AsyncSession, app: App, old_id: int, new_id: int) -> None:
    if await directory.migrate_chat(session, old_id, new_id):
        await outbox.reroute_chat(session, old_id, new_id)
        log.warning("chat %s migrated to %s; bindings moved", old_id, new_id)
        dept = await addressing.department_of_chat(session, new_id)
        if dept is not None:  # the old group is read-only history: the cards, with their buttons, come along
            await department_cards.post_again(session, app, dept)


async def record_edit(session: AsyncSession, app: App, chat_id: int, message_id: int, text: str,
                      user_id: int | None) -> bool:
    """An appeal corrected by editing it (the Telegram way to fix a wrong building): kept beside the
    words it was filed with, on the cards, and told to a department that has the ticket. False when
    the message is no ticket's appeal."""
    ticket = await tickets.find_by_words(session, chat_id, message_id)
    if ticket is None:
        return False
    await tickets.add_event(session, ticket.id, "appeal_edited", app.now(), actor_id=user_id, data={"text": text})
    carrier = await merges.carrier(session, ticket)  # merged: the ticket that carries the matter hears it
    if carrier.id != ticket.id:
        await tickets.add_event(session, carrier.id, "appeal_edited", app.now(), actor_id=user_id,
                                data={"text": text, "from": ticket.code})
    await _reach_staff(session, app, carrier, "dept.appeal_edited", text, [], None)
    return True


async def is_over(session: AsyncSession, ticket_id: int) -> bool:
    """A ticket nothing more will be done on (closed, answered, diverted, rejected): the same line
    the neighbours' replies follow (support.OVER)."""
    t = await tickets.get(session, ticket_id)
    return t is not None and Status(t.status) in support.OVER


async def is_appeal(session: AsyncSession, chat_id: int, message_id: int) -> bool:
    """Whether a message is already a ticket's appeal (a hashtag appeal, one passed on before)."""
    return await tickets.find_by_words(session, chat_id, message_id) is not None


async def remember_retold(session: AsyncSession, app: App, chat_id: int, message_id: int, ticket: Ticket) -> None:
    """The neighbour's message a volunteer passed on is that ticket's words from now on."""
    await tickets.link(session, chat_id, message_id, ticket.id, tickets.RETOLD, app.now())


async def find_link(session: AsyncSession, chat_id: int, message_id: int):  # noqa: ANN201
    return await tickets.find_link(session, chat_id, message_id)


async def link_on_its_way(session: AsyncSession, chat_id: int) -> bool:
    """A bot message about a ticket reached this chat moments ago and its link is still being
    written (bot/outbox.py marks sent rows in its next round): a reply to it must wait for it."""
    return await outbox.link_on_its_way(session, chat_id)


# A group nobody has bound yet hears so once in this while: its neighbours' hashtags are not all for the bot.
NOT_BOUND = "not_bound"
NOT_BOUND_QUIET = timedelta(hours=6)


async def told_not_bound(session: AsyncSession, app: App, chat_id: int) -> bool:
    return await outbox.said_lately(session, chat_id=chat_id, purpose=NOT_BOUND, since=app.now() - NOT_BOUND_QUIET)


async def chat_info(session: AsyncSession, chat_id: int):  # noqa: ANN201
    return await directory.chat(session, chat_id)


async def ticket(session: AsyncSession, ticket_id: int) -> Ticket | None:
    return await tickets.get(session, ticket_id)


RECENT_LOCATION_WINDOW = timedelta(minutes=30)
# Telegram forwards a selection of messages one by one: the words, a photo, a pin.
FORWARD_BATCH = timedelta(minutes=2)


async def join_forwarded(session: AsyncSession, app: App, appeal: Appeal) -> Ticket | None:
    """A volunteer forwarding one neighbour's messages: those that follow the first within two minutes
    add to its ticket (a photo, a place, more words), not a ticket each. None when it starts one."""
    if appeal.on_behalf_kind is None or appeal.media_group_id:
        return None  # an album is one ticket by its own rule
    recent = await tickets.recent_by_reporter(session, appeal.chat_id, appeal.user_id, app.now() - FORWARD_BATCH)
    if recent is None or Status(recent.status) in support.OVER or (
            recent.on_behalf_kind, recent.on_behalf_user_id, recent.on_behalf_name) != (
            appeal.on_behalf_kind, appeal.on_behalf_user_id, appeal.on_behalf_name):
        return None
    if appeal.photos:
        await add_photos(session, app, recent, appeal.photos, appeal.user_id)
    if appeal.location and recent.latitude is None:
        await set_location(session, app, recent, appeal.location[0], appeal.location[1], appeal.user_id)
    if appeal.text:
        await add_note(session, app, recent, appeal.text, appeal.user_id)
    await _reach_staff(session, app, recent, "dept.supplement", appeal.text, appeal.photos, appeal.location)
    return recent


async def locate_recent(session: AsyncSession, app: App, chat_id: int, user_id: int, lat: float, lon: float) -> bool:
    """A bare location right after an appeal belongs to it (people send the pin second)."""
    recent = await tickets.recent_by_reporter(session, chat_id, user_id, app.now() - RECENT_LOCATION_WINDOW)
    if recent is None or recent.latitude is not None:
        return False
    await set_location(session, app, recent, lat, lon, user_id)
    return True


async def speaks_for(session: AsyncSession, ticket_id: int, user_id: int) -> bool:
    """Whether the person speaks for the ticket (or for the one it was merged into)."""
    return await _own_ticket(session, ticket_id, user_id) is not None


async def _own_ticket(session: AsyncSession, ticket_id: int, user_id: int) -> Ticket | None:
    t, own = await support.surviving_for(session, ticket_id, user_id)
    return t if own else None


async def supplement(session: AsyncSession, app: App, ticket_id: int, user_id: int, text: str,
                     photos: list[Photo], location: tuple[float, float] | None) -> Ticket | None:
    """The reporter adds words, photos or a place to their ticket (by replying to the bot).

    Only the reporter (or the person reported for) may; None means "not theirs". While a
    department works the ticket it gets the addition too, so nothing waits unseen.
    """
    t = await _own_ticket(session, ticket_id, user_id)
    if t is None:
        return None
    if photos:
        await add_photos(session, app, t, photos, user_id)
    if location:
        await set_location(session, app, t, location[0], location[1], user_id)
    if text:
        await add_note(session, app, t, text, user_id)
    await _reach_staff(session, app, t, "dept.supplement", text, photos, location)
    return t


async def _reach_staff(session: AsyncSession, app: App, t: Ticket, key: str, text: str, photos: list[Photo],
                       location: tuple[float, float] | None) -> None:
    """What the reporter added or corrected reaches whoever has the ticket: the department working
    it at once; before that, the dispatch card, which carries the words (and the department's card
    will, once it is sent)."""
    dept = await directory.department(session, t.lead_dept) if t.lead_dept else None
    if dept and dept.chat_id and t.status in WORKING:
        tr = await notify.chat_translator(session, app, dept.chat_id)
        where = tr("dept.supplement_location") if location else ""
        said = text or ("📷" if photos else "")  # a bare pin claims no photo
        notify.send(session, app, dept.chat_id, tr(key, code=display(t.code), text=said, where=where),
                    ticket=t, purpose="dept_note")
        notify.send_media(session, app, dept.chat_id, photos, None,
                          ticket=t, purpose="dept_media")
        if location:  # the pin itself, as a dispatch's card brings it: the handler going out opens it
            outbox.enqueue(session, chat_id=dept.chat_id, method="location", now=app.now(), ticket_id=t.id,
                           purpose="dept_media", payload={"latitude": location[0], "longitude": location[1]})
    elif text and t.status in (Status.TRIAGE, Status.REVIEW):
        await dispatch_cards.redraw(session, app, t)
