"""An appeal's own path in one process, without Telegram or aiogram (issue 14).

    .venv/bin/python bench/appeal_path.py [-n 2000] [--pg URL]

What an update's session does for a plain appeal in a community chat when updates queue (the
triage left for later, bot/deferred_triage.py): the seen mark, `intake.file_appeal` (the ticket,
its event, its ack), the inbox's done mark and the commit. The baseline, run in the same process
just before, is an update that does nothing: its session, the seen mark, the done mark and the
commit. Prints CPU µs per update for both and their ratio, and checks that every appeal made its
ticket, event and ack.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bot.context import App  # noqa: E402
from bot.domain.appeal import Appeal  # noqa: E402
from bot.org import load_org  # noqa: E402
from bot.services import access, intake  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import inbox  # noqa: E402
from storage.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from storage.models import OutboxMessage, Ticket, TicketEvent  # noqa: E402
from storage.orgsync import import_org  # noqa: E402
from tests.harness import COMMUNITY, RESIDENT  # noqa: E402

ORG = ROOT / "tests" / "data" / "org.yaml"
WARM = 200


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--pg", help="a PostgreSQL URL (postgresql+asyncpg://…) whose public schema may be dropped")
    args = parser.parse_args()
    url = args.pg or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    if args.pg:
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    await migrate(url)
    org = load_org(ORG)
    engine = make_engine(url)
    settings = Settings(BOT_TOKEN="1:bench", DATABASE_URL=url, HUYING_ORG_FILE=str(ORG), RUN_SCHEDULER=False)
    app = App(settings=settings, org=org, sessions=make_sessionmaker(engine))
    async with app.sessions() as session:
        await import_org(session, org)
        await session.commit()
    app.inbox_full = True  # updates queue: the ack now, the triage later
    app.matcher.warm()
    now = datetime.now(timezone.utc)
    total = 2 * (WARM + args.n)
    async with app.sessions() as session:
        await inbox.receive(session, [{"update_id": k, "message": {"chat": {"id": COMMUNITY}}}
                                      for k in range(1, total + 1)], now)
        await session.commit()

    async def bare(k: int) -> None:
        async with app.sessions() as session:
            assert await access.first_delivery(session, app, k)
            await inbox.mark_done(session, k, now)
            await app.commit(session)

    async def appeal(k: int) -> None:
        async with app.sessions() as session:
            assert await access.first_delivery(session, app, k)
            await intake.file_appeal(session, app, Appeal(
                chat_id=COMMUNITY, chat_kind="community", message_id=k, user_id=RESIDENT, area_code="gangkou",
                text=f"第{k}号：楼道路灯坏了，晚上很黑"))
            await inbox.mark_done(session, k, now)
            await app.commit(session)

    ids = iter(range(1, total + 1))

    async def timed(step) -> float:  # noqa: ANN001
        for _ in range(WARM):
            await step(next(ids))
        gc.collect()
        start = time.process_time()
        for _ in range(args.n):
            await step(next(ids))
        return (time.process_time() - start) / args.n * 1e6

    base = await timed(bare)
    took = await timed(appeal)
    async with app.sessions() as session:
        made = [await session.scalar(select(func.count()).select_from(model))
                for model in (Ticket, TicketEvent, OutboxMessage)]
    await engine.dispose()
    dialect = "postgresql" if args.pg else "sqlite"
    print(f"{dialect}: an update that does nothing {base:.0f} µs CPU | an appeal {took:.0f} µs | "
          f"ratio {took / base:.2f} | tickets, events, acks made: {made}")
    return 0 if made == [WARM + args.n] * 3 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
