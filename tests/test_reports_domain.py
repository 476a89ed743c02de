"""督/考 domain: periods, the three rates, the ranking, the 通报 timetable — exact values."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from bot.domain.calendar import WorkCalendar
from bot.domain.periods import Period, PeriodError, PeriodKind, choose, last_complete, parse
from bot.domain.ranking import Weights, bottom_two, rank, score
from bot.domain.rates import (
    CardFact,
    DispatchFact,
    Figures,
    RatingFact,
    ReopenFact,
    clock_outcome,
    department_figures,
    overall,
    worst_overdue,
)
from bot.domain.report import build, bulletin_due_at, bulletins_due
from bot.i18n import Translator

TZ = ZoneInfo("Asia/Shanghai")
M, Q, H, Y = PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.HALF, PeriodKind.YEAR


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ).astimezone(timezone.utc)


# -- periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize("token, expected", [
    ("2026-11", Period(2026, M, 11)), ("2026-1", Period(2026, M, 1)), ("2026-Q4", Period(2026, Q, 4)),
    ("2026-q1", Period(2026, Q, 1)), ("2026-H2", Period(2026, H, 2)), ("2026-h1", Period(2026, H, 1)),
    ("2026", Period(2026, Y)), (" 2026-11 ", Period(2026, M, 11)),
    ("2026-13", None), ("2026-Q5", None), ("2026-H3", None), ("26-11", None), ("2026-11-01", None),
    ("month", None), ("", None), ("2026-00", None),
])
def test_parse(token: str, expected: Period | None) -> None:
    assert parse(token) == expected


def test_keys_and_bounds_are_local_midnights() -> None:
    assert [Period(2026, M, 3).key, Period(2026, Q, 4).key, Period(2026, H, 2).key, Period(2026, Y).key] == \
        ["2026-03", "2026-Q4", "2026-H2", "2026"]
    assert Period(2026, M, 11).bounds(TZ) == (datetime(2026, 10, 31, 16, tzinfo=timezone.utc),
                                              datetime(2026, 11, 30, 16, tzinfo=timezone.utc))
    assert Period(2026, Q, 4).bounds(TZ) == (datetime(2026, 9, 30, 16, tzinfo=timezone.utc),
                                             datetime(2026, 12, 31, 16, tzinfo=timezone.utc))
    assert Period(2026, H, 1).bounds(TZ) == (datetime(2025, 12, 31, 16, tzinfo=timezone.utc),
                                             datetime(2026, 6, 30, 16, tzinfo=timezone.utc))
    assert Period(2026, Y).bounds(TZ)[1] == datetime(2026, 12, 31, 16, tzinfo=timezone.utc)
    assert [p.key for p in Period(2026, Q, 2).months()] == ["2026-04", "2026-05", "2026-06"]


def test_last_complete_follows_the_local_calendar() -> None:
    # 2026-12-01 07:00 local is still 2026-11-30 in UTC: the local date decides.
    now = local(2026, 12, 1, 7)
    assert last_complete(now, TZ) == Period(2026, M, 11)
    assert last_complete(local(2026, 11, 30, 23, 59), TZ) == Period(2026, M, 10)
    assert last_complete(local(2027, 1, 5), TZ, Q) == Period(2026, Q, 4)
    assert last_complete(local(2027, 1, 5), TZ, H) == Period(2026, H, 2)
    assert last_complete(local(2027, 1, 5), TZ, Y) == Period(2026, Y)
    assert last_complete(local(2026, 8, 5), TZ, H) == Period(2026, H, 1)
    assert last_complete(local(2026, 1, 5), TZ) == Period(2025, M, 12)


FIRST = local(2026, 3, 2, 10)  # the first ticket
NOW = local(2026, 11, 26, 18)


def test_choose_defaults_and_words() -> None:
    c = dict(now=NOW, tz=TZ, first_ticket_at=FIRST)
    assert choose([], **c) == Period(2026, M, 10)
    assert choose(["month"], **c) == Period(2026, M, 10)
    assert choose(["quarter"], **c) == Period(2026, Q, 3)
    assert choose(["half"], **c) == Period(2026, H, 1)
    assert choose(["2026-11"], **c) == Period(2026, M, 11)  # the current month, to date
    assert choose(["quarter", "2026-Q4"], **c) == Period(2026, Q, 4)
    assert choose(["2026-Q2", "quarter"], **c) == Period(2026, Q, 2)
    assert choose(["2026-03"], **c) == Period(2026, M, 3)


def test_nothing_named_in_the_first_month_is_the_month_so_far() -> None:
    first = local(2026, 11, 3, 9)
    assert choose([], now=NOW, tz=TZ, first_ticket_at=first) == Period(2026, M, 11)
    with pytest.raises(PeriodError) as err:  # a month named is that month, and refused
        choose(["month"], now=NOW, tz=TZ, first_ticket_at=first)
    assert (err.value.code, err.value.params) == ("period.before_first", {"period": "2026-10", "first": "2026-11-03"})


@pytest.mark.parametrize("args, code, params", [
    (["weekly"], "period.unknown", {"given": "weekly"}),
    (["2026-13"], "period.unknown", {"given": "2026-13"}),
    (["month", "2026-11", "x"], "period.unknown", {"given": "month 2026-11 x"}),
    (["2026-11", "2026-10"], "period.unknown", {"given": "2026-10"}),
    (["quarter", "2026-11"], "period.kind_mismatch.quarter", {"given": "2026-11"}),
    (["2026-12"], "period.future", {"period": "2026-12"}),
    (["2027"], "period.future", {"period": "2027"}),
    (["2026-02"], "period.before_first", {"period": "2026-02", "first": "2026-03-02"}),
    (["year"], "period.before_first", {"period": "2025", "first": "2026-03-02"}),
])
def test_choose_refuses_with_a_clear_key(args: list[str], code: str, params: dict) -> None:
    with pytest.raises(PeriodError) as err:
        choose(args, now=NOW, tz=TZ, first_ticket_at=FIRST)
    assert err.value.code == code
    assert {k: err.value.params[k] for k in params} == params
    if code in ("period.unknown", "period.kind_mismatch.quarter"):
        assert err.value.params["examples"] == "2026-11, 2026-Q4, 2026-H2, 2026"


def test_a_kind_mismatch_names_the_kind_in_the_readers_language() -> None:
    with pytest.raises(PeriodError) as err:
        choose(["quarter", "2026-11"], now=NOW, tz=TZ, first_ticket_at=FIRST)
    assert Translator("zh_CN")(err.value.code, **err.value.params) == (
        "2026-11 不是一个季度。时段写法：2026-11, 2026-Q4, 2026-H2, 2026（月 / 季度 Q / 半年 H / 年）。")


def test_choose_without_tickets() -> None:
    with pytest.raises(PeriodError) as err:
        choose([], now=NOW, tz=TZ, first_ticket_at=None)
    assert err.value.code == "period.no_tickets"


# -- the 通报 timetable ------------------------------------------------------------------------


def test_bulletin_times_follow_working_days() -> None:
    cal = WorkCalendar.from_org({"2027-01-01": "off"}, "Asia/Shanghai")
    assert bulletin_due_at(Period(2026, M, 11), cal) == local(2026, 12, 1, 9)  # a Tuesday
    assert bulletin_due_at(Period(2026, M, 9), cal) == local(2026, 10, 8, 9)  # after 国庆 (Oct 1-7 off)
    assert bulletin_due_at(Period(2026, M, 2), cal) == local(2026, 3, 2, 9)  # Mar 1 2026 is a Sunday
    # The latest complete period of each kind once its time has come (the job skips posted ones).
    assert bulletins_due(local(2026, 12, 1, 8, 59), cal) == [Period(2026, Q, 3), Period(2026, H, 1), Period(2025, Y)]
    assert bulletins_due(local(2026, 12, 1, 9), cal) == [
        Period(2026, M, 11), Period(2026, Q, 3), Period(2026, H, 1), Period(2025, Y)]
    assert bulletins_due(local(2026, 10, 5, 12), cal) == [Period(2026, H, 1), Period(2025, Y)]
    assert bulletins_due(local(2026, 10, 8, 9, 5), cal) == [
        Period(2026, M, 9), Period(2026, Q, 3), Period(2026, H, 1), Period(2025, Y)]
    # 2027-01-01 is off by the org file; the 4th (Monday) is the first working day.
    assert bulletins_due(local(2027, 1, 4, 9), cal) == [
        Period(2026, M, 12), Period(2026, Q, 4), Period(2026, H, 2), Period(2026, Y)]


# -- rates -------------------------------------------------------------------------------------

AS_OF = local(2026, 12, 1, 9)
START, END = Period(2026, M, 11).bounds(TZ)


def d(dept: str, code: str, disp: datetime, acc_due: datetime | None, acc: datetime | None = None,
      res_due: datetime | None = None, res: datetime | None = None, ret: datetime | None = None) -> DispatchFact:
    return DispatchFact(dept, code, disp, acc_due, acc, res_due, res, ret)


DISPATCHES = [
    # cgj: on time / late on both clocks / returned before the accept deadline / resolve clock running
    d("cgj", "2026-000001", local(2026, 11, 2, 10), local(2026, 11, 3, 10), local(2026, 11, 2, 11),
      local(2026, 11, 9, 10), local(2026, 11, 5, 10)),
    d("cgj", "2026-000002", local(2026, 11, 10, 10), local(2026, 11, 11, 10), local(2026, 11, 11, 12),
      local(2026, 11, 17, 10), local(2026, 11, 18, 10)),
    d("cgj", "2026-000003", local(2026, 11, 20, 10), local(2026, 11, 23, 10), ret=local(2026, 11, 20, 15)),
    d("cgj", "2026-000004", local(2026, 11, 28, 10), local(2026, 11, 30, 10), local(2026, 11, 28, 11),
      local(2026, 12, 7, 10)),
    # zjj: never accepted / on time / dispatched in October / returned after the accept deadline
    d("zjj", "2026-000101", local(2026, 11, 3, 10), local(2026, 11, 4, 10), res_due=local(2026, 11, 10, 10)),
    d("zjj", "2026-000102", local(2026, 11, 5, 10), local(2026, 11, 6, 10), local(2026, 11, 5, 12),
      local(2026, 11, 12, 10), local(2026, 11, 11, 10)),
    d("zjj", "2026-000103", local(2026, 10, 30, 10), local(2026, 10, 31, 10), local(2026, 11, 2, 10),
      local(2026, 11, 6, 10), local(2026, 11, 6, 11)),
    d("zjj", "2026-000104", local(2026, 11, 6, 10), local(2026, 11, 7, 10), res_due=local(2026, 11, 13, 10),
      ret=local(2026, 11, 8, 10)),
]
RATINGS = [
    RatingFact("cgj", local(2026, 11, 6), 4), RatingFact("cgj", local(2026, 11, 19), 3),
    RatingFact("cgj", local(2026, 11, 20), 1), RatingFact("cgj", local(2026, 11, 27), None),
    RatingFact("cgj", local(2026, 12, 1, 8), 4),  # after the period
    RatingFact("zjj", local(2026, 11, 12), 2), RatingFact("zjj", local(2026, 11, 13), 2),
    RatingFact("zjj", local(2026, 10, 31, 23, 59), 1),  # October, local time
]
CARDS = [CardFact("cgj", local(2026, 11, 12), "yellow"), CardFact("cgj", local(2026, 11, 18), "red"),
         CardFact("zjj", local(2026, 11, 4, 10), "yellow"), CardFact("zjj", local(2026, 10, 20), "red")]
REOPENS = [ReopenFact("cgj", local(2026, 11, 20, 1))]


def test_figures_follow_the_definitions_exactly() -> None:
    figs = department_figures(START, END, AS_OF, DISPATCHES, RATINGS, CARDS, REOPENS)
    cgj, zjj = figs["cgj"], figs["zjj"]
    assert (cgj.response_num, cgj.response_den, cgj.resolution_num, cgj.resolution_den) == (2, 3, 1, 2)
    assert (zjj.response_num, zjj.response_den, zjj.resolution_num, zjj.resolution_den) == (1, 3, 1, 2)
    assert cgj.response_rate == Fraction(2, 3) and zjj.resolution_rate == Fraction(1, 2)
    assert cgj.satisfaction_rate == Fraction(2, 3) and zjj.satisfaction_rate == Fraction(1)
    assert (cgj.dispatched, cgj.accepted, cgj.resolved, cgj.returned, cgj.overdue, cgj.reopened) == (4, 3, 2, 1, 1, 1)
    assert (zjj.dispatched, zjj.accepted, zjj.resolved, zjj.returned, zjj.overdue, zjj.reopened) == (3, 1, 1, 1, 2, 0)
    assert cgj.by_level == {4: 1, 3: 1, 2: 0, 1: 1} and cgj.not_rated == 1 and cgj.unsatisfied == 1
    assert zjj.by_level == {4: 0, 3: 0, 2: 2, 1: 0} and zjj.not_rated == 0
    assert (cgj.yellow, cgj.red, zjj.yellow, zjj.red) == (1, 1, 1, 0)
    assert cgj.avg_accept == timedelta(hours=28) / 3  # 1 h, 26 h, 1 h
    assert cgj.avg_resolve == (timedelta(days=3) + timedelta(days=8)) / 2
    assert zjj.avg_accept == timedelta(hours=2) and zjj.avg_resolve == timedelta(days=6)
    total = overall(figs)
    assert (total.response_rate, total.resolution_rate, total.satisfaction_rate) == \
        (Fraction(1, 2), Fraction(1, 2), Fraction(4, 5))
    assert (total.dispatched, total.accepted, total.resolved, total.returned, total.overdue) == (7, 4, 3, 2, 3)


def test_clock_outcomes() -> None:
    due = local(2026, 11, 3, 10)
    o = clock_outcome(due, due, None, AS_OF)  # exactly at the deadline is on time
    assert (o.counted, o.on_time, o.late_by) == (True, True, None)
    o = clock_outcome(due, due + timedelta(minutes=1), None, AS_OF)
    assert (o.counted, o.on_time, o.late_by) == (True, False, timedelta(minutes=1))
    o = clock_outcome(due, None, None, due - timedelta(seconds=1))  # still running
    assert (o.counted, o.on_time) == (False, False)
    o = clock_outcome(due, due + timedelta(hours=1), None, due + timedelta(minutes=30))  # done after as_of
    assert (o.counted, o.on_time, o.late_by) == (True, False, timedelta(minutes=30))


def test_an_as_of_before_the_end_counts_only_what_happened() -> None:
    as_of = local(2026, 11, 11, 11)  # cgj #2: accept deadline passed an hour ago, not yet accepted
    figs = department_figures(START, END, as_of, DISPATCHES, RATINGS, CARDS, REOPENS)
    assert (figs["cgj"].dispatched, figs["cgj"].response_num, figs["cgj"].response_den) == (2, 1, 2)
    assert figs["cgj"].resolution_den == 1 and figs["cgj"].by_level[3] == 0


def test_ranking_scores_and_order() -> None:
    figs = department_figures(START, END, AS_OF, DISPATCHES, RATINGS, CARDS, REOPENS)
    w = Weights.of()
    assert score(figs["cgj"], w) == 55  # 100·(0.2·2/3 + 0.4·1/2 + 0.4·2/3) − 5·1 red
    assert score(figs["zjj"], w) == Fraction(200, 3)
    places = rank(figs, ["sw", "cgj", "zjj"], w)
    assert [(p.dept, p.position) for p in places] == [("zjj", 1), ("cgj", 2), ("sw", None)]
    assert places[2].figures.dispatched == 0
    no_penalty = rank(figs, ["cgj", "zjj"], Weights.of(0.2, 0.4, 0.4, 0))
    assert [p.score for p in no_penalty] == [Fraction(200, 3), 60]


def test_missing_rates_drop_out_and_ties_keep_code_order() -> None:
    only_ratings = Figures()
    only_ratings.by_level[4] = 1
    assert score(only_ratings, Weights.of()) == 100  # nothing else to measure: satisfaction alone
    a, b = Figures(response_num=1, response_den=2), Figures(response_num=2, response_den=4)
    places = rank({"zz": a, "aa": b, "mm": Figures()}, ["mm"], Weights.of())
    assert [(p.dept, p.position, p.score) for p in places] == [("aa", 1, 50), ("zz", 2, 50), ("mm", None, None)]
    with pytest.raises(ValueError):
        Weights.of(0, 0, 0)
    with pytest.raises(ValueError):
        Weights.of(0.2, -0.1, 0.4)
    assert Weights.of(0.2, 0.4, 0.4, 5) == Weights()


def test_bottom_two_never_names_the_top() -> None:
    def places(n: int) -> list:
        figs = {f"d{i}": Figures(response_num=10 - i, response_den=10) for i in range(n)}
        return rank(figs, ["idle"], Weights.of())
    assert [p.dept for p in bottom_two(places(4))] == ["d2", "d3"]
    assert [p.dept for p in bottom_two(places(2))] == ["d1"]
    assert bottom_two(places(1)) == []


def test_worst_overdue() -> None:
    worst = worst_overdue(START, END, AS_OF, DISPATCHES)
    assert [(o.ticket_code, o.late_by, o.outcome) for o in worst] == [
        ("2026-000101", AS_OF - local(2026, 11, 4, 10), "unaccepted"),
        ("2026-000002", timedelta(days=1), "resolved"),
        ("2026-000104", timedelta(days=1), "returned"),
    ]
    # Named by the clock missed most: a late 签收 of a ticket resolved in time is no late 办结.
    late_accept = d("sw", "2026-000201", local(2026, 11, 23, 10), local(2026, 11, 23, 10, 30), local(2026, 11, 23, 12),
                    local(2026, 11, 24, 10), local(2026, 11, 23, 13))
    late_open = d("sw", "2026-000202", local(2026, 11, 2, 10), local(2026, 11, 3, 10), local(2026, 11, 2, 11),
                  local(2026, 11, 30, 10))
    assert [(o.ticket_code, o.late_by, o.outcome) for o in worst_overdue(START, END, AS_OF, [late_accept, late_open])] \
        == [("2026-000202", AS_OF - local(2026, 11, 30, 10), "open"),
            ("2026-000201", timedelta(hours=1, minutes=30), "accepted")]


def test_report_build_names_the_bottom_only_for_half_and_year() -> None:
    kw = dict(received=9, dispatches=DISPATCHES, ratings=RATINGS, cards=CARDS, reopens=REOPENS,
              departments=["cgj", "sw", "zjj"], weights=Weights.of())
    month = build(Period(2026, M, 11), TZ, AS_OF, **kw)
    assert month.complete and month.bottom == [] and [p.dept for p in month.ranked] == ["zjj", "cgj"]
    assert [p.dept for p in month.unranked] == ["sw"] and month.received == 9
    half = build(Period(2026, H, 2), TZ, local(2027, 1, 4, 9), **kw)
    # H2 adds October (zjj: a late dispatch, a 不满意, a red card) and December (cgj #4 now late, a 非常满意).
    assert [(p.dept, p.score) for p in half.ranked] == [("cgj", Fraction(155, 3)), ("zjj", 40)]
    assert [p.dept for p in half.bottom] == ["zjj"]
    to_date = build(Period(2026, M, 11), TZ, local(2026, 11, 26), **kw)
    assert not to_date.complete


def test_the_reports_key_of_the_org_file(tmp_path) -> None:
    from bot.org import OrgFileError, load_org

    good = tmp_path / "good.yaml"
    good.write_text("reports:\n  weights: {response: 0.5, resolution: 0.25, satisfaction: 0.25}\n"
                    "  red_card_penalty: 2\n", encoding="utf-8")
    spec = load_org(good).reports
    assert (spec.weights.response, spec.weights.resolution, spec.red_card_penalty, spec.unit) == (0.5, 0.25, 2.0, "")
    assert load_org(tmp_path / "good.yaml").reports.weights.satisfaction == 0.25
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n", encoding="utf-8")
    w = load_org(empty).reports
    assert (w.weights.response, w.weights.resolution, w.weights.satisfaction, w.red_card_penalty) == (0.2, 0.4, 0.4, 5.0)
    for body, words in (("reports: {weights: {response: -1}}", "must not be negative"),
                        ("reports: {weights: {response: 0, resolution: 0, satisfaction: 0}}", "at least one weight"),
                        ("reports: {weight: {}}", "reports.weight: unknown key")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(body + "\n", encoding="utf-8")
        with pytest.raises(OrgFileError) as err:
            load_org(bad)
        assert words in str(err.value) and "\n" not in str(err.value)
