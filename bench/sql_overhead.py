"""What SQLAlchemy adds to one statement on an appeal's path, against the driver alone (issue 14).

    .venv/bin/python bench/sql_overhead.py [-n 3000] [--pg URL]

The same lookup (a ticket by the message it came from, as every appeal asks) run four ways in
one process, one after the other, CPU µs per statement:

* built per call and run through the ORM session (how most of storage/ runs its statements);
* built once and run through the ORM session;
* built once and run on the session's connection (`storage.common.run_core`);
* the driver alone (aiosqlite / asyncpg), the baseline.

Each line prints its ratio to the driver's time in the same run.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, select, text  # noqa: E402

from storage.common import run_core  # noqa: E402
from storage.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from storage.models import Ticket  # noqa: E402

PREBUILT = select(Ticket.id).where(Ticket.origin_chat_id == bindparam("c"), Ticket.origin_message_id == bindparam("m"))
RAW = {"sqlite": "SELECT id FROM tickets WHERE origin_chat_id = ? AND origin_message_id = ?",
       "postgresql": "SELECT id FROM tickets WHERE origin_chat_id = $1 AND origin_message_id = $2"}


async def timed(n: int, call) -> float:  # noqa: ANN001
    for i in range(200):  # warm: compiled caches, prepared statements
        await call(i)
    start = time.process_time()
    for i in range(n):
        await call(i)
    return (time.process_time() - start) / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--pg", help="a PostgreSQL URL (postgresql+asyncpg://…) whose public schema may be used")
    args = parser.parse_args()
    url = args.pg or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    await migrate(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    dialect = engine.dialect.name
    async with sessions() as s:
        conn = await s.connection()
        raw = (await conn.get_raw_connection()).driver_connection

        async def driver(i: int) -> None:
            if dialect == "postgresql":
                await raw.fetch(RAW[dialect], -1, i)
            else:
                await (await raw.execute(RAW[dialect], (-1, i))).fetchall()

        ways = {
            "built per call, ORM session": lambda i: s.execute(
                select(Ticket.id).where(Ticket.origin_chat_id == -1, Ticket.origin_message_id == i)),
            "built once, ORM session": lambda i: s.execute(PREBUILT, {"c": -1, "m": i}),
            "built once, run_core (the connection)": lambda i: run_core(s, PREBUILT, {"c": -1, "m": i}),
            "text(), ORM session": lambda i: s.execute(
                text("SELECT id FROM tickets WHERE origin_chat_id = :c AND origin_message_id = :m"), {"c": -1, "m": i}),
        }
        base = await timed(args.n, driver)
        print(f"{dialect}: the driver alone {base:.1f} µs per statement")
        for name, call in ways.items():
            took = await timed(args.n, call)
            print(f"{dialect}: {name:40s} {took:7.1f} µs  ratio {took / base:5.1f}")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
