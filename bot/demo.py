"""`python -m bot demo`: a week at the appeals desk, played offline against the sandbox.

Everything is real but Telegram: the aiogram Bot talks HTTP to the built-in sandbox, the
tickets live in a fresh SQLite file under ./data/, the outbox and the deadline scan run.
Scripted people play residents (one of them in an English-language chat), a grid volunteer,
dispatchers and handlers: an album, a forward on someone's behalf, the private guided flow,
an emergency sent straight to its department, a 退单, an extension (申请延期), the happy path
to 非常满意, the unsatisfied path (不满意 → reopened → 不满意 → review), a red card, and the
month's 通报 at the end.
"""
from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.app import inbox_workers, running
from bot.clock import ShiftedClock
from bot.org import OrgFile, load_org
from bot.receiving import Poller
from bot.sandbox import TelegramSandbox
from bot.settings import Settings
from scheduler.bulletins import bulletin_job
from scheduler.jobs import scan
from storage import outbox

TOKEN = "700000:DEMO"
ORG_FILE = Path(__file__).resolve().parent.parent / "config" / "org.example.yaml"
# Residents are not in the org file: they are whoever writes in.
RESIDENT, ELDER_NEIGHBOUR, PRIVATE_RESIDENT, ENGLISH_RESIDENT = 50001, 50003, 50002, 50004
ADMIN, VOLUNTEER, DISPATCHER = 10001, 30001, 40001
CGJ_HANDLER, CGJ_HANDLER_2, ZJJ_HANDLER, JTJ_HANDLER = 20001, 20002, 21001, 26001
NAMES = {
    ADMIN: "区管理员", CGJ_HANDLER: "李承办(城管)", CGJ_HANDLER_2: "赵承办(城管)", 20009: "钱局长(城管)",
    ZJJ_HANDLER: "周承办(住建)", 22001: "孙承办(水务)", JTJ_HANDLER: "冯承办(交通)", VOLUNTEER: "王网格员",
    30002: "陈楼长", DISPATCHER: "吴派单员", 40002: "郑派单员",
    RESIDENT: "张阿姨", PRIVATE_RESIDENT: "刘先生", ELDER_NEIGHBOUR: "王奶奶", ENGLISH_RESIDENT: "Mr. Smith",
}
SHANGHAI = timezone(timedelta(hours=8))
# Monday 2026-11-23, 08:55 in Shanghai.
START = datetime(2026, 11, 23, 8, 55, tzinfo=SHANGHAI)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Chats:
    community: int  # 港口镇
    english: int  # 新河街道, switched to English
    dispatch: int
    leaders: int
    cgj: int
    zjj: int
    sw: int
    jtj: int

    @classmethod
    def of(cls, org: OrgFile) -> Chats:
        depts = {d.code: d.chat for d in org.departments}
        assert org.dispatch_chat and org.leaders_chat
        return cls(org.areas[0].chats[0], org.areas[1].chats[0], org.dispatch_chat, org.leaders_chat,
                   *(depts[c] or 0 for c in ("cgj", "zjj", "sw", "jtj")))


class Demo:
    def __init__(self, sb: TelegramSandbox, clock: ShiftedClock, chats: Chats, quiet: bool) -> None:
        self.sb, self.clock, self.chats, self.quiet = sb, clock, chats, quiet
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

    async def card(self, chat: int, button: str, **kw) -> dict:  # noqa: ANN003
        """The next bot message in `chat` that carries `button`."""
        return await self.bot_says(chat, predicate=lambda m: button in str(self.sb.buttons(m)), **kw)

    def now(self, chat: int, msg: dict) -> dict:
        """A message as it stands now (after the bot's edits)."""
        return self.sb.message(chat, msg["message_id"])

    async def press(self, user: int, chat: int, msg: dict, label: str) -> None:
        qid = await self.sb.press(user, chat, msg["message_id"], label)
        await self.sb.callback_answer(qid, timeout=15)
        await self.settle()

    async def answer(self, user: int, chat: int, prompt: dict, text: str, photo: bool = False) -> None:
        """`user` replies to the bot's `prompt` (with a photo: `text` is its caption)."""
        if photo:
            await self.sb.user_sends(user, chat, photo=True, caption=text, reply_to=prompt["message_id"])
        else:
            await self.sb.user_sends(user, chat, text, reply_to=prompt["message_id"])
        await self.settle()

    async def scan(self, when: datetime) -> None:
        self.clock.set(when)
        await scan(self.app)
        await self.settle()


def populate(sb: TelegramSandbox, org: OrgFile) -> None:
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


async def intake(d: Demo) -> tuple[dict, dict, dict, dict]:
    """Four appeals by four roads; returns their dispatch cards."""
    sb, c = d.sb, d.chats
    d.say("08:55 张阿姨 posts three photos as an album in the 港口镇 community chat")
    await sb.user_sends_album(RESIDENT, c.community, count=3, caption="@huying_bot 小区南门口的垃圾三天没人清运了，异味很大，苍蝇很多")
    await d.bot_says(c.community, contains="#")
    garbage = await d.bot_says(c.dispatch, contains="垃圾")

    d.say("09:02 王网格员 forwards a message from 王奶奶, who does not use Telegram much")
    d.clock.set(at(23, 9, 2))
    fwd = {"type": "hidden_user", "sender_user_name": "王奶奶", "date": int(d.clock().timestamp())}
    await sb.user_sends(VOLUNTEER, c.community, "我家楼上水管漏水两天了，天花板一直在滴水，找不到人修", forward_from=fwd)
    await d.bot_says(c.community, contains="#")
    leak = await d.bot_says(c.dispatch, contains="水管")

    d.say("09:05 刘先生 uses the private chat and is guided step by step; his pin lies in 青山社区")
    d.clock.set(at(23, 9, 5))
    await sb.user_sends(PRIVATE_RESIDENT, PRIVATE_RESIDENT, "/start")
    await d.bot_says(PRIVATE_RESIDENT)
    await sb.user_sends(PRIVATE_RESIDENT, PRIVATE_RESIDENT, "青山路口的路灯坏了一个多星期，晚上很黑，老人走路不安全")
    await d.bot_says(PRIVATE_RESIDENT)
    await sb.user_sends(PRIVATE_RESIDENT, PRIVATE_RESIDENT, photo=True)
    await d.press(PRIVATE_RESIDENT, PRIVATE_RESIDENT, await d.bot_says(PRIVATE_RESIDENT), "完成")
    await d.bot_says(PRIVATE_RESIDENT)
    await sb.user_sends(PRIVATE_RESIDENT, PRIVATE_RESIDENT, location=(22.5431, 114.0579))
    await d.press(PRIVATE_RESIDENT, PRIVATE_RESIDENT, await d.bot_says(PRIVATE_RESIDENT), "求助")
    await d.press(PRIVATE_RESIDENT, PRIVATE_RESIDENT, await d.bot_says(PRIVATE_RESIDENT, contains="路灯"), "提交")
    await d.bot_says(PRIVATE_RESIDENT, contains="#")
    streetlight = await d.bot_says(c.dispatch, contains="路灯")

    d.say("09:08 the admin switches the 新河街道 chat to English; Mr. Smith writes in English")
    d.clock.set(at(23, 9, 8))
    await sb.user_sends(ADMIN, c.english, "/lang en")
    await d.bot_says(c.english)
    await sb.user_sends(ENGLISH_RESIDENT, c.english,
                        "@huying_bot The water pipe under the pavement on Xinhe Road has been leaking for a week")
    await d.bot_says(c.english, contains="#")
    english = await d.bot_says(c.dispatch, contains="Xinhe Road")
    return garbage, leak, streetlight, english


async def dispatching(d: Demo, garbage: dict, leak: dict, streetlight: dict, english: dict) -> dict:
    """09:10 派单, a slip of the finger, an emergency; returns the 城市管理局 card of the garbage."""
    c = d.chats
    d.say("09:10 吴派单员 dispatches from the dispatch chat (and sends the English appeal to the wrong department)")
    d.clock.set(at(23, 9, 10))
    await d.press(DISPATCHER, c.dispatch, garbage, "派单")
    dept_card = await d.card(c.cgj, "签收")
    await d.press(DISPATCHER, c.dispatch, leak, "派单")
    await d.card(c.sw, "签收")
    await d.press(DISPATCHER, c.dispatch, streetlight, "派单")
    await d.card(c.jtj, "签收")
    await d.press(DISPATCHER, c.dispatch, english, "另选部门")
    await d.press(DISPATCHER, c.dispatch, d.now(c.dispatch, english), "城市管理局")
    await d.card(c.cgj, "签收", contains="Xinhe Road")

    d.say("09:12 an emergency: gas in the stairwell — straight to 住建局, the leaders told, the on-duty dispatcher named")
    d.clock.set(at(23, 9, 12))
    await d.sb.user_sends(RESIDENT, c.community, "@huying_bot 3栋楼道里有很浓的煤气味，快来人")
    await d.bot_says(c.leaders, contains="紧急")
    urgent = await d.card(c.zjj, "签收")
    await d.bot_says(c.dispatch, contains="值班派单员")
    await d.press(ZJJ_HANDLER, c.zjj, urgent, "签收")
    await d.press(ZJJ_HANDLER, c.zjj, d.now(c.zjj, urgent), "办结")
    await d.answer(ZJJ_HANDLER, c.zjj, await d.bot_says(c.zjj, contains="办理结果"), "已联系燃气公司关阀检修，隐患已排除")
    return dept_card


async def department_work(d: Demo, dept_card: dict) -> None:
    c = d.chats
    d.say("09:20 李承办 accepts (签收) in the 城市管理局 chat and reports progress by replying")
    d.clock.set(at(23, 9, 20))
    await d.press(CGJ_HANDLER, c.cgj, dept_card, "签收")
    await d.answer(CGJ_HANDLER, c.cgj, dept_card, "已通知环卫所，下午两点前清运完毕")

    d.say("09:25 赵承办 returns (退单) the English appeal: water pipes are the 水务局's; 吴派单员 sends it on")
    wrong = await d.card(c.cgj, "退单", contains="Xinhe Road", since=0)
    await d.press(CGJ_HANDLER_2, c.cgj, wrong, "退单")
    await d.answer(CGJ_HANDLER_2, c.cgj, await d.bot_says(c.cgj, contains="退单理由"), "供水管道漏水归水务局管理，请改派")
    back = await d.card(c.dispatch, "派单", contains="退单")
    await d.press(DISPATCHER, c.dispatch, back, "派单")
    await d.card(c.sw, "签收", contains="Xinhe Road")

    d.say("09:30 冯承办 accepts the street-light ticket and asks for an extension (申请延期); 吴派单员 approves")
    d.clock.set(at(23, 9, 30))
    light = await d.card(c.jtj, "签收", since=0)
    await d.press(JTJ_HANDLER, c.jtj, light, "签收")
    await d.press(JTJ_HANDLER, c.jtj, d.now(c.jtj, light), "申请延期")
    await d.answer(JTJ_HANDLER, c.jtj, await d.bot_says(c.jtj, contains="新的完成日期"),
                   "灯杆老化需要整根更换，订货需要时间 2026-12-04")
    await d.press(DISPATCHER, c.dispatch, await d.card(c.dispatch, "批准延期"), "批准延期")

    d.say("14:05 李承办 resolves (办结) the garbage with an after-photo; 14:30 张阿姨 rates it 非常满意")
    d.clock.set(at(23, 14, 5))
    await d.press(CGJ_HANDLER, c.cgj, d.now(c.cgj, dept_card), "办结")
    await d.answer(CGJ_HANDLER, c.cgj, await d.bot_says(c.cgj, contains="办理结果"),
                   "垃圾已全部清运，南门口加装了两个分类垃圾桶，每日清运两次", photo=True)
    rating = await d.card(c.community, "非常满意", contains="#2026-000001")
    d.clock.set(at(23, 14, 30))
    await d.press(RESIDENT, c.community, rating, "非常满意")


async def red_card(d: Demo) -> None:
    d.say("The 水务局 accepts neither of its tickets: reminders, overdue notices, a yellow card, then a red one")
    # #2026-000002 falls due at 09:10 and #2026-000004 at 09:20: a scan between them shows the yellow
    # card before the red one (in one scan both cards would race each other out of the outbox)
    for when in (at(24, 3, 30), at(24, 9, 15), at(24, 9, 30), at(24, 19, 30)):
        await d.scan(when)
    await d.bot_says(d.chats.leaders, contains="红牌", since=0)


async def unsatisfied(d: Demo) -> None:
    c, me = d.chats, PRIVATE_RESIDENT

    async def resolve(result: str) -> dict:
        card = await d.card(c.jtj, "办结", since=0)
        await d.press(JTJ_HANDLER, c.jtj, d.now(c.jtj, card), "办结")
        await d.answer(JTJ_HANDLER, c.jtj, await d.bot_says(c.jtj, contains="办理结果"), result)
        return await d.card(me, "不满意", contains="一事一评")

    async def not_satisfied(question: dict) -> None:
        await d.press(me, me, question, "不满意")
        await d.press(me, me, await d.card(me, "问题没有解决"), "问题没有解决")

    d.say("Wednesday: 冯承办 resolves the street light; 刘先生 is not satisfied (不满意) and it is reopened")
    d.clock.set(at(25, 10))
    await not_satisfied(await resolve("已更换灯泡，路灯恢复照明"))
    await d.bot_says(c.jtj, contains="问题没有解决")

    d.say("Thursday: resolved again, 不满意 again: the ticket goes to review (不满意诉求审核) in the dispatch chat")
    d.clock.set(at(26, 16))
    await not_satisfied(await resolve("已更换整根灯杆并重新接线"))
    review = await d.card(c.dispatch, "关闭并说明")
    d.say("吴派单员 checks on site, closes it with an explanation to 刘先生")
    await d.press(DISPATCHER, c.dispatch, review, "关闭并说明")
    await d.answer(DISPATCHER, c.dispatch, await d.bot_says(c.dispatch, contains="说明的情况"),
                   "经现场核实，青山路口路灯已恢复照明；小区内部的照明归物业管理，已转告物业处理")


async def script(d: Demo) -> None:
    cards = await intake(d)
    dept_card = await dispatching(d, *cards)
    await department_work(d, dept_card)
    await red_card(d)
    await unsatisfied(d)
    d.say("Tuesday 1 December, 09:00: the monthly 通报 for November, with its chart, to the leaders and the dispatchers")
    d.clock.set(at(1, 9, 0, month=12) + timedelta(seconds=30))
    await bulletin_job(d.app, "demo")
    await d.settle()


async def play(quiet: bool = False, data: Path = Path("data")) -> tuple[str, Path]:
    """Play the script; the transcript and the demo's database file."""
    org = load_org(ORG_FILE)
    data.mkdir(parents=True, exist_ok=True)
    db = Path(tempfile.mkstemp(prefix="demo-", suffix=".sqlite3", dir=data)[1])
    sb = TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False)
    await sb.start()
    populate(sb, org)
    # The week plays in well under a minute of real time: Telegram's 20 messages a minute into one
    # group would stretch it to several (the outbox keeps that limit exactly in real use).
    settings = Settings(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=sb.base_url, DATABASE_URL=f"sqlite+aiosqlite:///{db}",
                        HUYING_ORG_FILE=str(ORG_FILE), ALBUM_DEBOUNCE_SECONDS=0.5, OUTBOX_CHAT_INTERVAL=0.05,
                        OUTBOX_GROUP_PER_MINUTE=600, RUN_SCHEDULER=False)
    clock = ShiftedClock(START)
    demo = Demo(sb, clock, Chats.of(org), quiet)
    try:
        async with running(settings, org=org, clock=clock, with_scheduler=False) as (app, bot, dp):
            demo.app, demo.inbox = app, inbox_workers(dp)
            poller = Poller(app, bot, timeout=1)
            polling = asyncio.create_task(poller.run())
            try:
                await script(demo)
            finally:
                poller.stop()
                await asyncio.wait_for(polling, timeout=5)
    finally:
        await sb.stop()
    return sb.format_transcript(names=NAMES), db


async def run_demo(quiet: bool = False) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    transcript, db = await play(quiet)
    print("\n================ transcript ================\n")
    print(transcript)
    print(f"\n(the demo's database is kept at {db}; open it with any SQLite browser)")
    return 0
