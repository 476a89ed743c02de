"""The ticket state machine (DESIGN §2): which action moves which status, and who may do it.

Pure: the transition engine (bot/services/transition.py) calls `authorise()` and moves the
ticket to the rule's `target`; handlers turn the errors into polite answers.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    NEW = "NEW"
    TRIAGE = "TRIAGE"
    DISPATCHED = "DISPATCHED"
    ACCEPTED = "ACCEPTED"
    RESOLVED = "RESOLVED"
    REOPENED = "REOPENED"
    REVIEW = "REVIEW"
    ANSWERED = "ANSWERED"
    DIVERTED = "DIVERTED"
    MERGED = "MERGED"
    REJECTED = "REJECTED"
    CLOSED = "CLOSED"


FINAL = frozenset({Status.CLOSED, Status.DIVERTED, Status.MERGED, Status.REJECTED})
# Its result has been given (a rating or a review may follow): an appeal merged into it would be
# told "news will follow" and never hear the result.
RESULT_GIVEN = frozenset({Status.RESOLVED, Status.REVIEW, Status.ANSWERED})
OPEN = frozenset(Status) - FINAL - {Status.ANSWERED}
# Statuses in which a department is on the clock.
WORKING = frozenset({Status.DISPATCHED, Status.ACCEPTED, Status.REOPENED})


class Actor(StrEnum):
    SYSTEM = "system"
    REPORTER = "reporter"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"  # of the ticket's lead department
    OWNER = "owner"  # the handler who accepted
    CO_HANDLER = "co_handler"  # of one of the ticket's co-departments (协办): reports its own progress
    LEADER = "leader"
    ADMIN = "admin"


@dataclass(frozen=True)
class Rule:
    sources: frozenset[Status]
    target: Status | None  # None: the action records something but leaves the status as it is
    actors: frozenset[Actor]


def _r(sources: set[Status], target: Status | None, *actors: Actor) -> Rule:
    return Rule(frozenset(sources), target, frozenset(actors) | {Actor.SYSTEM, Actor.ADMIN})


S, A = Status, Actor
RULES: dict[str, Rule] = {
    "triage": _r({S.NEW, S.ANSWERED}, S.TRIAGE, A.REPORTER),
    "answer": _r({S.NEW, S.TRIAGE}, S.ANSWERED),
    "dispatch": _r({S.TRIAGE, S.REVIEW}, S.DISPATCHED, A.DISPATCHER),
    "merge": _r({S.NEW, S.TRIAGE}, S.MERGED, A.DISPATCHER),
    "divert": _r({S.NEW, S.TRIAGE}, S.DIVERTED, A.DISPATCHER),
    "reject": _r({S.NEW, S.TRIAGE}, S.REJECTED, A.DISPATCHER),
    "accept": _r({S.DISPATCHED}, S.ACCEPTED, A.HANDLER),
    "return": _r({S.DISPATCHED}, S.TRIAGE, A.HANDLER),
    "progress": _r({S.ACCEPTED, S.REOPENED}, None, A.HANDLER, A.OWNER),
    # A co-department (协办) may tell its part from its own 协办签收 on, before the lead's 签收 too.
    "co_progress": _r({S.DISPATCHED, S.ACCEPTED, S.REOPENED}, None, A.CO_HANDLER),
    "extend": _r({S.DISPATCHED, S.ACCEPTED, S.REOPENED}, None, A.HANDLER, A.OWNER),
    "decide_extension": _r({S.DISPATCHED, S.ACCEPTED, S.REOPENED}, None, A.DISPATCHER),
    # 改类型 / 标紧急 / 改普通 on the dispatch card, while a dispatcher or a department has the ticket.
    "reclassify": _r({S.TRIAGE, S.REVIEW, S.DISPATCHED, S.ACCEPTED, S.REOPENED}, None, A.DISPATCHER),
    "resolve": _r({S.ACCEPTED, S.REOPENED}, S.RESOLVED, A.OWNER, A.HANDLER),
    "rate": _r({S.RESOLVED}, None, A.REPORTER),
    # What a rating decides (DESIGN §4): satisfied closes; the first 不满意 reopens, later ones go to review.
    "close_satisfied": _r({S.RESOLVED}, S.CLOSED, A.REPORTER),
    "reopen": _r({S.RESOLVED}, S.REOPENED, A.REPORTER),
    "to_review": _r({S.RESOLVED}, S.REVIEW, A.REPORTER),
    "close_unrated": _r({S.RESOLVED}, S.CLOSED),
    # The scan reminds a reporter who has not rated yet (DESIGN §4); the status stays.
    "remind_rating": Rule(frozenset({S.RESOLVED}), None, frozenset({A.SYSTEM})),
    "review_close": _r({S.REVIEW}, S.CLOSED, A.DISPATCHER),
    "review_reopen": _r({S.REVIEW}, S.REOPENED, A.DISPATCHER),
    # The scan closes an answered consultation nobody contested (DESIGN §2: ANSWERED ─▶ CLOSED).
    "close_answered": Rule(frozenset({S.ANSWERED}), S.CLOSED, frozenset({A.SYSTEM})),
}


class TransitionError(Exception):
    """Base of the domain's refusals; `code` picks the polite answer."""

    code = "transition.not_allowed"

    def __init__(self, action: str, status: str | None = None) -> None:
        super().__init__(f"{action} not allowed from {status}")
        self.action, self.status = action, status


class NotAllowed(TransitionError):
    """The ticket has moved on (or never was there): a stale button, usually."""

    code = "error.stale"


class Stale(NotAllowed):
    """The conditional move found the ticket changed since it was read: another press won."""


class Forbidden(TransitionError):
    """The person has no right to this action."""

    code = "error.forbidden"


def authorise(action: str, status: str, actors: set[Actor] | frozenset[Actor]) -> Status | None:
    """Check that someone holding `actors` may do `action` from `status`; return the rule's target."""
    rule = RULES[action]
    if not (rule.actors & set(actors)):
        raise Forbidden(action, status)
    if Status(status) not in rule.sources:
        raise NotAllowed(action, status)
    return rule.target


def require_actor(action: str, actors: set[Actor] | frozenset[Actor]) -> None:
    """Only the who of `action`'s rule, whatever the status (a picker's 返回, a listing)."""
    if not (RULES[action].actors & set(actors)):
        raise Forbidden(action)


def is_open(status: str) -> bool:
    return Status(status) in OPEN


class Refusal(TransitionError):
    """A request the domain turns down for a stated reason (`code` is a message key)."""

    def __init__(self, key: str, /, **params: object) -> None:
        Exception.__init__(self, key)
        self.code, self.params = key, params
        self.action, self.status = key, None
