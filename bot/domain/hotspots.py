"""高频共性问题: when one kind of matter keeps coming back in one area (seeds 001, 003, 004).

Two triggers; one alert per cluster:
- COUNT: the tickets of one category in one area filed within the last `window` (org file
  `hotspots: {threshold: 3, window: 7 d}`) reach `threshold`;
- MATTER: one ticket has been merged into or supported (附议) `matter_threshold` times or more —
  many voices for one matter (seed 003's "交办超2次的问题，进行成因排查").

One cluster, one alert. Counting slides (the last `window` up to the new ticket), and so does the
memory of an alert: while any ticket an earlier alert listed is still inside the sliding window,
the tickets now counted are the same cluster going on, and nobody is told twice — three tickets on
a Sunday alert, a fourth on Monday does not (a calendar week would have called it a new one). Once
every listed ticket has slid out, a group still hot is a new cluster and alerts again: "still
going on". While a 专项 runs for that area and category nobody is alerted at all: the leaders
already own it. The cluster's key is (area, category, when its oldest counted ticket was filed),
the same for every instance and every replay, stored under a unique constraint.

Ranking (`/hotspots`): per (area, category) in the period, heat = tickets + supporters; a group
is hot when either trigger holds. Hottest first, then the most recent activity, then the names.

Pure: plain values and a clock; no aiogram, no SQL.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from bot.domain.lifecycle import Status
from bot.domain.sla import parse_duration  # the one duration grammar of the org file

# Spam is no appeal; a merged duplicate is a voice on the ticket it joined (its `support`),
# not a matter of its own: counted as both, two matters and a duplicate made a hotspot of three.
NOT_COUNTED = frozenset({Status.REJECTED, Status.MERGED})


class Trigger(StrEnum):
    COUNT = "count"
    MATTER = "matter"


@dataclass(frozen=True)
class HotspotPolicy:
    threshold: int = 3
    window: timedelta = timedelta(days=7)
    matter_threshold: int = 3

    @classmethod
    def from_org(cls, threshold: int, window: str, matter_threshold: int) -> "HotspotPolicy":
        return cls(threshold, natural_span(window), matter_threshold)

    def __post_init__(self) -> None:
        if self.threshold < 2 or self.matter_threshold < 2:
            raise ValueError("hotspots: a threshold below 2 would call every single appeal a hotspot")
        if self.window < timedelta(hours=1):
            raise ValueError("hotspots: the window must be an hour or more")


@dataclass(frozen=True)
class TicketFact:
    """What hotspot detection needs to know about a ticket."""

    id: int
    code: str
    area: str | None
    category: str | None
    created_at: datetime
    status: str = Status.NEW
    support: int = 0  # supporters (附议) plus tickets merged into this one
    campaign_id: int | None = None  # the 专项 it belongs to, if any


@dataclass(frozen=True)
class ClusterKey:
    area: str
    category: str
    start: datetime  # when the cluster's oldest counted ticket was filed

    def __str__(self) -> str:  # stable text form, for logs
        return f"{self.area}|{self.category}|{self.start.isoformat()}"


@dataclass(frozen=True)
class Hotspot:
    area: str
    category: str
    trigger: Trigger
    tickets: tuple[TicketFact, ...]  # the ones counted, oldest first
    since: datetime
    until: datetime

    @property
    def count(self) -> int:
        return len(self.tickets)

    @property
    def support(self) -> int:
        return sum(t.support for t in self.tickets)

    @property
    def heat(self) -> int:
        return self.count + self.support

    @property
    def latest(self) -> datetime:
        return max(t.created_at for t in self.tickets)

    @property
    def key(self) -> ClusterKey:
        return ClusterKey(self.area, self.category, self.tickets[0].created_at)

    @property
    def top(self) -> TicketFact:
        """The matter with the most voices (the first filed on a tie)."""
        return max(self.tickets, key=lambda t: (t.support, -t.created_at.timestamp()))


def natural_span(text: str) -> timedelta:
    """A natural-time length ("7 d", "24 h", "一周" is not understood, "7天" is): working days
    make no sense for counting how often neighbours write, so they are refused."""
    d = parse_duration(text)
    if d.working:
        raise ValueError(f"cannot use working days for a window: {text!r}; write e.g. '7 d'")
    return timedelta(seconds=float(d.amount))


def _counted(t: TicketFact) -> bool:
    return t.status not in NOT_COUNTED and bool(t.area) and bool(t.category)


def detect(trigger_ticket: TicketFact, recent: Iterable[TicketFact], policy: HotspotPolicy) -> Hotspot | None:
    """Is the area+category of `trigger_ticket` hot now? `recent`: tickets of that area and
    category (the new one may or may not be among them), any age; newer ones than the trigger
    are ignored so a replay decides the same."""
    if not _counted(trigger_ticket):
        return None
    now = trigger_ticket.created_at
    since = now - policy.window
    seen = {trigger_ticket.id: trigger_ticket}
    for t in recent:
        if (t.area, t.category) == (trigger_ticket.area, trigger_ticket.category) and since < t.created_at <= now:
            seen.setdefault(t.id, t)
    inside = tuple(sorted((t for t in seen.values() if _counted(t)), key=lambda t: (t.created_at, t.id)))
    if len(inside) >= policy.threshold:
        return Hotspot(trigger_ticket.area, trigger_ticket.category, Trigger.COUNT, inside, since, now)  # type: ignore[arg-type]
    if any(t.support >= policy.matter_threshold for t in inside):
        return Hotspot(trigger_ticket.area, trigger_ticket.category, Trigger.MATTER, inside, since, now)  # type: ignore[arg-type]
    return None


def is_news(hot: Hotspot, alerted: Iterable[int], campaign_running: bool) -> bool:
    """Should `hot` be told? Not while a 专项 runs for its area and category, nor while a ticket
    an earlier alert of that area and category listed (`alerted`) is still among those counted:
    that is the same cluster going on (see the module doc)."""
    if campaign_running:
        return False
    return not {t.id for t in hot.tickets} & set(alerted)


def trigger_of(tickets: int, top_support: int, policy: HotspotPolicy) -> Trigger | None:
    """Is a group of `tickets` tickets, the most supported of which has `top_support` voices, hot?"""
    if tickets >= policy.threshold:
        return Trigger.COUNT
    if top_support >= policy.matter_threshold:
        return Trigger.MATTER
    return None


def _hottest_first(heat: int, latest: datetime, area: str, category: str) -> tuple:
    return (-heat, -latest.timestamp(), area, category)


def rank(tickets: Iterable[TicketFact], since: datetime, until: datetime, policy: HotspotPolicy) -> list[Hotspot]:
    """The hot (area, category) groups of a period, hottest first."""
    groups: dict[tuple[str, str], list[TicketFact]] = {}
    for t in tickets:
        if _counted(t) and since <= t.created_at <= until:
            groups.setdefault((t.area, t.category), []).append(t)  # type: ignore[arg-type]
    hot = []
    for (area, category), rows in groups.items():
        rows.sort(key=lambda t: (t.created_at, t.id))
        trigger = trigger_of(len(rows), max(t.support for t in rows), policy)
        if trigger is not None:
            hot.append(Hotspot(area, category, trigger, tuple(rows), since, until))
    hot.sort(key=lambda h: _hottest_first(h.heat, h.latest, h.area, h.category))
    return hot


@dataclass(frozen=True)
class GroupFacts:
    """One (area, category) of a period, added up (a report over many tickets reads these)."""

    area: str
    category: str
    tickets: int
    support: int  # supporters plus tickets merged in, over the group
    top_support: int  # the most any one ticket of the group has
    latest: datetime

    @property
    def heat(self) -> int:
        return self.tickets + self.support


def rank_groups(groups: Iterable[GroupFacts], policy: HotspotPolicy, per_area: int | None = None) -> list[GroupFacts]:
    """The hot groups, hottest first (the order of `rank`); at most `per_area` of each area."""
    hot = sorted((g for g in groups if trigger_of(g.tickets, g.top_support, policy) is not None),
                 key=lambda g: _hottest_first(g.heat, g.latest, g.area, g.category))
    if per_area is None:
        return hot
    taken: dict[str, int] = {}
    out = []
    for g in hot:
        if taken.get(g.area, 0) < per_area:
            taken[g.area] = taken.get(g.area, 0) + 1
            out.append(g)
    return out


# --------------------------------------------------------------------------- /hotspots [period]

_PERIOD_WORDS = {
    "today": "day", "今天": "day", "今日": "day", "day": "day",
    "week": "week", "本周": "week", "这周": "week", "周": "week", "this week": "week",
    "month": "month", "本月": "month", "这个月": "month", "月": "month", "this month": "month",
}


def period_bounds(word: str | None, now: datetime, tz: ZoneInfo, default: timedelta,
                  parse: Callable[[str], timedelta] | None = None) -> tuple[datetime, datetime]:
    """(since, until) for `/hotspots [period]`: nothing → the policy window back from now;
    today/week/month (今天/本周/本月) → since the start of that calendar period; a duration
    ("30 d", "2 weeks", "30天") → that long back from now. ValueError when not understood."""
    text = unicodedata.normalize("NFKC", (word or "")).strip().lower()
    if not text:
        return now - default, now
    kind = _PERIOD_WORDS.get(text)
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "day":
        return midnight, now
    if kind == "week":
        return midnight - timedelta(days=local.weekday()), now
    if kind == "month":
        return midnight.replace(day=1), now
    if parse is None:
        raise ValueError(text)
    if re.fullmatch(r"\d+\s*weeks?", text):
        return now - timedelta(weeks=int(re.match(r"\d+", text).group(0))), now  # type: ignore[union-attr]
    length = parse(text)
    if length <= timedelta(0):
        raise ValueError(text)
    return now - length, now


def campaign_free(tickets: Sequence[TicketFact]) -> list[TicketFact]:
    """The tickets a new 专项 may gather: not yet in another one (a ticket belongs to at most one)."""
    return [t for t in tickets if t.campaign_id is None]
