"""Read models for /ticket, /my: what a ticket looks like to the person asking."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.appeal import is_reporter
from bot.domain.codes import display, parse_code
from bot.domain.intake import summary
from bot.i18n import Translator
from bot.services import clocks
from bot.services.access import Roles
from storage import directory, matter, tickets
from storage.models import Ticket, TicketEvent


@dataclass
class TicketView:
    ticket: Ticket
    events: list[TicketEvent]
    photo_count: int
    supporters: int = 0  # 附议


async def find(session: AsyncSession, text: str) -> Ticket | None:
    code = parse_code(text)
    return await tickets.get_by_code(session, code) if code else None


async def entitled(session: AsyncSession, ticket: Ticket, roles: Roles, chat_id: int) -> bool:
    """Reporters, dispatchers, admins, leaders, the departments on it, and its own chats."""
    if roles.admin or roles.dispatcher or roles.leader:
        return True
    if is_reporter(roles.user_id, ticket.reporter_id, ticket.on_behalf_user_id) or (
            roles.user_id is not None and roles.user_id == ticket.owner_id):
        return True
    depts = {d.dept_code for d in await tickets.departments_of(session, ticket.id)}
    if roles.handler_of & depts:
        return True
    chat = await directory.chat(session, chat_id)
    if chat and chat.kind in ("dispatch", "leaders"):
        return True
    return bool(chat and chat.kind == "department" and chat.department_code in depts)


async def view(session: AsyncSession, ticket: Ticket) -> TicketView:
    photos = await tickets.count_attachments(session, ticket.id, source="appeal")  # the appeal's, as on the cards
    return TicketView(ticket, await tickets.events(session, ticket.id), photos, await matter.support_count(session, ticket.id))


FULL_TEXT = 2000


def status_name(tr: Translator, status: str) -> str:
    return tr(f"status.{status}")


def render(tr: Translator, v: TicketView, app: App) -> str:
    """The /ticket answer: status, words, place, deadlines, history (a staff chat's or a private chat's:
    a community chat gets a pointer instead, handlers/commands.py)."""
    t = v.ticket
    lines = [tr("ticket.header", code=display(t.code), status=status_name(tr, t.status)),
             tr("ticket.kind_line", kind=tr(f"kind.{t.kind}"), urgency=tr(f"urgency.{t.urgency}"))]
    if t.category:
        lines.append(tr("ticket.category_line", category=t.category))
    # The words whole, or nearly: cards cut them, and /ticket is where a handler going out reads
    # the place a long appeal names at its end (a message holds 4,096 characters, history included).
    lines.append(tr("ticket.text_line", text=summary(t.text or "", FULL_TEXT)))
    if v.photo_count:
        lines.append(tr("ticket.photos_line", count=v.photo_count))
    if t.latitude is not None:
        lines.append(tr("ticket.location_line", lat=f"{t.latitude:.5f}", lon=f"{t.longitude:.5f}"))
    if v.supporters:
        lines.append(tr("ticket.supporters", count=v.supporters))
    lines += deadline_lines(tr, t, app)
    lines.append(tr("ticket.history"))
    for e in v.events[-15:]:
        when = e.at.astimezone(app.tz).strftime("%m-%d %H:%M")
        lines.append(f"  {when} {tr('event.' + e.kind)}")
    return "\n".join(lines)


def deadline_lines(tr: Translator, t: Ticket, app: App) -> list[str]:
    now, out, on = app.now(), [], clocks.running(t)
    for clock, due in (("accept", t.accept_due), ("progress", t.progress_due), ("resolve", t.resolve_due)):
        if due is None:
            continue
        local = due.astimezone(app.tz).strftime("%Y-%m-%d %H:%M")
        overdue = now > due and clock in on  # a deadline met (签收 in time, progress given) is not missed
        key = "ticket.deadline_overdue" if overdue else "ticket.deadline"
        out.append(tr(key, clock=tr(f"clock.{clock}"), when=local))
    return out


async def mine(session: AsyncSession, user_id: int) -> list[Ticket]:
    return await tickets.list_by_reporter(session, user_id)
