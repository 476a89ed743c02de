"""Ticket codes: one statement each, per year, continuing from what older versions counted."""
from __future__ import annotations

from storage.common import insert_ignore
from storage.db import make_engine, make_sessionmaker, migrate
from storage.models import Counter
from storage.tickets import next_code
from tests.harness import fresh_database


async def test_codes_count_per_year_and_continue_an_existing_counter(tmp_path):
    url = await fresh_database(tmp_path)
    await migrate(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    async with sessions() as s:
        await insert_ignore(s, Counter, {"name": "ticket:2028", "value": 41})  # counted before the upgrade
        await s.commit()
    async with sessions() as s:
        codes = [await next_code(s, 2026), await next_code(s, 2026), await next_code(s, 2027),
                 await next_code(s, 2028)]
        await s.commit()
    async with sessions() as s:  # a later transaction goes on from there
        codes.append(await next_code(s, 2026))
        await s.commit()
    await engine.dispose()
    assert codes == ["2026-000001", "2026-000002", "2027-000001", "2028-000042", "2026-000003"]
