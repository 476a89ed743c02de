"""Lines every card about a ticket shares (its head, local times), whatever the chat."""
from __future__ import annotations

from datetime import datetime

from bot.context import App
from bot.domain import rating as rating_rules
from bot.domain.codes import display
from bot.i18n import Translator
from storage.models import Ticket


def head(tr: Translator, t: Ticket) -> str:
    flag = "🔴 " if t.urgency == "urgent" else ""
    line = tr("card.head", flag=flag, code=display(t.code), kind=tr(f"kind.{t.kind}"),
              urgency=tr(f"urgency.{t.urgency}"))
    # Tickets from another channel (Open311: a hotline, a web form) say so on every card.
    if t.channel and t.channel != "telegram":
        line += tr("card.channel", channel=t.channel)
    # 督办 marks every card carries (issue #10): 职责争议, and who took the ticket (领导包案).
    if t.disputed_at is not None:
        line += " " + tr("card.disputed")
    if t.leader_id:
        line += "\n" + tr("card.taken", leader=t.leader_name or t.leader_id)
    return line


def local(app: App, when: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    return when.astimezone(app.tz).strftime(fmt) if when else "-"


def reason_text(tr: Translator, code: str | None, words: str | None) -> str:
    """Why a reporter was not satisfied: the reason's label and their words."""
    label = tr(f"rate.reason.{code}") if code and code in (*rating_rules.REASONS, rating_rules.NO_REASON) else "-"
    return tr("rate.reason_with_words", reason=label, words=rating_rules.clip(words, 300)) if words else label
