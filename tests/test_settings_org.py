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
    (lambda s: s.replace("- code: zjj", "- code: cgj", 1), "departments: code 'cgj' is used twice"),
    (lambda s: s.replace("- code: xinhe", "- code: gangkou", 1), "areas: code 'gangkou' is used twice"),
])
def test_a_wrong_org_file_is_named_in_one_line(tmp_path, edit, words):
    text = (ROOT / "config" / "org.example.yaml").read_text(encoding="utf-8")
    path = tmp_path / "org.yaml"
    path.write_text(edit(text), encoding="utf-8")
    with pytest.raises(OrgFileError) as info:
        load_org(path)
    message = str(info.value)
    assert words in message and "\n" not in message


def test_areas_may_give_bounds_and_the_dispatch_desk_a_roster():
    org = load_org(ROOT / "config" / "org.example.yaml")
    assert [len(a.bounds or []) for a in org.areas] == [4, 2, 2]
    assert [(s.user, s.weekdays) for s in org.dispatch.duty] == [(40001, [0, 1, 2, 3]), (40002, [4, 5, 6])]


BOX = "    bounds: [[22.500, 114.000], [22.530, 114.040]]"


@pytest.mark.parametrize("bounds, expected", [
    ("    bounds: [[22.5, 114.0]]", "areas.1.bounds: give two opposite corners"),
    ("    bounds: [[22.5, 114.0], [22.5, 114.1]]", "areas.1.bounds: the two corners of a box must differ"),
    ("    bounds: [[95, 114.0], [22.5, 114.1]]", "areas.1.bounds: [95.0, 114.0] is not a [latitude, longitude] pair"),
    ("    bounds: [[22.5, 114.0], [22.6, 114.1], [22.7, 114.2]]", "areas.1.bounds: the polygon's points lie on one line"),
    ("    bounds: [[22.5, 114.0, 3], [22.6, 114.1]]", "areas.1.bounds.0"),
])
def test_wrong_bounds_are_named_in_one_line(tmp_path, bounds, expected):
    text = (ROOT / "config" / "org.example.yaml").read_text(encoding="utf-8")
    assert BOX in text
    path = tmp_path / "org.yaml"
    path.write_text(text.replace(BOX, bounds), encoding="utf-8")
    with pytest.raises(OrgFileError) as info:
        load_org(path)
    assert expected in str(info.value) and "\n" not in str(info.value), str(info.value)


@pytest.mark.parametrize("world", [{"HUYING_TIMEZONE": "Asia/Urumqi"}], indirect=True)
async def test_huying_timezone_is_the_offices_time_over_the_org_files(world):
    """It was read and then ignored: the calendar, the local times and the scheduler kept the file's."""
    from zoneinfo import ZoneInfo

    assert world.app.org.timezone == "Asia/Urumqi"
    assert world.app.tz == ZoneInfo("Asia/Urumqi") and world.app.calendar.tz == ZoneInfo("Asia/Urumqi")
    from scheduler.setup import start_scheduler
    scheduler = start_scheduler(world.app, world.bot, "tz-test")
    try:
        assert str(scheduler.timezone) == "Asia/Urumqi"
    finally:
        scheduler.shutdown(wait=False)


def test_a_polling_deployments_leftover_secret_and_locale_spellings_still_start():
    # The webhook secret is Telegram's rule only when a webhook sends it; zh.UTF-8 meant zh before.
    assert Settings(WEBHOOK_SECRET="old secret!").webhook_secret == "old secret!"
    assert Settings(HUYING_LOCALE="zh.UTF-8").default_locale == "zh.UTF-8"
    with pytest.raises(ValidationError):
        Settings(WEBHOOK_URL="https://desk.example.org/telegram/webhook", WEBHOOK_SECRET="old secret!")
    with pytest.raises(ValidationError):
        Settings(HUYING_LOCALE="fr")
