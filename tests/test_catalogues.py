"""The message catalogues: Chinese first, English second, the same keys in both, each key once
(a key written twice compiles silently, and one of the two texts is never shown)."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

LOCALES = Path(__file__).resolve().parent.parent / "locales"


def keys(lang: str) -> list[str]:
    text = (LOCALES / lang / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    return [k for k in re.findall(r'^msgid "(.*)"$', text, re.M) if k]


def test_the_rule_finds_a_key_written_twice():
    assert [k for k, n in Counter(["a", "b", "a"]).items() if n > 1] == ["a"]


def test_each_key_once_and_the_same_keys_in_both_languages():
    zh, en = keys("zh_CN"), keys("en")
    assert [k for k, n in Counter(zh).items() if n > 1] == []
    assert [k for k, n in Counter(en).items() if n > 1] == []
    assert sorted(set(zh) ^ set(en)) == []
