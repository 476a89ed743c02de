"""Satisfaction (DESIGN §4): asking the reporter to rate a resolved ticket, and what a rating decides.

Interface used by the rest of the code (keep the signatures):
- `ask(session, app, t)`: called in the resolve transaction, after the result was queued.
- `next_check(app, t) -> datetime | None`: when the scan must look at a RESOLVED/CLOSED ticket again.
- `on_due(session, app, t, now) -> None`: the scan calls this for due RESOLVED/CLOSED tickets.

The buttons (`rate`, `reason`) and replies (`comment`, a reason in words) come from handlers/ratings.py.
Each operation is one transaction: a Refusal leaves nothing behind once the caller rolls back.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Rate, RateReason, button
from bot.context import App
from bot.domain import rating as rules
from bot.domain.codes import display
from bot.domain.lifecycle import Actor, Refusal, Status, TransitionError, plan
from bot.i18n import Translator
from bot.services import deadlines, notify, reviews
from storage import ratings as store
from storage import tickets
from storage.models import Ticket

log = logging.getLogger(__name__)
REPORTER, SYSTEM = frozenset({Actor.REPORTER}), frozenset({Actor.SYSTEM})
LABELS = {rules.VERY: "rate.very", rules.FAIRLY: "rate.fairly", rules.BASICALLY: "rate.basically",
          rules.UNSATISFIED: "rate.unsatisfied"}


# ---------------------------------------------------------------- keyboards

def result_keyboard(tr: Translator, ticket_id: int, round_: int) -> list[list[dict]]:
    b = [button(tr(LABELS[s]), Rate(ticket_id=ticket_id, round=round_, question="result", score=s))
         for s in rules.SCALE]
    return [b[:2], b[2:]]


def process_keyboard(tr: Translator, ticket_id: int, round_: int) -> list[list[dict]]:
    b = [button(tr(LABELS[s]), Rate(ticket_id=ticket_id, round=round_, question="process", score=s))
         for s in rules.SCALE]
    skip = button(tr("rate.skip"), Rate(ticket_id=ticket_id, round=round_, question="process", score=rules.SKIP))
    return [b[:2], b[2:], [skip]]


def reason_keyboard(tr: Translator, ticket_id: int, round_: int) -> list[list[dict]]:
    b = [button(tr(f"rate.reason.{r}"), RateReason(ticket_id=ticket_id, round=round_, reason=r))
         for r in rules.REASONS]
    return [b[:2], b[2:]]


# ---------------------------------------------------------------- helpers

async def _load(session: AsyncSession, ticket_id: int) -> Ticket:
    t = await tickets.get(session, ticket_id)
    if t is None:
        raise Refusal("error.bad_button")
    return t


async def _put_state(session: AsyncSession, app: App, ticket_id: int, **rating: object) -> Ticket:
    """Merge keys into sla_state["rating"], under the row lock (other keys belong to others)."""
    await _load(session, ticket_id)

    def merge(state: dict) -> None:
        state["rating"] = {**rules.rating_state(state), **rating}

    await deadlines.update_state(session, ticket_id, merge, now=app.now())
    return await _load(session, ticket_id)


async def _reschedule(session: AsyncSession, app: App, ticket_id: int) -> Ticket:
    t = await _load(session, ticket_id)
    await deadlines.reschedule(session, app, t)
    return t


def _may_rate(t: Ticket, user_id: int | None) -> None:
    if not rules.may_rate(user_id, t.reporter_id, t.on_behalf_user_id):
        raise Refusal("rate.not_yours")


async def _strip(session: AsyncSession, app: App, t: Ticket, purpose: str, since: datetime | None,
                 keep: tuple[int, int] | None = None) -> None:
    """Take the buttons off this round's questions of a kind (the pressed one is edited apart)."""
    for link in await tickets.links_of(session, t.id, purpose):
        if (link.chat_id, link.message_id) == keep or (since and link.created_at < since):
            continue
        notify.edit(session, app, link.chat_id, link.message_id, None, None, ticket=t)


async def _edit_pressed(session: AsyncSession, app: App, t: Ticket, where: tuple[int, int] | None, key: str,
                        label_key: str | None = None) -> None:
    """Rewrite the question that was answered: what was recorded, no buttons left."""
    if where is None:
        return
    tr = await notify.chat_translator(session, app, where[0])
    label = tr(label_key) if label_key else ""
    notify.edit(session, app, where[0], where[1], tr(key, code=display(t.code), label=label), None, ticket=t)


def _asked_at(t: Ticket) -> datetime | None:
    value = rules.rating_state(t.sla_state).get("asked_at")
    return datetime.fromisoformat(value) if value else None


# ---------------------------------------------------------------- asking

async def ask(session: AsyncSession, app: App, t: Ticket) -> None:
    """A new rating round: the result question with 非常满意 / 比较满意 / 基本满意 / 不满意."""
    round_ = t.rating_round + 1
    now = app.now()

    def new_round(state: dict) -> None:
        state["rating"] = {"round": round_, "asked_at": now.isoformat(), "reminded_at": None, "await_reason": None}

    await deadlines.update_state(session, t.id, new_round, now=now)
    await tickets.touch(session, t.id, {"rating_round": round_}, now)
    t = await _load(session, t.id)  # refreshes the caller's instance too (same identity)
    await notify.tell_reporter(session, app, t, "rate.ask", purpose="rate_ask", awaiting=True,
                               keyboard=lambda tr: result_keyboard(tr, t.id, round_), code=display(t.code))


async def _ask_process(session: AsyncSession, app: App, t: Ticket, round_: int) -> None:
    await notify.tell_reporter(session, app, t, "rate.ask_process", purpose="rate_process", awaiting=True,
                               keyboard=lambda tr: process_keyboard(tr, t.id, round_), code=display(t.code))


# ---------------------------------------------------------------- the buttons

async def rate(session: AsyncSession, app: App, *, ticket_id: int, round_: int, question: str, score: int,
               user_id: int | None, where: tuple[int, int] | None = None) -> str:
    """A press on a rating button; returns the key of the short answer to the presser."""
    t = await _load(session, ticket_id)
    if question == "process":
        return await _process(session, app, t, round_, score, user_id, where)
    if question != "result":
        raise Refusal("error.bad_button")
    existing = await store.get(session, t.id, round_)
    rules.check_result(user_id=user_id, reporter_id=t.reporter_id, on_behalf_user_id=t.on_behalf_user_id,
                       status=t.status, close_reason=t.close_reason, button_round=round_,
                       current_round=t.rating_round, rated=bool(existing and existing.result_score is not None),
                       score=score)
    plan("rate", t.status, REPORTER)
    now = app.now()
    if not await store.record(session, t.id, round_, user_id, score, now):
        raise Refusal("rate.already")
    since = _asked_at(t)
    if rules.is_satisfied(score):
        if not await tickets.move(session, t.id, Status.RESOLVED.value, {
                "status": Status.CLOSED.value, "closed_at": now, "close_reason": rules.CLOSE_SATISFIED}, now):
            raise Refusal("error.stale")
        await tickets.add_event(session, t.id, "rated_satisfied", now, actor_id=user_id, from_status="RESOLVED",
                                to_status="CLOSED", data={"round": round_, "score": score})
        t = await _put_state(session, app, t.id, await_reason=None)
        await _edit_pressed(session, app, t, where, "rate.recorded", label_key=LABELS[score])
        await _strip(session, app, t, "rate_ask", since, keep=where)
        await _ask_process(session, app, t, round_)
        await reviews.tell_department(session, app, t, "rate.dept_satisfied", label_key=LABELS[score])
        await _reschedule(session, app, t.id)
        return "rate.thanks"
    await tickets.add_event(session, t.id, "rated_unsatisfied", now, actor_id=user_id,
                            data={"round": round_, "score": score})
    t = await _put_state(session, app, t.id, await_reason=now.isoformat(), reason_choice=None)
    await _edit_pressed(session, app, t, where, "rate.recorded", label_key=LABELS[score])
    await _strip(session, app, t, "rate_ask", since, keep=where)
    await notify.tell_reporter(session, app, t, "rate.ask_reason", purpose="rate_reason", awaiting=True,
                               keyboard=lambda tr: reason_keyboard(tr, t.id, round_), code=display(t.code))
    await _reschedule(session, app, t.id)
    return "rate.noted"


async def _process(session: AsyncSession, app: App, t: Ticket, round_: int, score: int, user_id: int | None,
                   where: tuple[int, int] | None) -> str:
    """The second question (seed 003 过程满意): how the staff behaved. Skippable; once per round."""
    _may_rate(t, user_id)
    if score != rules.SKIP and score not in rules.SCALE:
        raise Refusal("error.bad_button")
    rating = await store.get(session, t.id, round_)
    if rating is None or rating.result_score is None:
        raise Refusal("rate.stale")
    if rating.process_score is not None:
        raise Refusal("rate.already")
    now = app.now()
    if score == rules.SKIP:
        if any(e.kind == "process_skipped" and (e.data or {}).get("round") == round_
               for e in await tickets.events(session, t.id)):
            raise Refusal("rate.already")
        await tickets.add_event(session, t.id, "process_skipped", now, actor_id=user_id, data={"round": round_})
        await _edit_pressed(session, app, t, where, "rate.process_skipped")
        return "rate.thanks"
    if not await store.set_process(session, t.id, round_, score):
        raise Refusal("rate.already")
    await tickets.add_event(session, t.id, "process_rated", now, actor_id=user_id,
                            data={"round": round_, "score": score})
    await _edit_pressed(session, app, t, where, "rate.process_recorded", label_key=LABELS[score])
    return "rate.thanks"


async def reason(session: AsyncSession, app: App, *, ticket_id: int, round_: int | None, reason_code: str,
                 user_id: int | None, words: str | None = None, where: tuple[int, int] | None = None) -> str:
    """Why 不满意: a button (`round_` from it) or words by reply (`round_` None: the current round)."""
    t = await _load(session, ticket_id)
    _may_rate(t, user_id)
    if reason_code not in rules.REASONS:
        raise Refusal("error.bad_button")
    round_ = t.rating_round if round_ is None else round_
    rating = await store.get(session, t.id, round_)
    if rating is None or rating.result_score != rules.UNSATISFIED:
        if words:  # a late reply to an old question: kept as a comment, never lost
            return await comment(session, app, t.id, user_id, words)
        raise Refusal("rate.stale" if round_ != t.rating_round else "error.bad_button")
    if rating.reason is not None:
        if words:  # too late to steer the decision, but never lost: on the record and with the department
            return await _late_words(session, app, t, round_, words, user_id)
        raise Refusal("rate.reason_already")
    if t.status != Status.RESOLVED or round_ != t.rating_round:
        raise Refusal("rate.stale")
    if reason_code == "other" and not words:
        await _put_state(session, app, t.id, reason_choice="other")
        await _edit_pressed(session, app, t, where, "rate.reason_chosen",
                            label_key=f"rate.reason.{reason_code}")
        await notify.tell_reporter(session, app, t, "rate.ask_reason_words", purpose="rate_reason", awaiting=True,
                                   code=display(t.code))
        return "rate.tell_more"
    await _edit_pressed(session, app, t, where, "rate.reason_chosen", label_key=f"rate.reason.{reason_code}")
    await unsatisfied(session, app, t.id, round_, reason_code, words, user_id, REPORTER)
    return "rate.reopened_ack"


async def _late_words(session: AsyncSession, app: App, t: Ticket, round_: int, words: str,
                      user_id: int | None) -> str:
    now = app.now()
    await store.add_comment(session, t.id, round_, words)
    await tickets.add_event(session, t.id, "rating_comment", now, actor_id=user_id,
                            data={"round": round_, "text": words})
    if t.status == Status.REOPENED:
        await reviews.tell_department(session, app, t, "rate.dept_more_words", text=rules.clip(words, 500))
    return "rate.comment_saved"


async def unsatisfied(session: AsyncSession, app: App, ticket_id: int, round_: int, reason_code: str,
                      words: str | None, actor_id: int | None, actors: frozenset[Actor]) -> Ticket:
    """Act on a 不满意 with its reason: the first time back to the department, then to review."""
    t = await _load(session, ticket_id)
    plan("rate", t.status, actors)
    if not await store.set_reason(session, t.id, round_, reason_code, words):
        raise Refusal("rate.reason_already")
    target = rules.after_unsatisfied(await store.unsatisfied_rounds(session, t.id))
    now = app.now()
    since = _asked_at(t)
    data = {"round": round_, "reason": reason_code, "text": words}
    if target == Status.REOPENED:
        due = app.sla.reopen.after(now, app.calendar)
        if not await tickets.move(session, t.id, Status.RESOLVED.value, {
                "status": Status.REOPENED.value, "resolve_due": due, "reopen_count": t.reopen_count + 1}, now):
            raise Refusal("error.stale")
        await tickets.add_event(session, t.id, "reopened", now, actor_id=actor_id, from_status="RESOLVED",
                                to_status="REOPENED", data={**data, "due": due.isoformat()})
    else:
        if not await tickets.move(session, t.id, Status.RESOLVED.value, {"status": Status.REVIEW.value}, now):
            raise Refusal("error.stale")
        await tickets.add_event(session, t.id, "to_review", now, actor_id=actor_id, from_status="RESOLVED",
                                to_status="REVIEW", data=data)
    t = await _put_state(session, app, t.id, await_reason=None, reason_choice=None)
    await _strip(session, app, t, "rate_reason", since)
    if target == Status.REOPENED:
        await reviews.post_reopen_card(session, app, t, round_, reason_code, words)
        await notify.tell_reporter(session, app, t, "rate.reopened", code=display(t.code),
                                   when=t.resolve_due.astimezone(app.tz).strftime("%Y-%m-%d %H:%M"))
    else:
        await reviews.post_review_card(session, app, t)
        await notify.tell_reporter(session, app, t, "rate.to_review", code=display(t.code))
    if Actor.REPORTER in actors:
        await _ask_process(session, app, t, round_)
    return await _reschedule(session, app, t.id)


# ---------------------------------------------------------------- replies

async def comment(session: AsyncSession, app: App, ticket_id: int, user_id: int | None, words: str) -> str:
    """Free words after the rating (a reply to the process question): kept with the round's rating."""
    t = await _load(session, ticket_id)
    _may_rate(t, user_id)
    words = words.strip()
    if not words:
        return "rate.comment_empty"
    rated = [r for r in await store.of_ticket(session, t.id) if r.result_score is not None]
    if not rated:
        raise Refusal("rate.use_buttons")
    round_ = rated[-1].round
    await store.add_comment(session, t.id, round_, words)
    await tickets.add_event(session, t.id, "rating_comment", app.now(), actor_id=user_id,
                            data={"round": round_, "text": words})
    return "rate.comment_saved"


# ---------------------------------------------------------------- the clock

def timers(app: App) -> rules.Timers:
    return rules.Timers(app.sla.rating_reminder, app.sla.rating_close, app.calendar)


def next_check(app: App, t: Ticket) -> datetime | None:
    return rules.next_check(status=t.status, resolved_at=t.resolved_at, closed_at=t.closed_at,
                            close_reason=t.close_reason, sla_state=t.sla_state, timers=timers(app))


async def on_due(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    """One reminder, then 'not rated'; a 不满意 without a reason acted on; the 正面回应 once."""
    t = await _load(session, t.id)
    action = rules.due_action(status=t.status, now=now, resolved_at=t.resolved_at, closed_at=t.closed_at,
                              close_reason=t.close_reason, sla_state=t.sla_state, timers=timers(app))
    if action == "remind" and t.rating_round == 0:
        await ask(session, app, t)
    elif action == "remind":
        t = await _put_state(session, app, t.id, reminded_at=now.isoformat())
        await tickets.add_event(session, t.id, "rating_reminded", now, data={"round": t.rating_round})
        await notify.tell_reporter(session, app, t, "rate.reminder", purpose="rate_ask", awaiting=True,
                                   keyboard=lambda tr: result_keyboard(tr, t.id, t.rating_round),
                                   code=display(t.code))
    elif action == "close_unrated":
        await _close_unrated(session, app, t, now)
    elif action == "reason_timeout":
        choice = rules.rating_state(t.sla_state).get("reason_choice") or rules.NO_REASON
        try:
            await unsatisfied(session, app, t.id, t.rating_round, choice, None, None, SYSTEM)
        except TransitionError:  # the reporter's own answer got there first (nothing was written)
            log.info("ticket %s: reason arrived while timing out", t.id)
    elif action == "public_response":
        await reviews.public_response(session, app, t)
    await _reschedule(session, app, t.id)


async def _close_unrated(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    plan("close_unrated", t.status, SYSTEM)
    if not await store.record(session, t.id, t.rating_round, None, None, now):
        return  # the reporter answered at the last moment: their rating stands
    if not await tickets.move(session, t.id, Status.RESOLVED.value, {
            "status": Status.CLOSED.value, "closed_at": now, "close_reason": rules.CLOSE_NOT_RATED}, now):
        return
    await tickets.add_event(session, t.id, "closed_unrated", now, from_status="RESOLVED", to_status="CLOSED",
                            data={"round": t.rating_round})
    t = await _load(session, t.id)
    await _strip(session, app, t, "rate_ask", _asked_at(t))
    await notify.tell_reporter(session, app, t, "rate.closed_unrated", code=display(t.code))
