"""督办 bookkeeping the ticket's own steps call (a leaf: notify, addressing and storage only).

The 约谈 ladder (two red cards in a row), the 职责争议 mark after a second return and the
refusal to return a ticket whose lead department a leader chose; /cards' department record.
bot.services.supervision holds the leaders' actions.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Supervise, button
from bot.context import App
from bot.domain.codes import display
from bot.domain.lifecycle import Refusal
from bot.i18n import Translator
from bot.services import notify
from bot.services.addressing import leaders_chat_id, person_label
from storage import directory, tickets
from storage import supervision as store
from storage.models import Ticket

DISPUTE_AFTER_RETURNS = 2


def take_button(tr: Translator, t: Ticket) -> dict:
    return button(tr("btn.take"), Supervise(action="take", ticket_id=t.id))


# -- the 约谈 ladder ---------------------------------------------------------------------------


async def after_red(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    """A red card was given to `t`'s department: the second in a row calls for 约谈."""
    if not t.lead_dept or await store.bump_red(session, t.lead_dept) < 2:
        return
    await store.reset_red(session, t.lead_dept)
    chat_id = await leaders_chat_id(session, app)
    dept = await directory.department(session, t.lead_dept)
    if chat_id is None or dept is None:
        return
    tr = await notify.chat_translator(session, app, chat_id)
    leader = await person_label(session, dept.leader_id, tr) if dept.leader_id else tr("talk.no_leader")
    notify.send(session, app, chat_id, tr("talk.notice", dept=dept.name, leader=leader, code=display(t.code)),
                keyboard=[[take_button(tr, t)]], ticket=t, purpose="talk_notice")
    await tickets.add_event(session, t.id, "interview_called", now, data={"dept": t.lead_dept})


async def on_time(session: AsyncSession, dept: str) -> None:
    """An on-time resolution ends the department's run of red cards."""
    await store.reset_red(session, dept)


# -- 职责争议 ----------------------------------------------------------------------------------


def refuse_return(t: Ticket) -> None:
    """A leader chose the lead department: it cannot be returned again."""
    if t.lead_decided_by:
        raise Refusal("dispute.final")


async def after_return(session: AsyncSession, t: Ticket, now: datetime) -> Ticket:
    """Returned twice: mark the ticket 职责争议 (the dispatch card then offers 提请领导决定)."""
    if t.returns_count >= DISPUTE_AFTER_RETURNS and await store.mark_disputed(session, t.id, now):
        await tickets.add_event(session, t.id, "disputed", now, data={"returns": t.returns_count})
        t = await tickets.get(session, t.id) or t
    return t


HISTORY_PER_DEPARTMENT = 8  # the latest cards shown under each department in /cards
ICONS = {"yellow": "🟨", "red": "🟥"}


async def card_history(session: AsyncSession, app: App, tr: Translator) -> str:
    """/cards in the leaders' and dispatch chats: each department's record and runs, and under it
    the dates of its latest cards (one line per day, oldest first) and of its 约谈."""
    recent: dict[str, list[tuple[datetime, str, str]]] = {}
    for dept, at, colour, code in await store.recent_cards(session, HISTORY_PER_DEPARTMENT):
        recent.setdefault(dept, []).append((at, colour, code))
    talks: dict[str, list[tuple[datetime, str]]] = {}
    for dept, at, ticket_code in await store.talks(session):
        talks.setdefault(dept, []).append((at, ticket_code))
    lines = [tr("cards.history_header")]
    for code, name, yellow, red, y_streak, r_streak in await store.card_history(session):
        lines.append(tr("cards.history_line", dept=name, yellow=yellow, red=red, y_streak=y_streak or 0,
                        r_streak=r_streak or 0))
        shown = recent.get(code, [])
        if yellow + red > len(shown):
            lines.append(tr("cards.history_earlier", count=yellow + red - len(shown)))
        days: dict[str, list[str]] = {}
        for at, colour, ticket_code in shown:
            day = at.astimezone(app.tz).strftime("%Y-%m-%d")
            days.setdefault(day, []).append(ICONS.get(colour, "▪") + display(ticket_code))
        for day, cards in days.items():
            lines.append(tr("cards.history_day", date=day, cards=" ".join(cards)))
        for at, ticket_code in talks.get(code, [])[-HISTORY_PER_DEPARTMENT:]:
            lines.append(tr("cards.history_talk", date=at.astimezone(app.tz).strftime("%Y-%m-%d"),
                            code=display(ticket_code)))
    return "\n".join(lines)
