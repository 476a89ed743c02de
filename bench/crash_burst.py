"""Crash-burst benchmark (issue 8): the real bot process stopped again and again during a burst.

    .venv/bin/python bench/crash_burst.py [-n 3000] [--chats 40] [--kills 5] [--rate 40] [--signal KILL|TERM]

Plays ``-n`` appeals across ``--chats`` community chats at ``--rate`` per second through the
sandbox while ``python -m bot run`` (SQLite, or TEST_DATABASE_URL) is stopped with the signal
``--kills`` times at random moments and restarted; then prints appeals without a ticket, with
two tickets, acknowledgements missing and repeated (only rows caught mid-send may repeat), and
each bot process's RSS once it polls and its peak (VmHWM).
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.sandbox import TelegramSandbox  # noqa: E402
from tests.burst import CrashRun  # noqa: E402
from tests.harness import TOKEN, fresh_database, populate  # noqa: E402


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=40)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--signal", choices=["KILL", "TERM"], default="KILL")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    sig = signal.SIGKILL if args.signal == "KILL" else signal.SIGTERM
    with tempfile.TemporaryDirectory() as tmp:
        async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
            populate(sb)
            run = CrashRun(sb, Path(tmp), await fresh_database(Path(tmp)), sig, appeals=args.n, chats=args.chats,
                           kills=args.kills, per_second=args.rate, seed=args.seed)
            began = time.perf_counter()
            result = await run.run()
    print(f"SIG{args.signal} x{args.kills}, {args.n} appeals in {args.chats} chats at {args.rate:.0f}/s "
          f"({time.perf_counter() - began:.0f} s): {result.line()}; exit codes {run.exit_codes}")
    memory = "; ".join(f"{idle / 1024:.0f} → {peak / 1024:.0f} MB" for idle, peak in run.memory)
    peak = max((p for _, p in run.memory), default=0) / 1024
    idle = max((i for i, _ in run.memory), default=0) / 1024
    print(f"RSS of each bot process, once polling → its peak (VmHWM, start-up included): {memory}; "
          f"highest peak {peak:.0f} MB, {peak / max(idle, 1):.2f}x the idle RSS")
    return 0 if result.complete and result.two_tickets == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
