"""Intake benchmark (issue 8): appeals per second of the bot against a bare aiogram echo bot.

    .venv/bin/python bench/intake.py [-n 1000] [--chats 20] [--pg URL]

For each backend (SQLite, and PostgreSQL when ``--pg`` / TEST_DATABASE_URL answers) it
queues N appeals across ``--chats`` community chats in the sandbox, starts the bot and
times until every appeal has its acknowledgement.  The same N updates are then fed to a
bare aiogram echo bot (one handler that replies, aiogram's default polling) in the same
run; the ratio bot/echo is what must not fall.  Flood limits are off on both sides.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from aiogram import Bot, Dispatcher  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from aiogram.types import Message  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.app import running  # noqa: E402
from bot.sandbox import TelegramSandbox  # noqa: E402
from tests.harness import DATA, TOKEN, populate, test_settings  # noqa: E402

FIRST_CHAT, FIRST_RESIDENT = -1002000000000, 700000


def org_with(chats: list[int], path: Path) -> Path:
    org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
    org["areas"] += [{"code": f"burst{i}", "name": f"area {i}", "chats": [c]} for i, c in enumerate(chats)]
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    return path


async def queue(sb: TelegramSandbox, n: int, chats: list[int]) -> list[tuple[int, int]]:
    people = [FIRST_RESIDENT + i for i in range(50)]
    for cid in chats:
        sb.add_chat(cid, type="supergroup", title=f"chat {cid}")
    for uid in people:
        sb.add_user(uid, f"resident {uid}")
    sent = []
    for k in range(n):
        msg = await sb.user_sends(people[k % len(people)], chats[k % len(chats)],
                                  f"/appeal No.{k}: \u697c\u9053\u8def\u706f\u574f\u4e86")  # corridor light broken
        sent.append((msg["chat"]["id"], msg["message_id"]))
    return sent


def answered(sb: TelegramSandbox, chats: list[int], marker: str) -> int:
    seen = set()
    for cid in chats:
        for msg in sb.bot_messages(cid):
            reply = msg.get("reply_to_message") or {}
            if marker in (msg.get("text") or "") and reply.get("message_id"):
                seen.add((cid, reply["message_id"]))
    return len(seen)


async def wait_all(sb: TelegramSandbox, chats: list[int], n: int, marker: str,
                   stall: float = 40.0) -> tuple[int, float]:
    """Until all n are answered, or nothing new was answered for ``stall`` seconds (lost ones):
    (how many were answered, seconds until the last one was)."""
    start = last = time.perf_counter()
    done = 0
    while done < n and time.perf_counter() - last < stall:
        await asyncio.sleep(0.05)
        now_done = answered(sb, chats, marker)
        if now_done > done:
            done, last = now_done, time.perf_counter()
    return done, last - start


async def fresh_pg(url: str) -> str:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return url


async def run_bot(n: int, chats: list[int], db_url: str, tmp: Path) -> tuple[int, float]:
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        await queue(sb, n, chats)
        settings = test_settings(db_url, TELEGRAM_API_URL=sb.base_url,
                                 HUYING_ORG_FILE=str(org_with(chats, tmp / "org.yaml")))
        async with running(settings, with_scheduler=False) as (app, bot, dp):
            try:  # this change: our own polling loop into the inbox
                from bot.receiving import Poller

                poller = Poller(app, bot, timeout=1)
                task = asyncio.create_task(poller.run())
                stop = poller.stop
            except ImportError:  # before it: aiogram's polling
                task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False,
                                                            polling_timeout=1))
                stop = None
            result = await wait_all(sb, chats, n, "#20")
            if stop is not None:
                stop()
            else:
                await dp.stop_polling()
            await asyncio.wait_for(task, 10)
        return result


async def run_echo(n: int, chats: list[int]) -> tuple[int, float]:
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        await queue(sb, n, chats)
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sb.base_url)))
        dp = Dispatcher()

        @dp.message()
        async def echo(message: Message) -> None:
            await message.reply(f"#echo {message.text}")

        task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
        result = await wait_all(sb, chats, n, "#echo")
        await dp.stop_polling()
        await asyncio.wait_for(task, 10)
        await bot.session.close()
        return result


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    chats = [FIRST_CHAT - i for i in range(args.chats)]
    backends = [("sqlite", None)] + ([("postgresql", args.pg)] if args.pg else [])
    for name, url in backends:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                db = url and await fresh_pg(url) or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
            except (OSError, Exception) as exc:  # noqa: BLE001 — PostgreSQL not reachable: skip it
                print(f"{name}: skipped ({exc.__class__.__name__}: {exc})")
                continue
            bot_done, bot_s = await run_bot(args.n, chats, db, Path(tmp))
            echo_done, echo_s = await run_echo(args.n, chats)
        bot_rate, echo_rate = bot_done / bot_s, echo_done / echo_s
        print(f"{name}: {args.n} appeals in {args.chats} chats: bot {bot_rate:.1f}/s "
              f"({args.n - bot_done} unanswered), bare aiogram echo {echo_rate:.1f}/s "
              f"({args.n - echo_done} unanswered), ratio {bot_rate / echo_rate:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
