"""Settings and the org file: what a deployment writes, and one clear line when it is wrong."""
from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.org import OrgFileError, load_org
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("given, expected", [
    ("postgresql://postgres@127.0.0.1/test", "postgresql+asyncpg://postgres@127.0.0.1/test"),
    ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
    ("sqlite:///./data/x.sqlite3", "sqlite+aiosqlite:///./data/x.sqlite3"),
    ("sqlite+aiosqlite:///x", "sqlite+aiosqlite:///x"),
])
def test_database_url_gets_the_async_driver(given, expected):
    assert Settings(DATABASE_URL=given).database_url == expected


def test_unknown_database_is_refused():
    with pytest.raises(ValidationError):
        Settings(DATABASE_URL="mysql://root@localhost/db")


def test_example_org_file_loads():
    org = load_org(ROOT / "config" / "org.example.yaml")
    assert org.timezone == "Asia/Shanghai" and org.areas and org.departments and org.catalog


@pytest.mark.parametrize("edit, words", [
    (lambda s: s.replace("timezone: Asia/Shanghai", "timezone: Mars/Olympus"), "timezone"),
    (lambda s: s.replace("lead: cgj", "lead: nosuch", 1), "nosuch"),
    (lambda s: s.replace("resolve: 5 working days", "resolve: five days", 1), "five days"),
    (lambda s: s.replace("- code: cgj", "- code: 'c:g'", 1), "code"),
    (lambda s: s + "\nmystery_key: 1\n", "mystery_key"),
    (lambda s: s.replace("areas:", "areas: [", 1), "YAML"),
])
def test_a_wrong_org_file_is_named_in_one_line(tmp_path, edit, words):
    text = (ROOT / "config" / "org.example.yaml").read_text(encoding="utf-8")
    path = tmp_path / "org.yaml"
    path.write_text(edit(text), encoding="utf-8")
    with pytest.raises(OrgFileError) as info:
        load_org(path)
    message = str(info.value)
    assert words in message and "\n" not in message
