"""One report (通报 / 测评 / 排名 / 总评) for one period: the figures, the ranking, the worst overdue,
and from 一件事 to 一类事 (issue #11): the period's top 高频共性 groups per area and the 专项 in progress.

Pure: `build` takes the period, the moment of reporting and the fact records (bot.domain.rates)
and returns everything the text, the chart and the 通报 job need.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from bot.domain.calendar import WorkCalendar
from bot.domain.periods import Period, PeriodKind, last_complete
from bot.domain.ranking import Place, Weights, bottom_two, rank
from bot.domain.rates import (
    CardFact,
    DispatchFact,
    Figures,
    Overdue,
    RatingFact,
    ReopenFact,
    department_figures,
    overall,
    worst_overdue,
)

WORST_LIMIT = 5
HOTSPOTS_PER_AREA = 3


@dataclass(frozen=True)
class HotspotLine:
    """A hot (area, category) group of the period (bot.domain.hotspots.rank_groups)."""

    area: str  # the area's name, as the report shows it
    category: str
    tickets: int
    support: int


@dataclass(frozen=True)
class CampaignLine:
    """A 专项 running at the end of the period, with its progress as of the report."""

    id: int
    area: str  # the area's name
    category: str
    dept: str  # the lead department's code
    deadline: datetime
    tickets: int
    solved: int


@dataclass(frozen=True)
class Report:
    period: Period
    as_of: datetime
    complete: bool  # False: the period has not ended yet (figures "to date")
    received: int  # tickets received (created) in the period, all kinds and channels
    places: list[Place]  # every department, ranked ones first
    total: Figures  # all departments pooled
    worst: list[Overdue]
    bottom: list[Place]  # named for a written review (half-year and year only)
    weights: Weights
    hotspots: list[HotspotLine] = field(default_factory=list)  # hottest first, at most 3 per area
    campaigns: list[CampaignLine] = field(default_factory=list)

    @property
    def ranked(self) -> list[Place]:
        return [p for p in self.places if p.position is not None]

    @property
    def unranked(self) -> list[Place]:
        return [p for p in self.places if p.position is None]


def assemble(period: Period, tz: tzinfo, as_of: datetime, *, received: int, figures: dict[str, Figures],
             worst: list[Overdue], departments: list[str], weights: Weights,
             hotspots: list[HotspotLine] | None = None, campaigns: list[CampaignLine] | None = None) -> Report:
    """The report from figures already added up (by `department_figures` or by the database)."""
    end = period.bounds(tz)[1]
    places = rank(figures, departments, weights)
    named = bottom_two(places) if period.kind in (PeriodKind.HALF, PeriodKind.YEAR) else []
    return Report(period=period, as_of=as_of, complete=end <= as_of, received=received, places=places,
                  total=overall(figures), worst=worst, bottom=named, weights=weights, hotspots=hotspots or [],
                  campaigns=campaigns or [])


def campaign_running_at(opened_at: datetime, closed_at: datetime | None, at: datetime) -> bool:
    """Was a 专项 in progress at `at` (the end of the period, or the report's moment if sooner)?"""
    return opened_at < at and (closed_at is None or closed_at > at)


def build(period: Period, tz: tzinfo, as_of: datetime, *, received: int, dispatches: list[DispatchFact],
          ratings: list[RatingFact], cards: list[CardFact], reopens: list[ReopenFact],
          departments: list[str], weights: Weights, worst_limit: int = WORST_LIMIT) -> Report:
    """The report from the plain fact records (the reference definitions of bot.domain.rates)."""
    start, end = period.bounds(tz)
    return assemble(period, tz, as_of, received=received,
                    figures=department_figures(start, end, as_of, dispatches, ratings, cards, reopens),
                    worst=worst_overdue(start, end, as_of, dispatches, worst_limit),
                    departments=departments, weights=weights)


# -- the automatic 通报 (seed 002: 一月一通报、一季度一测评、半年一排名、年终总评) -----------------

BULLETIN_HOUR = 9  # 09:00 local on the first working day after the period
BULLETIN_KINDS = (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.HALF, PeriodKind.YEAR)


def bulletin_due_at(period: Period, cal: WorkCalendar) -> datetime:
    """09:00 local on the first working day after the period (the 1st itself when it is one)."""
    return cal.next_working_time(period.bounds(cal.tz)[1], BULLETIN_HOUR)


def bulletins_due(now: datetime, cal: WorkCalendar) -> list[Period]:
    """The latest complete period of each kind whose 通报 time has come, month first.

    Only the latest: a deployment started mid-year does not post a year of back numbers. The
    caller skips the ones already posted (a durable record) and those before the first ticket.
    """
    out = []
    for kind in BULLETIN_KINDS:
        period = last_complete(now, cal.tz, kind)
        if bulletin_due_at(period, cal) <= now:
            out.append(period)
    return out
