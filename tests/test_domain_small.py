"""Pure domain pieces: lifecycle rules, intake triggers, codes, typed dates, areas' bounds (flood pacing: test_flood_gate.py)."""
from __future__ import annotations

from datetime import date

import pytest

from bot.domain.areas import area_at, contains, problem
from bot.domain.codes import display, make_code, parse_code
from bot.domain.dates import find_date, strip_date
from bot.domain.intake import MessageFacts, decide, summary
from bot.domain.lifecycle import RULES, Actor, Forbidden, NotAllowed, Status, authorise


class TestLifecycle:
    def test_dispatcher_dispatches_from_triage(self):
        assert authorise("dispatch", "TRIAGE", {Actor.DISPATCHER}) is Status.DISPATCHED

    def test_reporter_cannot_dispatch(self):
        with pytest.raises(Forbidden):
            authorise("dispatch", "TRIAGE", {Actor.REPORTER})

    def test_stale_accept_is_not_allowed(self):
        with pytest.raises(NotAllowed):
            authorise("accept", "ACCEPTED", {Actor.HANDLER})

    @pytest.mark.parametrize("action", sorted(RULES))
    def test_every_action_refuses_final_states(self, action):
        for status in (Status.CLOSED, Status.MERGED, Status.REJECTED, Status.DIVERTED):
            with pytest.raises(NotAllowed):
                authorise(action, status, {Actor.SYSTEM})

    def test_handler_may_not_rate_or_decide_extensions(self):
        with pytest.raises(Forbidden):
            authorise("rate", "RESOLVED", {Actor.HANDLER, Actor.OWNER})
        with pytest.raises(Forbidden):
            authorise("decide_extension", "ACCEPTED", {Actor.HANDLER, Actor.OWNER})


class TestIntake:
    bot = "huying_bot"

    def test_plain_group_chatter_is_ignored(self):
        assert decide(MessageFacts(text="大家好"), self.bot, community=True).action == "ignore"

    def test_command_with_text_is_an_appeal(self):
        d = decide(MessageFacts(text="/appeal 路灯坏了", command="appeal", command_args="路灯坏了"), self.bot,
                   community=True)
        assert (d.action, d.text) == ("appeal", "路灯坏了")

    def test_empty_command_is_empty_unless_it_has_a_photo(self):
        assert decide(MessageFacts(command="appeal"), self.bot, community=True).action == "empty"
        assert decide(MessageFacts(command="appeal", has_photos=True), self.bot, community=True).action == "appeal"

    def test_mention_is_stripped_and_hashtag_sets_kind(self):
        d = decide(MessageFacts(text="@huying_bot #投诉 噪音扰民", mentions_bot=True, hashtags=("#投诉",)), self.bot,
                   community=True)
        assert d.text == "噪音扰民" and d.kind == "complaint"

    def test_forward_counts_only_from_volunteers(self):
        f = MessageFacts(text="水管漏水", is_forward=True, sender_is_volunteer=False)
        assert decide(f, self.bot, community=True).action == "ignore"
        f = MessageFacts(text="水管漏水", is_forward=True, sender_is_volunteer=True)
        assert decide(f, self.bot, community=True).on_behalf

    def test_summary_keeps_short_text_and_cuts_long(self):
        assert summary("短") == "短"
        long = "长" * 5000
        assert len(summary(long)) == 120 and summary(long).endswith("…")


class TestCodes:
    def test_round_trip(self):
        assert display(make_code(2026, 123)) == "#2026-000123"
        assert parse_code("#2026-000123") == parse_code("2026-123") == "2026-000123"
        assert parse_code("hello") is None


class TestDates:
    today = date(2026, 11, 23)

    @pytest.mark.parametrize("text, expected", [
        ("需要协调 2026-12-05", date(2026, 12, 5)),
        ("12月5日前完成", date(2026, 12, 5)),
        ("延到 1/10", date(2027, 1, 10)),
        ("2026年12月31日", date(2026, 12, 31)),
        ("没有日期", None),
        ("2026-13-45", None),
        ("3-5栋需统一协调清运车辆，申请延期至12月4日", date(2026, 12, 4)),  # buildings, then the date
        ("6-8号楼 延期到 12/20", date(2026, 12, 20)),
        ("先清 1/5 的量，延期到 12/20", date(2026, 12, 20)),  # the one introduced by 到
        ("延期至12/20，需要3-5天施工", date(2026, 12, 20)),  # amounts and spans are no dates
        ("延期至12/20，预计1.5万元", date(2026, 12, 20)),
        ("延期到12.20 因为2/3的住户不在", date(2026, 12, 20)),
        ("12/20前完成，材料3-5号到货", date(2026, 12, 20)),  # no word says which: the first
        ("居民11月3日反映，申请延期至12月24日", date(2026, 12, 24)),
    ])
    def test_find_date(self, text, expected):
        assert find_date(text, self.today) == expected

    def test_strip_date_keeps_the_reason(self):
        assert strip_date("需要协调施工队 2026-12-05") == "需要协调施工队"
        assert strip_date("3-5栋需统一协调，延期至12月4日") == "3-5栋需统一协调，延期至"
        assert strip_date("12月24日层层落实") == "层层落实"



class TestAreas:
    """Which area a shared location lies in (org file `areas[].bounds`)."""

    BOX = [[22.50, 114.00], [22.53, 114.04]]
    # A concave polygon: an L with its notch in the north-east.
    L = [[0, 0], [0, 4], [2, 4], [2, 2], [4, 2], [4, 0]]

    def test_a_box_holds_its_inside_and_its_edge_whatever_the_corner_order(self):
        for box in (self.BOX, self.BOX[::-1], [[22.50, 114.04], [22.53, 114.00]]):
            assert contains(box, 22.515, 114.02) and contains(box, 22.50, 114.00)
            assert not contains(box, 22.54, 114.02) and not contains(box, 22.515, 114.05)

    def test_a_concave_polygon(self):
        assert contains(self.L, 1, 1) and contains(self.L, 1, 3) and contains(self.L, 3, 1)
        assert not contains(self.L, 3, 3)  # the notch
        assert contains(self.L, 2, 3) and contains(self.L, 0, 0)  # on the edge, at a corner
        assert contains(self.L[::-1], 1, 3) and not contains(self.L[::-1], 3, 3)

    def test_the_first_area_listed_that_holds_the_point_wins(self):
        inner, outer = [[1, 1], [2, 2]], [[0, 0], [4, 4]]
        assert area_at([("a", None), ("b", inner), ("c", outer)], 1.5, 1.5) == "b"
        assert area_at([("c", outer), ("b", inner)], 1.5, 1.5) == "c"
        assert area_at([("b", inner)], 3, 3) is None

    @pytest.mark.parametrize("points, why", [
        ([[1, 1]], "give two opposite corners"),
        ([[1, 1], [1, 2]], "must differ"),
        ([[0, 0], [1, 1], [2, 2]], "one line"),
        ([[0, 200], [1, 1]], "not a [latitude, longitude] pair"),
    ])
    def test_unusable_bounds_say_why(self, points, why):
        assert why in (problem(points) or "")
        assert problem(self.L) is None and problem(self.BOX) is None
