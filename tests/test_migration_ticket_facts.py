"""The ticket-facts migrations carry a live database over. 0004, run on a database made by the
revision before it (0003), moves what `sla_state` held for others into columns and tables, keeps the
clocks' own keys, and lets reports count assignments; 0011 drops `tickets.rating_round` (the rounds'
rows are the one record) without losing a round; 0015 gives each round the result it rated."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

from alembic import command
from sqlalchemy import Select, Table, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import alembic_config, make_sessionmaker, migrate
from storage.models import Assignment, Card, RatingRound, Ticket
from tests.harness import fresh_database

T = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


BEFORE_FACTS, FACTS = "0003_console", "0004_ticket_facts"


def at(hours: float) -> str:
    """A timestamp as the app stored it before 0004: UTC, written without an offset."""
    return (T + timedelta(hours=hours)).replace(tzinfo=None).isoformat(sep=" ")


async def _seed(url: str) -> None:
    engine = create_async_engine(url)
    state = {
        "clocks": {"resolve": {"start": "2026-11-23T01:00:00+00:00", "due": "2026-11-30T01:00:00+00:00",
                               "sent": [0.5], "overdue": None}},
        "nag_at": "2026-11-24T01:00:00+00:00", "on_time": [0], "carded": ["cgj:0", "cgj:1"],
        "progress_at": "2026-11-23T03:00:00+00:00",
        "rating": {"round": 2, "asked_at": "2026-11-25T01:00:00+00:00", "reminded_at": None,
                   "await_reason": "2026-11-25T02:00:00+00:00", "reason_choice": "other"},
        "public_response": {"sent_at": "2026-11-22T01:00:00+00:00"},
    }
    statements = [
        "INSERT INTO departments (code, name, yellow_streak) VALUES ('cgj', '城市管理局', 0), ('zjj', '住建局', 0)",
        "INSERT INTO tickets (id, code, kind, urgency, status, version, text, lead_dept, returns_count, reopen_count,"
        " rating_round, created_at, updated_at, accept_due, resolve_due, resolved_at, sla_state)"
        f" VALUES (1, '2026-000001', 'help', 'normal', 'RESOLVED', 9, 'x', 'cgj', 1, 1, 2, '{at(0)}', '{at(60)}',"
        f" '{at(24)}', '{at(120)}', '{at(48)}', :state)",
        "INSERT INTO ticket_events (ticket_id, at, actor_id, kind, data) VALUES"
        f" (1, '{at(0)}', 40001, 'dispatched', '{{\"lead\": \"zjj\", \"co\": []}}'),"
        f" (1, '{at(1)}', 21, 'returned', '{{\"reason\": \"不归我们\", \"dept\": \"zjj\"}}'),"
        f" (1, '{at(2)}', 40001, 'dispatched', '{{\"lead\": \"cgj\", \"co\": []}}'),"
        f" (1, '{at(3)}', 20001, 'accepted', '{{}}'),"
        f" (1, '{at(24)}', 20001, 'resolved', '{{}}'),"
        f" (1, '{at(30)}', 30001, 'reopened', '{{\"due\": \"2026-11-28T01:00:00+00:00\"}}'),"
        f" (1, '{at(48)}', 20001, 'resolved', '{{}}')",
        "INSERT INTO ratings (ticket_id, round, rater_id, result_score, process_score, reason, comment, at) VALUES"
        f" (1, 1, 30001, 1, NULL, 'slow', '太慢', '{at(25)}'), (1, 2, 30001, 1, NULL, NULL, NULL, '{at(49)}')",
        "INSERT INTO cards (dept_code, ticket_id, colour, clock, reason, at) VALUES"
        f" ('cgj', 1, 'yellow', 'accept', '', '{at(20)}'), ('cgj', 1, 'red', 'resolve', '', '{at(40)}')",
    ]
    async with engine.begin() as conn:
        for sql in statements:
            await conn.execute(text(sql), {"state": json.dumps(state)} if ":state" in sql else {})
    await engine.dispose()


# Columns the models have that later revisions added: not there yet right after 0004.
LATER = {"tickets": {"leader_id", "leader_name", "taken_at", "disputed_at", "lead_decided_by"},
         "assignments": {"first_resolve_due"}, "rating_rounds": {"result_text"}}


def as_of_0004(table: Table) -> Select:
    return select(*[c for c in table.c if c.name not in LATER.get(table.name, set())])


async def revision(url: str) -> str:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    await engine.dispose()
    return version


async def test_0004_moves_json_facts_into_columns(tmp_path):
    url = await fresh_database(tmp_path)
    await asyncio.to_thread(command.upgrade, alembic_config(url), BEFORE_FACTS)
    await _seed(url)
    assert await revision(url) == BEFORE_FACTS
    await asyncio.to_thread(command.upgrade, alembic_config(url), FACTS)
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        t = (await conn.execute(as_of_0004(Ticket.__table__).where(Ticket.id == 1))).mappings().one()
        rounds = (await conn.execute(as_of_0004(RatingRound.__table__).order_by(RatingRound.round))).mappings().all()
        cards = (await conn.execute(as_of_0004(Card.__table__).order_by(Card.id))).mappings().all()
        jobs = (await conn.execute(as_of_0004(Assignment.__table__).order_by(Assignment.id))).mappings().all()
    await engine.dispose()

    assert t["channel"] == "telegram"
    assert Ticket.__table__.c.first_progress_at.type.process_result_value(t["first_progress_at"], None) == \
        datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    assert t["public_response_at"] is not None and t["public_response_skipped"] is None
    clock_state = t["clock_state"] if isinstance(t["clock_state"], dict) else json.loads(t["clock_state"])
    assert set(clock_state) == {"clocks", "nag_at", "on_time"}

    assert [(r["round"], r["result_level"], r["reason"], r["reason_choice"]) for r in rounds] == [
        (1, 1, "slow", None), (2, 1, None, "other")]
    assert rounds[0]["comment"] == "太慢" and rounds[1]["reason_asked_at"] is not None
    assert [(c["colour"], c["round"]) for c in cards] == [("yellow", 0), ("red", 1)]

    assert [(j["dept_code"], j["returned_at"] is not None, j["accepted_by"], j["reopen_count"]) for j in jobs] == [
        ("zjj", True, None, 0), ("cgj", False, 20001, 1)]
    assert jobs[0]["return_reason"] == "不归我们"
    assert jobs[1]["first_resolved_at"] is not None and jobs[1]["resolved_at"] is not None
    assert jobs[1]["resolve_due"] is not None and jobs[1]["accept_due"] is not None

    # On to the newest revision: the ticket's round is read from its rows (tickets.rating_round is gone).
    await migrate(url)
    engine = create_async_engine(url)
    try:
        async with make_sessionmaker(engine, cache=False)() as session:
            t = await session.get(Ticket, 1)
            assert t is not None and t.rating_round == 2
    finally:
        await engine.dispose()


async def test_0011_keeps_every_round_the_column_counted(tmp_path):
    url = await fresh_database(tmp_path)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0010_report_indexes")
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO departments (code, name, yellow_streak, red_streak)"
                                " VALUES ('cgj', '城市管理局', 0, 0)"))
        for tid, round_ in ((1, 2), (2, 3), (3, 0)):
            await conn.execute(text(
                "INSERT INTO tickets (id, code, kind, urgency, status, version, text, lead_dept, returns_count,"
                " reopen_count, rating_round, created_at, updated_at, resolved_at, channel) VALUES"
                f" ({tid}, '2026-00000{tid}', 'help', 'normal', 'RESOLVED', 5, 'x', 'cgj', 0, 0, {round_},"
                f" '{at(0)}', '{at(50)}', '{at(48)}', 'telegram')"))
        # Ticket 1 has both its rows; ticket 2 lacks its third (the column counted it), ticket 3 has none.
        await conn.execute(text(
            "INSERT INTO rating_rounds (ticket_id, round, dept_code, asked_at, result_level, process_skipped,"
            f" not_rated) VALUES (1, 1, 'cgj', '{at(24)}', 1, FALSE, FALSE), (1, 2, 'cgj', '{at(48)}', NULL, FALSE,"
            f" FALSE), (2, 1, 'cgj', '{at(24)}', 1, FALSE, FALSE), (2, 2, 'cgj', '{at(30)}', 1, FALSE, FALSE)"))
    await engine.dispose()
    await migrate(url)
    engine = create_async_engine(url)
    try:
        async with make_sessionmaker(engine, cache=False)() as session:
            found = {t.id: t.rating_round for t in (await session.execute(select(Ticket))).scalars()}
            rows = (await session.execute(select(RatingRound.ticket_id, RatingRound.round, RatingRound.result_level)
                                          .order_by(RatingRound.ticket_id, RatingRound.round))).all()
    finally:
        await engine.dispose()
    assert found == {1: 2, 2: 3, 3: 0}
    assert [tuple(r) for r in rows] == [(1, 1, 1), (1, 2, None), (2, 1, 1), (2, 2, 1), (2, 3, None)]


async def test_0015_gives_each_round_the_result_it_rated(tmp_path):
    url = await fresh_database(tmp_path)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0014_on_behalf_index")
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO departments (code, name, yellow_streak, red_streak)"
                                " VALUES ('cgj', '城市管理局', 0, 0)"))
        await conn.execute(text(
            "INSERT INTO tickets (id, code, kind, urgency, status, version, text, lead_dept, returns_count,"
            " reopen_count, created_at, updated_at, resolved_at, result_text, channel) VALUES"
            f" (1, '2026-000001', 'help', 'normal', 'RESOLVED', 5, 'x', 'cgj', 0, 1, '{at(0)}', '{at(50)}',"
            f" '{at(48)}', '每天清运两次', 'telegram')"))
        await conn.execute(text(
            "INSERT INTO ticket_events (ticket_id, at, actor_id, kind, data) VALUES"
            f" (1, '{at(24)}', 20001, 'resolved', '{{\"text\": \"已增加垃圾桶\", \"photos\": 0}}'),"
            f" (1, '{at(30)}', 30001, 'reopened', '{{}}'),"
            f" (1, '{at(48)}', 20001, 'resolved', '{{\"text\": \"每天清运两次\", \"photos\": 0}}')"))
        await conn.execute(text(
            "INSERT INTO rating_rounds (ticket_id, round, dept_code, asked_at, result_level, process_skipped,"
            f" not_rated) VALUES (1, 1, 'cgj', '{at(24)}', 1, FALSE, FALSE), (1, 2, 'cgj', '{at(48)}', NULL,"
            " FALSE, FALSE)"))
    await engine.dispose()
    await migrate(url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(RatingRound.round, RatingRound.result_text)
                                       .order_by(RatingRound.round))).all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in rows] == [(1, "已增加垃圾桶"), (2, "每天清运两次")]
