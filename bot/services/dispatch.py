"""The dispatch chat's decisions: 派单 (to a department), 合并, 分流, 驳回 (DESIGN §2, issue 3).

Comes after triage (bot/services/triage.py); a dispatch hands the ticket to the department's
chat (bot/services/department_cards.py), where bot/services/department_work.py takes over.
"""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.codes import display, parse_code
from bot.domain.lifecycle import FINAL, RESULT_GIVEN, Actor, Refusal, Status, authorise, require_actor
from bot.services import clocks, department_cards, dispatch_cards, notify, support, transition
from bot.services.access import Roles
from bot.domain.intake import summary
from bot.services.addressing import able_to_take, dept_names, dispatch_translator, leaders_chat_id, load
from bot.services.prompts import prompt
from storage import directory, tickets
from storage.models import Ticket

SYSTEM = frozenset({Actor.SYSTEM})


async def to_triage(session: AsyncSession, app: App, t: Ticket, note: str | None = None, first: bool = False) -> None:
    """A ticket waiting for a dispatcher: auto-dispatch when confident, else a card.

    An urgent one (seed 004 应急) goes to its department at once when the match is confident,
    even without `dispatch.auto` (org switch `dispatch.urgent_auto`, on by default), and its card
    still reaches the dispatch chat, naming the on-duty dispatcher; at intake (`first`) the
    leaders' chat is told either way.
    """
    moved = await auto_dispatch(session, app, t)
    if moved is None:
        await dispatch_cards.post(session, app, t, note)
    if t.urgency == "urgent" and first:
        await tell_urgent(session, app, moved or t, "dispatched" if moved else "waiting")


async def auto_dispatch(session: AsyncSession, app: App, t: Ticket) -> Ticket | None:
    """Dispatch by the catalogue without a dispatcher, when the org allows it for this ticket and
    the match is confident; the moved ticket, or None (a dispatcher decides)."""
    route = t.route or {}
    confident = route.get("confidence", 0) >= app.org.dispatch.confidence and route.get("lead")
    urgent = t.urgency == "urgent"
    auto = app.org.dispatch.auto or (urgent and app.org.dispatch.urgent_auto)
    if not (auto and confident and not route.get("divert") and not t.returns_count and t.status == Status.TRIAGE):
        return None
    try:
        moved = await dispatch(session, app, t.id, None, route["lead"], list(route.get("co") or []))
    except Refusal:
        # The department cannot receive it (no chat, chat gone; refused before any write):
        # a dispatcher decides instead.
        return None
    if urgent and not await dispatch_cards.has_card(session, moved):
        # Urgent work is never out of the dispatchers' sight: the card says where it went.
        tr = await dispatch_translator(session, app)
        await dispatch_cards.post(session, app, moved, await dispatch_cards.status_note(session, app, tr, moved))
    return moved


async def tell_urgent(session: AsyncSession, app: App, t: Ticket, how: str) -> None:
    """An urgent ticket: the leaders' chat hears of it at once — `how` it stands: dispatched by
    the catalogue, waiting for a dispatcher, or raised to urgent while a department has it. (The
    dispatch chat has its card, which names the on-duty dispatcher.)"""
    chat_id = await leaders_chat_id(session, app)
    if chat_id is None:
        return
    names = await dept_names(session)
    area = await directory.area(session, t.area_code) if t.area_code else None
    tr = await notify.chat_translator(session, app, chat_id)
    where = dispatch_cards.place(tr, t, area.name if area else None)
    text = tr(f"urgent.{how}", code=display(t.code), area=where, dept=names.get(t.lead_dept, t.lead_dept),
              text=summary(t.text))
    notify.send(session, app, chat_id, text, ticket=t, purpose="urgent_notice")


async def dispatch(session: AsyncSession, app: App, ticket_id: int, roles: Roles | None, lead: str,
                   co: list[str]) -> Ticket:
    t = await load(session, ticket_id)
    actors = roles.actors_for(t) if roles else SYSTEM
    authorise("dispatch", t.status, actors)
    await able_to_take(session, lead)
    co = [c for c in dict.fromkeys(co) if c != lead]  # the lead is no co-department of itself
    now = app.now()
    t = await transition.move(
        session, app, t, "dispatch", actors, event="dispatched", actor_id=roles.user_id if roles else None,
        values={"lead_dept": lead, "dispatched_at": now, "owner_id": None, "accepted_at": None,
                **clocks.windows(app, t, now)},
        data={"lead": lead, "co": co})
    await tickets.set_departments(session, t.id, lead, co)
    names = await dept_names(session)
    tr = await dispatch_translator(session, app)
    await dispatch_cards.refresh(session, app, t, await dispatch_cards.status_note(session, app, tr, t))
    await department_cards.post_cards(session, app, t, lead, co)
    await notify.tell_reporter(session, app, t, "reporter.dispatched", code=display(t.code), dept=names[lead])
    return t


async def set_co(session: AsyncSession, app: App, ticket_id: int, roles: Roles, dept: str) -> Ticket:
    """Toggle a co-department on the suggestion before 派单."""
    t = await load(session, ticket_id)
    authorise("dispatch", t.status, roles.actors_for(t))
    route = dict(t.route or {})
    if dept == route.get("lead"):
        raise Refusal("co.is_lead")  # "城市管理局（协办：城市管理局）" on the card and in the record
    co = list(route.get("co") or [])
    route["co"] = [c for c in co if c != dept] if dept in co else co + [dept]
    await tickets.touch(session, t.id, {"route": route}, app.now())
    t.route = route
    return t


async def _close(session: AsyncSession, app: App, t: Ticket, roles: Roles, action: str, event: str, data: dict,
                 **values: object) -> Ticket:
    """合并 / 分流 / 驳回 end a ticket before dispatch."""
    return await transition.move(session, app, t, action, roles.actors_for(t), event=event, actor_id=roles.user_id,
                                 values={"closed_at": app.now(), **values}, data=data)


async def merge(session: AsyncSession, app: App, ticket_id: int, roles: Roles, target_text: str) -> Ticket:
    t = await load(session, ticket_id)
    authorise("merge", t.status, roles.actors_for(t))
    code = parse_code(target_text or "")
    target = await tickets.get_by_code(session, code) if code else None
    if target is None:
        raise Refusal("merge.no_target", code=(target_text or "").strip()[:30])
    return await _merge(session, app, t, roles, target)


async def merge_into(session: AsyncSession, app: App, ticket_id: int, roles: Roles, target_id: int) -> Ticket:
    """The one-tap 合并 on a dispatch card into the duplicate it suggests (issue #11)."""
    t = await load(session, ticket_id)
    authorise("merge", t.status, roles.actors_for(t))
    return await _merge(session, app, t, roles, await load(session, target_id))


async def _merge(session: AsyncSession, app: App, t: Ticket, roles: Roles, target: Ticket) -> Ticket:
    if target.id == t.id:
        raise Refusal("merge.self")
    if Status(target.status) in FINAL:
        raise Refusal("merge.closed", code=display(target.code))
    if Status(target.status) in RESULT_GIVEN:
        raise Refusal("merge.result_given", code=display(target.code))
    t = await _close(session, app, t, roles, "merge", "merged", {"into": target.code}, merged_into_id=target.id)
    await tickets.add_event(session, target.id, "absorbed", app.now(), actor_id=roles.user_id, data={"from": t.code})
    tr = await dispatch_translator(session, app)
    await dispatch_cards.refresh(session, app, t, tr("card.merged", code=display(target.code)))
    await notify.tell_reporter(session, app, t, "reporter.merged", code=display(t.code), target=display(target.code))
    # Its supporters follow the surviving ticket too; a matter told many times is a 高频共性 one.
    await support.after_merge(session, app, t, target)
    return t


async def divert(session: AsyncSession, app: App, ticket_id: int, roles: Roles, channel: str) -> Ticket:
    t = await load(session, ticket_id)
    authorise("divert", t.status, roles.actors_for(t))
    if channel not in dispatch_cards.DIVERT_CHANNELS:
        raise Refusal("error.bad_button")
    t = await _close(session, app, t, roles, "divert", "diverted", {"channel": channel}, close_reason=channel)
    tr = await dispatch_translator(session, app)
    await dispatch_cards.refresh(session, app, t, tr("card.diverted", channel=tr(f"divert.{channel}")))
    await notify.tell_reporter(session, app, t, f"reporter.diverted_{channel}", code=display(t.code))
    return t


async def reject(session: AsyncSession, app: App, ticket_id: int, roles: Roles, reason: str) -> Ticket:
    t = await load(session, ticket_id)
    authorise("reject", t.status, roles.actors_for(t))
    reason = reason.strip()
    if len(reason) < 2:
        raise Refusal("reject.no_reason")
    t = await _close(session, app, t, roles, "reject", "rejected", {"reason": reason}, close_reason="rejected")
    tr = await dispatch_translator(session, app)
    await dispatch_cards.refresh(session, app, t, tr("card.rejected", reason=reason))
    await notify.tell_reporter(session, app, t, "reporter.rejected", code=display(t.code), reason=reason)
    return t


async def ask(session: AsyncSession, app: App, ticket_id: int, roles: Roles, action: str, chat_id: int,
              card_message_id: int) -> Ticket:
    """合并 needs a code and 驳回 a reason: ask the dispatcher by reply."""
    t = await load(session, ticket_id)
    authorise(action, t.status, roles.actors_for(t))
    await prompt(session, app, chat_id, t, roles.user_id, f"{action}_prompt", f"prompt.{action}",
                 reply_to=card_message_id)
    return t


async def dispatch_suggested(session: AsyncSession, app: App, ticket_id: int, roles: Roles) -> Ticket:
    """派单 on the card: to the suggested lead department, with the chosen co-departments."""
    t = await load(session, ticket_id)
    route = t.route or {}
    if not route.get("lead"):
        authorise("dispatch", t.status, roles.actors_for(t))
        raise Refusal("dispatch.choose_first")
    return await dispatch(session, app, ticket_id, roles, route["lead"], list(route.get("co") or []))


async def dispatch_elsewhere(session: AsyncSession, app: App, ticket_id: int, roles: Roles, lead: str) -> Ticket:
    """另选部门: another lead department; the chosen co-departments stay (minus the new lead)."""
    t = await load(session, ticket_id)
    co = [c for c in (t.route or {}).get("co") or [] if c != lead]
    return await dispatch(session, app, ticket_id, roles, lead, co)


async def show_picker(session: AsyncSession, app: App, ticket_id: int, roles: Roles, chat_id: int,
                      message_id: int, what: str) -> None:
    """另选部门 / 协办部门 / 分流 on the card: the choices, for those who may choose."""
    t = await load(session, ticket_id)
    authorise("divert" if what == "divert" else "dispatch", t.status, roles.actors_for(t))
    await dispatch_cards.show_picker(session, app, t, chat_id, message_id, what)


async def show_card_buttons(session: AsyncSession, app: App, ticket_id: int, roles: Roles, chat_id: int,
                            message_id: int) -> None:
    t = await load(session, ticket_id)
    require_actor("dispatch", roles.actors_for(t))
    await dispatch_cards.show_buttons(session, app, t, roles.actors_for(t), chat_id, message_id)
