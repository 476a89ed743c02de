"""专项 rules: who opens one, which tickets join, its clock and its closing report."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.campaigns import (
    CampaignFacts,
    CampaignNag,
    CampaignOverdue,
    CampaignRefusal,
    CampaignReminder,
    ClockState,
    MemberFacts,
    check_open,
    clock_next,
    clock_step,
    joins,
    report,
)

T0 = datetime(2026, 5, 6, 2, 0, tzinfo=timezone.utc)
C = CampaignFacts("gangkou", "市容环卫", T0, T0 + timedelta(days=10))


def nag(after: datetime) -> datetime:
    return after + timedelta(days=1)


def test_only_a_leader_opens_one_with_a_goal_a_lead_and_a_future_deadline() -> None:
    ok = dict(is_leader=True, goal="两周内清理3号楼垃圾点并建立日清制度", deadline=T0 + timedelta(days=14), now=T0,
              lead_dept="cgj", already_open=False)
    check_open(**ok)
    for change, key in [({"is_leader": False}, "campaign.leaders_only"),
                        ({"already_open": True}, "campaign.already_open"),
                        ({"lead_dept": None}, "campaign.no_lead"),
                        ({"goal": "  "}, "campaign.no_goal"),
                        ({"goal": "x" * 501}, "campaign.goal_too_long"),
                        ({"deadline": T0}, "campaign.bad_deadline"),
                        ({"deadline": None}, "campaign.bad_deadline")]:
        with pytest.raises(CampaignRefusal) as e:
            check_open(**{**ok, **change})
        assert e.value.key == key


def test_which_tickets_join() -> None:
    base = dict(campaign=C, area="gangkou", category="市容环卫", status="DISPATCHED", campaign_id=None)
    assert joins(**base)
    assert not joins(**{**base, "campaign_id": 7})  # at most one 专项 per ticket
    assert not joins(**{**base, "area": "xinhe"})
    assert not joins(**{**base, "category": "供水排水"})
    for final in ("CLOSED", "MERGED", "REJECTED", "DIVERTED", "ANSWERED"):
        assert not joins(**{**base, "status": final})
    assert not joins(**{**base, "campaign": CampaignFacts("gangkou", "市容环卫", T0, C.deadline, closed_at=T0)})


def test_clock_reminds_then_overdue_then_daily() -> None:
    fr = (0.5, 0.8)
    st = ClockState()
    assert clock_next(C, st, fr) == T0 + timedelta(days=5)
    assert clock_step(C, st, T0 + timedelta(days=4), fr, nag) == ([], st)
    acts, st = clock_step(C, st, T0 + timedelta(days=9), fr, nag)  # both marks passed: only the latest
    assert acts == [CampaignReminder(0.8)] and st.reminded == 0.8
    assert clock_next(C, st, fr) == C.deadline
    acts, st = clock_step(C, st, C.deadline, fr, nag)
    assert acts == [CampaignOverdue()] and st.nag_at == C.deadline + timedelta(days=1)
    assert clock_step(C, st, C.deadline + timedelta(hours=2), fr, nag)[0] == []
    acts, st2 = clock_step(C, st, C.deadline + timedelta(days=1), fr, nag)
    assert acts == [CampaignNag()] and st2.nag_at == C.deadline + timedelta(days=2)
    closed = CampaignFacts(C.area, C.category, C.opened_at, C.deadline, closed_at=C.deadline)
    assert clock_step(closed, st2, C.deadline + timedelta(days=5), fr, nag) == ([], st2)
    assert clock_next(closed, st2, fr) is None


def test_closing_report() -> None:
    r = report([MemberFacts("CLOSED", 4), MemberFacts("CLOSED", 1), MemberFacts("RESOLVED"),
                MemberFacts("ACCEPTED"), MemberFacts("CLOSED", 2)])
    assert (r.tickets, r.solved, r.rated, r.satisfied) == (5, 4, 3, 2)
    assert r.satisfaction == pytest.approx(2 / 3)
    assert r.solved_share == pytest.approx(0.8)
    assert report([]).satisfaction is None


def test_goal_and_deadline_from_a_leaders_reply() -> None:
    from zoneinfo import ZoneInfo

    from bot.domain.campaigns import goal_and_deadline

    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai
    end = lambda y, m, d: datetime(y, m, d, 23, 59, tzinfo=tz)  # noqa: E731
    assert goal_and_deadline("清理3号楼垃圾点并建立日清制度 2026-12-31", now, tz) == ("清理3号楼垃圾点并建立日清制度", end(2026, 12, 31))
    assert goal_and_deadline("建立日清制度，截止12月20日", now, tz) == ("建立日清制度", end(2026, 12, 20))
    assert goal_and_deadline("建立日清制度 1/15", now, tz) == ("建立日清制度", end(2027, 1, 15))  # passed: next year
    assert goal_and_deadline("两周内根治 30天", now, tz) == ("两周内根治", now + timedelta(days=30))
    assert goal_and_deadline("Clear the bins for good, in 2 weeks", now, tz) == ("Clear the bins for good", now + timedelta(days=14))
    assert goal_and_deadline("根治垃圾点", now, tz) == ("根治垃圾点", now + timedelta(days=30))
    assert goal_and_deadline("根治3号楼垃圾点", now, tz, default_days=10) == ("根治3号楼垃圾点", now + timedelta(days=10))
