"""README "Going live", followed literally: its shell blocks are run as written (placeholders filled in,
the sandbox standing in for Telegram), and what it tells the officer to do in Telegram is done through the
sandbox — ending with `python -m bot check` saying ready and an online backup taken while the bot runs."""
from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
import sqlite3
import sys
from pathlib import Path

import pytest
import yaml

from bot.sandbox import TelegramSandbox
from tests.harness import TOKEN
from tests.test_entrypoint import free_port

ROOT = Path(__file__).resolve().parent.parent
OFFICER = 880001
GROUPS = {  # what step 5 creates, and how step 6 binds each
    -1003000000010: ("第一社区居民群", "community area1"),
    -1003000000001: ("派单中心", "dispatch"),
    -1003000000020: ("城管局工作群", "department cgj"),
    -1003000000022: ("水务局工作群", "department sw"),
    -1003000000002: ("领导群", "leaders"),
}


def going_live_blocks() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Going live"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [[line.strip() for line in b.splitlines() if line.strip()] for b in blocks]


def command(line: str, values: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    for placeholder, value in values.items():
        line = line.replace(placeholder, value)
    assert "<" not in line, f"a placeholder the test does not know: {line}"
    words = shlex.split(line)
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if words[0] in (".venv/bin/python", "python3", "python"):
        words[0] = sys.executable
    return env, words


class Deployment:
    """A directory laid out like the checkout the README is followed in."""

    def __init__(self, where: Path, sb: TelegramSandbox) -> None:
        self.dir, self.sb = where, sb
        shutil.copytree(ROOT / "config", where / "config")
        self.base = {k: v for k, v in os.environ.items()
                     if not k.startswith(("BOT_", "HUYING_", "WEBHOOK_", "DATABASE_", "TELEGRAM_"))}
        # Telegram is the sandbox; the web app must not collide with other tests on port 8080.
        self.base |= {"TELEGRAM_API_URL": sb.base_url, "LISTEN_HOST": "127.0.0.1", "LISTEN_PORT": str(free_port())}

    async def run(self, line: str, values: dict[str, str]) -> tuple[int, str]:
        """Run a command to its end (without blocking the loop the sandbox answers on)."""
        env, argv = command(line, values)
        proc = await asyncio.create_subprocess_exec(*argv, cwd=self.dir, env={**self.base, **env},
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
        return proc.returncode, out.decode()

    async def start(self, line: str, values: dict[str, str]) -> asyncio.subprocess.Process:
        env, argv = command(line, values)
        calls = len(self.sb.calls)
        log = self.dir / "bot.log"  # a file, not a pipe nobody reads: a chatty bot must never block on it
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(*argv, cwd=self.dir, env={**self.base, **env},
                                                        stdout=out, stderr=asyncio.subprocess.STDOUT)
        for _ in range(600):  # polling has begun once the bot cleared any webhook
            if any(c.method == "deleteWebhook" for c in self.sb.calls[calls:]):
                return proc
            assert proc.returncode is None, log.read_text(encoding="utf-8")
            await asyncio.sleep(0.05)
        raise AssertionError("the bot did not start polling")


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(proc.wait(), timeout=20)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def ask(sb: TelegramSandbox, user: int, chat: int, text: str, contains: str) -> str:
    await sb.user_sends(user, chat, text)
    return (await sb.wait_for_bot_message(chat, contains=contains, timeout=30))["text"]


@pytest.mark.timeout(600)  # three starts of the real process and a check, on a shared machine
async def test_following_the_going_live_steps_ends_with_check_saying_ready(tmp_path):
    first_start, as_admin, check, compose, backup = going_live_blocks()
    assert compose[0].startswith("docker compose")  # step 8's container path is tested in test_deploy_files
    values = {"<token>": TOKEN}
    async with TelegramSandbox(bot_token=TOKEN, bot_username="gangcheng_bot", privacy_mode=True) as sb:
        sb.add_user(OFFICER, "信息科小林")
        here = Deployment(tmp_path, sb)
        # 3. First start, to learn one's own id.
        assert (await here.run(first_start[0], values))[0] == 0
        bot = await here.start(first_start[1], values)
        try:
            answer = await ask(sb, OFFICER, OFFICER, "/id", contains="你的 id")
            values["<your id>"] = re.search(r"你的 id：(\d+)", answer).group(1)
        finally:
            await stop(bot)
        assert values["<your id>"] == str(OFFICER)
        bot = await here.start(as_admin[0], values)
        try:
            # 4. The org file gets its admin.
            org_path = tmp_path / "config" / "org.yaml"
            org = yaml.safe_load(org_path.read_text(encoding="utf-8"))
            org["admins"] = [int(values["<your id>"])]
            # 5. The groups, with the bot added; /id in each; 6. /bind in each.
            for chat_id, (title, binding) in GROUPS.items():
                sb.add_chat(chat_id, type="supergroup", title=title)
                answer = await ask(sb, OFFICER, chat_id, "/id", contains="本聊天 id")
                assert answer.startswith(f"本聊天 id：{chat_id}")
                answer = await ask(sb, OFFICER, chat_id, f"/bind {binding}", contains="本群已绑定")
                if binding.startswith("community"):
                    assert "隐私模式已开启" in answer  # step 2: privacy mode is on by default
                    sb.add_member(chat_id, sb.bot_id, "administrator")  # …so the bot becomes an admin there
            org_path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
            # 7. Check.
            code, out = await here.run(check[0], values)
            assert code == 0, out
            assert out.rstrip().endswith("ready: nothing to fix")
            for chat_id in GROUPS:
                assert re.search(rf"^\s+{chat_id}\s.*\sok$", out, re.M), out
            # 9. An online backup while the bot runs.
            for line in backup:
                assert (await here.run(line, values))[0] == 0
        finally:
            await stop(bot)
    copy = sqlite3.connect(tmp_path / "backups" / "huying.sqlite3")
    bound = dict(copy.execute("SELECT id, kind FROM chats WHERE kind != 'private'").fetchall())
    assert {cid: bound.get(cid) for cid in GROUPS} == {cid: b.split()[0] for cid, (_, b) in GROUPS.items()}
