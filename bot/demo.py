"""`python -m bot demo`: a morning at the appeals desk, played offline against the sandbox.

Everything is real but Telegram: the aiogram Bot talks HTTP to the built-in sandbox, the
tickets live in a fresh SQLite file under ./data/, the outbox and the deadline scan run.
Scripted people play a resident, a grid volunteer, a dispatcher and a handler.
"""
from __future__ import annotations

import asyncio
import logging
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from bot.app import inbox_workers, running
from bot.receiving import Poller
from bot.clock import ShiftedClock
from bot.org import load_org
from bot.sandbox import TelegramSandbox
from bot.settings import Settings
from scheduler.bulletins import bulletin_job
from scheduler.jobs import scan
from storage import outbox

TOKEN = "700000:DEMO"
ORG_FILE = Path(__file__).resolve().parent.parent / "config" / "org.example.yaml"
# Residents are not in the org file: they are whoever writes in.
RESIDENT, ELDER_NEIGHBOUR, PRIVATE_RESIDENT = 50001, 50003, 50002
NAMES = {
    10001: "区管理员", 20001: "李承办(城管)", 20002: "赵承办(城管)", 20009: "钱局长(城管)", 21001: "周承办(住建)",
    22001: "孙承办(水务)", 30001: "王网格员", 30002: "陈楼长", 40001: "吴派单员", 40002: "郑派单员",
    RESIDENT: "张阿姨", PRIVATE_RESIDENT: "刘先生", ELDER_NEIGHBOUR: "王奶奶",
}
# Monday 2026-11-23, 08:55 in Shanghai.
START = datetime(2026, 11, 23, 0, 55, tzinfo=timezone.utc)


class Demo:
    def __init__(self, sb: TelegramSandbox, clock: ShiftedClock, quiet: bool) -> None:
        self.sb, self.clock, self.quiet = sb, clock, quiet
        self.app = None
        self.inbox = None

    def say(self, line: str) -> None:
        if not self.quiet:
            print(f"\n── {line}", flush=True)

    async def settle(self) -> None:
        for _ in range(400):
            if not self.sb.pending_updates() and await self.inbox.drained():
                async with self.app.sessions() as s:
                    if await outbox.count_pending(s) == 0:
                        return
            await asyncio.sleep(0.05)

    async def bot_says(self, chat: int, **kw) -> dict:  # noqa: ANN003
        msg = await self.sb.wait_for_bot_message(chat, timeout=15, **kw)
        await self.settle()
        return msg

    async def press(self, user: int, chat: int, msg: dict, label: str) -> None:
        qid = await self.sb.press(user, chat, msg["message_id"], label)
        await self.sb.callback_answer(qid, timeout=15)
        await self.settle()


def populate(sb: TelegramSandbox, org) -> None:  # noqa: ANN001
    for uid, name in NAMES.items():
        sb.add_user(uid, name)
    for area in org.areas:
        for cid in area.chats:
            sb.add_chat(cid, type="supergroup", title=f"{area.name}居民群")
    for d in org.departments:
        if d.chat:
            sb.add_chat(d.chat, type="supergroup", title=f"{d.name}工作群", members={u: "member" for u in d.handlers})
    sb.add_chat(org.dispatch_chat, type="supergroup", title="12345派单中心")
    sb.add_chat(org.leaders_chat, type="supergroup", title="区领导群")


async def script(d: Demo, org) -> None:  # noqa: ANN001, PLR0915
    community = org.areas[0].chats[0]
    dispatch, cgj, sw = org.dispatch_chat, org.departments[0].chat, org.departments[2].chat
    sb = d.sb

    d.say("08:55 张阿姨 posts three photos as an album in the 港口镇 community chat")
    await sb.user_sends_album(RESIDENT, community, count=3, caption="@huying_bot 小区南门口的垃圾三天没人清运了，异味很大，苍蝇很多")
    await d.bot_says(community, contains="#")
    card = await d.bot_says(dispatch, contains="垃圾")

    d.say("09:02 王网格员 forwards a message from 王奶奶, who does not use Telegram much")
    fwd = {"type": "hidden_user", "sender_user_name": "王奶奶", "date": int(d.clock().timestamp())}
    await sb.user_sends(30001, community, "我家楼上水管漏水两天了，天花板一直在滴水，找不到人修", forward_from=fwd)
    await d.bot_says(community, contains="#")
    leak_card = await d.bot_says(dispatch, contains="水管")

    d.say("09:05 刘先生 uses the private chat and is guided step by step")
    await sb.user_sends(PRIVATE_RESIDENT, PRIVATE_RESIDENT, "/start")
    await d.bot_says(PRIVATE_RESIDENT)
    await sb.user_sends(PRIVATE_RESIDENT, PRIVATE_RESIDENT, "青山路口的路灯坏了一个多星期，晚上很黑，老人走路不安全")
    ask = await d.bot_says(PRIVATE_RESIDENT)
    await sb.user_sends(PRIVATE_RESIDENT, PRIVATE_RESIDENT, photo=True)
    got = await d.bot_says(PRIVATE_RESIDENT)
    await d.press(PRIVATE_RESIDENT, PRIVATE_RESIDENT, got, "完成")
    loc = await d.bot_says(PRIVATE_RESIDENT)
    await sb.user_sends(PRIVATE_RESIDENT, PRIVATE_RESIDENT, location=(22.5431, 114.0579))
    kind = await d.bot_says(PRIVATE_RESIDENT)
    await d.press(PRIVATE_RESIDENT, PRIVATE_RESIDENT, kind, "求助")
    confirm = await d.bot_says(PRIVATE_RESIDENT, contains="路灯")
    await d.press(PRIVATE_RESIDENT, PRIVATE_RESIDENT, confirm, "提交")
    await d.bot_says(PRIVATE_RESIDENT, contains="#")
    del ask, loc

    d.say("09:10 吴派单员 dispatches both community tickets from the dispatch chat")
    await d.press(40001, dispatch, card, "派单")
    dept_card = await d.bot_says(cgj, predicate=lambda m: "签收" in str(sb.buttons(m)))
    await d.press(40001, dispatch, leak_card, "派单")
    await d.bot_says(sw, predicate=lambda m: "签收" in str(sb.buttons(m)))

    d.say("09:20 李承办 accepts (签收) in the 城市管理局 chat and reports progress by replying")
    await d.press(20001, cgj, dept_card, "签收")
    await sb.user_sends(20001, cgj, "已通知环卫所，下午两点前清运完毕", reply_to=dept_card["message_id"])
    await d.bot_says(cgj, contains="进展")

    d.say("14:05 李承办 resolves (办结) with an after-photo")
    card_now = sb.message(cgj, dept_card["message_id"])
    await d.press(20001, cgj, card_now, "办结")
    prompt = await d.bot_says(cgj, contains="办理结果")
    await sb.user_sends(20001, cgj, photo=True, caption="垃圾已全部清运，南门口加装了两个分类垃圾桶，每日清运两次",
                        reply_to=prompt["message_id"])
    rating = await d.bot_says(community, predicate=lambda m: "非常满意" in str(sb.buttons(m)))

    d.say("14:30 张阿姨 rates the result: 非常满意")
    await d.press(RESIDENT, community, rating, "非常满意")
    await d.settle()

    d.say("The 水务局 has not accepted the leak ticket: the clock runs (the scan, with time jumping ahead)")
    for hours in (13, 6, 10):
        d.clock.advance(hours=hours)
        await scan(d.app)
        await d.settle()

    d.say("Tuesday 1 December, 09:00: the monthly 通报 for November, with its chart, to the leaders and the dispatchers")
    d.clock.set(datetime(2026, 12, 1, 1, 0, 30, tzinfo=timezone.utc))  # 09:00:30 in Shanghai
    await bulletin_job(d.app, "demo")
    await d.settle()


async def run_demo(quiet: bool = False) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    org = load_org(ORG_FILE)
    data = Path("data")
    data.mkdir(exist_ok=True)
    db = Path(tempfile.mkstemp(prefix="demo-", suffix=".sqlite3", dir=data)[1])
    sb = TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False)
    await sb.start()
    populate(sb, org)
    settings = Settings(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=sb.base_url, DATABASE_URL=f"sqlite+aiosqlite:///{db}",
                        HUYING_ORG_FILE=str(ORG_FILE), ALBUM_DEBOUNCE_SECONDS=0.5, OUTBOX_CHAT_INTERVAL=0.05,
                        RUN_SCHEDULER=False)
    clock = ShiftedClock(START)
    demo = Demo(sb, clock, quiet)
    try:
        async with running(settings, org=org, clock=clock, with_scheduler=False) as (app, bot, dp):
            demo.app, demo.inbox = app, inbox_workers(dp)
            poller = Poller(app, bot, timeout=1)
            polling = asyncio.create_task(poller.run())
            try:
                await script(demo, org)
            finally:
                poller.stop()
                await asyncio.wait_for(polling, timeout=5)
    finally:
        await sb.stop()
    print("\n================ transcript ================\n")
    print(sb.format_transcript(names=NAMES))
    print(f"\n(the demo's database is kept at {db}; open it with any SQLite browser)")
    return 0
