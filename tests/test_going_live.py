"""Going live as a district does it: `python -m bot run` and `python -m bot check` as real processes
against the sandbox — one-line errors with exit code 2, and the doctor's table."""
from __future__ import annotations

import asyncio
import socket

import pytest

from bot.sandbox import TelegramSandbox
from tests.harness import (
    CGJ_CHAT, COMMUNITY, COMMUNITY_2, DATA, DISPATCH_CHAT, LEADERS_CHAT, SW_CHAT, TOKEN, ZJJ_CHAT, fresh_database,
    populate,
)
from tests.test_entrypoint import run_cli

BOT_ID = int(TOKEN.split(":")[0])


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once the socket is closed


async def one_line_failure(env: dict[str, str], *args: str) -> str:
    proc = await run_cli({"LOG_LEVEL": "INFO", **env}, *(args or ("run",)))
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2, err.decode()
    assert len(lines) == 1, err.decode()
    assert "Unclosed" not in err.decode() and "Traceback" not in err.decode()
    return lines[0]


async def test_a_rejected_token_is_one_line_and_exit_2(tmp_path):
    async with TelegramSandbox(bot_token=TOKEN) as sb:
        line = await one_line_failure({"BOT_TOKEN": "654321:REVOKED", "TELEGRAM_API_URL": sb.base_url,
                                       "DATABASE_URL": await fresh_database(tmp_path),
                                       "HUYING_ORG_FILE": str(DATA / "org.yaml")})
    assert line == "huying: BOT_TOKEN was rejected by Telegram (401 Unauthorized): " \
                   "copy the current token from @BotFather (/token)"


async def test_an_unreachable_bot_api_is_one_line_and_exit_2(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    line = await one_line_failure({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": url,
                                   "DATABASE_URL": await fresh_database(tmp_path),
                                   "HUYING_ORG_FILE": str(DATA / "org.yaml")})
    assert line.startswith(f"huying: TELEGRAM_API_URL {url}: cannot reach the Bot API (")


@pytest.mark.parametrize("make_url", [
    lambda tmp: f"sqlite+aiosqlite:///{tmp / 'a-file'}/huying.sqlite3",
    lambda tmp: f"postgresql+asyncpg://huying:secret@127.0.0.1:{closed_port()}/huying",
], ids=["sqlite-under-a-file", "postgres-nobody-listening"])
async def test_a_database_that_cannot_be_opened_is_one_line_and_exit_2(tmp_path, make_url):
    (tmp_path / "a-file").write_text("not a directory")
    url = make_url(tmp_path)
    async with TelegramSandbox(bot_token=TOKEN) as sb:
        line = await one_line_failure({"BOT_TOKEN": TOKEN, "DATABASE_URL": url, "TELEGRAM_API_URL": sb.base_url,
                                       "HUYING_ORG_FILE": str(DATA / "org.yaml")})
    assert line.startswith("huying: DATABASE_URL ") and ": cannot open the database (" in line
    assert "secret" not in line  # the password never reaches a log


async def test_a_malformed_token_names_the_setting_once():
    line = await one_line_failure({"BOT_TOKEN": "nonsense"})
    assert line == "huying: BOT_TOKEN: must look like 123456:ABC-DEF… (the token @BotFather gave you)"


async def test_bad_huying_admins_is_one_line():
    line = await one_line_failure({"BOT_TOKEN": TOKEN, "HUYING_ADMINS": "me,10001"})
    assert line.startswith("huying: HUYING_ADMINS: expected Telegram user ids separated by commas")


async def check(env: dict[str, str]) -> tuple[int, str]:
    proc = await run_cli(env, "check")
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert not err.decode().strip(), err.decode()
    return proc.returncode, out.decode()


def row(out: str, first: str) -> list[str]:
    """The table row whose first cell is `first`, split on runs of two spaces."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().split("  ") if c.strip()]
        if cells and first in cells[:2]:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{out}")


async def test_check_reports_privacy_membership_and_admin_status_per_chat(tmp_path):
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=True) as sb:
        populate(sb)
        sb.add_member(COMMUNITY, BOT_ID, "administrator")  # 港口镇: admin, sees everything
        sb.world.chats[SW_CHAT].bot_removed = True          # 水务局: the bot was removed
        del sb.world.chats[LEADERS_CHAT]                    # 领导群: never added
        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url, "DATABASE_URL": await fresh_database(tmp_path),
               "HUYING_ORG_FILE": str(DATA / "org.yaml")}
        code, out = await check(env)
    assert code == 1, out
    assert row(out, "bot") == ["ok", "bot", "@huying_bot (id 123456) at " + sb.base_url]
    assert row(out, "privacy")[0] == "warn"
    assert row(out, str(COMMUNITY))[1:] == ["community", "gangkou", "港口镇社区群", "yes", "yes", "ok"]
    assert row(out, str(COMMUNITY_2))[1:6] == ["community", "xinhe", "新河街道群", "yes", "no"]
    assert row(out, str(COMMUNITY_2))[6].startswith("PROBLEM: privacy mode hides")
    assert row(out, str(DISPATCH_CHAT))[1:] == ["dispatch", "-", "派单中心", "yes", "no", "ok"]
    assert row(out, str(CGJ_CHAT))[-1] == "ok" and row(out, str(ZJJ_CHAT))[-1] == "ok"
    assert row(out, str(SW_CHAT))[-1].startswith("PROBLEM: the bot cannot open this chat (Forbidden: bot was kicked")
    assert row(out, str(LEADERS_CHAT))[-1] == \
        "PROBLEM: the bot cannot open this chat (Bad Request: chat not found): add the bot to the group"
    assert out.rstrip().endswith("3 problems to fix before going live")


async def test_check_passes_when_privacy_is_off_and_every_chat_has_the_bot(tmp_path):
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url, "DATABASE_URL": await fresh_database(tmp_path),
               "HUYING_ORG_FILE": str(DATA / "org.yaml")}
        code, out = await check(env)
        assert code == 0, out
        assert out.rstrip().endswith("ready: nothing to fix")
        assert {c.method for c in sb.calls} == {"getMe", "getChat", "getChatMember"}  # a doctor changes nothing


async def test_check_lists_what_it_cannot_use_and_exits_1(tmp_path):
    env = {"BOT_TOKEN": "654321:REVOKED", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3",
           "HUYING_ORG_FILE": str(tmp_path / "missing.yaml")}
    async with TelegramSandbox(bot_token=TOKEN) as sb:
        code, out = await check({**env, "TELEGRAM_API_URL": sb.base_url})
    assert code == 1
    assert row(out, "org file")[0] == "PROBLEM"
    assert "BOT_TOKEN was rejected by Telegram (401 Unauthorized)" in out


async def check_with_org(tmp_path, org: str, database: str | None = None, **env: str) -> tuple[int, str]:  # noqa: ANN001
    """`check` against a sandbox where every chat has the bot, with this org file (and settings)."""
    (tmp_path / "org.yaml").write_text(org, encoding="utf-8")
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url,
               "DATABASE_URL": database or await fresh_database(tmp_path), "HUYING_ORG_FILE": str(tmp_path / "org.yaml"),
               **env}
        return await check(env)


async def test_check_names_a_chat_bound_twice_a_private_chat_id_and_an_example_key(tmp_path):
    org = (DATA / "org.yaml").read_text(encoding="utf-8")
    org = org.replace('api_key: "hotline-key-0001"', 'api_key: "change-me-12345-hotline"', 1)
    org = org.replace(f"leaders_chat: {LEADERS_CHAT}", f"leaders_chat: {DISPATCH_CHAT}", 1)
    org = org.replace(str(COMMUNITY_2), "20001", 1)  # someone pasted a person's id for a group
    code, out = await check_with_org(tmp_path, org)
    problems = [" ".join(line.split()) for line in out.splitlines() if "org chats" in line]
    assert problems == [
        f"PROBLEM org chats chat {DISPATCH_CHAT} is bound 2 times (dispatch, leaders): give each its own group",
        "PROBLEM org chats chat 20001 (community xinhe) is a private chat's id: a group's id is negative (-100…)",
    ], out
    assert [" ".join(line.split()) for line in out.splitlines() if "  channels  " in line] == [
        "PROBLEM channels channel 12345热线 still has the example's api_key: give it a secret of its own"], out
    assert code == 1


async def test_check_warns_of_a_year_without_holidays_and_counts_the_org_files_days(tmp_path):
    # chinese_calendar stops at 2026; deadlines set in December run into 2027's Spring Festival.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.domain.calendar import WorkCalendar
    org = (DATA / "org.yaml").read_text(encoding="utf-8")
    assert '\nholidays:\n  "2027-01-01": off\n' in org
    org = org.replace('\nholidays:\n  "2027-01-01": off\n', '\nholidays: {"2099-01-01": off}\n')
    code, out = await check_with_org(tmp_path, org)
    assert code == 0 and out.rstrip().endswith("ready: nothing to fix"), out  # a warning, not a problem
    next_year = datetime.now(ZoneInfo("Asia/Shanghai")).year + 1
    if WorkCalendar().holiday_gap(next_year) is None:  # a chinese_calendar that knows next year: no line
        assert f"holidays {next_year}" not in out
    else:
        assert row(out, f"holidays {next_year}") == ["warn", f"holidays {next_year}", (
            f"chinese_calendar has no holidays for {next_year} and the org file's holidays: list 0 days off and 0 "
            f"make-up working days of it; until the State Council's {next_year} schedule is there in full, "
            "deadlines count its holidays (Spring Festival too) as working days")]
    assert WorkCalendar.from_org({"2099-01-01": "off", "2099-01-02": "off", "2099-02-20": "work"}).holiday_gap(2099) \
        .startswith("chinese_calendar has no holidays for 2099 and the org file's holidays: list 2 days off and 1 make-up")
    assert WorkCalendar().holiday_gap(2026) is None


@pytest.mark.parametrize("env, expected", [
    ({"WEBHOOK_URL": "https://desk.example.org/telegram/webhook", "WEBHOOK_SECRET": "bad secret!"},
     "huying: WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (at most 256), "
     "as Telegram asks"),
    ({"WEBHOOK_URL": "ftp://desk.example.org/telegram/webhook"},
     "huying: WEBHOOK_URL must be the https:// address Telegram posts to"),
    ({"HUYING_LOCALE": "fr"}, "huying: HUYING_LOCALE: no catalogue for 'fr': write zh or en"),
])
async def test_webhook_settings_telegram_would_refuse_and_an_unknown_language_are_one_line(env, expected):
    # A secret with a space crashed `run` with Telegram's refusal as a traceback, and `check` said ready.
    assert await one_line_failure({"BOT_TOKEN": TOKEN, **env}) == expected


async def test_check_warns_of_a_webhook_address_without_the_path_the_bot_listens_on(tmp_path):
    # A load balancer's address alone: Telegram got 405s, nothing arrived, and every check was green.
    code, out = await check_with_org(tmp_path, (DATA / "org.yaml").read_text(encoding="utf-8"),
                                     WEBHOOK_URL="https://desk.example.org/")
    assert code == 0, out
    assert row(out, "webhook") == ["warn", "webhook", (
        "Telegram will post to / (WEBHOOK_URL) but the bot listens on /telegram/webhook (WEBHOOK_PATH): unless a "
        "proxy rewrites the path nothing arrives; end WEBHOOK_URL with /telegram/webhook; no WEBHOOK_SECRET: "
        "anyone who finds the address can post updates to the bot")]


async def test_check_counts_the_admins_granted_by_role(tmp_path):
    # The org file names none, /role made one: check said "nobody is an admin" and exit 1.
    from sqlalchemy import insert

    from storage.db import make_engine, migrate
    from storage.models import PersonRole
    url = await fresh_database(tmp_path)
    await migrate(url)
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(insert(PersonRole).values(person_id=333, role="admin", scope="", source="command"))
    await engine.dispose()
    org = (DATA / "org.yaml").read_text(encoding="utf-8").replace("admins: [10001]", "admins: []", 1)
    code, out = await check_with_org(tmp_path, org, database=url)
    assert code == 0 and "nobody is an admin" not in out, out
    (tmp_path / "none").mkdir()
    code, out = await check_with_org(tmp_path, org, database=await fresh_database(tmp_path / "none"))
    # ... and with none anywhere the problem stands
    assert code == 1 and row(out, "admins")[0] == "PROBLEM", out
