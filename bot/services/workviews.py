"""What dispatchers and handlers look at: /queue, /open, /mine."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Page, button
from bot.context import App
from bot.domain.codes import display
from bot.domain.intake import summary
from bot.domain.lifecycle import Forbidden, Refusal, Status
from bot.i18n import Translator
from bot.services.access import Roles, staff_chat
from bot.services.addressing import department_of_chat
from storage import worklists

PAGE_SIZE = 8


async def may_see_queue(session: AsyncSession, roles: Roles, chat_id: int, chat_type: str) -> None:
    """/queue is the dispatchers', and only where the public cannot read it."""
    if not roles.can_dispatch:
        raise Forbidden("queue")
    if not await staff_chat(session, chat_id, chat_type):
        raise Refusal("list.staff_only")


async def listing(session: AsyncSession, app: App, tr: Translator, name: str, chat_id: int, roles: Roles,
                  page: int) -> tuple[str, list[list[dict]] | None]:
    """A page of /queue, /open or /mine, with ◀ ▶ buttons when there is more.

    /queue is the dispatchers' (Forbidden for anyone else); /open and /mine answer in a
    department's chat."""
    if name == "queue":
        if not roles.can_dispatch:
            raise Forbidden("queue")
        rows, total = await worklists.waiting(session, page * PAGE_SIZE, PAGE_SIZE)
        header = tr("list.queue", total=total)
    elif name in ("open", "mine"):
        dept = await department_of_chat(session, chat_id)
        if dept is None:
            return tr("list.not_department"), None
        owner = roles.user_id if name == "mine" else None
        rows, total = await worklists.department_open(session, dept, owner, page * PAGE_SIZE, PAGE_SIZE)
        header = tr(f"list.{name}", total=total)
    else:
        return tr("error.bad_button"), None
    if not rows:
        return tr("list.empty"), None
    now = app.now()
    lines = [header]
    for t in rows:
        due = t.accept_due if t.status == Status.DISPATCHED else t.resolve_due
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
