"""Outbox benchmark (issue 14): delivery rate against a stand-in that enforces Telegram's limits.

    .venv/bin/python bench/outbox.py [--messages 600] [--chats 120] [--runs 3] [--db-url URL]

The built-in sandbox enforces the Bot API FAQ's limits (30 messages/s overall, 1/s into one
chat, 20/min into one group) and answers 429 to anything over them.  The bot is configured
with the same limits.  Half of the chats are private, half supergroups; the messages are
queued in one transaction in a shuffled order (a few of them photo albums), the real
`OutboxWorker` is woken, and the clock runs until Telegram holds every message.

Prints, per run and as the median: delivered/s (Telegram messages: an album of two counts
twice, as it does against the limits), the number of 429 answers, the ratio of
delivered/s to the configured global limit (goal >= 0.9 with zero 429s), and the peak RSS of
this process (bot + sandbox) from /proc.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot.app import running  # noqa: E402
from bot.sandbox import TelegramSandbox  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import outbox  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402

TOKEN = "123456:BENCH-TOKEN"
GLOBAL, CHAT, GROUP = 30, 1, 20  # Telegram's limits, enforced by the sandbox and configured in the bot


def rss_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def world(sb: TelegramSandbox, chats: int) -> list[int]:
    ids = []
    for n in range(chats):
        if n % 2:
            cid = -1002000000000 - n
            sb.add_chat(cid, type="supergroup", title=f"bench group {n}")
        else:
            cid = 7_000_000 + n
            sb.add_user(cid, f"reader{n}")
            sb.add_chat(cid, type="private")
        ids.append(cid)
    return ids


def queue(session, app, chat_ids: list[int], messages: int, photo: str) -> None:  # noqa: ANN001
    """`messages` rows spread evenly over the chats, shuffled; every 25th is a 2-photo album."""
    rnd = random.Random(14)
    targets = [chat_ids[i % len(chat_ids)] for i in range(messages)]
    rnd.shuffle(targets)
    for i, chat_id in enumerate(targets):
        if i % 25 == 24:
            outbox.enqueue(session, chat_id=chat_id, method="album", now=app.now(),
                           payload={"media": [photo, photo], "caption": f"bench album {i}"})
        else:
            outbox.enqueue(session, chat_id=chat_id, method="message", now=app.now(),
                           payload={"text": f"bench message {i}"})


async def one(db_url: str, messages: int, chats: int, org: Path) -> dict:
    sb = TelegramSandbox(bot_token=TOKEN, bot_username="bench_bot", privacy_mode=False)
    await sb.start(host="127.0.0.1", port=0)
    chat_ids = world(sb, chats)
    photo = sb.world.new_photo(b"bench")[-1]["file_id"]
    settings = Settings(BOT_TOKEN=TOKEN, DATABASE_URL=db_url, HUYING_ORG_FILE=str(org), TELEGRAM_API_URL=sb.base_url,
                        OUTBOX_GLOBAL_PER_SECOND=GLOBAL, OUTBOX_CHAT_INTERVAL=1.0 / CHAT,
                        OUTBOX_GROUP_PER_MINUTE=GROUP, RUN_SCHEDULER=False)
    try:
        async with running(settings, with_scheduler=False) as (app, _bot, _dp):
            sb.set_flood(True, global_per_second=GLOBAL, chat_per_second=CHAT, group_per_minute=GROUP)
            rejected_before = sb.flood.rejections
            async with app.sessions() as session:
                queue(session, app, chat_ids, messages, photo)
                await session.commit()
            expected = sum(2 if i % 25 == 24 else 1 for i in range(messages))
            idle_kb = rss_kb()
            peak_kb = idle_kb
            t0 = time.monotonic()
            app.wake_outbox()
            while True:
                await asyncio.sleep(0.1)
                peak_kb = max(peak_kb, rss_kb())
                sent = sum(len(sb.flood.send_times.get(c, [])) for c in chat_ids)
                if sent >= expected:
                    async with app.sessions() as session:
                        left = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
                            OutboxMessage.status != "sent"))
                    if left == 0:
                        break
                if time.monotonic() - t0 > 600:
                    raise TimeoutError(f"only {sent}/{expected} delivered after 600 s")
            times = sorted(t for c in chat_ids for t in sb.flood.send_times[c])
            elapsed = times[-1] - t0
            lo, hi = times[len(times) // 10], times[len(times) * 9 // 10]
            steady = (len(times) * 8 // 10) / (hi - lo)
            return {"rate": expected / elapsed, "rows": messages / elapsed, "elapsed": elapsed, "rejections": sb.flood.rejections - rejected_before,
                    "steady": steady, "first": times[0] - t0,
                    "idle_mb": idle_kb / 1024, "peak_mb": peak_kb / 1024}
    finally:
        await sb.stop()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--chats", type=int, default=120)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db-url", default=None, help="default: a fresh SQLite file per run")
    parser.add_argument("--org", type=Path, default=ROOT / "tests" / "data" / "org.yaml")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    results = []
    with tempfile.TemporaryDirectory(prefix="huying-bench-") as tmp:
        for run in range(args.runs):
            url = args.db_url or f"sqlite+aiosqlite:///{Path(tmp) / f'outbox{run}.sqlite3'}"
            if args.db_url and url.startswith("postgresql"):
                await reset_postgres(url)
            r = await one(url, args.messages, args.chats, args.org)
            results.append(r)
            print(f"run {run + 1}: {args.messages} messages over {args.chats} chats in {r['elapsed']:5.1f} s: "
                  f"{r['rate']:5.1f} delivered/s ({r['rows']:.1f} rows/s), {r['rejections']} answered 429, "
                  f"ratio {r['rate'] / GLOBAL:.2f} of {GLOBAL}/s (steady {r['steady']:.1f}/s, first after "
                  f"{r['first'] * 1000:.0f} ms) | RSS idle {r['idle_mb']:.0f} MB, "
                  f"peak {r['peak_mb']:.0f} MB", flush=True)
    rate = statistics.median(r["rate"] for r in results)
    rejections = statistics.median(r["rejections"] for r in results)
    ok = rate / GLOBAL >= 0.9 and rejections == 0
    print(f"median: {rate:.1f} delivered/s, {rejections:g} answered 429, ratio {rate / GLOBAL:.2f} "
          f"(goal >= 0.90 with zero 429s: {'ok' if ok else 'NOT MET'}), "
          f"peak RSS {max(r['peak_mb'] for r in results):.0f} MB")
    return 0


async def reset_postgres(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
