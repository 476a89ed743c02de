"""The test world: sandbox + real Bot/Dispatcher polling over HTTP + a real database."""
from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import inbox_workers, running
from bot.clock import ShiftedClock as BaseShiftedClock
from bot.receiving import Poller
from bot.sandbox import TelegramSandbox
from bot.settings import Settings
from storage.models import OutboxMessage

DATA = Path(__file__).parent / "data"
TOKEN = "123456:TEST-TOKEN"

# People and chats of tests/data/org.yaml
ADMIN = 10001
HANDLER_A, HANDLER_B, CGJ_LEADER, SW_HANDLER, ZJJ_HANDLER = 20001, 20002, 20009, 22001, 21001
VOLUNTEER, BUILDING_LEADER, DISPATCHER = 30001, 30002, 40001
RESIDENT, RESIDENT_2, STRANGER = 50001, 50002, 59999
LEADER = 50009  # role leader (people:), no department
DISPATCH_CHAT, LEADERS_CHAT = -1001000000001, -1001000000002
COMMUNITY, COMMUNITY_2 = -1001000000010, -1001000000011
CGJ_CHAT, ZJJ_CHAT, SW_CHAT = -1001000000020, -1001000000021, -1001000000022
UNKNOWN_GROUP = -1009999999999

PEOPLE = {
    ADMIN: "管理员", HANDLER_A: "李承办", HANDLER_B: "赵承办", CGJ_LEADER: "钱局长", SW_HANDLER: "孙水务",
    ZJJ_HANDLER: "周住建", VOLUNTEER: "王网格", BUILDING_LEADER: "陈楼长", DISPATCHER: "吴派单",
    RESIDENT: "张阿姨", RESIDENT_2: "刘先生", STRANGER: "路人", LEADER: "周书记",
}
CHATS = {
    DISPATCH_CHAT: "派单中心", LEADERS_CHAT: "领导群", COMMUNITY: "港口镇社区群", COMMUNITY_2: "新河街道群",
    CGJ_CHAT: "城管局工作群", ZJJ_CHAT: "住建局工作群", SW_CHAT: "水务局工作群", UNKNOWN_GROUP: "陌生群",
}
DEPT_MEMBERS = {CGJ_CHAT: [HANDLER_A, HANDLER_B, CGJ_LEADER], SW_CHAT: [SW_HANDLER], ZJJ_CHAT: [ZJJ_HANDLER]}

# Monday 2026-11-23 09:00 in Shanghai: a working morning.
START = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


class ShiftedClock(BaseShiftedClock):
    """Starts on a working Monday morning unless told otherwise."""

    def __init__(self, start: datetime = START) -> None:
        super().__init__(start)


async def fresh_database(tmp_path: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite+aiosqlite:///{tmp_path / 'huying.sqlite3'}"
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return url


@dataclass
class World:
    sb: TelegramSandbox
    clock: ShiftedClock
    app: Any = None
    bot: Any = None
    dp: Any = None
    inbox: Any = None  # bot.inbox.InboxWorkers
    _tasks: list[asyncio.Task] = field(default_factory=list)

    async def send(self, user: int, chat: int, text: str | None = None, **kw: Any) -> dict:
        return await self.sb.user_sends(user, chat, text, **kw)

    async def reply_from_bot(self, chat: int, contains: str | None = None, timeout: float = 8.0, **kw: Any) -> dict:
        msg = await self.sb.wait_for_bot_message(chat, contains=contains, timeout=timeout, **kw)
        await self.settle()  # the outbox records the message's link right after Telegram answers
        return msg

    async def settle(self, timeout: float = 8.0) -> None:
        """Wait until Telegram has nothing for the bot, the inbox is drained and the outbox has nothing due."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if not self.sb.pending_updates() and await self.inbox.drained():
                async with self.app.sessions() as s:
                    due = await s.scalar(select(func.count()).select_from(OutboxMessage).where(
                        OutboxMessage.status.in_(("pending", "sending")), OutboxMessage.not_before <= self.clock()))
                if due == 0 and not self.sb.pending_updates() and await self.inbox.drained():
                    await asyncio.sleep(0.05)
                    return
            await asyncio.sleep(0.03)
        raise TimeoutError("the world did not settle")

    async def scalar(self, stmt: Any) -> Any:
        async with self.app.sessions() as s:
            return await s.scalar(stmt)

    async def rows(self, stmt: Any) -> list:
        async with self.app.sessions() as s:
            return list((await s.execute(stmt)).scalars())

    def transcript(self, *chats: int) -> str:
        names = dict(PEOPLE)
        return self.sb.format_transcript(list(chats) or None, names=names)


def populate(sb: TelegramSandbox) -> None:
    for uid, name in PEOPLE.items():
        sb.add_user(uid, name)
    for cid, title in CHATS.items():
        members = {uid: "member" for uid in DEPT_MEMBERS.get(cid, [])}
        sb.add_chat(cid, type="supergroup", title=title, members=members)


def test_settings(db_url: str, **overrides: Any) -> Settings:
    values = dict(BOT_TOKEN=TOKEN, DATABASE_URL=db_url, HUYING_ORG_FILE=str(DATA / "org.yaml"),
                  ALBUM_DEBOUNCE_SECONDS=0.4, OUTBOX_CHAT_INTERVAL=0.0, OUTBOX_GROUP_PER_MINUTE=10_000,
                  OUTBOX_GLOBAL_PER_SECOND=10_000, RUN_SCHEDULER=False)
    values.update({k: v for k, v in overrides.items()})
    return Settings(**values)


@contextlib.asynccontextmanager
async def polling_world(sb: TelegramSandbox, settings: Settings) -> AsyncIterator[World]:
    """A running bot on `settings`: the real receiving path — getUpdates → the inbox → the inbox
    workers → the Dispatcher — and the outbox, against the sandbox."""
    clock = ShiftedClock()
    async with running(settings, clock=clock, with_scheduler=False) as (app, bot, dp):
        poller = Poller(app, bot, timeout=1)
        w = World(sb=sb, clock=clock, app=app, bot=bot, dp=dp, inbox=inbox_workers(dp))
        polling = asyncio.create_task(poller.run())
        try:
            yield w
        finally:
            poller.stop()
            try:
                await asyncio.wait_for(polling, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                polling.cancel()
