"""`python -m bot run` as a deployment meets it: env settings, a Bot API server, an org file."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.sandbox import TelegramSandbox
from tests.harness import COMMUNITY, DATA, RESIDENT, TOKEN, fresh_database, populate

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_cli(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    full = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "WEBHOOK_URL", "DATABASE_URL")}
    full.update(env)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env=full,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_bot_run_serves_an_appeal(tmp_path, mode):
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot") as sb:
        populate(sb)
        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url,
               "DATABASE_URL": await fresh_database(tmp_path), "HUYING_ORG_FILE": str(DATA / "org.yaml"),
               "RUN_SCHEDULER": "false"}
        if mode == "webhook":
            port = free_port()
            env |= {"WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook", "WEBHOOK_SECRET": "s3cret",
                    "LISTEN_HOST": "127.0.0.1", "LISTEN_PORT": str(port)}
        proc = await run_cli(env, "run")
        try:
            # Wait until the bot has asked for updates (polling) or registered its webhook.
            for _ in range(300):
                methods = {c.method.lower() for c in sb.calls}
                if ("setwebhook" if mode == "webhook" else "deletewebhook") in methods:
                    break
                if proc.returncode is not None:
                    pytest.fail((await proc.stderr.read()).decode())
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            await sb.user_sends(RESIDENT, COMMUNITY, "/appeal 小区门口垃圾三天没人清运")
            ack = await sb.wait_for_bot_message(COMMUNITY, contains="#2026-000001", timeout=90)
            assert ack["reply_to_message"]["from"]["id"] == RESIDENT
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), timeout=15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@pytest.mark.parametrize("env, expected", [
    ({}, "BOT_TOKEN"),
    ({"BOT_TOKEN": "nonsense"}, "BOT_TOKEN"),
    ({"BOT_TOKEN": TOKEN, "HUYING_ORG_FILE": "/no/such/org.yaml"}, "cannot read"),
    ({"BOT_TOKEN": TOKEN, "HUYING_TIMEZONE": "Mars/Olympus_Mons"}, "HUYING_TIMEZONE"),
])
async def test_bad_settings_answer_in_one_line(env, expected):
    proc = await run_cli(env, "run")
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and expected in lines[0], err.decode()


async def test_wrong_key_in_org_file_is_named(tmp_path):
    org = tmp_path / "org.yaml"
    org.write_text((DATA / "org.yaml").read_text(encoding="utf-8").replace("dispatch_chat:", "dispatch_chats:"),
                   encoding="utf-8")
    proc = await run_cli({"BOT_TOKEN": TOKEN, "HUYING_ORG_FILE": str(org)}, "run")
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    line = err.decode().strip()
    assert proc.returncode == 2 and "dispatch_chats" in line and "\n" not in line


async def _started(sb: TelegramSandbox, proc: asyncio.subprocess.Process) -> None:
    for _ in range(600):
        if "deletewebhook" in {c.method.lower() for c in sb.calls}:
            return
        if proc.returncode is not None:
            pytest.fail((await proc.stderr.read()).decode())
        await asyncio.sleep(0.05)
    pytest.fail("the bot did not start polling")


async def test_sigterm_while_another_process_holds_the_database_exits_and_loses_nothing(tmp_path):
    # The poller retried its commit under the lock and the process never ended until the lock did
    # (docker stop then kills it). Now it leaves within its deadline; the update stays Telegram's.
    path = tmp_path / "huying.sqlite3"
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot") as sb:
        populate(sb)
        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url, "DATABASE_URL": f"sqlite+aiosqlite:///{path}",
               "HUYING_ORG_FILE": str(DATA / "org.yaml"), "RUN_SCHEDULER": "false"}
        proc = await run_cli(env, "run")
        await _started(sb, proc)
        lock = sqlite3.connect(path, isolation_level=None, timeout=1)
        lock.execute("BEGIN IMMEDIATE")  # an operator's sqlite3 shell, a backup
        try:
            await sb.user_sends(RESIDENT, COMMUNITY, "/appeal 小区门口垃圾三天没人清运")
            for _ in range(400):  # the bot has fetched it and cannot commit it
                if any(item.delivered for item in sb.updates.pending):
                    break
                await asyncio.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), timeout=40) == 0
        finally:
            lock.execute("ROLLBACK")
            lock.close()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        proc = await run_cli(env, "run")
        try:
            ack = await sb.wait_for_bot_message(COMMUNITY, contains="#2026-000001", timeout=90)
            assert ack["reply_to_message"]["from"]["id"] == RESIDENT
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=40)
