"""The contracts README.md and DESIGN.md name, checked from outside as an operator meets them (a review from outside)."""
from __future__ import annotations

import asyncio
import io
import signal
from pathlib import Path

import yaml

from bot.sandbox import TelegramSandbox
from tests.harness import (
    CGJ_LEADER, DATA, DISPATCH_CHAT, DISPATCHER, LEADERS_CHAT, RESIDENT, TOKEN, World, fresh_database, polling_world,
    populate,
    test_settings as settings_for,
)
from scheduler.jobs import scan
from bot.check import run_check
from tests.test_entrypoint import run_cli
from tests.steps import appeal, dispatched, has_button, press


def org_file(tmp_path: Path, name: str, **changes: object) -> Path:
    org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
    org.update(changes)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    return path


def world_on(sb: TelegramSandbox, db_url: str, org: Path, **overrides: object):  # noqa: ANN201
    return polling_world(sb, settings_for(db_url, TELEGRAM_API_URL=sb.base_url, HUYING_ORG_FILE=str(org), **overrides))


async def run_refused(tmp_path: Path, **env: str) -> tuple[int | None, str]:
    """`python -m bot run` against a sandbox with these settings on top of a working set: its exit
    code and what it wrote to stderr (stopped with SIGTERM if it is still running after 120 s)."""
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot") as sb:
        populate(sb)
        proc = await run_cli({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url,
                              "DATABASE_URL": await fresh_database(tmp_path), "RUN_SCHEDULER": "false",
                              "HUYING_ORG_FILE": str(DATA / "org.yaml"), "LOG_LEVEL": "ERROR", **env}, "run")
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        except TimeoutError:
            proc.send_signal(signal.SIGTERM)
            _, err = await proc.communicate()
    return proc.returncode, err.decode()


OLD_DISPATCH, OLD_LEADERS = -1001000000050, -1001000000051


async def test_moving_dispatch_chat_in_the_org_file_moves_the_cards(tmp_path):
    """README: the org file is imported at every start, "Re-importing the file updates what it names".
    An operator who moves the dispatch desk to another group by editing `dispatch_chat:` (README
    "Going live" step 6) and restarts expects the cards in the new group."""
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        sb.add_chat(OLD_DISPATCH, type="supergroup", title="旧派单群")
        sb.add_chat(OLD_LEADERS, type="supergroup", title="旧领导群")
        db_url = await fresh_database(tmp_path)
        first = org_file(tmp_path, "first.yaml", dispatch_chat=OLD_DISPATCH, leaders_chat=OLD_LEADERS)
        async with world_on(sb, db_url, first):
            pass
        second = org_file(tmp_path, "second.yaml")  # dispatch_chat / leaders_chat: the real groups
        async with world_on(sb, db_url, second) as w:
            await appeal(w, RESIDENT, "小区门口垃圾三天没人清运")
            await w.settle()
            old = [m.get("text") or "" for m in sb.bot_messages(OLD_DISPATCH)]
            new = [m.get("text") or "" for m in sb.bot_messages(DISPATCH_CHAT)]
    assert not any("#2026-000001" in t for t in old), old
    assert any("#2026-000001" in t for t in new), new


async def test_removing_a_department_leader_from_the_org_file_is_imported(tmp_path):
    """A department's `leader:` (DESIGN §1) is dropped from the org file (the chief retired) and the
    bot restarted: "Re-importing the file updates what it names". The next 约谈 notice must not name
    the person the file no longer lists."""
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        db_url = await fresh_database(tmp_path)
        async with world_on(sb, db_url, DATA / "org.yaml") as w:
            await w.send(CGJ_LEADER, CGJ_LEADER, "/start")  # the bot knows 钱局长 by name
            await w.reply_from_bot(CGJ_LEADER, timeout=30)
        org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
        for dept in org["departments"]:
            dept.pop("leader", None)
        path = tmp_path / "no-leader.yaml"
        path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
        async with world_on(sb, db_url, path) as w:
            for text in ("小区门口垃圾没人清运", "菜市场垃圾桶满了", "公园垃圾清运不及时", "河边垃圾堆积"):
                await dispatched(w, text)
            w.clock.advance(days=1, hours=2)
            await scan(w.app, w.clock())
            await w.settle()
            notice = await w.reply_from_bot(LEADERS_CHAT, contains="约谈通知", since=0)
    assert "钱局长" not in notice["text"], notice["text"]
    assert "组织文件未登记该部门负责人" in notice["text"], notice["text"]


async def test_an_english_speaker_in_private_hears_back_in_english(world: World):
    """DESIGN §5: language is per user in private. A resident whose Telegram speaks English gets /help
    in English — and then the acknowledgement of the appeal and every later note in Chinese."""
    english = 50077
    world.sb.add_user(english, "John", language_code="en")
    await world.send(english, english, "/help")
    helped = await world.reply_from_bot(english, timeout=30)
    assert "Describe your problem" in helped["text"]
    await world.send(english, english, "/appeal The garbage at the gate has not been collected for three days")
    ack = await world.reply_from_bot(english, contains="#2026-000001", timeout=30)
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"), timeout=30)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    await world.settle()
    notes = [m.get("text") or "" for m in world.sb.bot_messages(english)]
    assert "已受理" not in ack["text"], ack["text"]
    assert not [n for n in notes if "已转交" in n], notes


async def test_a_telegram_api_url_without_scheme_does_not_print_the_token(tmp_path):
    """README "Going live": the token is the bot's password. A TELEGRAM_API_URL written without
    http:// (localhost:8081, a local Bot API server) is reported in one line naming the setting —
    and that line, which goes to the journal / docker logs, carries the whole token."""
    proc = await run_cli({"BOT_TOKEN": "123456:SECRET-PART-OF-TOKEN", "TELEGRAM_API_URL": "localhost:8081",
                          "DATABASE_URL": await fresh_database(tmp_path),
                          "HUYING_ORG_FILE": str(DATA / "org.yaml")}, "run")
    _, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    line = err.decode().strip()
    assert proc.returncode == 2 and line == ("huying: TELEGRAM_API_URL must start with http:// or https:// "
                                             "(a local Bot API server's address)"), line
    assert "SECRET-PART-OF-TOKEN" not in line, line


async def test_a_listen_port_out_of_range_is_one_line_not_a_traceback(tmp_path):
    """DESIGN §6: "A missing or wrong setting gives one clear line that names it, never a traceback."
    LISTEN_PORT=80800 (a digit too many) passes the settings and crashes at bind with a traceback and
    exit code 1, after the bot has already taken its leases and published its commands."""
    returncode, text = await run_refused(tmp_path, LISTEN_PORT="80800")
    assert "Traceback" not in text, text[-600:]
    assert returncode == 2 and "LISTEN_PORT" in text, text[-600:]


async def test_check_changes_nothing_on_a_sqlite_url(tmp_path):
    """README "Going live" step 7: the doctor "changes nothing". On a SQLite DATABASE_URL it creates
    the database file — and any missing directories — of whatever path was written (a typo too)."""
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot") as sb:
        populate(sb)
        target = tmp_path / "var" / "lib" / "huying.sqlite3"
        settings = settings_for(f"sqlite+aiosqlite:///{target}", TELEGRAM_API_URL=sb.base_url)
        await run_check(settings, out=io.StringIO())
    assert not target.exists() and not target.parent.exists(), sorted(p.name for p in tmp_path.rglob("*"))


def menu(sb: TelegramSandbox, scope: str, lang: str) -> list[str]:
    """What Telegram shows: the most specific scope published, falling back to the default one."""
    for key in (f'{{"type": "{scope}"}}|{lang}', f'{{"type": "default"}}|{lang}'):
        if key in sb.commands:
            return [c["command"] for c in sb.commands[key]]
    return []


async def test_the_command_menu_matches_the_commands_table(world: World):
    """README "Commands people use": /id works anywhere (Going live steps 3 and 5 rely on it); /cancel
    is the private guided flow's. The menu published at start (setMyCommands, zh and en) is one list
    for every chat: it leaves /id out, and offers /cancel in every group, where it answers nothing."""
    for lang in ("", "en"):
        private = menu(world.sb, "all_private_chats", lang)
        groups = menu(world.sb, "all_group_chats", lang)
        assert "id" in private and "id" in groups, (lang, private, groups)
        assert "cancel" not in groups, (lang, groups)


async def test_outbox_global_per_second_zero_is_refused_or_works(tmp_path):
    """README: OUTBOX_GLOBAL_PER_SECOND is a setting (default 30/s). An operator who writes 0 (as many
    tools read "no limit") gets a bot that starts, takes the outbox lease, handles every update — and
    never sends anything, with nothing logged: the worker dies dividing by zero inside its task. A
    wrong setting should be one line naming it (DESIGN §6), or 0 should simply send."""
    from pydantic import ValidationError
    from bot.settings import SettingsError
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        db_url = await fresh_database(tmp_path)
        try:
            async with world_on(sb, db_url, DATA / "org.yaml", OUTBOX_GLOBAL_PER_SECOND=0) as w:
                await w.send(RESIDENT, RESIDENT, "/id")
                try:
                    await sb.wait_for_bot_message(RESIDENT, timeout=10)
                except Exception as exc:  # noqa: BLE001
                    raise AssertionError("the bot runs and never answers: the outbox worker is dead") from exc
        except (SettingsError, ValidationError) as refused:
            assert "OUTBOX_GLOBAL_PER_SECOND" in str(refused).upper()


async def test_a_webhook_path_without_its_slash_is_one_line(tmp_path):
    """DESIGN §6: a wrong setting gives one clear line that names it, never a traceback.
    WEBHOOK_PATH=telegram/webhook (no leading /) ends `run` with a ValueError traceback, exit 1."""
    returncode, text = await run_refused(tmp_path, WEBHOOK_URL="https://desk.example.org/telegram/webhook",
                                         WEBHOOK_PATH="telegram/webhook", WEBHOOK_SECRET="s3cret",
                                         LISTEN_HOST="127.0.0.1", LISTEN_PORT="0")
    assert "Traceback" not in text, text[-400:]
    assert returncode == 2 and "WEBHOOK_PATH" in text, text[-400:]


async def test_huying_admins_out_of_range_is_one_line(tmp_path):
    """README: a malformed HUYING_ADMINS is one line with exit code 2. Two user ids run together without
    their comma (12345678901234567890) pass the check (all digits) and end `run` with an
    OverflowError traceback from the database, exit code 1."""
    returncode, text = await run_refused(tmp_path, HUYING_ADMINS="12345678901234567890", LISTEN_PORT="0")
    assert "Traceback" not in text, text[-400:]
    assert returncode == 2 and "HUYING_ADMINS" in text, text[-400:]
