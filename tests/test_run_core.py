"""storage.common.run_core: a prebuilt Core statement in the session's transaction sees what the
session has made but not written, as an ORM statement would (the ORM's pending objects, and the
rows a deadline-scan batch holds for its bulk INSERT)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import bindparam, func, select

from storage import outbox, scan_batch
from storage import tickets as ticket_store
from storage.common import run_core
from storage.db import make_engine, make_sessionmaker, migrate
from storage.models import OutboxMessage
from tests.harness import fresh_database

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
ROWS_OF = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.ticket_id == bindparam("t"))


async def test_run_core_sees_pending_objects_and_a_scan_batchs_held_rows(tmp_path):
    url = await fresh_database(tmp_path)
    await migrate(url)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            t = await ticket_store.create(session, now=NOW, code_year=2026, kind="help", urgency="normal",
                                          status="TRIAGE", text="路灯不亮", channel="telegram")
            outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": "a"}, now=NOW,
                           ticket_id=t.id)  # added to the session, not flushed
            assert (await run_core(session, ROWS_OF, {"t": t.id})).scalar() == 1
            await session.commit()

            await scan_batch.open(session, [t.id])  # the scan holds its new rows for one INSERT
            outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": "b"}, now=NOW,
                           ticket_id=t.id)
            assert scan_batch.of(session).new  # held, not in the session
            assert (await run_core(session, ROWS_OF, {"t": t.id})).scalar() == 2
            await session.rollback()
    finally:
        await engine.dispose()
