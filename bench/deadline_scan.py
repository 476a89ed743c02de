"""Deadline-scan benchmark (issue 4): the scan's cost must follow the due tickets, not the open ones.

    .venv/bin/python bench/deadline_scan.py [--due 1000] [--sizes 10000 1000000] [--keep DIR]

For each size it builds a fresh SQLite file (schema through Alembic, the org file imported),
bulk-inserts that many open tickets of which ``--due`` are due now (half at a reminder mark,
half past their deadline, so the scan sends reminders, overdue notices and yellow/red cards),
then times one real ``scheduler.jobs.scan`` call.  Messages only go to the outbox; nothing
is sent to Telegram.  Prints both times and their ratio (goal: <= 1.5).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select  # noqa: E402

from bot.context import App  # noqa: E402
from bot.org import load_org  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bench.sqlcount import StatementCounter  # noqa: E402
from scheduler.jobs import scan  # noqa: E402
from storage.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from storage.models import Card, OutboxMessage, Ticket  # noqa: E402
from storage.orgsync import import_org  # noqa: E402

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in Shanghai
CHUNK = 50_000


def rows(total: int, due: int, depts: list[str]):  # noqa: ANN201
    """Ticket rows: ``due`` of them due at NOW, the rest checked again days from now."""
    rnd = random.Random(7)
    # Exactly half of the due tickets at a reminder mark, half overdue, whatever the size.
    reminding = {i: n % 2 == 1 for n, i in enumerate(sorted(rnd.sample(range(total), due)))}
    for i in range(total):
        dept = depts[i % len(depts)]
        base = {"code": f"B-{i:09d}", "kind": "help", "urgency": "normal", "text": f"bench ticket {i}",
                "lead_dept": dept, "created_at": NOW - timedelta(days=2), "updated_at": NOW,
                "version": 1, "returns_count": 0, "reopen_count": 0, "channel": "telegram"}
        if reminding.get(i) is True:
            # Dispatched 13 h ago with 24 h to accept: the 50 % reminder is due.
            start = NOW - timedelta(hours=13)
            base.update(status="DISPATCHED", dispatched_at=start, accept_due=start + timedelta(hours=24),
                        progress_due=start + timedelta(days=7), resolve_due=start + timedelta(days=7),
                        next_check_at=start + timedelta(hours=12))
        elif reminding.get(i) is False:
            # Accepted, resolve deadline an hour ago: overdue notice and a card.
            start = NOW - timedelta(days=7, hours=1)
            base.update(status="ACCEPTED", dispatched_at=start, accepted_at=start + timedelta(hours=1),
                        accept_due=start + timedelta(days=1), progress_due=start + timedelta(days=7),
                        resolve_due=NOW - timedelta(hours=1), next_check_at=NOW - timedelta(hours=1),
                        first_progress_at=start + timedelta(days=1))
        else:
            start = NOW - timedelta(hours=rnd.randint(1, 48))
            later = NOW + timedelta(hours=rnd.randint(2, 24 * 7))
            base.update(status=rnd.choice(("DISPATCHED", "ACCEPTED")), dispatched_at=start,
                        accept_due=later, progress_due=later + timedelta(days=2),
                        resolve_due=later + timedelta(days=3), next_check_at=later)
        yield base


def fill(db: Path, total: int, due: int, depts: list[str]) -> float:
    """Bulk insert through SQLAlchemy Core executemany (the UTC datetime type still applies)."""
    t0 = time.perf_counter()
    engine = create_engine(f"sqlite:///{db}")
    table = Ticket.__table__
    columns = ("code kind urgency text lead_dept created_at updated_at version returns_count reopen_count "
               "status dispatched_at accepted_at accept_due progress_due resolve_due "
               "next_check_at first_progress_at channel").split()
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        batch: list[dict] = []
        for row in rows(total, due, depts):
            batch.append({c: row.get(c) for c in columns})
            if len(batch) == CHUNK:
                conn.execute(insert(table), batch)
                batch = []
        if batch:
            conn.execute(insert(table), batch)
    with engine.connect() as conn:
        # Fold the fill into the database file now: left in the WAL, the scan's first commit would
        # pay for copying a million rows' pages back (a checkpoint), which is the fill's cost.
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return time.perf_counter() - t0


async def one(size: int, due: int, workdir: Path, org_path: Path) -> dict:
    db = workdir / f"scan_{size}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{db}"
    await migrate(url)
    org = load_org(org_path)
    engine = make_engine(url)
    settings = Settings(BOT_TOKEN="1:bench", DATABASE_URL=url, HUYING_ORG_FILE=str(org_path), RUN_SCHEDULER=False)
    app = App(settings=settings, org=org, sessions=make_sessionmaker(engine), clock=lambda: NOW)
    async with app.sessions() as session:
        await import_org(session, org)
        await session.commit()
    depts = [d.code for d in org.departments if d.chat is not None]
    fill_s = await asyncio.to_thread(fill, db, size, due, depts)
    counter = StatementCounter(engine)
    gc.freeze()  # as bot/app.py does once start-up is done: the cyclic GC leaves those objects alone
    rss_before = rss_kb()
    t0, c0 = time.perf_counter(), time.process_time()
    handled = await scan(app, NOW)
    scan_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    # The scan's commits leave the log's checkpoint to a thread (storage/sqlite_checkpoints.py): its
    # tail is shown apart, as the time until the pages are in the database file too.
    async with engine.connect() as conn:
        checkpoints = (await conn.get_raw_connection()).driver_connection.checkpoints
        await asyncio.to_thread(checkpoints.wait)
    settled_s = time.perf_counter() - t0
    statements = counter.report(per=max(handled, 1), top=8)
    counter.close()
    async with app.sessions() as session:
        queued = await session.scalar(select(func.count()).select_from(OutboxMessage))
        cards = await session.scalar(select(func.count()).select_from(Card))
        left = await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.next_check_at <= NOW))
    await engine.dispose()
    return {"size": size, "fill_s": fill_s, "scan_s": scan_s, "cpu_s": cpu_s, "settled_s": settled_s, "handled": handled, "queued": queued,
            "cards": cards, "left": left, "statements": statements, "rss_mb": rss_before / 1024,
            "peak_mb": rss_kb("VmHWM") / 1024}


def rss_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--org", type=Path, default=ROOT / "config" / "org.example.yaml")
    parser.add_argument("--keep", type=Path, default=None, help="build the databases here (kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="huying-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = []
        for size in args.sizes:
            r = await one(size, args.due, workdir, args.org)
            results.append(r)
            per = max(r["handled"], 1)
            print(f"{r['size']:>9,} open, {args.due} due: insert {r['fill_s']:6.1f} s | scan {r['scan_s']:6.2f} s "
                  f"({r['scan_s'] / per * 1000:.2f} ms/ticket, CPU {r['cpu_s'] / per * 1000:.2f} ms/ticket "
                  f"for the whole process; {r['settled_s'] / per * 1000:.2f} ms/ticket until its checkpoint is done) "
                  f"| handled {r['handled']}, "
                  f"queued {r['queued']} messages, {r['cards']} cards, {r['left']} still due", flush=True)
            print(f"    per due ticket: {r['statements']}", flush=True)
            print(f"    RSS before the scan {r['rss_mb']:.0f} MB, peak so far {r['peak_mb']:.0f} MB", flush=True)
            if r["handled"] != args.due or r["left"]:
                print("  !! the scan did not handle exactly the due tickets", flush=True)
    if len(results) >= 2:
        ratio = results[-1]["scan_s"] / results[0]["scan_s"]
        verdict = "ok" if ratio <= 1.5 else "ABOVE GOAL"
        settled = results[-1]["settled_s"] / results[0]["settled_s"]
        print(f"ratio {results[-1]['size']:,} / {results[0]['size']:,} open: {ratio:.2f} (goal <= 1.5: {verdict}); "
              f"until the checkpoint is done too: {settled:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
