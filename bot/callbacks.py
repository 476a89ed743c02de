"""Inline-button payloads: aiogram CallbackData factories carrying ids, never text (≤ 64 bytes)."""
from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# A number a button carries fits the database's BIGINT: a forged press with a longer one fails to
# parse and meets the forged-button answer, instead of an overflow in the update's transaction.
Num = Annotated[int, Field(ge=0, le=2**63 - 1)]


class TicketAct(CallbackData, prefix="t"):
    """An action on a ticket: dispatch, route, co, merge, divert, reject, accept, coaccept, return, resolve, extend, nohelp."""

    action: str
    ticket_id: Num


class PickDept(CallbackData, prefix="pd"):
    """A department chosen on the dispatch card (lead or co)."""

    role: str  # lead | co | done
    ticket_id: Num
    dept: str


class Reclassify(CallbackData, prefix="rc"):
    """改类型 / 标紧急 / 改普通 on the dispatch card: the kind picker, a kind, an urgency."""

    what: str  # kinds (show the picker) | kind | urgency
    ticket_id: Num
    value: str = ""  # the kind, or urgent | normal


class ExtDecision(CallbackData, prefix="x"):
    action: str  # approve | refuse
    extension_id: Num


class Rate(CallbackData, prefix="r"):
    ticket_id: Num
    round: Num
    question: str  # result | process
    score: Num  # 4 very, 3 fairly, 2 basically, 1 unsatisfied, 0 skip


class RateReason(CallbackData, prefix="rr"):
    ticket_id: Num
    round: Num
    reason: str  # unsolved | slow | attitude | other


class Review(CallbackData, prefix="rv"):
    action: str  # close | back
    ticket_id: Num


class Flow(CallbackData, prefix="f"):
    """The private guided appeal: skip, area choice, kind choice, confirm, cancel."""

    step: str
    value: str = ""


class Page(CallbackData, prefix="p"):
    listing: str  # queue | open | mine | my | unsatisfied | cards
    page: Num


class MergeInto(CallbackData, prefix="mi"):
    """合并 a new ticket into the duplicate its dispatch card suggests."""

    ticket_id: Num
    target_id: Num


class HotspotAct(CallbackData, prefix="hs"):
    action: str  # open (a 专项 from this 高频共性 alert)
    alert_id: Num


class CampaignAct(CallbackData, prefix="cp"):
    action: str  # close (结项)
    campaign_id: Num


def button(text: str, data: CallbackData) -> dict:
    """A button as the outbox stores it (plain JSON)."""
    return {"text": text, "data": data.pack()}


class Supervise(CallbackData, prefix="sv"):
    """督办 (issue #10): take a case (领导包案), lay a 职责争议 before the leaders, a leader's choice."""

    action: str  # take | raise | decide
    ticket_id: Num
    dept: str = ""
