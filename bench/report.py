"""The 督/考 report over 100,000 tickets on SQLite, against a plain COUNT(*) over the same rows.

    python bench/report.py [--tickets 100000]

Builds a SQLite file with N tickets dispatched in one year (each with its assignment, most
with a rating round, some with cards and reopenings), then times, in the same run:

* baseline: SELECT COUNT(*) FROM assignments WHERE dispatched_at in the year (one index scan);
* report:   everything /report reads and computes for the year — the per-department figures,
            the worst overdue, the received count, the ranking, the top 高频共性 groups per
            area, the 专项 in progress and the text (not the chart, whose cost does not depend
            on the number of tickets).

Prints both times and their ratio (best of 5 runs each), as wall time and as this process's CPU
time (the second is steadier on a machine shared with other work).
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.hotspots import HotspotPolicy, rank_groups  # noqa: E402
from bot.domain.periods import Period, PeriodKind  # noqa: E402
from bot.domain.ranking import Weights  # noqa: E402
from bot.domain.report import CampaignLine, HotspotLine, assemble  # noqa: E402
from bot.i18n import Translator  # noqa: E402
from bot.reports.text import render  # noqa: E402
from storage import matter  # noqa: E402
from storage import report_facts as facts  # noqa: E402
from storage.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from storage.models import Area, Assignment, Card, Department, RatingRound, Ticket, TicketEvent  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
DEPTS = [f"d{i:02d}" for i in range(12)]
AREAS = [f"a{i:02d}" for i in range(20)]
CATEGORIES = [f"c{i:02d}" for i in range(30)]
YEAR = Period(2026, PeriodKind.YEAR)


async def fill(sessions, n: int) -> None:  # noqa: ANN001
    rng = random.Random(7)
    start, end = YEAR.bounds(TZ)
    span = int((end - start).total_seconds()) - 40 * 86400
    tickets, assignments, ratings, cards, events = [], [], [], [], []
    for i in range(1, n + 1):
        created = start + timedelta(seconds=rng.randrange(span))
        dept = rng.choice(DEPTS)
        dispatched = created + timedelta(minutes=rng.randrange(1, 300))
        accepted = dispatched + timedelta(minutes=rng.randrange(5, 3000)) if rng.random() < 0.95 else None
        resolved = accepted + timedelta(hours=rng.randrange(1, 200)) if accepted and rng.random() < 0.9 else None
        tickets.append(dict(id=i, code=f"2026-{i:06d}", created_at=created, updated_at=created, lead_dept=dept,
                            status="CLOSED" if resolved else "ACCEPTED", closed_at=resolved,
                            area_code=rng.choice(AREAS), category=rng.choice(CATEGORIES)))
        assignments.append(dict(ticket_id=i, dept_code=dept, dispatched_at=dispatched,
                                accept_due=dispatched + timedelta(days=1), accepted_at=accepted,
                                resolve_due=dispatched + timedelta(days=7),
                                first_resolve_due=dispatched + timedelta(days=7), first_resolved_at=resolved,
                                resolved_at=resolved, reopen_count=0))
        if resolved:
            level = rng.choice([4, 4, 3, 3, 2, 1, None])
            ratings.append(dict(ticket_id=i, round=1, dept_code=dept, asked_at=resolved,
                                answered_at=resolved + timedelta(hours=3), result_level=level,
                                not_rated=level is None, process_skipped=False))
            if level == 1:
                events.append(dict(ticket_id=i, at=resolved + timedelta(hours=4), kind="reopened",
                                   from_status="RESOLVED", to_status="REOPENED"))
        if accepted is None or accepted > dispatched + timedelta(days=1):
            cards.append(dict(dept_code=dept, ticket_id=i, round=0, colour=rng.choice(["yellow", "red"]),
                              clock="accept", reason="", at=dispatched + timedelta(days=1)))
    async with sessions() as s:
        await s.execute(insert(Department), [dict(code=d, name=f"Department {d}", yellow_streak=0) for d in DEPTS])
        await s.execute(insert(Area), [dict(code=a, name=f"Area {a}") for a in AREAS])
        for model, rows in ((Ticket, tickets), (Assignment, assignments), (RatingRound, ratings), (Card, cards),
                            (TicketEvent, events)):
            for k in range(0, len(rows), 20_000):
                await s.execute(insert(model), rows[k:k + 20_000])
        await s.commit()


async def best_of(runs: int, fn) -> tuple[float, float]:  # noqa: ANN001
    """The best wall time and the best CPU time of `runs` calls."""
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        await fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        await migrate(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        await fill(sessions, n)
        start, end = YEAR.bounds(TZ)
        as_of = end + timedelta(days=3)

        async def baseline() -> None:
            async with sessions() as s:
                await s.scalar(select(func.count()).select_from(Assignment)
                               .where(Assignment.dispatched_at >= start, Assignment.dispatched_at < end))

        text = ""

        async def report() -> None:
            nonlocal text
            async with sessions() as s:
                # What bot.services.reports.build reads, without an App: the same storage calls.
                hot = rank_groups(await matter.period_groups(s, start, end), HotspotPolicy(), per_area=3)
                running = [CampaignLine(c.id, c.area_code, c.category, c.lead_dept, c.deadline, 0, 0)
                           for c in await matter.campaigns_opened_before(s, end)]
                built = assemble(YEAR, TZ, as_of, received=await facts.received(s, start, end, as_of),
                                 figures=await facts.figures(s, start, end, as_of),
                                 worst=await facts.worst(s, start, end, as_of), departments=DEPTS,
                                 weights=Weights.of(),
                                 hotspots=[HotspotLine(g.area, g.category, g.tickets, g.support) for g in hot],
                                 campaigns=running)
            text = render(built, {}, TZ, Translator("zh"))

        base = await best_of(5, baseline)
        rep = await best_of(5, report)
        await engine.dispose()
    dispatched = sum(1 for line in text.splitlines() if line.startswith(("1. ", "2. ")))
    print(f"tickets: {n}  (departments ranked in the text: {dispatched} of the top lines shown)")
    print(f"COUNT(*) baseline: {base[0] * 1000:8.1f} ms  (CPU {base[1] * 1000:.1f} ms)")
    print(f"report (figures, worst overdue, ranking, hotspots, 专项, text): {rep[0] * 1000:8.1f} ms"
          f"  (CPU {rep[1] * 1000:.1f} ms)")
    print(f"ratio report / COUNT(*): {rep[0] / base[0]:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().tickets))
