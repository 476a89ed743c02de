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


SOURCES = [p for layer in ("bot", "handlers", "scheduler", "web", "storage")
           for p in (LOCALES.parent / layer).rglob("*") if p.suffix in (".py", ".html")]


def unused(catalogue: list[str], source: str) -> list[str]:
    """Keys no code names: neither written out nor under a prefix the code completes
    (`f"status.{…}"`, `'event.' ~ kind` in a template, `key + "_group"`, `f"{key}.title"`)."""
    prefixes = set(re.findall(r'f"([a-z_]+\.[a-z_.]*)\{', source))
    prefixes |= set(re.findall(r"'([a-z_]+\.[a-z_.]*)' ~", source))
    suffixed = set(re.findall(r'key \+ "(_[a-z]+)"', source)) | set(re.findall(r'f"\{key\}(\.[a-z]+)"', source))
    def named(k: str) -> bool:
        return (f'"{k}"' in source or f"'{k}'" in source or k.startswith(tuple(prefixes))
                or any(k.endswith(s) and named(k[: -len(s)]) for s in suffixed))
    return [k for k in catalogue if not named(k)]


def test_the_rule_finds_a_key_no_code_names():
    source = 'tr("a.b"); tr(f"status.{s}"); key + "_group"; x = "rate.ask"; f"{key}.title"; ("c.gone")'
    assert unused(["a.b", "status.NEW", "rate.ask_group", "c.gone.title", "report.usage"], source) == ["report.usage"]


def test_no_key_is_left_that_no_code_shows():
    # A text nobody sees is a text nobody keeps right: `report.usage` promised a usage line
    # /report never printed.
    source = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)
    assert unused(keys("zh_CN"), source) == []
