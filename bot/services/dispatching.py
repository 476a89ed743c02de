"""Triage to dispatch: the dispatch card, 派单, 合并, 分流, 驳回 (DESIGN §2, issue 3)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.codes import display, parse_code
from bot.domain.lifecycle import FINAL, Actor, Refusal, Status, plan
from bot.services import cards, deadlines, notify
from bot.services.access import Roles
from storage import directory, tickets
from storage.models import Ticket

SYSTEM = frozenset({Actor.SYSTEM})


async def dept_names(session: AsyncSession) -> dict[str, str]:
    return {d.code: d.name for d in await directory.departments(session)}


async def load(session: AsyncSession, ticket_id: int) -> Ticket:
    t = await tickets.get(session, ticket_id)
    if t is None:
        raise Refusal("error.bad_button")
    return t


async def dispatch_chat_id(session: AsyncSession, app: App) -> int | None:
    chat = await directory.first_chat_of_kind(session, "dispatch")
    return chat.id if chat else app.org.dispatch_chat


async def dispatch_tr(session: AsyncSession, app: App):  # noqa: ANN201
    return await notify.chat_translator(session, app, await dispatch_chat_id(session, app) or 0)


async def post_card(session: AsyncSession, app: App, t: Ticket, note: str | None = None) -> None:
    chat_id = await dispatch_chat_id(session, app)
    if chat_id is None:
        return
    tr = await notify.chat_translator(session, app, chat_id)
    names = await dept_names(session)
    area = await directory.area(session, t.area_code) if t.area_code else None
    text = cards.dispatch_card(tr, app, t, await tickets.count_attachments(session, t.id),
                               area.name if area else None, names, note)
    notify.send(session, app, chat_id, text, keyboard=cards.dispatch_keyboard(tr, t, names), ticket=t,
                purpose="dispatch_card")


async def refresh_card(session: AsyncSession, app: App, t: Ticket, note: str | None, keyboard: bool = False) -> None:
    """Rewrite the dispatch card(s) of a ticket after a decision."""
    names = await dept_names(session)
    area = await directory.area(session, t.area_code) if t.area_code else None
    for link in await tickets.links_of(session, t.id, "dispatch_card"):
        tr = await notify.chat_translator(session, app, link.chat_id)
        text = cards.dispatch_card(tr, app, t, await tickets.count_attachments(session, t.id),
                                   area.name if area else None, names, note)
        notify.edit(session, app, link.chat_id, link.message_id, text,
                    cards.dispatch_keyboard(tr, t, names) if keyboard else None, ticket=t)


async def to_triage(session: AsyncSession, app: App, t: Ticket, note: str | None = None) -> None:
    """A ticket waiting for a dispatcher: auto-dispatch when confident, else a card."""
    route = t.route or {}
    confident = route.get("confidence", 0) >= app.org.dispatch.confidence and route.get("lead")
    if app.org.dispatch.auto and confident and not route.get("divert") and not t.returns_count:
        try:
            await dispatch(session, app, t.id, None, route["lead"], list(route.get("co") or []))
            return
        except Refusal:
            # The department cannot receive it (no chat, chat gone; refused before any write):
            # a dispatcher decides instead.
            pass
    await deadlines.reschedule(session, app, t)  # a ticket waiting for a dispatcher has a clock too
    await post_card(session, app, t, note)


async def dispatch(session: AsyncSession, app: App, ticket_id: int, roles: Roles | None, lead: str,
                   co: list[str]) -> Ticket:
    t = await load(session, ticket_id)
    actors = roles.actors_for(t) if roles else SYSTEM
    plan("dispatch", t.status, actors)
    dept = await directory.department(session, lead)
    if dept is None:
        raise Refusal("error.bad_button")
    dept_chat = await directory.chat(session, dept.chat_id) if dept.chat_id else None
    if dept_chat is None or not dept_chat.active:
        raise Refusal("dispatch.no_chat", dept=dept.name)
    now = app.now()
    windows = deadlines.windows(app, t, now)
    ok = await tickets.move(session, t.id, t.status, {
        "status": Status.DISPATCHED.value, "lead_dept": lead, "dispatched_at": now, "owner_id": None,
        "accepted_at": None, **windows}, now)
    if not ok:
        raise Refusal("error.stale")
    await tickets.set_departments(session, t.id, lead, co)
    await tickets.add_event(session, t.id, "dispatched", now, actor_id=roles.user_id if roles else None,
                            from_status=t.status, to_status="DISPATCHED", data={"lead": lead, "co": co})
    t = await load(session, t.id)
    await deadlines.reschedule(session, app, t)
    names = await dept_names(session)
    who = names[lead] + (" + " + "、".join(names.get(c, c) for c in co) if co else "")
    await refresh_card(session, app, t, (await dispatch_tr(session, app))("card.dispatched", dept=who))
    from bot.services import handling

    await handling.post_department_cards(session, app, t, lead, co)
    await notify.tell_reporter(session, app, t, "reporter.dispatched", code=display(t.code), dept=names[lead])
    return t


async def set_co(session: AsyncSession, app: App, ticket_id: int, roles: Roles, dept: str) -> Ticket:
    """Toggle a co-department on the suggestion before 派单."""
    t = await load(session, ticket_id)
    plan("dispatch", t.status, roles.actors_for(t))
    route = dict(t.route or {})
    co = list(route.get("co") or [])
    co = [c for c in co if c != dept] if dept in co else co + [dept]
    route["co"] = co
    await tickets.touch(session, t.id, {"route": route}, app.now())
    t.route = route
    return t


async def close_ticket(session: AsyncSession, app: App, t: Ticket, roles: Roles, status: str, event: str,
                             data: dict, **values: object) -> Ticket:
    """End a ticket (合并 / 分流 / 驳回 before dispatch, closing a review): one conditional move
    from its current status plus the event row; the caller reschedules if a later clock applies."""
    now = app.now()
    if not await tickets.move(session, t.id, t.status,
                              {"status": status, "closed_at": now, "next_check_at": None, **values}, now):
        raise Refusal("error.stale")
    await tickets.add_event(session, t.id, event, now, actor_id=roles.user_id, from_status=t.status,
                            to_status=status, data=data)
    return await load(session, t.id)


async def merge(session: AsyncSession, app: App, ticket_id: int, roles: Roles, target_text: str) -> Ticket:
    t = await load(session, ticket_id)
    plan("merge", t.status, roles.actors_for(t))
    code = parse_code(target_text or "")
    target = await tickets.get_by_code(session, code) if code else None
    if target is None:
        raise Refusal("merge.no_target", code=(target_text or "").strip()[:30])
    if target.id == t.id:
        raise Refusal("merge.self")
    if Status(target.status) in FINAL:
        raise Refusal("merge.closed", code=display(target.code))
    t = await close_ticket(session, app, t, roles, "MERGED", "merged", {"into": target.code},
                                 merged_into_id=target.id)
    await tickets.add_event(session, target.id, "absorbed", app.now(), actor_id=roles.user_id, data={"from": t.code})
    tr = await dispatch_tr(session, app)
    await refresh_card(session, app, t, tr("card.merged", code=display(target.code)))
    await notify.tell_reporter(session, app, t, "reporter.merged", code=display(t.code), target=display(target.code))
    return t


async def divert(session: AsyncSession, app: App, ticket_id: int, roles: Roles, channel: str) -> Ticket:
    t = await load(session, ticket_id)
    plan("divert", t.status, roles.actors_for(t))
    if channel not in cards.DIVERT_CHANNELS:
        raise Refusal("error.bad_button")
    t = await close_ticket(session, app, t, roles, "DIVERTED", "diverted", {"channel": channel},
                                 close_reason=channel)
    tr = await dispatch_tr(session, app)
    await refresh_card(session, app, t, tr("card.diverted", channel=tr(f"divert.{channel}")))
    await notify.tell_reporter(session, app, t, f"reporter.diverted_{channel}", code=display(t.code))
    return t


async def reject(session: AsyncSession, app: App, ticket_id: int, roles: Roles, reason: str) -> Ticket:
    t = await load(session, ticket_id)
    plan("reject", t.status, roles.actors_for(t))
    reason = reason.strip()
    if len(reason) < 2:
        raise Refusal("reject.no_reason")
    t = await close_ticket(session, app, t, roles, "REJECTED", "rejected", {"reason": reason},
                                 close_reason="rejected")
    tr = await dispatch_tr(session, app)
    await refresh_card(session, app, t, tr("card.rejected", reason=reason))
    await notify.tell_reporter(session, app, t, "reporter.rejected", code=display(t.code), reason=reason)
    return t


async def prompt(session: AsyncSession, app: App, chat_id: int, t: Ticket, user_id: int, purpose: str,
                 key: str, reply_to: int | None = None) -> None:
    """Ask one person for words by reply (a reason, a code, a result); the reply finds us by link."""
    tr = await notify.chat_translator(session, app, chat_id)
    notify.send(session, app, chat_id, tr(key, code=display(t.code)), ticket=t, purpose=purpose,
                awaiting_user_id=user_id, force_reply=True, reply_to=reply_to)


async def ask(session: AsyncSession, app: App, ticket_id: int, roles: Roles, action: str, chat_id: int,
              card_message_id: int) -> Ticket:
    """合并 needs a code and 驳回 a reason: ask the dispatcher by reply."""
    t = await load(session, ticket_id)
    plan(action, t.status, roles.actors_for(t))
    await prompt(session, app, chat_id, t, roles.user_id, f"{action}_prompt", f"prompt.{action}",
                 reply_to=card_message_id)
    return t


async def dispatch_suggested(session: AsyncSession, app: App, ticket_id: int, roles: Roles) -> Ticket:
    """派单 on the card: to the suggested lead department, with the chosen co-departments."""
    t = await load(session, ticket_id)
    route = t.route or {}
    if not route.get("lead"):
        plan("dispatch", t.status, roles.actors_for(t))
        raise Refusal("dispatch.choose_first")
    return await dispatch(session, app, ticket_id, roles, route["lead"], list(route.get("co") or []))


async def dispatch_elsewhere(session: AsyncSession, app: App, ticket_id: int, roles: Roles, lead: str) -> Ticket:
    """另选部门: another lead department; the chosen co-departments stay (minus the new lead)."""
    t = await load(session, ticket_id)
    co = [c for c in (t.route or {}).get("co") or [] if c != lead]
    return await dispatch(session, app, ticket_id, roles, lead, co)
