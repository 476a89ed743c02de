"""What people ask about deadlines in chats: ``/cards`` (the card record) and ``/duty``."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.codes import display
from bot.i18n import Translator
from bot.services import escalation, notify, oversight
from bot.services.access import Roles
from bot.services.addressing import person_label
from bot.services.ticket_lines import local
from storage import directory
from storage import duty as duty_store
from storage import sla_cards as store

PAGE_SIZE = 10
ALL = ""
ICONS = {"yellow": "🟨", "red": "🟥"}


async def cards_scope(session: AsyncSession, roles: Roles, chat_id: int, private: bool) -> str | None:
    """Whose cards this chat may see: its department's, ALL, or None (not here)."""
    chat = await directory.chat(session, chat_id)
    if chat is not None and chat.kind == "department" and chat.department_code:
        return chat.department_code
    if chat is not None and chat.kind in ("dispatch", "leaders"):
        return ALL
    if roles.admin or (private and (roles.dispatcher or roles.leader)):
        return ALL
    return None


async def cards_listing(session: AsyncSession, app: App, tr: Translator, scope: str,
                        page: int) -> tuple[str, int]:
    """A page of cards, latest first; returns the text and the number of pages."""
    rows, total = await store.list_cards(session, scope or None, page * PAGE_SIZE, PAGE_SIZE)
    if not total:
        return tr("cards.none"), 0
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    lines = [tr("cards.header", total=total)]
    for card, dept_name, code in rows:
        lines.append(tr("cards.line", icon=ICONS.get(card.colour, "▪"), colour=tr(f"cards.colour.{card.colour}"),
                        when=local(app, card.at), dept=dept_name, code=display(code),
                        clock=tr(f"clock.{card.clock}")))
    if scope:
        dept = await directory.department(session, scope)
        if dept is not None:
            lines.append(tr("cards.streak", dept=dept.name, streak=await store.streak(session, scope)))
    if pages > 1:
        lines.append(tr("list.page", page=page + 1, pages=pages))
    return "\n".join(lines), pages


async def cards_history(session: AsyncSession, app: App, tr: Translator, scope: str) -> list[str]:
    """The leaders' and dispatch chats' /cards also shows each department's record: messages of their
    own after the page of cards, as many as a district's 承办单位 need (one would be clipped)."""
    if scope:
        return []
    return notify.pieces(await oversight.card_history(session, app, tr))


@dataclass(frozen=True)
class DutyTarget:
    """Who /duty names, as the handler could tell from the message."""

    user_id: int | None = None
    username: str | None = None
    full_name: str | None = None


@dataclass(frozen=True)
class DutyDesk:
    """Where /duty was sent: a department's chat (its on-duty handler for nights and holidays) or
    the dispatch chat (the on-duty dispatcher, whom every urgent ticket's card names)."""

    code: str  # the department's code, or escalation.DISPATCH_DESK
    name: str
    dispatch: bool = False


async def duty_desk(session: AsyncSession, tr: Translator, chat_id: int) -> DutyDesk | None:
    chat = await directory.chat(session, chat_id)
    if chat is None or not chat.active:
        return None
    if chat.kind == "dispatch":
        return DutyDesk(escalation.DISPATCH_DESK, tr("duty.dispatch_desk"), dispatch=True)
    if chat.kind != "department" or not chat.department_code:
        return None
    dept = await directory.department(session, chat.department_code)
    return DutyDesk(dept.code, dept.name) if dept else None


async def show_duty(session: AsyncSession, app: App, tr: Translator, desk: DutyDesk) -> str:
    now = app.now()
    who = (await escalation.on_duty_dispatcher(session, app, now) if desk.dispatch
           else await escalation.on_duty(session, app, desk.code, now))
    if who is None:
        return tr("duty.none", dept=desk.name)
    label = await person_label(session, who.user_id, tr)
    if who.source == "command" and who.until is not None:
        source = tr("duty.source_command", until=local(app, who.until))
    else:
        source = tr("duty.source_roster")
    return tr("duty.current", dept=desk.name, who=label, source=source)


async def set_duty(session: AsyncSession, app: App, tr: Translator, desk: DutyDesk, target: DutyTarget) -> str:
    """Put the named person on duty; the answer for the chat."""
    user_id = target.user_id
    if user_id is None and target.username:
        person = await duty_store.person_by_username(session, target.username)
        if person is None:
            return tr("duty.unknown_person", who="@" + target.username.lstrip("@"))
        user_id = person.id
    if user_id is None:
        return tr("duty.usage")
    if target.full_name or target.username:
        await directory.remember_person(session, user_id, target.full_name, target.username)
    if desk.dispatch and not {r.role for r in await directory.roles(session, user_id)} & {"dispatcher", "admin"}:
        # Urgent cards name the one on duty: someone who cannot press 派单 would leave them unanswered.
        return tr("duty.not_dispatcher", who=await person_label(session, user_id, tr))
    if desk.dispatch:
        until = await escalation.set_duty_dispatcher(session, app, user_id, app.now())
    else:
        until = await escalation.set_duty(session, app, desk.code, user_id, app.now())
    return tr("duty.set_dispatch" if desk.dispatch else "duty.set", dept=desk.name,
              who=await person_label(session, user_id, tr), until=local(app, until))


async def clear_duty(session: AsyncSession, tr: Translator, desk: DutyDesk) -> str:
    if desk.dispatch:
        await duty_store.clear_desk_duty(session, desk.code)
    else:
        await duty_store.clear_duty(session, desk.code)
    return tr("duty.cleared", dept=desk.name)
