"""The district office's admin changes the organisation while tickets are open: /bind, the org file between
restarts, supergroup upgrades, the bot removed and added back, and `python -m bot check`."""
from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select

from bot.sandbox import TelegramSandbox
from storage.models import Chat, Department
from tests.harness import (
    ADMIN, CGJ_CHAT, DATA, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, TOKEN, UNKNOWN_GROUP,
    World, fresh_database, populate,
)
from tests.steps import appeal, dispatched, has_button, press
from tests.test_going_live_review import world_on

BOT_ID = int(TOKEN.split(":")[0])


async def test_a_chat_rebound_from_department_to_community_no_longer_gets_the_departments_cards(world: World):
    """An admin binds a neighbours' group as 城管局's chat by mistake, sees it, and binds it as what it
    is (`/bind community xinhe`). The department's next card — the resident's words, address, the
    签收/退单 buttons — must not be posted into the neighbours' group: 派单 either reaches a
    department chat or is refused as "no chat"."""
    group = UNKNOWN_GROUP
    await world.send(ADMIN, group, "/bind department cgj")
    await world.reply_from_bot(group, contains="城市管理局")
    await world.send(ADMIN, group, "/bind community xinhe")
    await world.reply_from_bot(group, contains="新河街道")
    before = len(world.sb.bot_messages(group))
    await appeal(world, RESIDENT, "小区门口垃圾三天没人清运，电话13800001234")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    await world.settle()
    leaked = [m.get("text") or m.get("caption") or "" for m in world.sb.bot_messages(group)[before:]]
    assert leaked == [], leaked
    dept = await world.scalar(select(Department).where(Department.code == "cgj"))
    assert dept.chat_id != group


def readd_bot(sb: TelegramSandbox, chat_id: int) -> None:
    """The group's owner adds the bot back (Telegram sends the bot a my_chat_member update)."""
    chat = sb.world.chats[chat_id]
    chat.bot_removed = False
    chat.members[BOT_ID] = "member"
    sb._bot_membership_update(chat, "kicked", "member", ADMIN)


async def test_a_department_chat_the_bot_was_added_back_to_takes_dispatches_again(world: World):
    """Someone in 城管局's group removes the bot by mistake; a card sent meanwhile fails. The group's
    owner adds the bot back at once. The next 派单 to 城管局 must reach that group again (its binding
    is unchanged: nobody re-bound anything), not be refused as "the department has no chat"."""
    world.sb.delete_chat(CGJ_CHAT)  # the bot is removed from the department's group
    await world.settle()
    await appeal(world, RESIDENT, "小区门口垃圾三天没人清运")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")  # the card to 城管局 fails: bot kicked
    await world.settle()
    readd_bot(world.sb, CGJ_CHAT)
    await world.settle()
    await appeal(world, RESIDENT, "菜市场垃圾桶满了没人清运")
    second = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002", predicate=has_button("派单"))
    answer = await press(world, DISPATCHER, DISPATCH_CHAT, second, "派单")
    assert "没有" not in (answer.get("text") or ""), answer
    card2 = await world.reply_from_bot(CGJ_CHAT, contains="#2026-000002", predicate=has_button("签收"))
    assert card2


async def test_the_card_lost_while_the_bot_was_out_of_the_department_chat_is_not_silently_dropped(world: World):
    """The 派单 went through while the bot was out of 城管局's group: its card (the only place with
    签收) was refused by Telegram. The ticket then sits DISPATCHED with no card anywhere and earns the
    department a yellow card. Once the bot is back, the department must get the card (or the dispatch
    desk must hear that it was not delivered)."""
    world.sb.delete_chat(CGJ_CHAT)
    await world.settle()
    await appeal(world, RESIDENT, "小区门口垃圾三天没人清运")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    await world.settle()
    readd_bot(world.sb, CGJ_CHAT)
    await world.settle()
    in_dept = [m for m in world.sb.bot_messages(CGJ_CHAT) if "#2026-000001" in (m.get("text") or "")
               and "签收" in str(world.sb.buttons(m))]
    told = [m.get("text") or "" for m in world.sb.bot_messages(DISPATCH_CHAT)
            if "#2026-000001" in (m.get("text") or "") and m["message_id"] != card["message_id"]]
    assert in_dept or told, (world.sb.bot_messages(CGJ_CHAT), told)


async def test_a_department_group_upgraded_to_a_supergroup_can_still_accept_its_open_ticket(world: World):
    """城管局's group is a basic group; a ticket is dispatched to it and waits for 签收. Someone turns on
    a group setting that upgrades it to a supergroup (new chat id; the old group is read-only
    history). DESIGN §5: "follow it, or the department goes deaf". The open ticket's card — the only
    place with 签收 — must be usable in the supergroup: posted again there with its buttons."""
    basic, new_id = -4000000020, -1002000000020
    world.sb.add_chat(basic, type="group", title="城管局（普通群）", members={HANDLER_A: "member"})
    await world.send(ADMIN, basic, "/bind department cgj")
    await world.reply_from_bot(basic, contains="城市管理局")
    await dispatched(world, "小区门口垃圾三天没人清运", dept_chat=basic)
    await world.sb.migrate_chat(basic, new_id)
    await world.settle()
    cards = [m for m in world.sb.bot_messages(new_id)
             if "#2026-000001" in (m.get("text") or "") and "签收" in str(world.sb.buttons(m))]
    assert cards, world.sb.bot_messages(new_id)


def edited_org(tmp_path, name: str, edit) -> Path:  # noqa: ANN001
    org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
    edit(org)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    return path


def department_chat_in(tmp_path, name: str, dept: str, chat: int | None) -> Path:  # noqa: ANN001
    """The test org file with `dept`'s `chat:` set to `chat` (None: left out)."""
    def edit(org: dict) -> None:
        for d in org["departments"]:
            if d["code"] == dept:
                if chat is None:
                    d.pop("chat", None)
                else:
                    d["chat"] = chat
    return edited_org(tmp_path, name, edit)


async def test_check_does_not_call_a_group_the_bot_followed_to_its_supergroup_a_problem(tmp_path):
    """The org file names 城管局's chat by the id it had as a basic group; the group was upgraded and
    the bot followed it (README: "a group that becomes a supergroup changes its id — the bot
    follows"). `python -m bot check` must not tell the IT officer to "add the bot to the group" for
    the old id and exit 1: the bot is in the supergroup and serving it. At most a warning to put the
    new id in the file."""
    from tests.test_going_live import check, row

    basic, new_id = -4000000020, -1002000000020

    path = department_chat_in(tmp_path, "basic.yaml", "cgj", basic)
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        sb.add_chat(basic, type="group", title="城管局工作群", members={HANDLER_A: "member"})
        db_url = await fresh_database(tmp_path)
        async with world_on(sb, db_url, path) as w:
            await w.sb.migrate_chat(basic, new_id)
            await w.settle()
            assert (await w.scalar(select(Department).where(Department.code == "cgj"))).chat_id == new_id
        code, out = await check({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url, "DATABASE_URL": db_url,
                                 "HUYING_ORG_FILE": str(path)})
    assert row(out, str(new_id))[-1] == "ok", out
    assert "PROBLEM" not in out and code == 0, out


async def test_check_still_lists_a_bound_department_chat_the_bot_was_removed_from(tmp_path):
    """水务局's group was bound with `/bind department sw` (the file names no chat for it, as README
    step 6 allows). The bot is removed from the group and the next card there fails. `check` must
    still list that chat with its PROBLEM (the department cannot get cards): it said "ready:
    nothing to fix" while 派单 to 水务局 is refused."""
    from tests.test_going_live import check

    group = -1003000000022

    path = department_chat_in(tmp_path, "nochat.yaml", "sw", None)
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        sb.add_chat(group, type="supergroup", title="水务局新群", members={22001: "member"})
        db_url = await fresh_database(tmp_path)
        async with world_on(sb, db_url, path) as w:
            await w.send(ADMIN, group, "/bind department sw")
            await w.reply_from_bot(group, contains="水务局")
            sb.delete_chat(group)
            await w.settle()
            await dispatched_nowhere(w, "楼下水管漏水好几天了")
        code, out = await check({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url, "DATABASE_URL": db_url,
                                 "HUYING_ORG_FILE": str(path)})
    assert str(group) in out and code == 1, out


async def dispatched_nowhere(w: World, text: str) -> None:
    """An appeal 派单 by the dispatcher whose department card Telegram refuses."""
    await appeal(w, RESIDENT, text)
    card = await w.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(w, DISPATCHER, DISPATCH_CHAT, card, "派单")
    await w.settle()


async def test_moving_a_department_to_a_new_group_in_the_org_file_takes_its_open_tickets_along(tmp_path):
    """城管局 gets a new work group: the admin puts its id under the department's `chat:` and restarts
    (README: the file "updates what it names"). A ticket dispatched before the move still waits for
    签收. In the new group the handlers must be able to accept it: its card, with 签收, posted there
    (the new group is where its nags and every new card now go)."""
    new_group = -1003000000020

    moved = department_chat_in(tmp_path, "moved.yaml", "cgj", new_group)
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        sb.add_chat(new_group, type="supergroup", title="城管局新群", members={HANDLER_A: "member"})
        db_url = await fresh_database(tmp_path)
        async with world_on(sb, db_url, DATA / "org.yaml") as w:
            await dispatched(w, "小区门口垃圾三天没人清运")
        async with world_on(sb, db_url, moved) as w:
            await w.settle()
            assert (await w.scalar(select(Department).where(Department.code == "cgj"))).chat_id == new_group
            cards = [m for m in sb.bot_messages(new_group)
                     if "#2026-000001" in (m.get("text") or "") and "签收" in str(sb.buttons(m))]
    assert cards, sb.bot_messages(new_group)


async def test_moving_the_dispatch_desk_in_the_org_file_takes_the_waiting_cards_along(tmp_path):
    """The 派单中心 moves to a new group (`dispatch_chat:` changed, restart). An appeal filed before the
    move still waits for a dispatcher. The dispatchers now sit in the new group (the old one is no
    desk any more): the waiting ticket's card, with 派单, must be there — /queue only lists it."""
    from tests.test_going_live_review import org_file

    new_desk = -1003000000001
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        sb.add_chat(new_desk, type="supergroup", title="新派单群", members={DISPATCHER: "member"})
        db_url = await fresh_database(tmp_path)
        async with world_on(sb, db_url, DATA / "org.yaml") as w:
            await appeal(w, RESIDENT, "小区门口垃圾三天没人清运")
            await w.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
        async with world_on(sb, db_url, org_file(tmp_path, "desk.yaml", dispatch_chat=new_desk)) as w:
            await w.settle()
            old = await w.scalar(select(Chat).where(Chat.id == DISPATCH_CHAT))
            assert not old.active
            cards = [m for m in sb.bot_messages(new_desk)
                     if "#2026-000001" in (m.get("text") or "") and "派单" in str(sb.buttons(m))]
    assert cards, sb.bot_messages(new_desk)
