"""The operator who deploys and runs the bot, checked from outside (a review from outside).

Each test is a mistake or a situation a district's IT officer meets while following README
"Running it for real" / "Going live": an org file saved by Notepad, a key pasted twice, an empty
file, a second `python -m bot run` on the same SQLite file, an export pointed at the wrong
database. The contract is DESIGN §6 / README: "A missing or wrong setting gives one clear line
that names it, never a traceback", exit code 2.
"""
from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
import yaml

from bot.org import OrgFileError, load_org
from bot.sandbox import TelegramSandbox
from tests.harness import DATA, TOKEN, populate
from tests.test_entrypoint import _started, run_cli

ROOT = Path(__file__).resolve().parent.parent


async def _finish(proc: asyncio.subprocess.Process, timeout: float) -> tuple[int | None, str]:
    """The exit code and stderr of a process that should stop by itself; SIGTERM when it does not."""
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
        return proc.returncode, err.decode()
    except TimeoutError:
        proc.send_signal(signal.SIGTERM)
        _, err = await proc.communicate()
        return None, err.decode()


async def test_an_org_file_saved_in_gbk_is_one_line_not_a_traceback(tmp_path):
    """README "Going live" step 4 has the officer edit config/org.yaml; on a Chinese Windows desk
    Notepad (or WPS) saves it as GBK. `python -m bot run` then dies with a UnicodeDecodeError
    traceback (load_org catches only OSError and YAMLError), and `check` — the doctor meant to
    explain what is wrong — crashes the same way. DESIGN §6: one line naming the setting, exit 2."""
    org = tmp_path / "org.yaml"
    org.write_bytes((ROOT / "config" / "org.start.yaml").read_text(encoding="utf-8").encode("gbk"))
    proc = await run_cli({"BOT_TOKEN": TOKEN, "HUYING_ORG_FILE": str(org),
                          "TELEGRAM_API_URL": "http://127.0.0.1:9", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, "run")
    code, err = await _finish(proc, 60)
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err[-800:]
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"huying: HUYING_ORG_FILE {org}:"), err[-800:]


async def test_check_reports_an_org_file_saved_in_gbk_instead_of_crashing(tmp_path):
    """Same file, the doctor: `python -m bot check` must list it as a PROBLEM line of its table
    (exit 1) — it crashes with a traceback instead, and shows nothing of the rest of the setup."""
    org = tmp_path / "org.yaml"
    org.write_bytes((ROOT / "config" / "org.start.yaml").read_text(encoding="utf-8").encode("gbk"))
    proc = await run_cli({"BOT_TOKEN": "", "HUYING_ORG_FILE": str(org),
                          "DATABASE_URL": f"sqlite:///{tmp_path}/none.db"}, "check")
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert "Traceback" not in err.decode(), err.decode()[-800:]
    assert proc.returncode == 1, (proc.returncode, err.decode()[-800:])
    assert any(line.split()[:2] == ["PROBLEM", "org"] and "HUYING_ORG_FILE" in line
               for line in out.decode().splitlines()), out.decode()


def test_a_key_written_twice_in_the_org_file_is_refused_not_half_imported(tmp_path):
    """An officer adds the new dispatchers with a second `people:` block at the bottom of the file
    (the first one is 200 lines up). YAML keeps only the last block, so the first block's people —
    here the dispatcher 40001 — are silently dropped, and because file roles are "replaced wholesale"
    at import (storage/orgsync.py) the dispatcher loses the role at the next start with no word
    anywhere (`check` says ok). The file must be refused in one line naming the key."""
    org = tmp_path / "org.yaml"
    org.write_text("admins: [10001]\n"
                   "people:\n  - {id: 40001, role: dispatcher}\n"
                   "areas:\n  - {code: gangkou, name: 港口镇}\n"
                   "people:\n  - {id: 30001, role: grid_volunteer, area: gangkou}\n", encoding="utf-8")
    with pytest.raises(OrgFileError) as refused:
        load_org(org)
    assert "people" in str(refused.value) and str(refused.value).startswith(f"HUYING_ORG_FILE {org}:")


def test_an_empty_org_file_is_refused_not_imported_as_a_desk_with_nothing(tmp_path):
    """A half-written org file — the editor crashed, `cp` onto a full disk, a `>` instead of `>>` —
    is 0 bytes. load_org reads it as `{}` and `run` starts a desk with no areas, no departments, no
    catalogue and no admins; the import then deletes every role the file had given (admins,
    dispatchers, handlers, leaders), so nobody can dispatch or even /bind. README: "an unreadable
    org file ... reported in one line naming the setting, with exit code 2"."""
    org = tmp_path / "org.yaml"
    org.write_text("", encoding="utf-8")
    with pytest.raises(OrgFileError) as refused:
        load_org(org)
    assert str(refused.value).startswith(f"HUYING_ORG_FILE {org}:"), str(refused.value)


def test_a_duty_weekday_out_of_range_is_refused(tmp_path):
    """README "Emergencies": the roster is `dispatch.duty: [{user: <id>, weekdays: [0, …, 6]}]`
    (0 = Monday). An officer used to 周一…周日 = 1…7 writes [1, 2, 3, 4, 5, 6, 7]: 7 matches no
    day, Monday has nobody on duty and urgent cards name no dispatcher — and the file is accepted
    without a word. A weekday outside 0–6 must be refused naming the key."""
    org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
    org["dispatch"] = {**(org.get("dispatch") or {}), "duty": [{"user": 40001, "weekdays": [1, 2, 3, 4, 5, 6, 7]}]}
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    with pytest.raises(OrgFileError) as refused:
        load_org(path)
    assert "dispatch.duty" in str(refused.value) and "weekdays" in str(refused.value), str(refused.value)


def test_a_bad_scan_interval_names_its_key(tmp_path):
    """Every other duration in the org file is named when it cannot be read ("sla.normal.resolve:
    cannot understand …", "hotspots: …"); `scheduler.scan_every` is not: the line says
    "(top): cannot understand duration 'every minute'" and the officer must guess which of the
    file's many durations it is. README: a wrong key in the org file is reported naming it."""
    org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
    org["scheduler"] = {"scan_every": "every minute"}
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    with pytest.raises(OrgFileError) as refused:
        load_org(path)
    assert "scheduler.scan_every" in str(refused.value), str(refused.value)


async def test_export_from_a_database_that_is_not_there_creates_nothing(tmp_path):
    """`python -m bot export ledger 2026-11 --out …` run from another directory (the default
    DATABASE_URL is relative, ./data/huying.sqlite3) or with a typo in the path: export migrates
    the URL it was given, so it creates a new empty database (and its folders) there, and answers
    "还没有任何工单" — "no tickets yet" — as if the desk's database were empty. The officer is told
    the wrong thing and left with a stray database. `check` already refuses to create the file
    ("The doctor changes nothing"); export, a read, must not either: one line naming DATABASE_URL."""
    missing = tmp_path / "typo" / "huying.sqlite3"
    proc = await run_cli({"DATABASE_URL": f"sqlite+aiosqlite:///{missing}", "HUYING_ORG_FILE": str(DATA / "org.yaml")},
                         "export", "ledger", "2026-11", "--out", str(tmp_path / "ledger.xlsx"))
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    line = err.decode().strip()
    assert not missing.exists() and not missing.parent.exists(), "export created a database"
    assert proc.returncode == 2 and "DATABASE_URL" in line and "\n" not in line, line


async def test_a_second_instance_on_the_same_sqlite_file_is_refused(tmp_path):
    """README "Several instances": "a SQLite file belongs to one process". An officer starts
    `make run` by hand while the systemd unit already runs (or `docker compose run --rm bot python
    -m bot run`). The second process starts without a word, polls with the same token (Telegram
    answers one of them 409 Conflict), and at start releases *every* inbox claim on the file
    (bot/inbox.py: `exclusive` — "the only process on this database: every claim is stale"), so
    updates the first is handling are taken and handled again. It must refuse in one line naming
    DATABASE_URL, exit 2, and leave the running one alone."""
    path = tmp_path / "huying.sqlite3"
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot") as sb:
        populate(sb)
        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url, "DATABASE_URL": f"sqlite+aiosqlite:///{path}",
               "HUYING_ORG_FILE": str(DATA / "org.yaml"), "RUN_SCHEDULER": "false", "LOG_LEVEL": "ERROR",
               "LISTEN_HOST": "127.0.0.1", "LISTEN_PORT": "0"}
        first = await run_cli(env, "run")
        try:
            await _started(sb, first)
            second = await run_cli(env, "run")
            code, err = await _finish(second, 30)
        finally:
            if first.returncode is None:
                first.send_signal(signal.SIGTERM)
            await asyncio.wait_for(first.communicate(), timeout=30)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "DATABASE_URL" in lines[0], (code, err[-800:])


@pytest.mark.parametrize("change, named", [
    ({"working_hours": [9, 25]}, "working_hours"),
    ({"working_hours": [18, 9]}, "working_hours"),
    ({"dispatch": {"confidence": 5}}, "dispatch.confidence"),
    ({"sla": {"normal": {"accept": "0 min"}}}, "sla.normal.accept: must be longer than zero"),
    ({"people": [{"id": 50001, "role": "handler"}]}, "50001 is a handler without a department"),
], ids=["hour-25", "hours-reversed", "confidence-5", "zero-deadline", "handler-of-nothing"])
def test_an_org_value_that_cannot_work_is_refused_naming_it(tmp_path, change, named):
    """Values the bot would trip over later (an hour of 25 inside the scan, a confidence no match
    reaches, a deadline at the moment of dispatch, a handler of no department) are refused at start."""
    org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
    for key, value in change.items():
        org[key] = {**org.get(key, {}), **value} if isinstance(value, dict) and isinstance(org.get(key), dict) \
            else value
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    with pytest.raises(OrgFileError) as refused:
        load_org(path)
    assert named in str(refused.value), str(refused.value)
