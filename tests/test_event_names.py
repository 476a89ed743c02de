"""Every kind of event the code writes has a name in both catalogues: the console's history and
/ticket show `event.<kind>`, and a leader who took a ticket hears each step by that name. A kind
without one showed its raw key (`event.taken`) to the people reading the history."""
from __future__ import annotations

import re
from pathlib import Path

from tests.test_catalogues import keys

ROOT = Path(__file__).resolve().parent.parent
WRITES = re.compile(r'add_event\([^,()]+,[^,()]+,\s*"([a-z_]+)"|\bevent="([a-z_]+)"')


def kinds_written() -> set[str]:
    found: set[str] = set()
    for layer in ("bot", "handlers", "scheduler", "web", "storage"):
        for path in (ROOT / layer).rglob("*.py"):
            for a, b in WRITES.findall(path.read_text(encoding="utf-8")):
                found.add(a or b)
    return found


def test_the_scan_finds_the_kinds_written_both_ways():
    kinds = kinds_written()
    assert {"created", "taken", "dispatched", "closed_answered"} <= kinds


def test_each_kind_written_has_a_name_in_both_languages():
    kinds = kinds_written()
    for lang in ("zh_CN", "en"):
        named = set(keys(lang))
        assert sorted(k for k in kinds if f"event.{k}" not in named) == [], lang


def test_a_leader_hears_each_step_by_name_not_by_key():
    """领导包案: the step sentence where one is written, else the history's name, never a raw key
    (before, `rated_unsatisfied` reached the leader as the bare word)."""
    from bot.i18n import Translator
    from bot.services.leader_notes import _step_name

    zh = Translator("zh_CN")
    assert _step_name(zh, "accepted") == zh("case.event.accepted")
    assert _step_name(zh, "rated_unsatisfied") == "诉求人评价不满意"
    assert _step_name(Translator("en"), "taken") == "taken by a leader"
    for kind in kinds_written():
        assert "event." not in _step_name(zh, kind) and _step_name(zh, kind) != kind, kind
