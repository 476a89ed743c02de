"""附议: replies that only agree become supporters of the ticket instead of new tickets.

A reply in a community chat to one of the bot's messages about a ticket, by someone who is not
its reporter, is classified (bot/domain/agreement.py): agreement adds a supporter (once per
person) and is answered with a 👍 reaction, a matter of its own is filed as a new ticket marked
related, chatter is left alone. The count shows on the cards, on the acknowledgement and in
/ticket; supporters who started the bot hear the result.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.appeal import is_reporter
from bot.domain.agreement import ReplyFacts, Verdict, classify
from bot.domain.codes import display
from bot.domain.intake import summary
from bot.domain.lifecycle import WORKING, Status
from bot.services import department_cards, dispatch_cards, group_ack, hotspot_alerts, notify
from storage import directory, merges, tickets
from storage import matter as repo
from storage.models import Ticket

# A supporter's "+1" to these counts for nothing: the matter is over (or was never one).
OVER = frozenset({Status.CLOSED, Status.REJECTED, Status.DIVERTED, Status.ANSWERED})


@dataclass(frozen=True)
class Outcome:
    """What a reply to a ticket's message meant.

    kind: supported | again | own | closed | substance | chatter | supplement
    """

    kind: str
    ticket: Ticket
    count: int = 0


async def surviving(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket a message is about, following merges to the one still worked on."""
    return (await surviving_for(session, ticket_id, None))[0]


async def surviving_for(session: AsyncSession, ticket_id: int, user_id: int | None) -> tuple[Ticket | None, bool]:
    """The ticket still worked on, and whether the person speaks for it: its reporter (or the one
    reported for), or the reporter of a ticket merged into it on the way from the message's ticket.
    A merged ticket's reporter replying to their own acknowledgement adds to the matter (before, a
    photo filed a new ticket and a "+1" counted their voice a second time)."""
    t = await tickets.get(session, ticket_id)
    if t is None:
        return None, False
    path = await merges.merge_path(session, t)
    return path[-1], any(_speaks_for(one, user_id) for one in path)


def _speaks_for(t: Ticket, user_id: int | None) -> bool:
    return is_reporter(user_id, t.reporter_id, t.on_behalf_user_id)


async def on_reply(session: AsyncSession, app: App, ticket_id: int, user_id: int, facts: ReplyFacts, *,
                   chat_id: int, message_id: int) -> Outcome | None:
    """Decide what a community reply to a ticket's message is; record support. None: no ticket."""
    t, own = await surviving_for(session, ticket_id, user_id)
    if t is None:
        return None
    verdict = classify(ReplyFacts(facts.text, facts.sticker_emoji, facts.has_media, facts.has_location, t.text))
    if own and t.status in OVER:
        # Their ticket is over: "it is back" is a matter again (filed, related to this one, as a
        # neighbour's would be).
        # Words shared with the ticket ("又堆满了") are the point here: told it is closed and how to
        # file again, as a neighbour's +1 on it is — never met with silence.
        return Outcome("substance" if verdict.verdict is Verdict.SUBSTANCE else "closed", t)
    if own:
        # The reporter's own "+1" counts for nothing; anything else they say adds to the ticket.
        return Outcome("own" if verdict.verdict is Verdict.AGREE else "supplement", t)
    if verdict.verdict is Verdict.SUBSTANCE:
        return Outcome("substance", t)
    if verdict.verdict is Verdict.CHATTER:
        return Outcome("chatter", t)
    if t.status in OVER:
        return Outcome("closed", t)
    how = "sticker" if facts.sticker_emoji and not facts.text else "reply"
    added = await repo.add_supporter(session, t.id, user_id, now=app.now(), chat_id=chat_id, message_id=message_id,
                                     how=how)
    count = await repo.support_count(session, t.id)
    if not added:
        return Outcome("again", t, count)
    await tickets.add_event(session, t.id, "supported", app.now(), actor_id=user_id, data={"count": count})
    await _refresh_cards(session, app, t)
    await group_ack.refresh(session, app, t, counts=True)  # the count shows on the acknowledgement
    await hotspot_alerts.check(session, app, t, supported=True)
    return Outcome("supported", t, count)


# Agreement is answered with a reaction on the reply, not a message: ten neighbours saying "+1"
# would otherwise add ten bot messages to their group. The count shows on the acknowledgement.
AGREED = "👍"
QUIET = frozenset({"supported", "again"})
# What only the person who replied needs to read ("your own ticket", "closed already"): said to
# them in private when they started the bot, a 👌 on their reply in the group; else in the group.
PERSONAL = frozenset({"own", "closed"})


def answer_key(o: Outcome) -> tuple[str, dict[str, object]] | None:
    """The short answer's catalogue key and its params (None: say nothing — chatter is the
    neighbours' own). The `QUIET` ones are only said in words where the chat allows no 👍."""
    code = display(o.ticket.code)
    match o.kind:
        case "supported":
            return "support.added", {"code": code, "count": o.count}
        case "again":
            return "support.again", {"code": code}
        case "own":
            return "support.own", {"code": code}
        case "closed":
            return "support.closed", {"code": code}
    return None


async def _refresh_cards(session: AsyncSession, app: App, t: Ticket) -> None:
    """The new count on the card that is in use: the dispatch card while it waits for a dispatcher,
    the department's card while a department works the ticket (older cards keep their notes)."""
    if t.status in (Status.NEW, Status.TRIAGE):
        await dispatch_cards.refresh(session, app, t, None, with_buttons=True)
    elif t.status in WORKING:
        await department_cards.refresh(session, app, t)


async def after_merge(session: AsyncSession, app: App, merged: Ticket, target: Ticket) -> None:
    """合并: the merged ticket's supporters follow the surviving ticket; a much-repeated matter is hot."""
    skip = {x for x in (target.reporter_id, target.on_behalf_user_id) if x}
    await repo.move_supporters(session, merged.id, target.id, skip=skip, now=app.now())
    await _merge_follows(session, app, merged, target)
    await _refresh_cards(session, app, target)
    await group_ack.refresh(session, app, target, counts=True)
    await hotspot_alerts.check(session, app, target, supported=True)


async def _merge_follows(session: AsyncSession, app: App, merged: Ticket, target: Ticket) -> None:
    """The merged appeal's photos become the surviving ticket's: the department sees all the
    evidence of the matter (the only photo of it could be on the duplicate). A department already
    at work hears of the merged appeal at once — its words (the exact place, often) and its photos."""
    now, moved = app.now(), []
    for a in await tickets.attachments(session, merged.id, "appeal"):
        if await tickets.add_attachment(session, target.id, file_id=a.file_id, file_unique_id=a.file_unique_id,
                                        kind=a.kind, source="appeal", now=now, added_by=a.added_by):
            moved.append(a)
    if moved:
        await tickets.add_event(session, target.id, "photos_added", now, data={"count": len(moved), "from": merged.code})
        await dispatch_cards.recount(session, app, target)
    dept = await directory.department(session, target.lead_dept) if target.lead_dept else None
    if dept is None or dept.chat_id is None or target.status not in WORKING:
        return
    tr = await notify.chat_translator(session, app, dept.chat_id)
    notify.send(session, app, dept.chat_id, tr("dept.merged_appeal", code=display(target.code),
                                               merged=display(merged.code), text=summary(merged.text or "", 300)),
                ticket=target, purpose="dept_note")
    if moved:
        notify.send_media(session, app, dept.chat_id, moved,
                          tr("dept.merged_photos", code=display(target.code), merged=display(merged.code),
                             count=len(moved)), ticket=target, purpose="dept_media")


async def tell_supporters(session: AsyncSession, app: App, t: Ticket, key: str, **params: object) -> int:
    """Supporters who started the bot hear `key` in private; the others cannot be written to."""
    told = 0
    reporters = {t.reporter_id, t.on_behalf_user_id}
    params = await notify.for_neighbours(session, t, params)
    for s in await repo.supporters(session, t.id):
        if s.person_id in reporters:
            continue
        person = await directory.person(session, s.person_id)
        if person is None or not person.started or person.blocked:
            continue
        tr = await notify.person_translator(session, app, s.person_id)
        notify.send(session, app, s.person_id, tr(key, code=display(t.code), **params), ticket=t,
                    purpose="supporter_note")
        told += 1
    return told
