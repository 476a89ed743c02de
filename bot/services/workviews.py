"""What dispatchers and handlers look at: pickers on the card, /queue, /open, /mine."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Page, button
from bot.context import App
from bot.domain.codes import display
from bot.domain.intake import summary
from bot.domain.lifecycle import Status, plan
from bot.i18n import Translator
from bot.services import cards, notify
from bot.services.access import Roles
from bot.services.dispatching import dept_names, load
from storage import directory, tickets, worklists

PAGE_SIZE = 8


async def department_of_chat(session: AsyncSession, chat_id: int) -> str | None:
    chat = await directory.chat(session, chat_id)
    return chat.department_code if chat and chat.kind == "department" else None


async def show_picker(session: AsyncSession, app: App, ticket_id: int, roles: Roles, chat_id: int,
                      message_id: int, what: str) -> None:
    t = await load(session, ticket_id)
    plan("divert" if what == "divert" else "dispatch", t.status, roles.actors_for(t))
    tr = await notify.chat_translator(session, app, chat_id)
    if what == "divert":
        kb = cards.divert_picker(tr, t)
    else:
        depts = [d for d in await directory.departments(session) if d.chat_id is not None]
        kb = cards.dept_picker(tr, t, depts, "lead" if what == "route" else "co")
    notify.edit(session, app, chat_id, message_id, None, kb, ticket=t)


async def show_card_buttons(session: AsyncSession, app: App, ticket_id: int, roles: Roles, chat_id: int,
                            message_id: int) -> None:
    """返回 from a picker: the card with its buttons again while any of them may still act.

    The same rules as the buttons themselves (lifecycle.plan): 派单 / 另选部门 / 协办部门 from
    TRIAGE and from REVIEW (a dispatch card posted by 改派), 合并 / 分流 / 驳回 from NEW and
    TRIAGE — so a REVIEW ticket is never left on a card without buttons.
    """
    from bot.domain.lifecycle import TransitionError

    t = await load(session, ticket_id)
    tr = await notify.chat_translator(session, app, chat_id)
    names = await dept_names(session)
    actors = roles.actors_for(t)

    def allowed(action: str) -> bool:
        try:
            plan(action, Status(t.status), actors)
        except TransitionError:
            return False
        return True

    card_actions = ("dispatch", "merge", "divert", "reject")
    kb = cards.dispatch_keyboard(tr, t, names) if any(allowed(a) for a in card_actions) else None
    area = await directory.area(session, t.area_code) if t.area_code else None
    text = cards.dispatch_card(tr, app, t, await tickets.count_attachments(session, t.id),
                               area.name if area else None, names)
    notify.edit(session, app, chat_id, message_id, text, kb, ticket=t)


async def listing(session: AsyncSession, app: App, tr: Translator, name: str, chat_id: int, user_id: int,
                  page: int) -> tuple[str, list[list[dict]] | None]:
    """A page of /queue, /open or /mine, with ◀ ▶ buttons when there is more."""
    if name == "queue":
        rows, total = await worklists.waiting(session, page * PAGE_SIZE, PAGE_SIZE)
        header = tr("list.queue", total=total)
    elif name in ("open", "mine"):
        dept = await department_of_chat(session, chat_id)
        if dept is None:
            return tr("list.not_department"), None
        owner = user_id if name == "mine" else None
        rows, total = await worklists.department_open(session, dept, owner, page * PAGE_SIZE, PAGE_SIZE)
        header = tr(f"list.{name}", total=total)
    else:
        return tr("error.bad_button"), None
    if not rows:
        return tr("list.empty"), None
    now = app.now()
    lines = [header]
    for t in rows:
        due = t.accept_due if t.status == "DISPATCHED" else t.resolve_due
        when = due.astimezone(app.tz).strftime("%m-%d %H:%M") if due else "-"
        late = " ⏰" if due and due < now else ""
        flag = "🔴" if t.urgency == "urgent" else "·"
        lines.append(f"{flag} {display(t.code)} {tr('status.' + t.status)} {when}{late}\n   {summary(t.text, 40)}")
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    nav = []
    if page > 0:
        nav.append(button("◀", Page(listing=name, page=page - 1)))
    if page + 1 < pages:
        nav.append(button("▶", Page(listing=name, page=page + 1)))
    if pages > 1:
        lines.append(tr("list.page", page=page + 1, pages=pages))
    return "\n".join(lines), [nav] if nav else None
