"""Satisfaction (DESIGN §4): asking the reporter to rate a resolved ticket, and what a rating decides.

Comes after bot/services/department_work.py (a resolution opens a round); a second 不满意 goes on
to the review (bot/services/reviews.py). Each round is a `rating_rounds` row; each operation is
one transaction, so a Refusal leaves nothing behind once the caller rolls back. The scan's
rating work (reminder, not rated, a reason that never came) is here too, called by
bot/services/deadline_scan.py.
"""
from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Rate, RateReason, button
from bot.context import App
from bot.domain import rating as rules
from bot.domain.codes import display
from bot.domain.lifecycle import Actor, Refusal, Stale, Status, TransitionError, authorise
from bot.i18n import Translator
from bot.services import clocks, department_cards, notify, reviews, transition
from bot.services.addressing import load
from bot.services.reporter_names import reporter_names
from bot.services.ticket_lines import local
from bot.services.transition import SYSTEM
from storage import ratings as store
from storage import tickets
from storage.models import Ticket

log = logging.getLogger(__name__)
REPORTER = frozenset({Actor.REPORTER})
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

@functools.cache
def _rating_words() -> frozenset[str]:
    """The rating buttons' words in both languages, case-folded: built once, not per private message."""
    return frozenset(t(k).casefold() for t in (Translator("zh_CN"), Translator("en")) for k in LABELS.values())


# A rating typed this long after the ticket closed unrated is still an answer to it, not a new appeal.
LATE_RATING_WINDOW = timedelta(days=30)


async def typed_rating(session: AsyncSession, app: App, user_id: int, text: str) -> Ticket | None:
    """A rating typed as words ("非常满意", "very satisfied", in either language and any case) by
    someone whose ticket waits for their rating — or was closed unrated lately (the answer came too
    late): that ticket, so they are answered about it rather than starting a new appeal with those words."""
    if text.strip().strip("。.!！").casefold() not in _rating_words():
        return None
    waiting = await store.awaiting_rating_by(session, user_id)
    if waiting is not None:
        return waiting
    since = app.now() - LATE_RATING_WINDOW
    return next((t for t in await tickets.list_by_reporter(session, user_id, limit=5)
                 if t.status == Status.CLOSED and t.close_reason == "not_rated" and t.closed_at
                 and t.closed_at >= since), None)


async def reason_awaited_in_private(session: AsyncSession, app: App, user_id: int) -> Ticket | None:
    """The ticket whose 不满意 reason this person was just asked for in private and has not given:
    their next words there are the reason even without Telegram's reply (typed under the question,
    they started a new appeal and the department never heard why)."""
    link = await tickets.question_awaiting(session, user_id, user_id, "rate_reason", app.now() - rules.REASON_WAIT)
    t = await tickets.get(session, link.ticket_id) if link is not None else None
    if t is None or t.status != Status.RESOLVED:
        return None
    clock = await clocks.round_clock(session, t)
    return t if clock is not None and clock.reason_asked_at is not None else None


def _may_rate(t: Ticket, user_id: int | None) -> None:
    if not rules.may_rate(user_id, t.reporter_id, t.on_behalf_user_id):
        raise Refusal("rate.not_yours")


async def _asked_at(session: AsyncSession, t: Ticket) -> datetime | None:
    row = await store.get(session, t.id, t.rating_round) if t.rating_round else None
    return row.asked_at if row else None


async def _strip(session: AsyncSession, app: App, t: Ticket, purpose: str, since: datetime | None,
                 keep: tuple[int, int] | None = None) -> None:
    """Take the buttons off this round's questions of a kind (the pressed one is edited apart)."""
    for link in await tickets.links_of(session, t.id, purpose):
        if (link.chat_id, link.message_id) == keep or (since and link.created_at < since):
            continue
        notify.edit(session, app, link.chat_id, link.message_id, None, None, ticket=t)


async def _edit_pressed(session: AsyncSession, app: App, t: Ticket, where: tuple[int, int] | None, key: str,
                        label_key: str | None = None, group_key: str | None = None) -> None:
    """Rewrite the question that was answered: what was recorded, no buttons left (`group_key`:
    the words a group chat reads instead)."""
    if where is None:
        return
    tr = await notify.chat_translator(session, app, where[0])
    if group_key and where[0] < 0:
        key = group_key
    label = tr(label_key) if label_key else ""
    notify.edit(session, app, where[0], where[1], tr(key, code=display(t.code), label=label), None, ticket=t)


async def _chose_reason(session: AsyncSession, app: App, t: Ticket, where: tuple[int, int] | None,
                        reason_code: str) -> None:
    # The neighbours need not read why the reporter was unhappy.
    await _edit_pressed(session, app, t, where, "rate.reason_chosen", label_key=f"rate.reason.{reason_code}",
                        group_key="rate.reason_chosen_group")


# ---------------------------------------------------------------- asking

async def open_round(session: AsyncSession, app: App, t: Ticket) -> None:
    """A new rating round for the department that resolved the ticket (no message yet)."""
    await store.open_round(session, t.id, t.rating_round + 1, t.lead_dept, app.now(), t.result_text)
    await tickets.get(session, t.id)  # the caller's instance reads its new round (same identity)


async def ask(session: AsyncSession, app: App, t: Ticket) -> None:
    """The result question of the current round: 非常满意 / 比较满意 / 基本满意 / 不满意."""
    round_ = t.rating_round
    await notify.tell_reporter(session, app, t, "rate.ask", purpose="rate_ask", awaiting=True, rating=True,
                               group_key=_in_group(t, "rate.ask"), result=rules.public_result(t.result_text, await reporter_names(session, t)),
                               keyboard=lambda tr: result_keyboard(tr, t.id, round_), code=display(t.code))


def _in_group(t: Ticket, key: str) -> str:
    """A rating request in a community chat says what was done (scrubbed), so the reporter can judge
    it there; a 举报's result is never shown in public."""
    return key if t.kind == "report" else key + "_group"


async def _ask_process(session: AsyncSession, app: App, t: Ticket, round_: int) -> None:
    await notify.tell_reporter(session, app, t, "rate.ask_process", purpose="rate_process", awaiting=True,
                               rating=True, keyboard=lambda tr: process_keyboard(tr, t.id, round_), code=display(t.code))


# ---------------------------------------------------------------- the buttons

async def rate(session: AsyncSession, app: App, *, ticket_id: int, round_: int, question: str, score: int,
               user_id: int | None, where: tuple[int, int] | None = None) -> str:
    """A press on a rating button; returns the key of the short answer to the presser."""
    t = await load(session, ticket_id)
    if question == "process":
        return await _process(session, app, t, round_, score, user_id, where)
    if question != "result":
        raise Refusal("error.bad_button")
    row = await store.get(session, t.id, round_)
    rules.check_result(user_id=user_id, reporter_id=t.reporter_id, on_behalf_user_id=t.on_behalf_user_id,
                       status=t.status, close_reason=t.close_reason, button_round=round_,
                       current_round=t.rating_round, rated=bool(row and row.result_level is not None),
                       score=score)
    authorise("rate", t.status, REPORTER)
    now = app.now()
    if not await store.answer(session, t.id, round_, user_id, score, now):
        raise Refusal("rate.already")
    since = row.asked_at if row else None
    if rules.is_satisfied(score):
        t = await transition.move(session, app, t, "close_satisfied", REPORTER, event="rated_satisfied",
                                  actor_id=user_id, data={"round": round_, "score": score},
                                  values={"closed_at": now, "close_reason": rules.CLOSE_SATISFIED})
        await _edit_pressed(session, app, t, where, "rate.recorded", label_key=LABELS[score])
        await _strip(session, app, t, "rate_ask", since, keep=where)
        await _ask_process(session, app, t, round_)
        await department_cards.tell(session, app, t, "rate.dept_satisfied", label_key=LABELS[score])
        return "rate.thanks"
    # The reason is awaited for a short while only: the clocks learn of it.
    t = await transition.record(session, app, t, "rate", REPORTER, event="rated_unsatisfied", actor_id=user_id,
                                data={"round": round_, "score": score}, tell_leader=False)
    await _edit_pressed(session, app, t, where, "rate.recorded", label_key=LABELS[score])
    await _strip(session, app, t, "rate_ask", since, keep=where)
    await notify.tell_reporter(session, app, t, "rate.ask_reason", purpose="rate_reason", awaiting=True,
                               rating=True, keyboard=lambda tr: reason_keyboard(tr, t.id, round_), code=display(t.code))
    return "rate.noted"


async def _process(session: AsyncSession, app: App, t: Ticket, round_: int, score: int, user_id: int | None,
                   where: tuple[int, int] | None) -> str:
    """The second question (seed 003 过程满意): how the staff behaved. Skippable; once per round."""
    _may_rate(t, user_id)
    if score != rules.SKIP and score not in rules.SCALE:
        raise Refusal("error.bad_button")
    row = await store.get(session, t.id, round_)
    if row is None or row.result_level is None:
        raise Refusal("rate.stale")
    if row.process_level is not None:
        raise Refusal("rate.already")
    now = app.now()
    if score == rules.SKIP:
        if not await store.skip_process(session, t.id, round_):
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
    t = await load(session, ticket_id)
    _may_rate(t, user_id)
    if reason_code not in rules.REASONS:
        raise Refusal("error.bad_button")
    round_ = t.rating_round if round_ is None else round_
    row = await store.get(session, t.id, round_)
    if row is None or row.result_level != rules.UNSATISFIED:
        if words:  # a late reply to an old question: kept as a comment, never lost
            return await comment(session, app, t.id, user_id, words)
        raise Refusal("rate.stale" if round_ != t.rating_round else "error.bad_button")
    if row.reason is not None:
        if words:  # too late to steer the decision, but never lost: on the record and with the department
            return await _late_words(session, app, t, round_, words, user_id)
        raise Refusal("rate.reason_already")
    if t.status != Status.RESOLVED or round_ != t.rating_round:
        raise Refusal("rate.stale")
    if reason_code == "other" and not words:
        await store.choose_reason(session, t.id, round_, "other")
        await _chose_reason(session, app, t, where, reason_code)
        await notify.tell_reporter(session, app, t, "rate.ask_reason_words", purpose="rate_reason", awaiting=True,
                                   rating=True, code=display(t.code))
        return "rate.tell_more"
    await _chose_reason(session, app, t, where, reason_code)
    await unsatisfied(session, app, t.id, round_, reason_code, words, user_id, REPORTER)
    return "rate.reopened_ack"


async def _late_words(session: AsyncSession, app: App, t: Ticket, round_: int, words: str,
                      user_id: int | None) -> str:
    """Words after the decision are never lost: on the record, and with the department while it
    works the ticket again."""
    await store.add_comment(session, t.id, round_, words)
    await tickets.add_event(session, t.id, "rating_comment", app.now(), actor_id=user_id,
                            data={"round": round_, "text": words})
    if t.status == Status.REOPENED:
        await department_cards.tell(session, app, t, "rate.dept_more_words", text=rules.clip(words, 500))
    return "rate.comment_saved"


async def unsatisfied(session: AsyncSession, app: App, ticket_id: int, round_: int, reason_code: str,
                      words: str | None, actor_id: int | None, actors: frozenset[Actor]) -> Ticket:
    """Act on a 不满意 with its reason: the first time back to the department, then to review."""
    t = await load(session, ticket_id)
    authorise("rate", t.status, actors)
    since = await _asked_at(session, t)
    if not await store.set_reason(session, t.id, round_, reason_code, words):
        raise Refusal("rate.reason_already")
    # Counted per department: one the review handed the case to (改派) gets its own redo first.
    # (A round with no department on record, from before rounds named it, counts for the ticket.)
    target = rules.after_unsatisfied(await store.unsatisfied_rounds(session, t.id, t.lead_dept)
                                     or await store.unsatisfied_rounds(session, t.id))
    data = {"round": round_, "reason": reason_code, "text": words}
    if target == Status.REOPENED:
        due = app.sla.reopen.after(app.now(), app.calendar)
        t = await transition.move(session, app, t, "reopen", actors, event="reopened", actor_id=actor_id,
                                  values={"resolve_due": due, "reopen_count": t.reopen_count + 1},
                                  data={**data, "due": due.isoformat()})
    else:
        t = await transition.move(session, app, t, "to_review", actors, event="to_review", actor_id=actor_id,
                                  data=data)
    await _strip(session, app, t, "rate_reason", since)
    if target == Status.REOPENED:
        await department_cards.post_reopen_card(session, app, t, reason_code, words)
        await notify.tell_reporter(session, app, t, "rate.reopened", code=display(t.code),
                                   when=local(app, t.resolve_due, "%Y-%m-%d %H:%M"))
    else:
        await reviews.post_review_card(session, app, t)
        await notify.tell_reporter(session, app, t, "rate.to_review", code=display(t.code))
    if Actor.REPORTER in actors:
        await _ask_process(session, app, t, round_)
    return t


async def rate_by_callback(session: AsyncSession, app: App, ticket_id: int, staff_id: int, score: int,
                           reason_code: str | None, words: str | None) -> Ticket:
    """The centre's 回访: a requester from another channel (Open311: a hotline, a web form) cannot press
    our buttons, so a dispatcher records the rating they gave by phone. Same round, same outcomes as a
    press — satisfied closes, 不满意 reopens or goes to review — on the requester's behalf, with the
    dispatcher named on the record. Telegram reporters rate for themselves; this is refused for them."""
    t = await load(session, ticket_id)
    if (t.channel or "telegram") == "telegram":
        raise Refusal("rate.callback_telegram")
    if score not in rules.SCALE:
        raise Refusal("error.bad_button")
    round_ = t.rating_round
    row = await store.get(session, t.id, round_) if round_ else None
    code = rules.result_refusal(status=t.status, close_reason=t.close_reason, button_round=round_,
                                current_round=t.rating_round, rated=bool(row and row.result_level is not None))
    if code:
        raise Refusal(code)
    if not rules.is_satisfied(score) and reason_code not in rules.REASONS:
        raise Refusal("rate.callback_reason")
    authorise("rate", t.status, REPORTER)
    now = app.now()
    if not await store.answer(session, t.id, round_, staff_id, score, now):
        raise Refusal("rate.already")
    data = {"round": round_, "score": score, "callback": True}
    if rules.is_satisfied(score):
        t = await transition.move(session, app, t, "close_satisfied", REPORTER, event="rated_satisfied",
                                  actor_id=staff_id, data=data,
                                  values={"closed_at": now, "close_reason": rules.CLOSE_SATISFIED})
        await department_cards.tell(session, app, t, "rate.dept_satisfied", label_key=LABELS[score])
        return t
    await tickets.add_event(session, t.id, "rated_unsatisfied", now, actor_id=staff_id, data=data)
    return await unsatisfied(session, app, t.id, round_, str(reason_code), words, staff_id, REPORTER)


# ---------------------------------------------------------------- replies

async def comment(session: AsyncSession, app: App, ticket_id: int, user_id: int | None, words: str) -> str:
    """Free words after the rating (a reply to the process question): kept with the round's rating."""
    t = await load(session, ticket_id)
    _may_rate(t, user_id)
    words = words.strip()
    if not words:
        return "rate.comment_empty"
    rated = [r for r in await store.of_ticket(session, t.id) if r.result_level is not None]
    if not rated:
        raise Refusal("rate.use_buttons")
    # In a community chat the reason question became the process question in place: words
    # replying to it after a 不满意 still reach the department.
    return await _late_words(session, app, t, rated[-1].round, words, user_id)


# ---------------------------------------------------------------- the scan's rating work

async def remind(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    """No answer yet: the question once more (a ticket resolved before rounds existed gets its first)."""
    if t.rating_round == 0:
        await open_round(session, app, t)
        await ask(session, app, t)
        await clocks.reschedule(session, app, t)
        return
    round_ = t.rating_round
    await store.mark_reminded(session, t.id, round_, now)
    t = await transition.record(session, app, t, "remind_rating", SYSTEM, event="rating_reminded",
                                data={"round": round_}, tell_leader=False)
    await notify.tell_reporter(session, app, t, "rate.reminder", purpose="rate_ask", awaiting=True, rating=True,
                               group_key=_in_group(t, "rate.reminder"), result=rules.public_result(t.result_text, await reporter_names(session, t)),
                               keyboard=lambda tr: result_keyboard(tr, t.id, round_), code=display(t.code))


async def close_unrated(session: AsyncSession, app: App, t: Ticket, now: datetime) -> None:
    """No answer after the reminder: closed as not rated (counted apart)."""
    authorise("close_unrated", t.status, SYSTEM)
    since = await _asked_at(session, t)
    if not await store.close_unrated(session, t.id, t.rating_round):
        return  # the reporter answered at the last moment: their rating stands
    try:
        t = await transition.move(session, app, t, "close_unrated", SYSTEM, event="closed_unrated",
                                  values={"closed_at": now, "close_reason": rules.CLOSE_NOT_RATED},
                                  data={"round": t.rating_round})
    except Stale:
        return
    await _strip(session, app, t, "rate_ask", since)
    await notify.tell_reporter(session, app, t, "rate.closed_unrated", rating=True, code=display(t.code))


async def reason_timeout(session: AsyncSession, app: App, t: Ticket) -> None:
    """A 不满意 whose reason never came is acted on all the same."""
    row = await store.get(session, t.id, t.rating_round)
    choice = (row.reason_choice if row else None) or rules.NO_REASON
    try:
        await unsatisfied(session, app, t.id, t.rating_round, choice, None, None, SYSTEM)
    except TransitionError:  # the reporter's own answer got there first (nothing was written)
        log.info("ticket %s: reason arrived while timing out", t.id)
