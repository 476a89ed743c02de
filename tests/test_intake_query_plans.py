"""What an appeal costs must not grow with the tickets an office has on file: no statement run
while an appeal is filed, routed, carded and acknowledged reads a whole table that grows
(SQLite's query plans; bench/intake.py --stored shows the cost: an unindexed count of merged
tickets made each appeal four times dearer with 300,000 tickets on file)."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event

from tests.harness import COMMUNITY, RESIDENT, World

# The directory's tables: a handful of rows each, and read from the in-process copy anyway.
SMALL = ("chats", "departments", "areas", "person_roles", "counters")


def whole_table_reads(path: str, statements: list[tuple[str, object]]) -> list[str]:
    db = sqlite3.connect(path)
    found = []
    try:
        for sql, params in statements:
            if sql.split(None, 1)[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE"):
                continue
            for row in db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall():
                step = row[3]
                if step.startswith("SCAN ") and not step.startswith(tuple(f"SCAN {t}" for t in SMALL)) \
                        and "CONSTANT ROW" not in step:
                    found.append(f"{step}: {' '.join(sql.split())[:160]}")
    finally:
        db.close()
    return found


async def test_filing_an_appeal_reads_no_whole_table(world: World):
    url = world.app.settings.database_url
    if not url.startswith("sqlite"):
        pytest.skip("query plans read on SQLite")
    await world.send(RESIDENT, COMMUNITY, "/appeal 小区门口路灯坏了，晚上很黑")  # the area has a ticket already
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await world.settle()
    statements: list[tuple[str, object]] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001, ARG001
        if not executemany:
            statements.append((statement, parameters))

    engine = world.app.sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        await world.send(RESIDENT, COMMUNITY, "/appeal 楼道里的灯也坏了一个月了")
        await world.reply_from_bot(COMMUNITY, contains="#2026-000002")
        await world.settle()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) > 10  # the appeal's own work was seen
    assert whole_table_reads(url.split("///", 1)[1], statements) == []
