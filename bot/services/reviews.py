"""After a second 不满意: the dispatch chat's review (seed 002 不满意诉求审核), the 不满意台账,
and the 正面回应 after closing (seed 001). The last stage: it imports no other stage."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Review, button
from bot.context import App
from bot.domain import rating as rules
from bot.domain.codes import display
from bot.domain.intake import summary
from bot.domain.lifecycle import Forbidden, Refusal, Status, authorise
from bot.i18n import Translator
from bot.services import department_cards, dispatch_cards, notify, transition
from bot.services.access import Roles, staff_chat
from bot.services.addressing import able_to_take, dept_names, dispatch_chat_id, dispatch_translator, load
from bot.services.reporter_names import reporter_names
from bot.services.prompts import prompt
from bot.services.ticket_lines import local, reason_text
from storage import directory, tickets
from storage import ratings as store
from storage.models import RatingRound, Ticket

REVIEW_ACTIONS = ("close", "back", "elsewhere")
SCORE_KEYS = {4: "rate.very", 3: "rate.fairly", 2: "rate.basically", 1: "rate.unsatisfied"}


def _local(app: App, when: datetime | None) -> str:
    return local(app, when, "%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- the review

def review_keyboard(tr: Translator, t: Ticket) -> list[list[dict]]:
    return [[button(tr("review.btn_close"), Review(action="close", ticket_id=t.id)),
             button(tr("review.btn_back"), Review(action="back", ticket_id=t.id))],
            [button(tr("review.btn_elsewhere"), Review(action="elsewhere", ticket_id=t.id))]]


async def history_lines(session: AsyncSession, tr: Translator, t: Ticket) -> list[str]:
    """Each round: what the department answered, and what the reporter said of it."""
    results = [(e.data or {}).get("text") or "" for e in await tickets.events(session, t.id) if e.kind == "resolved"]
    lines = []
    for r in await store.of_ticket(session, t.id):
        if r.result_level is None and not r.not_rated:
            continue  # asked, not answered yet
        answer = results[r.round - 1] if 0 < r.round <= len(results) else (t.result_text or "")
        verdict = tr(SCORE_KEYS[r.result_level]) if r.result_level in SCORE_KEYS else tr("rate.not_rated")
        if r.result_level == rules.UNSATISFIED:
            verdict = tr("review.verdict_why", verdict=verdict, why=reason_text(tr, r.reason, r.comment))
        lines.append(tr("review.round", round=r.round, answer=rules.clip(answer, 200), verdict=verdict))
    return lines


async def _review_text(session: AsyncSession, app: App, tr: Translator, t: Ticket, note: str | None) -> str:
    names = await dept_names(session)
    lines = [tr("review.head", code=display(t.code), dept=names.get(t.lead_dept, t.lead_dept or "-"),
                count=await store.unsatisfied_rounds(session, t.id, t.lead_dept)),
             tr("card.summary", text=summary(t.text, 300))]
    lines += await history_lines(session, tr, t)
    lines.append(note or tr("review.hint"))
    return "\n".join(lines)


async def post_review_card(session: AsyncSession, app: App, t: Ticket) -> None:
    chat_id = await dispatch_chat_id(session, app)
    if chat_id is None:
        return
    tr = await notify.chat_translator(session, app, chat_id)
    notify.send(session, app, chat_id, await _review_text(session, app, tr, t, None),
                keyboard=review_keyboard(tr, t), ticket=t, purpose="review_card")


async def _settle_cards(session: AsyncSession, app: App, t: Ticket, key: str, **params: object) -> None:
    for link in await tickets.links_of(session, t.id, "review_card"):
        tr = await notify.chat_translator(session, app, link.chat_id)
        note = tr(key, **params)
        notify.edit(session, app, link.chat_id, link.message_id, await _review_text(session, app, tr, t, note),
                    None, ticket=t)


async def ask_explanation(session: AsyncSession, app: App, ticket_id: int, roles: Roles, chat_id: int,
                          message_id: int) -> Ticket:
    """关闭并说明: the dispatcher writes, by reply, what the reporter will be told."""
    t = await load(session, ticket_id)
    authorise("review_close", t.status, roles.actors_for(t))
    await prompt(session, app, chat_id, t, roles.user_id, "review_close_prompt", "review.prompt_explain",
                 reply_to=message_id)
    return t


async def close_explained(session: AsyncSession, app: App, ticket_id: int, roles: Roles, words: str) -> Ticket:
    t = await load(session, ticket_id)
    actors = roles.actors_for(t)
    authorise("review_close", t.status, actors)
    words = words.strip()
    if len(words) < 4:
        raise Refusal("review.no_explanation")
    t = await transition.move(session, app, t, "review_close", actors, event="review_closed", actor_id=roles.user_id,
                              values={"closed_at": app.now(), "close_reason": rules.CLOSE_EXPLAINED},
                              data={"explanation": words})
    await _settle_cards(session, app, t, "review.closed_note", text=rules.clip(words, 300))
    await notify.tell_reporter(session, app, t, "review.closed_reporter", code=display(t.code), text=words)
    return t


async def send_back(session: AsyncSession, app: App, ticket_id: int, roles: Roles) -> Ticket:
    """退回重办: the same department again, with the re-handle deadline."""
    t = await load(session, ticket_id)
    authorise("review_reopen", t.status, roles.actors_for(t))
    await able_to_take(session, t.lead_dept)
    due = app.sla.reopen.after(app.now(), app.calendar)
    t = await transition.move(session, app, t, "review_reopen", roles.actors_for(t), event="review_reopened",
                              actor_id=roles.user_id, values={"resolve_due": due, "reopen_count": t.reopen_count + 1},
                              data={"due": due.isoformat()})
    rounds = await store.of_ticket(session, t.id)
    last = rounds[-1] if rounds else None
    await department_cards.post_reopen_card(session, app, t, last.reason if last else None,
                                            last.comment if last else None, by_review=True)
    await _settle_cards(session, app, t, "review.back_done", when=_local(app, due))
    await notify.tell_reporter(session, app, t, "rate.reopened", code=display(t.code), when=_local(app, due))
    return t


async def elsewhere(session: AsyncSession, app: App, ticket_id: int, roles: Roles) -> Ticket:
    """改派: a dispatch card for this ticket; 派单 / 另选部门 on it move it from REVIEW."""
    t = await load(session, ticket_id)
    authorise("dispatch", t.status, roles.actors_for(t))
    if await dispatch_cards.decisions_open(session, t):
        raise Refusal("review.already_redirected")
    await tickets.add_event(session, t.id, "review_redirect", app.now(), actor_id=roles.user_id)
    await _settle_cards(session, app, t, "review.elsewhere_done")
    tr = await dispatch_translator(session, app)
    await dispatch_cards.post(session, app, t, tr("review.elsewhere_note"))
    return t


# ---------------------------------------------------------------- the ledger

async def may_see_ledger(session: AsyncSession, roles: Roles, chat_id: int, chat_type: str) -> None:
    """The 不满意台账 is for dispatchers and leaders (and the dispatch chat), never in public."""
    chat = await directory.chat(session, chat_id)
    if not (roles.can_dispatch or roles.leader or (chat is not None and chat.kind == "dispatch")):
        raise Forbidden("ledger")
    if not await staff_chat(session, chat_id, chat_type):
        raise Refusal("list.staff_only")


def follow_up(tr: Translator, app: App, t: Ticket) -> str:
    if t.status == Status.CLOSED:
        return tr(f"ledger.closed_{t.close_reason}") if t.close_reason in rules.PUBLIC_RESPONSE_AFTER \
            else tr("status.CLOSED")
    if t.status == Status.REOPENED:
        late = " ⏰" if t.resolve_due and t.resolve_due < app.now() else ""
        return tr("ledger.reopened", when=_local(app, t.resolve_due)) + late
    return tr(f"status.{t.status}")


async def ledger(session: AsyncSession, app: App, tr: Translator, page: int = 0, size: int = 15) -> str:
    rows, total = await store.ledger(session, page * size, size)
    if not rows:
        return tr("ledger.empty")
    names = await dept_names(session)
    by_ticket = await store.ledger_ratings(session, [t.id for t, _ in rows])
    lines = [tr("ledger.head", total=total)]
    for t, n in rows:
        unhappy: list[RatingRound] = [r for r in by_ticket.get(t.id, []) if r.result_level == rules.UNSATISFIED]
        last = unhappy[-1] if unhappy else None
        # The department whose result was rated 不满意 (a 改派 since does not move the blame).
        rated = (last.dept_code if last is not None else None) or t.lead_dept
        lines.append(tr("ledger.line", code=display(t.code), dept=names.get(rated, rated or "-"),
                        count=n, state=follow_up(tr, app, t),
                        reason=reason_text(tr, last.reason, last.comment) if last else "-",
                        text=summary(t.text, 30)))
    if total > size * (page + 1) or page:
        lines.append(tr("ledger.more", first=page * size + 1, last=page * size + len(rows), total=total,
                        next=page + 2 if total > size * (page + 1) else 1))
    return "\n".join(lines)


# ---------------------------------------------------------------- 正面回应

async def public_response(session: AsyncSession, app: App, t: Ticket) -> None:
    """Once per ticket, in the community chat where the appeal was posted: what was done, nobody named."""
    if t.public_response_at is not None:
        return
    chat = await directory.chat(session, t.origin_chat_id) if t.origin_chat_id and t.origin_chat_id < 0 else None
    now = app.now()
    if chat is None or chat.kind != "community" or not chat.active:
        await tickets.touch(session, t.id, {"public_response_at": now, "public_response_skipped": "no community chat"},
                            now)
        return
    if t.kind == "report":  # a 举报 is never answered in public: its reporter hears the result in private
        await tickets.touch(session, t.id, {"public_response_at": now, "public_response_skipped": "report"}, now)
        return
    tr = await notify.chat_translator(session, app, chat.id)
    names = await dept_names(session)
    what = t.category or tr(f"kind.{t.kind}")
    result = rules.public_result(t.result_text, await reporter_names(session, t)) or "-"
    key = "public.response_explained" if t.close_reason == rules.CLOSE_EXPLAINED else "public.response"
    text = tr(key, code=display(t.code), what=what, dept=names.get(t.lead_dept, t.lead_dept or "-"), result=result)
    notify.send(session, app, chat.id, text, thread_id=t.origin_thread_id, reply_to=t.origin_message_id, ticket=t,
                purpose="public_response")
    await tickets.touch(session, t.id, {"public_response_at": now}, now)
    await tickets.add_event(session, t.id, "public_response", now, data={"chat": chat.id})
