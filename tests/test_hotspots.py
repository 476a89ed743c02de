"""高频共性 detection: the count and matter triggers, one alert per cluster, ranking, periods, the org key."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.hotspots import (
    HotspotPolicy,
    TicketFact,
    Trigger,
    campaign_free,
    detect,
    is_news,
    natural_span,
    period_bounds,
    rank,
)
from bot.domain.sla import parse_duration
from bot.org import OrgFile

TZ = ZoneInfo("Asia/Shanghai")
POLICY = HotspotPolicy()
# Wednesday 2026-05-06 10:00 in Shanghai.
WED = datetime(2026, 5, 6, 10, 0, tzinfo=TZ)


def t(i: int, hours: float, *, area: str = "gangkou", category: str = "市容环卫", status: str = "DISPATCHED",
      support: int = 0, campaign: int | None = None) -> TicketFact:
    return TicketFact(i, f"#2026-{i:06d}", area, category, WED + timedelta(hours=hours), status, support, campaign)


def test_three_in_a_window_make_a_hotspot_two_do_not() -> None:
    a, b, c = t(1, 0), t(2, 3), t(3, 20)
    assert detect(b, [a, b], POLICY) is None
    hot = detect(c, [a, b], POLICY)
    assert hot is not None
    assert (hot.trigger, [x.id for x in hot.tickets], hot.area, hot.category) == (Trigger.COUNT, [1, 2, 3], "gangkou", "市容环卫")
    assert str(hot.key) == "gangkou|市容环卫|2026-05-06T10:00:00+08:00"  # the cluster starts with its oldest ticket


def test_what_does_not_count() -> None:
    c = t(3, 20)
    # Another area, another category, a rejected ticket, one older than the window, one newer than the trigger.
    others = [t(1, 0, area="xinhe"), t(2, 1, category="供水排水"), t(4, 2, status="REJECTED"),
              t(5, -24 * 7 - 1), t(6, 30), t(7, 1)]
    assert detect(c, others, POLICY) is None
    assert detect(t(8, 0, category=None), [], POLICY) is None  # type: ignore[arg-type]


def test_a_matter_with_three_voices_is_hot_alone() -> None:
    hot = detect(t(1, 0, support=3), [], POLICY)
    assert hot is not None and hot.trigger is Trigger.MATTER and hot.support == 3 and hot.heat == 4
    assert detect(t(1, 0, support=2), [], POLICY) is None


def test_one_cluster_is_told_once_across_a_calendar_boundary() -> None:
    # Sunday evening three tickets: told. Monday morning a fourth: the same cluster, not told.
    sun = datetime(2026, 5, 10, 20, 0, tzinfo=TZ)

    def at(i: int, when: datetime) -> TicketFact:
        return TicketFact(i, f"#2026-{i:06d}", "gangkou", "市容环卫", when, "DISPATCHED")

    a, b, c = at(1, sun), at(2, sun + timedelta(hours=1)), at(3, sun + timedelta(hours=2))
    first = detect(c, [a, b], POLICY)
    assert first is not None and is_news(first, alerted=set(), campaign_running=False)
    d = at(4, datetime(2026, 5, 11, 9, 0, tzinfo=TZ))
    second = detect(d, [a, b, c], POLICY)
    assert second is not None and second.key == first.key  # the same cluster, the same key
    assert not is_news(second, alerted={1, 2, 3}, campaign_running=False)
    # Eight days on every listed ticket has slid out: three new ones are a new cluster, told again.
    later = [at(i, sun + timedelta(days=8, hours=i)) for i in (5, 6, 7)]
    third = detect(later[2], [a, b, c, d, *later[:2]], POLICY)
    assert third is not None and [t.id for t in third.tickets] == [5, 6, 7]
    assert is_news(third, alerted={1, 2, 3}, campaign_running=False)
    assert third.key != first.key


def test_no_alert_while_a_campaign_runs() -> None:
    hot = detect(t(3, 2), [t(1, 0), t(2, 1)], POLICY)
    assert hot is not None
    assert not is_news(hot, alerted=set(), campaign_running=True)


def test_ranking_hottest_first() -> None:
    rows = [t(1, 0), t(2, 1), t(3, 2),  # rubbish in gangkou: 3 tickets
            t(4, 0, category="供水排水", support=4),  # one matter, 4 supporters: heat 5
            t(5, 0, area="xinhe"), t(6, 1, area="xinhe"),  # two only: not hot
            t(7, 5, area="xinhe", category="噪音扰民"), t(8, 6, area="xinhe", category="噪音扰民"),
            t(9, 7, area="xinhe", category="噪音扰民")]
    got = rank(rows, WED - timedelta(days=7), WED + timedelta(days=1), POLICY)
    assert [(h.area, h.category, h.heat, h.trigger) for h in got] == [
        ("gangkou", "供水排水", 5, Trigger.MATTER),
        ("xinhe", "噪音扰民", 3, Trigger.COUNT),  # as hot as rubbish, but more recent
        ("gangkou", "市容环卫", 3, Trigger.COUNT),
    ]
    assert got[0].top.id == 4


def test_period_words_and_durations() -> None:
    def parse(x: str) -> timedelta:
        return natural_span(x)

    now = WED
    assert period_bounds(None, now, TZ, timedelta(days=7)) == (now - timedelta(days=7), now)
    assert period_bounds("本月", now, TZ, timedelta(days=7))[0] == datetime(2026, 5, 1, tzinfo=TZ)
    assert period_bounds("week", now, TZ, timedelta(days=7))[0] == datetime(2026, 5, 4, tzinfo=TZ)
    assert period_bounds("今天", now, TZ, timedelta(days=7))[0] == datetime(2026, 5, 6, tzinfo=TZ)
    assert period_bounds("30 d", now, TZ, timedelta(days=7), parse)[0] == now - timedelta(days=30)
    assert period_bounds("30天", now, TZ, timedelta(days=7), parse)[0] == now - timedelta(days=30)
    assert period_bounds("2 weeks", now, TZ, timedelta(days=7), parse)[0] == now - timedelta(days=14)
    with pytest.raises(ValueError):
        period_bounds("soon", now, TZ, timedelta(days=7), parse)
    with pytest.raises(ValueError):
        natural_span("5 working days")


def test_policy_and_org_key() -> None:
    assert OrgFile().hotspots.threshold == 3
    org = OrgFile.model_validate({"hotspots": {"threshold": 4, "window": "2 d"}})
    policy = HotspotPolicy.from_org(org.hotspots.threshold, org.hotspots.window, org.hotspots.matter)
    assert policy == HotspotPolicy(4, timedelta(days=2), 3)
    with pytest.raises(ValueError, match="hotspots"):
        OrgFile.model_validate({"hotspots": {"threshold": 1}})
    with pytest.raises(ValueError, match="working days"):
        OrgFile.model_validate({"hotspots": {"window": "3 working days"}})
    assert parse_duration("7 d").amount == 7 * 86400


def test_a_ticket_in_a_campaign_is_not_gathered_again() -> None:
    assert [x.id for x in campaign_free([t(1, 0, campaign=5), t(2, 1)])] == [2]
