"""The department chat's card for a ticket (签收 退单 / 办结 申请延期) and notes to that chat."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import TicketAct, button
from bot.context import App
from bot.domain.codes import display
from bot.domain.intake import summary
from bot.domain.lifecycle import WORKING, Status
from bot.i18n import Translator
from bot.services import matter_lines, notify
from bot.services.addressing import dept_names, lead_department, person_name
from bot.services.ticket_lines import head, local, reason_text
from storage import directory, outbox, tickets, worklists
from storage.models import Ticket

Note = str | Callable[[Translator], str] | None


def card_text(tr: Translator, app: App, t: Ticket, photos: int, role: str, co_names: list[str],
              owner_name: str | None = None, note: str | None = None, extra: list[str] | None = None) -> str:
    lines = [head(tr, t)]
    if role == "co":
        lines.append(tr("card.co_info"))
    lines.append(tr("card.summary", text=summary(t.text, 500)))
    if photos:
        lines.append(tr("card.photos", count=photos))
    if t.latitude is not None:
        lines.append(tr("card.location", lat=f"{t.latitude:.5f}", lon=f"{t.longitude:.5f}"))
    if co_names:
        lines.append(tr("card.co_depts", names=tr("report.list_sep").join(co_names)))
    for clock, due in (("accept", t.accept_due), ("resolve", t.resolve_due)):
        if due is not None and not (clock == "accept" and t.accepted_at):
            lines.append(tr("card.due", clock=tr(f"clock.{clock}"), when=local(app, due)))
    if owner_name:
        lines.append(tr("card.owner", name=owner_name))
    if note:
        lines.append(note)
    lines.extend(extra or [])  # supporters, the 专项 (bot/services/matter_lines.py)
    if t.status in WORKING:  # after 办结 a reply is no progress note: the card stops inviting one
        lines.append(tr("card.reply_hint"))
    return "\n".join(lines)


def keyboard(tr: Translator, t: Ticket, role: str) -> list[list[dict]]:
    if role == "co":
        return [[button(tr("btn.coaccept"), TicketAct(action="coaccept", ticket_id=t.id))]]
    if t.status == Status.DISPATCHED:
        return [[button(tr("btn.accept"), TicketAct(action="accept", ticket_id=t.id)),
                 button(tr("btn.return"), TicketAct(action="return", ticket_id=t.id))]]
    if t.status in (Status.ACCEPTED, Status.REOPENED):
        return [[button(tr("btn.resolve"), TicketAct(action="resolve", ticket_id=t.id)),
                 button(tr("btn.extend"), TicketAct(action="extend", ticket_id=t.id))]]
    return []


async def _co_names(session: AsyncSession, t: Ticket) -> list[str]:
    names = await dept_names(session)
    return [names.get(d.dept_code, d.dept_code) for d in await tickets.departments_of(session, t.id) if d.role == "co"]


async def appeal_photo_count(session: AsyncSession, t: Ticket) -> int:
    """What a card counts: the appeal's own pictures, never the department's progress or result photos."""
    return await tickets.count_attachments(session, t.id, source="appeal")


async def post_cards(session: AsyncSession, app: App, t: Ticket, lead: str, co: list[str],
                     lead_only: bool = False) -> None:
    """A dispatch reaches the departments: the photos and the card with 签收 / 退单 for the lead,
    a card with 协办签收 for each co-department (`lead_only`: the lead's alone)."""
    names = await dept_names(session)
    photos = await tickets.attachments(session, t.id, "appeal")
    count = await appeal_photo_count(session, t)
    for code, role in [(lead, "lead")] + [(c, "co") for c in co if c != lead and not lead_only]:
        dept = await directory.department(session, code)
        if dept is None or dept.chat_id is None:
            continue
        tr = await notify.chat_translator(session, app, dept.chat_id)
        if role == "lead":
            notify.send_media(session, app, dept.chat_id, photos, head(tr, t), ticket=t, purpose="dept_media")
            if t.latitude is not None:
                outbox.enqueue(session, chat_id=dept.chat_id, method="location", now=app.now(), ticket_id=t.id,
                               purpose="dept_media", payload={"latitude": t.latitude, "longitude": t.longitude})
        co_names = [names.get(c, c) for c in co if c != lead]
        text = card_text(tr, app, t, count, role, co_names, extra=await matter_lines.card_lines(session, app, tr, t))
        notify.send(session, app, dept.chat_id, text, keyboard=keyboard(tr, t, role), ticket=t,
                    purpose="dept_card" if role == "lead" else "co_card", link_data=_of_dispatch(t))


async def post_again(session: AsyncSession, app: App, dept_code: str) -> int:
    """The department's chat changed under its open tickets (a group upgraded to a supergroup, a new
    group in the org file or by /bind, the bot added back after a card failed): each ticket it leads
    gets its card there again, the only place with its buttons. Returns how many."""
    dept = await directory.department(session, dept_code)
    if dept is None or dept.chat_id is None:
        return 0
    open_ = await worklists.department_open(session, dept_code, None, 0, worklists.REPOST_AT_MOST)
    for t in open_[0]:
        co = [d.dept_code for d in await tickets.departments_of(session, t.id) if d.role == "co"]
        await post_cards(session, app, t, dept_code, co, lead_only=True)
    return len(open_[0])



def _of_dispatch(t: Ticket) -> dict:
    """Which dispatch a card was posted for (its 派单 moment, to the millisecond): after a 退单 and
    a new 派单 to the same department, the old card is another dispatch's and stays disarmed."""
    return {"dispatch": tickets.dispatch_mark(t)}


async def refresh(session: AsyncSession, app: App, t: Ticket, note: Note = None, with_buttons: bool = True) -> None:
    """Rewrite the current lead department's card(s); an old one (after 退单) stays disarmed."""
    lead = await lead_department(session, t)
    if lead is None or lead.chat_id is None:
        return
    owner = await person_name(session, t.owner_id)
    co_names = await _co_names(session, t)
    photos = await appeal_photo_count(session, t)
    current = _of_dispatch(t)["dispatch"]
    for link in await tickets.links_of(session, t.id, "dept_card", lead.chat_id):
        mark = link.data or {}
        if "dispatch" in mark:
            if mark["dispatch"] != current:
                continue  # a card of an earlier dispatch (returned): it keeps what it said then
        elif t.dispatched_at is not None and link.created_at < t.dispatched_at:
            continue  # the same, for a card sent before cards named their dispatch
        tr = await notify.chat_translator(session, app, link.chat_id)
        text = card_text(tr, app, t, photos, "lead", co_names, owner, note(tr) if callable(note) else note,
                         extra=await matter_lines.card_lines(session, app, tr, t))
        notify.edit(session, app, link.chat_id, link.message_id, text,
                    keyboard(tr, t, "lead") if with_buttons else None, ticket=t)


async def post_reopen_card(session: AsyncSession, app: App, t: Ticket, reason_code: str | None,
                           words: str | None, by_review: bool = False) -> None:
    """A new card in the lead department's chat with 办结 / 申请延期 and why the ticket came back."""
    dept = await lead_department(session, t)
    if dept is None or dept.chat_id is None:
        return
    tr = await notify.chat_translator(session, app, dept.chat_id)
    note = tr("review.back_note" if by_review else "rate.dept_reopened", count=t.reopen_count,
              reason=reason_text(tr, reason_code, words), when=local(app, t.resolve_due, "%Y-%m-%d %H:%M"))
    text = card_text(tr, app, t, await appeal_photo_count(session, t), "lead", await _co_names(session, t),
                     await person_name(session, t.owner_id), note, extra=await matter_lines.card_lines(session, app, tr, t))
    notify.send(session, app, dept.chat_id, text, keyboard=keyboard(tr, t, "lead"), ticket=t, purpose="dept_card",
                link_data=_of_dispatch(t))


async def tell(session: AsyncSession, app: App, t: Ticket, key: str, label_key: str | None = None,
               **params: object) -> None:
    """A note in the lead department's chat (`label_key` is translated in that chat's language)."""
    await tell_department(session, app, t, t.lead_dept, key, label_key, **params)


async def tell_department(session: AsyncSession, app: App, t: Ticket, code: str | None, key: str,
                          label_key: str | None = None, **params: object) -> None:
    """A note about the ticket in a department's chat (the lead's, or a co-department's)."""
    dept = await directory.department(session, code) if code else None
    if dept is None or dept.chat_id is None:
        return
    tr = await notify.chat_translator(session, app, dept.chat_id)
    if label_key:
        params["label"] = tr(label_key)
    notify.send(session, app, dept.chat_id, tr(key, code=display(t.code), **params), ticket=t, purpose="dept_note")
