"""专项: a campaign for 一类事 (seed 001: "一类问题由一位分管市领导统筹，一个市直部门牵头").

From a 高频共性 alert a leader opens a 专项 for one area and one category: one lead department, one
responsible leader, a goal and a deadline. The open tickets of that area and category join it, and
new ones join as they arrive; a ticket belongs to at most one 专项. The lead department is asked for
a 成因排查 (cause analysis, seed 003) when it opens. The 专项 has its own clock — reminders at the
configured fractions of the time from opening to the deadline, an overdue notice at the deadline,
then one nag per working day — and a closing report: how many tickets, how many solved,
satisfaction among those rated.

Pure: plain values and a clock; the service stores and sends.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from bot.domain.lifecycle import Status
from bot.domain.sla import fraction_point

# Ticket statuses that can still be worked on (so may join a 专项).
JOINABLE = frozenset({Status.NEW, Status.TRIAGE, Status.DISPATCHED, Status.ACCEPTED, Status.RESOLVED, Status.REOPENED,
                      Status.REVIEW})
SOLVED = frozenset({Status.RESOLVED, Status.CLOSED})
# Tickets that joined and then turned out not to be appeals of their own: a duplicate merged into
# another (counted there) or spam rejected. Neither can ever be solved, so counting them kept the
# closing report's solved share low for good.
NOT_MEMBERS = frozenset({Status.MERGED, Status.REJECTED})
GOAL_MAX = 500


class CampaignRefusal(Exception):
    """Why a 专项 cannot be opened or a ticket cannot join; `key` is a message key."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class CampaignFacts:
    area: str
    category: str
    opened_at: datetime
    deadline: datetime
    closed_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None


def check_open(*, is_leader: bool, goal: str, deadline: datetime | None, now: datetime,
               lead_dept: str | None, already_open: bool) -> None:
    """May a 专项 be opened with these? Raises CampaignRefusal with the reason."""
    if not is_leader:
        raise CampaignRefusal("campaign.leaders_only")
    if already_open:
        raise CampaignRefusal("campaign.already_open")
    if not lead_dept:
        raise CampaignRefusal("campaign.no_lead")
    if not goal.strip():
        raise CampaignRefusal("campaign.no_goal")
    if len(goal) > GOAL_MAX:
        raise CampaignRefusal("campaign.goal_too_long", limit=GOAL_MAX)
    if deadline is None or deadline <= now:
        raise CampaignRefusal("campaign.bad_deadline")


def joins(*, campaign: CampaignFacts, area: str | None, category: str | None, status: str,
          campaign_id: int | None) -> bool:
    """Does a ticket belong in this open 专项? Same area and category, still workable, in no other."""
    return (campaign.open and campaign_id is None and status in JOINABLE
            and area == campaign.area and category == campaign.category)


# --------------------------------------------------------------------------- clock


@dataclass(frozen=True)
class ClockState:
    """The 专项's clock bookkeeping (columns of its row)."""

    reminded: float = 0.0  # the highest reminder fraction sent
    overdue_sent: bool = False
    nag_at: datetime | None = None  # the next daily nag once overdue


@dataclass(frozen=True)
class CampaignReminder:
    fraction: float


@dataclass(frozen=True)
class CampaignOverdue:
    pass


@dataclass(frozen=True)
class CampaignNag:
    pass


CampaignAction = CampaignReminder | CampaignOverdue | CampaignNag


def clock_step(c: CampaignFacts, state: ClockState, now: datetime, fractions: Sequence[float],
               next_nag: Callable[[datetime], datetime]) -> tuple[list[CampaignAction], ClockState]:
    """What the 专项's clock owes now; only the latest reminder when several fell due together."""
    if not c.open:
        return [], state
    actions: list[CampaignAction] = []
    if now >= c.deadline:
        if not state.overdue_sent:
            return [CampaignOverdue()], ClockState(1.0, True, next_nag(now))
        if state.nag_at is not None and now >= state.nag_at:
            return [CampaignNag()], ClockState(state.reminded, True, next_nag(now))
        return [], state
    due = [f for f in sorted(fractions) if f > state.reminded and fraction_point(c.opened_at, c.deadline, f) <= now]
    if due:
        actions.append(CampaignReminder(due[-1]))
        state = ClockState(due[-1], state.overdue_sent, state.nag_at)
    return actions, state


def clock_next(c: CampaignFacts, state: ClockState, fractions: Sequence[float]) -> datetime | None:
    """When the 专项 needs a look again (its `next_check_at`)."""
    if not c.open:
        return None
    if state.overdue_sent:
        return state.nag_at
    ahead = [fraction_point(c.opened_at, c.deadline, f) for f in sorted(fractions) if f > state.reminded]
    return min(ahead + [c.deadline])


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class MemberFacts:
    status: str
    score: int | None = None  # the latest result rating (4..1), None when not rated


@dataclass(frozen=True)
class CampaignReport:
    tickets: int
    solved: int
    rated: int
    satisfied: int

    @property
    def satisfaction(self) -> float | None:
        """Share satisfied (非常/比较/基本满意) among the rated; None when nobody rated."""
        return self.satisfied / self.rated if self.rated else None

    @property
    def solved_share(self) -> float | None:
        return self.solved / self.tickets if self.tickets else None


def report(members: Iterable[MemberFacts]) -> CampaignReport:
    rows = [m for m in members if m.status not in NOT_MEMBERS]
    rated = [m for m in rows if m.score]
    return CampaignReport(
        tickets=len(rows),
        solved=sum(1 for m in rows if m.status in SOLVED),
        rated=len(rated),
        satisfied=sum(1 for m in rated if m.score and m.score >= 2),
    )


# --------------------------------------------------------------------------- the leader's words

_DATE_RE = re.compile(
    r"(?:截止|截至|deadline|due|by)?\s*[:：]?\s*"
    r"(?:(?P<y>\d{4})[-/.年])?(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?\s*(?:之前|以前|前|为止)?\s*(?:完成|办结)?"
    r"\s*[。.!！]?\s*$",
    re.IGNORECASE,
)
_SPAN_RE = re.compile(r"(?:截止|截至|deadline|due|within|in|限)?\s*[:：]?\s*"
                      r"(?P<span>\d+\s*(?:天|日|周|个月|d|days?|weeks?|w|months?))"
                      r"\s*(?:内|以内|之内)?\s*(?:完成|办结)?\s*[。.!！]?\s*$", re.IGNORECASE)
_SPAN_UNITS = {"天": 1, "日": 1, "d": 1, "day": 1, "days": 1, "周": 7, "w": 7, "week": 7, "weeks": 7, "个月": 30,
               "month": 30, "months": 30}
# The English way to write a day: "by 31 December", "due Dec 31", "December 31st".
_MONTHS = {m: i + 1 for i, names in enumerate(
    ("january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul", "august aug",
     "september sep sept", "october oct", "november nov", "december dec")) for m in names.split()}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_EN_RE = re.compile(
    rf"(?:deadline|due|by|before)?\s*[:：]?\s*(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m1>{_MONTH})\.?"
    rf"|(?P<m2>{_MONTH})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?)(?:,?\s*(?P<y>\d{{4}}))?\s*[.!]?\s*$",
    re.IGNORECASE,
)


def goal_and_deadline(text: str, now: datetime, tz: ZoneInfo, default_days: int = 30) -> tuple[str, datetime]:
    """Split a leader's reply into the goal and the deadline written at its end.

    "两周内清理3号楼垃圾点 2026-12-31" / "… 截止12月31日" / "… 30天" / "… in 2 weeks"; no date → the
    default. A date is the end of that local day; a year-less date that has passed means next year.
    """
    original = (text or "").strip()
    clean = unicodedata.normalize("NFKC", original)
    # Matched on the normalised text; the goal keeps the leader's own punctuation where the two
    # line up character for character (they do, but for rare compatibility characters).
    shown = original if len(original) == len(clean) else clean

    def goal_before(at: int) -> str:
        return shown[:at].rstrip(" ，,;；。")

    m = _DATE_RE.search(clean)
    e = None if m else _DATE_EN_RE.search(clean)
    if m or e:
        local = now.astimezone(tz)
        if m:
            y, mon, d = m.group("y"), int(m.group("m")), int(m.group("d"))
        else:
            assert e is not None
            y, mon = e.group("y"), _MONTHS[(e.group("m1") or e.group("m2")).lower()]
            d = int(e.group("d1") or e.group("d2"))
            m = e
        year = int(y) if y else local.year
        try:
            day = date(year, mon, d)
        except ValueError:
            raise CampaignRefusal("campaign.no_such_day", date=m.group(0).strip()) from None
        if not y and day < local.date():
            day = day.replace(year=year + 1)
        return goal_before(m.start()), datetime.combine(day, time(23, 59), tzinfo=tz)
    s = _SPAN_RE.search(clean)
    if s:
        num = int(re.match(r"\d+", s.group("span")).group(0))  # type: ignore[union-attr]
        unit = re.sub(r"[\d\s]", "", s.group("span")).lower()
        return goal_before(s.start()), now + timedelta(days=num * _SPAN_UNITS.get(unit, 1))
    return shown, now + timedelta(days=default_days)

