"""Intake benchmark (issues 8 and 14): the bot against a bare aiogram echo bot, same sandbox, same run.

    .venv/bin/python bench/intake.py [-n 1000] [--chats 20] [--modes polling webhook]
                                     [--steady 600] [--inflight 100] [--runs 1] [--pg URL] [--stored N]
                                     [--profile FILE | --spy FILE]

Both bots run as processes of their own — ``python -m bot run`` and bench/echo_bot.py — against
the sandbox in this process (flood limits off), so what each costs is read from /proc for its
own pid, apart from the sandbox's work.  For each backend (SQLite, and PostgreSQL with ``--pg`` /
TEST_DATABASE_URL; its ``public`` schema is dropped: give it a database of its own) and each
mode (long polling; the webhook, which the sandbox feeds over up to 40 connections at once as
Telegram does):

* burst — once the process idles, N appeals across ``--chats`` community chats arrive at once:
  appeals/s until the last acknowledgement; CPU ms per appeal (the process's user + system
  time during the burst / N); RSS idle (before) and peak (VmHWM, reset just before the burst);
  Appeals filed while updates queue are triaged after their acks (bot/deferred_triage.py), so
  the bot's line also gives appeals/s and CPU until no ticket waits for its triage and every
  ack and card is sent: the whole work of the burst;
* steady — appeals keep arriving with ``--inflight`` of them unanswered at any time (the next
  one goes as soon as an acknowledgement comes back), ``--steady`` of them: appeal → ack
  median and p90.

With ``--stored N`` the bot's database holds N tickets closed a year ago before it starts, so an
appeal's cost can be compared between an empty office and one with years on file.

The ratio bot / echo of appeals/s is what matters on a shared machine.  With ``--runs`` > 1 each
figure is the median of the runs.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text, update  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bench.procstat import cpu_seconds, memory_kb, reset_peak  # noqa: E402
from bot.sandbox import TelegramSandbox  # noqa: E402
from storage.db import migrate  # noqa: E402
from storage.models import OutboxMessage, Ticket  # noqa: E402
from tests.burst import bot_env, burst_chats, burst_org_file, free_port, populate_burst  # noqa: E402
from tests.harness import TOKEN, populate  # noqa: E402

WEBHOOK_PATH = "/telegram/webhook"
STALL = 60.0  # no acknowledgement for this long: the rest are counted unanswered


class Acks:
    """When each appeal was sent and when the bot's reply to it (carrying ``marker``) arrived."""

    def __init__(self, sb: TelegramSandbox, marker: str) -> None:
        self.sb, self.marker = sb, marker
        self.sent: dict[tuple[int, int], float] = {}
        self.acked: dict[tuple[int, int], float] = {}
        self.arrived = asyncio.Event()
        before = sb.world.on_message

        def seen(chat: Any, msg: dict[str, Any]) -> None:
            before(chat, msg)
            reply = msg.get("reply_to_message")
            if reply and (msg.get("from") or {}).get("id") == sb.bot_id and marker in (msg.get("text") or ""):
                self.acked.setdefault((chat.id, reply["message_id"]), time.perf_counter())
                self.arrived.set()

        sb.world.on_message = seen

    async def send(self, k: int, chats: list[int], people: list[int]) -> tuple[int, int]:
        chat, who = chats[k % len(chats)], people[k % len(people)]
        msg = await self.sb.user_sends(who, chat, f"/appeal 第{k}号：楼道路灯坏了，晚上很黑")
        key = (chat, msg["message_id"])
        self.sent[key] = time.perf_counter()
        return key

    async def wait(self, keys: list[tuple[int, int]]) -> int:
        """Until every key is acknowledged or nothing new came for STALL seconds; how many were."""
        done, last = 0, time.perf_counter()
        while True:
            now_done = sum(1 for key in keys if key in self.acked)
            if now_done == len(keys):
                return now_done
            if now_done > done:
                done, last = now_done, time.perf_counter()
            if time.perf_counter() - last > STALL:
                return now_done
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), 1.0)
            except TimeoutError:
                pass


@dataclass
class Run:
    """One process's figures."""

    rate: float = 0.0  # appeals/s in the burst, until the last ack
    whole_rate: float = 0.0  # the same until the last ticket is triaged (its card drawn): the bot only
    whole_cpu_ms: float = 0.0
    triaged_early: float = 0.0  # tickets triaged by the time the last ack came (the rest waited for it)
    unanswered: int = 0
    cpu_ms: float = 0.0  # per appeal, in the burst
    idle_mb: float = 0.0
    peak_mb: float = 0.0
    p50: float = 0.0  # appeal → ack in the steady phase, seconds
    p90: float = 0.0
    steady_unanswered: int = 0
    notes: list[str] = field(default_factory=list)


async def fresh_pg(url: str) -> str:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return url


async def store_old_tickets(db_url: str, n: int, chats: int) -> None:
    """``n`` tickets closed a year ago in the burst's areas (one in 50 merged into the one before
    it): what an office has on file after years of work, so an appeal's cost can be read
    against the size of the tickets table. The schema is made first (the bot finds it current)."""
    await migrate(db_url)
    engine = create_async_engine(db_url)
    long_ago = datetime.now(timezone.utc) - timedelta(days=400)
    columns = dict(kind="help", urgency="normal", status="CLOSED", version=1, returns_count=0, reopen_count=0,
                   channel="telegram", category="路灯照明", close_reason="resolved")
    async with engine.begin() as conn:
        for start in range(0, n, 20_000):
            await conn.execute(insert(Ticket.__table__), [
                dict(columns, code=f"S-{i:09d}", text=f"旧工单 {i}", area_code=f"burst{i % chats}",
                     created_at=long_ago + timedelta(seconds=i), updated_at=long_ago + timedelta(seconds=i),
                     closed_at=long_ago + timedelta(seconds=i, days=2))
                for i in range(start, min(n, start + 20_000))])
        await conn.execute(update(Ticket.__table__).where(Ticket.id % 50 == 0)
                           .values(status="MERGED", merged_into_id=Ticket.id - 1))
    await engine.dispose()


async def start(argv: list[str], env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(*argv, cwd=ROOT, env=env, stdout=out, stderr=out)


async def ready(sb: TelegramSandbox, proc: asyncio.subprocess.Process, webhook: bool, timeout: float = 240) -> None:
    """Until the process listens for updates, then until it idles (start-up work done)."""
    want = "setwebhook" if webhook else "deletewebhook"  # (getUpdates calls are not logged)
    deadline = time.monotonic() + timeout
    while not any(c.method.lower() == want for c in sb.calls):
        if proc.returncode is not None:
            raise RuntimeError(f"the process exited with {proc.returncode} at start-up")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {want} within {timeout} s")
        await asyncio.sleep(0.05)
    quiet = 0
    while quiet < 2 and time.monotonic() < deadline:  # two quiet seconds in a row
        before = cpu_seconds(proc.pid)
        await asyncio.sleep(1.0)
        quiet = quiet + 1 if cpu_seconds(proc.pid) - before < 0.03 else 0


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def count_triaged(db_url: str) -> int:
    """How many tickets are past NEW (triaged, whether inline or deferred)."""
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(Ticket).where(Ticket.status != "NEW"))).scalar_one()
    finally:
        await engine.dispose()


async def all_triaged(db_url: str) -> float:
    """Poll until no ticket is NEW (every appeal routed) and the outbox is empty (every ack and card
    sent); when that was seen."""
    engine, deadline = create_async_engine(db_url), time.perf_counter() + 10 * STALL
    try:
        while True:
            if time.perf_counter() > deadline:
                raise TimeoutError("tickets still wait for their triage")
            async with engine.connect() as conn:
                left = (await conn.execute(select(func.count()).select_from(Ticket).where(
                    Ticket.status == "NEW"))).scalar_one()
                left += (await conn.execute(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status.in_(("pending", "sending"))))).scalar_one()
            if left == 0:
                return time.perf_counter()
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


async def measure(sb: TelegramSandbox, proc: asyncio.subprocess.Process, marker: str, n: int, chats: list[int],
                  people: list[int], steady: int, inflight: int, db_url: str | None = None,
                  spy: Path | None = None) -> Run:
    run = Run()
    acks = Acks(sb, marker)
    run.idle_mb = memory_kb(proc.pid) / 1024
    hwm = reset_peak(proc.pid)
    if not hwm:
        run.notes.append("VmHWM could not be reset: peak sampled every 50 ms")
    peak = Peak(proc.pid)
    sampler = await spy_on(proc.pid, spy) if spy else None
    cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
    burst = [await acks.send(k, chats, people) for k in range(n)]
    answered = await acks.wait(burst)
    cpu1 = cpu_seconds(proc.pid)
    if sampler is not None:
        sampler.send_signal(signal.SIGINT)
        await sampler.wait()
        if spy is not None and not spy.exists():
            run.notes.append(f"py-spy wrote no {spy.name} (exit {sampler.returncode}; can it ptrace the bot?)")
    last = max((acks.acked[k] for k in burst if k in acks.acked), default=t0)
    run.rate, run.unanswered = answered / max(last - t0, 1e-9), n - answered
    run.cpu_ms = (cpu1 - cpu0) * 1000 / max(answered, 1)
    if db_url is not None:  # appeals filed during a burst are triaged after their acks (bot/deferred_triage.py)
        run.triaged_early = await count_triaged(db_url)
        triaged = await all_triaged(db_url)
        run.whole_rate = answered / max(triaged - t0, 1e-9)
        run.whole_cpu_ms = (cpu_seconds(proc.pid) - cpu0) * 1000 / max(answered, 1)
    # Steady arrival: the next appeal as soon as fewer than `inflight` wait for their ack.
    keys: list[tuple[int, int]] = []
    for k in range(n, n + steady):
        while sum(1 for key in keys if key not in acks.acked) >= inflight:
            acks.arrived.clear()
            await asyncio.wait_for(acks.arrived.wait(), STALL)
        keys.append(await acks.send(k, chats, people))
    await acks.wait(keys)
    run.peak_mb = max(run.idle_mb, await peak.stop(), memory_kb(proc.pid, "VmHWM") / 1024 if hwm else 0.0)
    latencies = sorted(acks.acked[key] - acks.sent[key] for key in keys if key in acks.acked)
    run.steady_unanswered = steady - len(latencies)
    if latencies:
        run.p50 = statistics.median(latencies)
        run.p90 = latencies[min(len(latencies) - 1, int(0.9 * len(latencies)))]
    return run


def spy_file(spy: Path, db_url: str | None, mode: str) -> Path:
    """SPY.<backend>.<mode>.<n>.txt: a file per backend, mode and run (``--runs``)."""
    stem = f"{spy}.{'postgresql' if db_url and db_url.startswith('postgresql') else 'sqlite'}.{mode}"
    n = 1
    while Path(f"{stem}.{n}.txt").exists():
        n += 1
    return Path(f"{stem}.{n}.txt")


async def spy_on(pid: int, out: Path) -> asyncio.subprocess.Process:
    """py-spy sampling the bot from outside over the burst only (collapsed stacks in ``out``).
    It pauses the process for each sample (whole stacks, a few per cent slower overall), but
    unlike pyinstrument it does not slow pure-Python code more than C calls."""
    spy = Path(sys.executable).with_name("py-spy")
    proc = await asyncio.create_subprocess_exec(str(spy), "record", "-p", str(pid), "-r", "200", "-f", "raw",
                                                "-o", str(out),
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    await asyncio.sleep(0.5)  # py-spy attaches
    return proc


class Peak:
    """A second witness of the peak: VmRSS every 50 ms (MB)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.mb = pid, 0.0
        self.task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            self.mb = max(self.mb, memory_kb(self.pid) / 1024)
            await asyncio.sleep(0.05)

    async def stop(self) -> float:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        return self.mb


async def one(kind: str, mode: str, db_url: str | None, args: argparse.Namespace, tmp: Path) -> Run:
    chats = burst_chats(args.chats)
    webhook = mode == "webhook"
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        sb.updates.parallel_webhook = True
        populate(sb)
        people = populate_burst(sb, chats)
        port = free_port()
        hook = {"WEBHOOK_URL": f"http://127.0.0.1:{port}{WEBHOOK_PATH}"} if webhook else {}
        if kind == "bot":
            assert db_url is not None
            if args.stored:
                await store_old_tickets(db_url, args.stored, args.chats)
            env = bot_env(sb, db_url, burst_org_file(tmp, chats), port, **hook)
            argv = [sys.executable, "-m", "bot", "run"]
            if args.profile:  # the bot under pyinstrument; render later: pyinstrument --load=FILE
                argv[1:1] = ["-m", "pyinstrument", "-r", "pyisession", "-o", str(args.profile)]
            marker = "#20"  # the ticket code in the acknowledgement
        else:
            env = {**os.environ, "BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url or "",
                   "LISTEN_PORT": str(port), **hook}
            argv = [sys.executable, str(ROOT / "bench" / "echo_bot.py"), mode]
            marker = "#echo"
        log = tmp / f"{kind}-{mode}.log"
        proc = await start(argv, env, log)
        try:
            await ready(sb, proc, webhook)
            run = await measure(sb, proc, marker, args.n, chats, people, args.steady, args.inflight,
                                db_url if kind == "bot" else None,
                                spy_file(args.spy, db_url, mode) if args.spy and kind == "bot" else None)
        finally:
            await stop(proc)
        if run.unanswered or run.steady_unanswered:
            print(log.read_text(errors="replace")[-3000:], flush=True)
        return run


def median_run(runs: list[Run]) -> Run:
    pick = {name: statistics.median(getattr(r, name) for r in runs) for name in Run.__dataclass_fields__
            if name != "notes"}
    return Run(**pick, notes=sorted({note for r in runs for note in r.notes}))


def line(name: str, mode: str, bot: Run, echo: Run, args: argparse.Namespace) -> str:
    return (f"{name} {mode}: burst of {args.n} in {args.chats} chats: bot {bot.rate:.1f}/s, echo {echo.rate:.1f}/s, "
            f"ratio {bot.rate / max(echo.rate, 1e-9):.3f} | CPU per appeal: bot {bot.cpu_ms:.2f} ms, "
            f"echo {echo.cpu_ms:.2f} ms | until every card is sent too: bot {bot.whole_rate:.1f}/s, ratio "
            f"{bot.whole_rate / max(echo.rate, 1e-9):.3f}, CPU {bot.whole_cpu_ms:.2f} ms, {bot.triaged_early:.0f} triaged "
            f"before the last ack | RSS bot idle {bot.idle_mb:.0f} MB, peak {bot.peak_mb:.0f} MB "
            f"({bot.peak_mb / max(bot.idle_mb, 1e-9):.2f}x); echo {echo.idle_mb:.0f} / {echo.peak_mb:.0f} MB | "
            f"steady, {args.inflight} in flight, {args.steady} appeals: ack p50 {bot.p50:.2f} s, p90 {bot.p90:.2f} s "
            f"(echo {echo.p50:.3f} / {echo.p90:.3f} s) | unanswered bot {bot.unanswered}+{bot.steady_unanswered}, "
            f"echo {echo.unanswered}+{echo.steady_unanswered}"
            + (f" | {'; '.join(bot.notes)}" if bot.notes else ""))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="appeals in the burst")
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--modes", nargs="+", choices=["polling", "webhook"], default=["polling", "webhook"])
    parser.add_argument("--steady", type=int, default=600, help="appeals in the steady phase")
    parser.add_argument("--inflight", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--stored", type=int, default=0, help="tickets on file before the burst (closed a year ago)")
    sampling = parser.add_mutually_exclusive_group()
    sampling.add_argument("--profile", type=Path, help="run the bot under pyinstrument, its session saved here")
    sampling.add_argument("--spy", type=Path, help="sample the bot's burst with py-spy (pip install py-spy): "
                          "collapsed stacks in SPY.<backend>.<mode>.<run>.txt")
    args = parser.parse_args()
    if args.spy and not Path(sys.executable).with_name("py-spy").exists():
        parser.error("--spy needs py-spy beside this Python: pip install py-spy")
    logging.basicConfig(level=logging.ERROR)
    backends = ([] if args.no_sqlite else [("sqlite", None)]) + ([("postgresql", args.pg)] if args.pg else [])
    for name, url in backends:
        for mode in args.modes:
            bots, echoes = [], []
            for i in range(args.runs):
                with tempfile.TemporaryDirectory(prefix="huying-intake-") as tmp:
                    try:
                        db = await fresh_pg(url) if url else f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
                    except Exception as exc:  # noqa: BLE001 — PostgreSQL not reachable: skip it
                        print(f"{name}: skipped ({exc.__class__.__name__}: {exc})")
                        break
                    bots.append(await one("bot", mode, db, args, Path(tmp)))
                    echoes.append(await one("echo", mode, None, args, Path(tmp)))
                if args.runs > 1:
                    print(f"  run {i + 1}: " + line(name, mode, bots[-1], echoes[-1], args), flush=True)
            if bots:
                print(("median of %d: " % len(bots) if len(bots) > 1 else "")
                      + line(name, mode, median_run(bots), median_run(echoes), args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
