"""The database adds the rates up exactly as the reference definitions do (bot.domain.rates)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.periods import Period, PeriodKind
from bot.domain.rates import department_figures, worst_overdue
from storage import report_facts as facts
from storage.db import make_engine, make_sessionmaker, migrate
from storage.models import Assignment, Card, Department, RatingRound, Ticket, TicketEvent
from tests.harness import fresh_database
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
PERIOD = Period(2026, PeriodKind.MONTH, 11)
START, END = PERIOD.bounds(TZ)
DEPTS = ("cgj", "sw", "zjj")


def _t(rng: random.Random, base: datetime, spread_h: int) -> datetime:
    return base + timedelta(seconds=rng.randrange(0, spread_h * 3600))


def _maybe(rng: random.Random, p: float, value: datetime) -> datetime | None:
    return value if rng.random() < p else None


def world_of_facts(seed: int, n: int = 120) -> list[object]:
    """Tickets dispatched around the month's edges, each clock in every state."""
    rng = random.Random(seed)
    rows: list[object] = [Department(code=c, name=c.upper()) for c in DEPTS]
    for i in range(1, n + 1):
        created = _t(rng, START - timedelta(days=3), 24 * 36)
        dept = rng.choice(DEPTS)
        t = Ticket(id=i, code=f"2026-{i:06d}", created_at=created, updated_at=created, lead_dept=dept,
                   status="CLOSED", closed_at=_maybe(rng, 0.5, created + timedelta(days=rng.randrange(1, 20))))
        rows.append(t)
        dispatched = created + timedelta(minutes=rng.randrange(1, 600))
        accept_due = dispatched + timedelta(hours=rng.choice([1, 24]))
        resolve_due = dispatched + timedelta(days=rng.choice([1, 5, 7]))
        accepted = _maybe(rng, 0.8, dispatched + timedelta(seconds=rng.randrange(60, 2 * 86400)))
        returned = None if accepted else _maybe(rng, 0.5, dispatched + timedelta(seconds=rng.randrange(60, 3 * 86400)))
        resolved = None
        if accepted:
            resolved = _maybe(rng, 0.8, accepted + timedelta(seconds=rng.randrange(60, 8 * 86400)))
        first_due = _maybe(rng, 0.3, resolve_due + timedelta(days=2)) or None
        rows.append(Assignment(ticket_id=i, dept_code=dept, dispatched_at=dispatched, accept_due=accept_due,
                               accepted_at=accepted, returned_at=returned, resolve_due=resolve_due,
                               first_resolve_due=first_due, first_resolved_at=resolved, resolved_at=resolved,
                               reopen_count=0))
        if resolved:
            level = rng.choice([4, 3, 2, 1, None])
            rows.append(RatingRound(ticket_id=i, round=1, dept_code=dept, asked_at=resolved,
                                    answered_at=resolved + timedelta(hours=5) if level else None,
                                    result_level=level, not_rated=level is None and t.closed_at is not None))
            if level == 1:
                rows.append(TicketEvent(ticket_id=i, at=resolved + timedelta(hours=6), kind="reopened",
                                        from_status="RESOLVED", to_status="REOPENED"))
        if rng.random() < 0.3:
            rows.append(Card(dept_code=dept, ticket_id=i, round=0, colour=rng.choice(["yellow", "red"]),
                             clock="accept", reason="", at=accept_due))
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_sql_figures_equal_the_reference_definitions(tmp_path, seed: int):
    url = await fresh_database(tmp_path)
    await migrate(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rows = world_of_facts(seed)
    async with sessions() as s:
        for kind in (Department, Ticket, (Assignment, RatingRound, TicketEvent, Card)):
            s.add_all([r for r in rows if isinstance(r, kind)])
            await s.flush()
        await s.commit()
    try:
        for as_of in (END + timedelta(hours=9), START + timedelta(days=12, hours=3)):
            async with sessions() as s:
                by_sql = await facts.figures(s, START, END, as_of)
                wide_start, wide_end = START - timedelta(days=40), END + timedelta(days=40)
                disp = await facts.dispatch_facts(s, wide_start, wide_end)
                ref = department_figures(START, END, as_of, disp, await facts.rating_facts(s, wide_start, wide_end),
                                         await facts.card_facts(s, wide_start, wide_end),
                                         await facts.reopen_facts(s, wide_start, wide_end))
                assert by_sql.keys() == ref.keys()
                for dept in ref:
                    assert vars(by_sql[dept]) == vars(ref[dept]), dept
                assert sum(f.dispatched for f in ref.values()) > 20
                worst = await facts.worst(s, START, END, as_of, limit=8)
                assert worst == worst_overdue(START, END, as_of, disp, limit=8)
                assert await facts.received(s, START, END, as_of) == len(
                    [t for t in world_of_facts(seed) if isinstance(t, Ticket) and START <= t.created_at < END
                     and t.created_at <= as_of])
    finally:
        await engine.dispose()


async def test_first_ticket_and_empty_periods(tmp_path):
    url = await fresh_database(tmp_path)
    await migrate(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as s:
            assert await facts.first_ticket_at(s) is None
            assert await facts.figures(s, START, END, END) == {}
            assert await facts.worst(s, START, END, END) == []
            when = datetime(2026, 11, 3, 2, tzinfo=timezone.utc)
            s.add(Ticket(id=1, code="2026-000001", created_at=when, updated_at=when))
            await s.commit()
            assert await facts.first_ticket_at(s) == when
    finally:
        await engine.dispose()
