"""Bursts of appeals across many community chats, and the tally of what became of them.

Shared by the inbox tests, the crash tests and ``bench/crash_burst.py``: the org file
gets one area per burst chat, the sandbox learns the chats and residents, and
``tally`` counts appeals without a ticket, with two tickets, missing and repeated acks.
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.sandbox import TelegramSandbox
from storage.models import OutboxMessage, Ticket
from tests.harness import DATA, TOKEN

FIRST_CHAT = -1002000000000
FIRST_RESIDENT = 700000


def burst_chats(n: int) -> list[int]:
    return [FIRST_CHAT - i for i in range(n)]


def burst_areas(chats: list[int]) -> list[dict]:
    org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
    return org["areas"] + [{"code": f"burst{i}", "name": f"社区{i}", "chats": [cid]} for i, cid in enumerate(chats)]


def burst_org_file(tmp_path: Path, chats: list[int], scan_every: str | None = None, **keys: object) -> Path:
    """The test district with one area per burst chat; ``keys`` replace top-level org keys."""
    org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
    org["areas"] = burst_areas(chats)
    if scan_every:
        org["scheduler"] = {**org.get("scheduler", {}), "scan_every": scan_every}
    org.update(keys)
    path = tmp_path / "org-burst.yaml"
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    return path


def populate_burst(sb: TelegramSandbox, chats: list[int], residents: int = 50) -> list[int]:
    for cid in chats:
        sb.add_chat(cid, type="supergroup", title=f"burst {cid}")
    people = [FIRST_RESIDENT + i for i in range(residents)]
    for uid in people:
        sb.add_user(uid, f"resident {uid}")
    return people


async def send_burst(sb: TelegramSandbox, chats: list[int], people: list[int], n: int, *,
                     per_second: float | None = None, start: int = 0) -> list[tuple[int, int]]:
    """n appeals, round-robin over the chats; (chat_id, message_id) of each."""
    sent = []
    loop = asyncio.get_running_loop()
    began = loop.time()
    for k in range(start, start + n):
        chat, who = chats[k % len(chats)], people[k % len(people)]
        msg = await sb.user_sends(who, chat, f"/appeal 第{k}号：楼道路灯坏了，晚上很黑")
        sent.append((chat, msg["message_id"]))
        if per_second:
            ahead = began + (k - start + 1) / per_second - loop.time()
            if ahead > 0:
                await asyncio.sleep(ahead)
    return sent


@dataclass
class Tally:
    appeals: int
    no_ticket: int
    two_tickets: int
    missing_acks: int
    duplicate_acks: int

    @property
    def complete(self) -> bool:
        return self.no_ticket == 0 and self.missing_acks == 0

    def line(self) -> str:
        return (f"appeals={self.appeals} no_ticket={self.no_ticket} two_tickets={self.two_tickets} "
                f"missing_acks={self.missing_acks} duplicate_acks={self.duplicate_acks}")


def acks_by_appeal(sb: TelegramSandbox, chats: list[int]) -> dict[tuple[int, int], int]:
    """How many acknowledgements (a bot reply carrying a ticket code) each appeal got."""
    counts: dict[tuple[int, int], int] = {}
    for cid in set(chats):
        for msg in sb.bot_messages(cid):
            reply = msg.get("reply_to_message") or {}
            if "#20" in (msg.get("text") or "") and reply.get("message_id"):
                key = (cid, reply["message_id"])
                counts[key] = counts.get(key, 0) + 1
    return counts


async def tally(sb: TelegramSandbox, db_url: str, appeals: list[tuple[int, int]]) -> Tally:
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(
                select(Ticket.origin_chat_id, Ticket.origin_message_id, func.count())
                .group_by(Ticket.origin_chat_id, Ticket.origin_message_id))).all()
    finally:
        await engine.dispose()
    tickets = {(c, m): n for c, m, n in rows}
    acks = acks_by_appeal(sb, [c for c, _ in appeals])
    return Tally(
        appeals=len(appeals),
        no_ticket=sum(1 for a in appeals if tickets.get(a, 0) == 0),
        two_tickets=sum(1 for a in appeals if tickets.get(a, 0) > 1),
        missing_acks=sum(1 for a in appeals if acks.get(a, 0) == 0),
        duplicate_acks=sum(max(0, acks.get(a, 0) - 1) for a in appeals),
    )


async def wait_for_tally(sb: TelegramSandbox, db_url: str, appeals: list[tuple[int, int]],
                         timeout: float) -> Tally:
    """Poll until every appeal has a ticket and an ack (or the time is up); the last tally."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await tally(sb, db_url, appeals)
        if result.complete or loop.time() > deadline:
            return result
        await asyncio.sleep(0.5)


async def wait_outbox_empty(db_url: str, timeout: float) -> None:
    """Until no outbox row waits or is being sent (the sandbox then holds every message sent)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    engine = create_async_engine(db_url)
    try:
        while True:
            async with engine.connect() as conn:
                left = (await conn.execute(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status.in_(("pending", "sending"))))).scalar_one()
            if left == 0:
                return
            if loop.time() > deadline:
                raise TimeoutError(f"{left} outbox rows still unsent")
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


# --- the real `python -m bot run` process ------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


def bot_env(sb: TelegramSandbox, db_url: str, org_file: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "WEBHOOK_URL", "DATABASE_URL")}
    env.update({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url or "", "DATABASE_URL": db_url,
                "HUYING_ORG_FILE": str(org_file), "RUN_SCHEDULER": "false", "LOG_LEVEL": "WARNING",
                "LISTEN_HOST": "127.0.0.1", "LISTEN_PORT": str(port), "OUTBOX_CHAT_INTERVAL": "0",
                "OUTBOX_GROUP_PER_MINUTE": "100000", "OUTBOX_GLOBAL_PER_SECOND": "100000",
                "ALBUM_DEBOUNCE_SECONDS": "0.4"})
    env.update(extra)
    return env


async def start_bot(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """`python -m bot run`, its output appended to ``log`` (a pipe nobody reads would block it)."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
                                                    stdout=out, stderr=out)


def proc_kb(pid: int, field: str) -> int:
    """VmRSS or VmHWM (peak) of a running process, in kB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_polling(sb: TelegramSandbox, proc: asyncio.subprocess.Process, calls_before: int,
                       timeout: float = 180) -> None:
    """Until the (re)started process asks Telegram for updates."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if any(c.method.lower() == "deletewebhook" for c in sb.calls[calls_before:]):
            return
        if proc.returncode is not None:
            raise RuntimeError(f"the bot exited with {proc.returncode} at start-up")
        await asyncio.sleep(0.05)
    raise TimeoutError("the bot did not start polling")


@dataclass
class CrashRun:
    """A burst of appeals while the bot process is stopped with ``sig`` and restarted ``kills`` times."""

    sb: TelegramSandbox
    tmp: Path
    db_url: str
    sig: int
    appeals: int = 1000
    chats: int = 20
    kills: int = 3
    per_second: float = 40.0
    seed: int = 8
    exit_codes: list[int | None] = field(default_factory=list)
    # Per process started: (RSS once it polls, its peak VmHWM just before it was stopped), in kB.
    memory: list[tuple[int, int]] = field(default_factory=list)

    async def run(self) -> Tally:
        chats = burst_chats(self.chats)
        people = populate_burst(self.sb, chats)
        env = bot_env(self.sb, self.db_url, burst_org_file(self.tmp, chats), free_port())
        log = self.tmp / "bot.log"
        rng = random.Random(self.seed)
        # Kill at random moments while the burst is being sent (never in its first or last tenth).
        moments = sorted(rng.uniform(0.1, 0.9) * self.appeals / self.per_second for _ in range(self.kills))
        proc = await start_bot(env, log)
        await wait_polling(self.sb, proc, 0)
        idle = proc_kb(proc.pid, "VmRSS")
        sending = asyncio.create_task(send_burst(self.sb, chats, people, self.appeals, per_second=self.per_second))
        loop = asyncio.get_running_loop()
        began = loop.time()
        for moment in moments:
            await asyncio.sleep(max(0.0, began + moment - loop.time()))
            self.memory.append((idle, proc_kb(proc.pid, "VmHWM")))
            proc.send_signal(self.sig)
            self.exit_codes.append(await asyncio.wait_for(proc.wait(), 60))
            calls = len(self.sb.calls)
            proc = await start_bot(env, log)
            await wait_polling(self.sb, proc, calls)
            idle = proc_kb(proc.pid, "VmRSS")
        sent = await sending
        result = None
        try:
            await wait_for_tally(self.sb, self.db_url, sent, timeout=max(120.0, self.appeals * 0.6))
            # Count only when the outbox has nothing left to send: a repeat still on its way counts too.
            await wait_outbox_empty(self.db_url, timeout=120.0)
            result = await tally(self.sb, self.db_url, sent)
            return result
        finally:
            self.memory.append((idle, proc_kb(proc.pid, "VmHWM")))
            proc.send_signal(signal.SIGTERM)
            self.exit_codes.append(await asyncio.wait_for(proc.wait(), 60))
            if result is None or not result.complete:
                print(log.read_text(errors="replace")[-5000:])
