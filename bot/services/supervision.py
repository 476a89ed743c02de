"""督办 (seed 002 督办亮牌, seed 004 联席会议 / 领导包案): the 约谈 ladder, 职责争议, 领导包案, 批示.

* Two red cards of a department in a row (no on-time resolution between them) → a
  约谈主要负责人 notice in the leaders' chat naming the department's leader.
* A ticket returned twice is a 职责争议: marked on every card; the dispatcher lays it before
  the leaders' chat, where a leader picks the lead department — final: it cannot be returned.
* A leader takes a ticket (领导包案): shown on every card and in the ledger, told of every step
  in private (bot.services.leader_notes), may write a 批示 that reaches the department chat.
"""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Supervise, button
from bot.context import App
from bot.domain.codes import display, parse_code
from bot.domain.intake import summary
from bot.domain.lifecycle import Refusal, Status, is_open
from bot.i18n import Translator
from bot.services import department_cards, dispatch, dispatch_cards, notify
from bot.services.access import Roles, roles_of
from bot.services.addressing import (  # noqa: F401
    department_of_chat, dept_names, dispatch_chat_id, leaders_chat_id, load, person_name,
)
from bot.services.oversight import take_button
from storage import directory, tickets
from storage import supervision as store
from storage.models import Ticket


async def raise_dispute(session: AsyncSession, app: App, ticket_id: int, roles: Roles) -> str:
    t = await load(session, ticket_id)
    if not roles.can_dispatch:
        raise Refusal("error.forbidden")
    if not t.disputed_at or t.lead_decided_by or t.status != Status.TRIAGE:
        raise Refusal("error.stale")
    if any(e.kind == "dispute_raised" and e.at >= t.disputed_at for e in await tickets.events(session, t.id)):
        raise Refusal("dispute.already_raised")  # one notice for the leaders to decide, once
    chat_id = await leaders_chat_id(session, app)
    if chat_id is None:
        raise Refusal("dispute.no_leaders")
    tr = await notify.chat_translator(session, app, chat_id)
    depts = [d for d in await directory.departments(session) if d.chat_id is not None]
    rows: list[list[dict]] = []
    row: list[dict] = []
    for d in depts:
        row.append(button(d.name, Supervise(action="decide", ticket_id=t.id, dept=d.code)))
        if len(row) == 2:
            rows, row = rows + [row], []
    rows += ([row] if row else []) + [[take_button(tr, t)]]
    notify.send(session, app, chat_id, tr("dispute.notice", code=display(t.code), returns=t.returns_count,
                                          summary=summary(t.text or "", 80)),
                keyboard=rows, ticket=t, purpose="dispute_notice")
    await tickets.add_event(session, t.id, "dispute_raised", app.now(), actor_id=roles.user_id)
    return "dispute.raised"


async def decide(session: AsyncSession, app: App, ticket_id: int, roles: Roles, dept: str,
                 chat_id: int, message_id: int) -> str:
    t = await load(session, ticket_id)
    leader = _leader(roles)
    if not t.lead_decided_by and t.status != Status.TRIAGE:
        # The dispatchers moved it on meanwhile (派单, 合并 …): no leader decided, and the notice
        # is settled so nobody else presses it.
        tr = await notify.chat_translator(session, app, chat_id)
        notify.edit(session, app, chat_id, message_id,
                    tr("dispute.moved_on", code=display(t.code), status=tr(f"status.{t.status}")),
                    [[take_button(tr, t)]] if is_open(t.status) else None, ticket=t)
        return "dispute.moved_on_alert"  # said, not refused: the settled notice is kept
    if t.lead_decided_by or t.status != Status.TRIAGE:
        raise Refusal("dispute.decided")
    if not await store.decide(session, t.id, leader):
        raise Refusal("dispute.decided")
    t = await dispatch.dispatch(session, app, t.id, None, dept, [])
    await tickets.add_event(session, t.id, "lead_decided", app.now(), actor_id=roles.user_id, data={"dept": dept})
    tr = await notify.chat_translator(session, app, chat_id)
    names = await dept_names(session)
    notify.edit(session, app, chat_id, message_id,
                tr("dispute.decided_note", code=display(t.code), dept=names.get(dept, dept),
                   leader=await person_name(session, roles.user_id) or roles.user_id),
                [[take_button(tr, t)]], ticket=t)
    return "dispute.decided_ok"


# -- 领导包案 and 批示 --------------------------------------------------------------------------


async def hears_in_private(session: AsyncSession, user_id: int | None) -> bool:
    """Whether a leader's private news can reach them: Telegram lets a bot write only to someone
    who opened a private chat with it."""
    return user_id is not None and await notify.in_private(session, user_id) is not None


def _leader(roles: Roles) -> int:
    """The leader's user id; anyone else is refused."""
    if not roles.leader or roles.user_id is None:
        raise Refusal("take.leaders_only")
    return roles.user_id


async def find(session: AsyncSession, code_text: str) -> Ticket | None:
    code = parse_code(code_text or "")
    return await tickets.get_by_code(session, code) if code else None


async def take_by_code(session: AsyncSession, app: App, code_text: str, roles: Roles) -> Ticket:
    """/take <code>: only a leader may; then the code must name a ticket."""
    _leader(roles)
    if not code_text:
        raise Refusal("take.usage")
    t = await find(session, code_text)
    if t is None:
        raise Refusal("ticket.not_found", code=code_text)
    return await take(session, app, t, roles)


async def instruct_by_code(session: AsyncSession, app: App, code_text: str, words: str,
                           roles: Roles) -> tuple[Ticket, str]:
    """/instruct <code> <words>: only a leader may; then a ticket and the words are needed."""
    _leader(roles)
    if not code_text or not words.strip():
        raise Refusal("instruct.usage")
    t = await find(session, code_text)
    if t is None:
        raise Refusal("ticket.not_found", code=code_text)
    return t, await instruct(session, app, t, roles, words)


async def take(session: AsyncSession, app: App, t: Ticket, roles: Roles) -> Ticket:
    leader = _leader(roles)
    if not is_open(t.status):
        raise Refusal("take.closed", code=display(t.code))
    if t.leader_id == roles.user_id:
        raise Refusal("take.already_yours", code=display(t.code))
    now = app.now()
    name = await person_name(session, roles.user_id) or str(roles.user_id)
    # A holder no longer a leader (taken out of the org file) leaves the case to be taken over.
    gone = t.leader_id if t.leader_id and not (await roles_of(session, t.leader_id)).leader else None
    if (t.leader_id and gone is None) or not await store.take(session, t.id, leader, name, now, replacing=gone):
        raise Refusal("take.taken", code=display(t.code), leader=t.leader_name or t.leader_id)
    await tickets.add_event(session, t.id, "taken", now, actor_id=roles.user_id)
    t = await tickets.get(session, t.id) or t
    dept = await directory.department(session, t.lead_dept) if t.lead_dept else None
    if dept and dept.chat_id:
        tr = await notify.chat_translator(session, app, dept.chat_id)
        notify.send(session, app, dept.chat_id, tr("take.dept_note", code=display(t.code), leader=name),
                    ticket=t, purpose="dept_note")
    tr = await notify.person_translator(session, app, leader)
    notify.send(session, app, leader, tr("take.private", code=display(t.code), summary=summary(t.text or "", 80),
                                                status=tr(f"status.{t.status}")),
                ticket=t, purpose="leader_case")
    # "The ticket shows who took it on every card" (issue 10): the department's card too, at once.
    await dispatch_cards.redraw(session, app, t)
    await department_cards.refresh(session, app, t)
    return t


async def instruct(session: AsyncSession, app: App, t: Ticket, roles: Roles, words: str) -> str:
    """批示: the leader's words reach the department chat — or the dispatch chat while no department
    has it or the department's chat is lost. Returns the key that tells the leader which; the leader
    who took the case (包案) hears another leader's 批示 in private."""
    _leader(roles)
    if not is_open(t.status):
        raise Refusal("take.closed", code=display(t.code))
    words = words.strip()
    if len(words) < 2:
        raise Refusal("instruct.usage")
    dept = await directory.department(session, t.lead_dept) if t.lead_dept else None
    chat_id = dept.chat_id if dept and await department_of_chat(session, dept.chat_id) == dept.code else None
    done = "instruct.done"
    if chat_id is None:
        chat_id, done = await dispatch_chat_id(session, app), "instruct.done_dispatch"
    if chat_id is None:
        raise Refusal("instruct.nowhere")
    name = await person_name(session, roles.user_id) or str(roles.user_id)
    tr = await notify.chat_translator(session, app, chat_id)
    notify.send(session, app, chat_id, tr("instruct.note", code=display(t.code), leader=name, words=words[:1500]),
                ticket=t, purpose="instruction")
    await tickets.add_event(session, t.id, "instruction", app.now(), actor_id=roles.user_id, data={"words": words})
    if t.leader_id and t.leader_id != roles.user_id and (await roles_of(session, t.leader_id)).leader:
        told = await notify.person_translator(session, app, t.leader_id)
        notify.send(session, app, t.leader_id, told("instruct.note", code=display(t.code), leader=name,
                                                    words=words[:1500]), ticket=t, purpose="leader_case")
    return done


MINE_AT_MOST = 40  # lines of /mine; a case line is under 80 characters, a message holds 4,096


async def my_cases(session: AsyncSession, app: App, roles: Roles, tr: Translator) -> str:
    rows = await store.cases(session, _leader(roles))
    if not rows:
        return tr("mine.cases_none")
    names = await dept_names(session)
    lines = [tr("mine.cases_header", count=len(rows))]
    # The cases still open first, the latest finished after them, as many as a message holds:
    # a long record of old cases must not push today's out of the list.
    shown = sorted(rows, key=lambda t: (not is_open(t.status), -(t.taken_at or t.created_at).timestamp()))
    for t in shown[:MINE_AT_MOST]:
        lines.append(tr("mine.case_line", code=display(t.code), status=tr(f"status.{t.status}"),
                        dept=names.get(t.lead_dept or "", "-"), summary=summary(t.text or "", 30)))
    return "\n".join(lines)
