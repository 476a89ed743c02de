"""The satisfaction rules (bot/domain/rating.py): pure, no Telegram, no database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.domain import rating as r
from bot.domain.calendar import WorkCalendar
from bot.domain.lifecycle import Refusal, Status
from bot.domain.sla import parse_duration

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai
TIMERS = r.Timers(parse_duration("2 d"), parse_duration("7 d"))


def test_scale_order_and_satisfaction():
    assert r.SCALE == (4, 3, 2, 1)
    assert [r.is_satisfied(s) for s in r.SCALE] == [True, True, True, False]
    with pytest.raises(ValueError):
        r.is_satisfied(0)


@pytest.mark.parametrize("user, ok", [(1, True), (2, True), (3, False), (None, False)])
def test_who_may_rate(user, ok):
    # 1 posted the appeal (a volunteer), 2 is the person it was told on behalf of.
    assert r.may_rate(user, 1, 2) is ok


def test_nobody_rates_a_ticket_without_a_reporter():
    assert not r.may_rate(None, None, None)
    assert not r.may_rate(5, None, None)


def check(**kw):
    base = dict(user_id=1, reporter_id=1, on_behalf_user_id=None, status="RESOLVED", close_reason=None,
                button_round=1, current_round=1, rated=False, score=4)
    base.update(kw)
    r.check_result(**base)


def refusal(**kw) -> str:
    with pytest.raises(Refusal) as exc:
        check(**kw)
    return exc.value.code


def test_a_fresh_press_by_the_reporter_is_allowed():
    check()
    check(user_id=2, reporter_id=1, on_behalf_user_id=2, score=1)


@pytest.mark.parametrize("kw, code", [
    (dict(user_id=9), "rate.not_yours"),
    (dict(rated=True), "rate.already"),
    (dict(rated=True, status="CLOSED", close_reason="satisfied"), "rate.already"),
    (dict(button_round=1, current_round=2), "rate.stale"),
    (dict(button_round=0, current_round=0), "rate.stale"),
    (dict(status="CLOSED", close_reason="not_rated"), "rate.auto_closed"),
    (dict(status="CLOSED", close_reason="explained"), "rate.closed"),
    (dict(status="ACCEPTED"), "rate.not_resolved"),
    (dict(status="REOPENED"), "rate.not_resolved"),
    (dict(score=7), "error.bad_button"),
    (dict(score=0), "error.bad_button"),
])
def test_presses_that_change_nothing(kw, code):
    assert refusal(**kw) == code


def test_a_stranger_hears_not_yours_even_on_a_stale_button():
    assert refusal(user_id=9, status="CLOSED", rated=True) == "rate.not_yours"


def test_first_unsatisfied_reopens_the_second_goes_to_review():
    assert r.after_unsatisfied(1) == Status.REOPENED
    assert r.after_unsatisfied(2) == Status.REVIEW
    assert r.after_unsatisfied(3) == Status.REVIEW
    with pytest.raises(ValueError):
        r.after_unsatisfied(0)


def nc(status="RESOLVED", round_=None, closed_at=None, close_reason=None, resolved_at=T0, responded=False):
    return r.next_check(status=status, resolved_at=resolved_at, closed_at=closed_at, close_reason=close_reason,
                        round_=round_, public_response_done=responded, timers=TIMERS)


def test_no_answer_reminder_then_close():
    assert nc(round_=r.RoundClock(asked_at=T0)) == T0 + timedelta(days=2)
    reminded = r.RoundClock(asked_at=T0, reminded_at=T0 + timedelta(days=2))
    assert nc(round_=reminded) == T0 + timedelta(days=7)
    # Without a round row (a ticket resolved before this feature), resolved_at is the start.
    assert nc(round_=None) == T0 + timedelta(days=2)
    assert nc(round_=None, resolved_at=None) is None


def test_working_day_timers_use_the_calendar():
    cal = WorkCalendar.from_org({}, "Asia/Shanghai")
    timers = r.Timers(parse_duration("1 working day"), parse_duration("3 working days"), cal)
    friday = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
    when = r.next_check(status="RESOLVED", resolved_at=friday, closed_at=None, close_reason=None,
                        round_=None, public_response_done=False, timers=timers)
    assert when.astimezone(cal.tz).date().isoformat() == "2026-11-30"  # the next Monday


def test_waiting_for_a_reason_is_short():
    assert nc(round_=r.RoundClock(asked_at=T0, reason_asked_at=T0)) == T0 + r.REASON_WAIT


def test_closed_tickets_wait_for_the_public_response_once():
    assert nc("CLOSED", closed_at=T0, close_reason="satisfied") == T0
    assert nc("CLOSED", closed_at=T0, close_reason="not_rated") == T0
    assert nc("CLOSED", closed_at=T0, close_reason="explained") == T0
    assert nc("CLOSED", closed_at=T0, close_reason="rejected") is None
    assert nc("CLOSED", responded=True, closed_at=T0, close_reason="satisfied") is None
    assert nc("REOPENED") is None and nc("REVIEW") is None


def due(now, **kw):
    kw.setdefault("status", "RESOLVED")
    return r.due_action(now=now, resolved_at=kw.pop("resolved_at", T0), closed_at=kw.pop("closed_at", None),
                        close_reason=kw.pop("close_reason", None), round_=kw.pop("round_", None),
                        public_response_done=False, timers=TIMERS, **kw)


def test_due_actions():
    asked = r.RoundClock(asked_at=T0)
    assert due(T0 + timedelta(days=1), round_=asked) is None
    assert due(T0 + timedelta(days=2), round_=asked) == "remind"
    reminded = r.RoundClock(asked_at=T0, reminded_at=T0 + timedelta(days=2))
    assert due(T0 + timedelta(days=3), round_=reminded) is None
    assert due(T0 + timedelta(days=7), round_=reminded) == "close_unrated"
    waiting = r.RoundClock(asked_at=T0, reason_asked_at=T0)
    assert due(T0 + timedelta(minutes=5), round_=waiting) is None
    assert due(T0 + timedelta(hours=2), round_=waiting) == "reason_timeout"
    assert due(T0, status="CLOSED", closed_at=T0, close_reason="satisfied") == "public_response"
    assert due(T0 + timedelta(days=30), status="ACCEPTED") is None


def test_a_close_window_shorter_than_the_reminder_still_reminds_once_first():
    timers = r.Timers(parse_duration("3 d"), parse_duration("1 d"))
    args = dict(status="RESOLVED", resolved_at=T0, closed_at=None, close_reason=None, timers=timers,
                public_response_done=False)
    assert r.due_action(now=T0 + timedelta(days=3), round_=r.RoundClock(asked_at=T0), **args) == "remind"
    reminded = r.RoundClock(asked_at=T0, reminded_at=T0 + timedelta(days=3))
    assert r.due_action(now=T0 + timedelta(days=3), round_=reminded, **args) == "close_unrated"


def test_scrub_masks_phone_and_id_numbers():
    text = "已联系13812345678和0571-87654321，身份证330102199001011234已核实，共清运3车"
    out = r.scrub(text)
    assert "13812345678" not in out and "1381234" not in out
    assert "87654321" not in out and "330102199001011234" not in out
    assert "共清运3车" in out


def test_clip():
    assert r.clip("  a   b ") == "a b"
    assert r.clip("x" * 200, 10) == "x" * 9 + "…"


def test_scrub_masks_phone_numbers_as_people_write_them():
    written = ["138-1234-5678", "138 1234 5678", "+8613812345678", "+86 138 1234 5678", "008613812345678"]
    assert [r.scrub(f"电话{w}") for w in written] == [
        "电话138****5678", "电话138****5678", "电话+86138****5678", "电话+86 138****5678", "电话0086138****5678"]
    assert r.scrub("订单号2013812345678901") == "订单号2013812345678901"  # a longer number is no phone


def test_scrub_masks_e_mail_and_full_width_numbers():
    assert r.scrub("联系人王师傅13900001111，邮箱wang.li+x@mail.example.com") == \
        "联系人*师傅139****1111，邮箱***@mail.example.com"
    assert r.scrub("号码：１３８１２３４５６７８") == "号码：138****5678"
    assert r.scrub("身份证３３０１０２１９９００１０１１２３４") == "身份证******************"
    assert r.scrub("已处理，见 @物业 群公告") == "已处理，见 @物业 群公告"


def test_a_phone_number_at_the_cut_is_masked_before_it_is_cut():
    text = "x" * 190 + "电话13812345678"
    shown = r.public_result(text)
    assert "1234" not in shown and "138****" in shown


def test_scrub_masks_a_homes_flat_and_a_titled_surname_but_not_counts_or_dates():
    cases = {
        "已联系3号楼2单元502室王先生，问题已处理": "已联系3号楼2单元***室*先生，问题已处理",
        "3栋502的李阿姨反映的噪音已处理": "3栋***的*阿姨反映的噪音已处理",
        "502室漏水已修复": "***室漏水已修复",
        "3-2-502住户已回访": "3-2-***住户已回访",
        "12号楼 1单元 1201 张女士": "12号楼 1单元 *** *女士",
        # What stays: the building (where the matter is), counts, dates, titles without a surname.
        "幸福花园3号楼下垃圾已清运": "幸福花园3号楼下垃圾已清运",
        "3号楼120袋垃圾已清运，20户已回访": "3号楼120袋垃圾已清运，20户已回访",
        "2026-11-30已清运3车": "2026-11-30已清运3车",
        "物业师傅已到场，各位老师辛苦": "物业师傅已到场，各位老师辛苦",
    }
    assert {text: r.scrub(text) for text in cases} == cases


def test_scrub_masks_the_names_the_bot_knows_the_reporter_by_and_nothing_around_them():
    names = ["桂英 张", "张桂英", "@wang_li", "Li Ming", "138"]
    assert r.scrub("已通知@wang_li和物业，已联系wang_li处理；张桂英满意", names) == "已通知@***和物业，已联系@***处理；张**满意"
    assert r.scrub("Lift and Light fixed for Li Ming", names) == "Lift and Light fixed for L******"
    assert r.scrub("电话13812345678", names) == "电话138****5678"  # a name of digits never breaks a number's mask
    # Compound surnames with a title, only where no word runs into them.
    assert r.scrub("物业公司马师傅、家长孙老师、欧阳女士") == "物业公司*师傅、家长*老师、**女士"
