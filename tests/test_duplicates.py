"""The duplicate suggester: words, places, windows — and its score on the labelled sets."""
from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.domain.duplicates import Matter, Policy, building, distance_m, suggest

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=timezone.utc)


def m(i: int, text: str, *, hours: float = 0, loc: tuple[float, float] | None = None,
      closed_hours: float | None = None, area: str = "gangkou", category: str = "市容环卫") -> Matter:
    return Matter(id=i, code=f"#2026-{i:06d}", text=text, created_at=T0 + timedelta(hours=hours), area=area,
                  category=category, latitude=loc[0] if loc else None, longitude=loc[1] if loc else None,
                  closed_at=None if closed_hours is None else T0 + timedelta(hours=closed_hours))


FIRST = m(1, "幸福花园3号楼下面的垃圾桶满了好几天了，一直没人来清运，天一热臭得不行", loc=(22.50102, 113.90105))


def test_the_same_bins_told_again_are_suggested_with_the_reason() -> None:
    new = m(2, "3栋楼下垃圾桶都溢出来了，苍蝇到处飞", hours=2, loc=(22.50110, 113.90118))
    [s] = suggest(new, [FIRST])
    assert (s.ticket_id, s.code, s.same_building, s.closed) == (1, "#2026-000001", "3", False)
    assert s.distance_m == 16
    assert "垃圾桶" in s.shared_words
    assert s.age == timedelta(hours=2)


def test_another_building_or_a_far_place_rules_a_pair_out() -> None:
    assert suggest(m(2, "7栋楼下的垃圾桶满了好几天没人清运", hours=1), [FIRST]) == []
    far = m(3, "垃圾桶满了好几天了没人清运，臭得不行", hours=1, loc=(22.5063, 113.9084))  # ~900 m away
    assert suggest(far, [FIRST]) == []


def test_other_area_category_or_window_are_no_candidates() -> None:
    same = "3号楼下面的垃圾桶满了没人清运"
    assert suggest(m(2, same, hours=1, area="xinhe"), [FIRST]) == []
    assert suggest(m(2, same, hours=1, category="供水排水"), [FIRST]) == []
    assert suggest(m(2, same, hours=15 * 24), [FIRST]) == []  # open, but filed 15 days before
    old_closed = m(5, FIRST.text, closed_hours=24)
    assert suggest(m(2, same, hours=24 + 8 * 24), [old_closed]) == []  # closed 8 days before
    [s] = suggest(m(2, same, hours=24 + 6 * 24), [old_closed])  # closed 6 days before: a repeat
    assert s.closed is True


def test_best_first_and_limited() -> None:
    olds = [m(i, f"3号楼垃圾桶满了没人清运 {'臭' * i}", hours=i) for i in range(1, 6)]
    new = m(9, "3号楼下面垃圾桶满了，没人清运", hours=10)
    got = suggest(new, olds, Policy(limit=2))
    assert len(got) == 2
    assert got[0].score >= got[1].score


def test_buildings_and_distance() -> None:
    assert building("幸福花园3号楼下面") == "3"
    assert building("三栋门口") == "3"
    assert building("十二栋厨房") == "12"
    assert building("The bins at Block 3") == "3"
    assert building("3栋和5栋之间") is None  # two buildings: no single place
    assert building("小区门口") is None
    assert round(distance_m(22.5, 113.9, 22.5009, 113.9)) == 100


def test_score_on_the_labelled_sets_does_not_regress() -> None:
    spec = importlib.util.spec_from_file_location("bench_duplicates", ROOT / "bench/duplicates.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up
    spec.loader.exec_module(bench)
    ours, _ = bench.evaluate(bench.load(ROOT / "tests/data/duplicates.yaml"), Policy())
    assert (ours.tp, ours.fp, ours.fn) == (33, 0, 5)
    held, _ = bench.evaluate(bench.load(ROOT / "tests/data/duplicates_holdout.yaml"), Policy())
    assert (held.tp, held.fp, held.fn) == (6, 0, 4)
