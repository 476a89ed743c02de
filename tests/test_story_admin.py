"""Stories: admins bind chats and give roles; groups migrate; languages; /ticket and /my."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import Chat, Department, Ticket
from tests.harness import (
    ADMIN,
    CGJ_CHAT,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    RESIDENT,
    RESIDENT_2,
    STRANGER,
    UNKNOWN_GROUP,
    World,
)
from tests.steps import ZH


async def test_unknown_group_is_told_to_bind_and_admin_binds_it(world: World):
    await world.send(RESIDENT, UNKNOWN_GROUP, "/appeal 路灯坏了")
    await world.reply_from_bot(UNKNOWN_GROUP, contains="/bind")
    assert await world.scalar(select(Ticket)) is None
    await world.send(RESIDENT, UNKNOWN_GROUP, "/bind community xinhe")
    await world.reply_from_bot(UNKNOWN_GROUP, contains="管理员")
    await world.send(ADMIN, UNKNOWN_GROUP, "/bind community nowhere")
    await world.reply_from_bot(UNKNOWN_GROUP, contains="nowhere")
    await world.send(ADMIN, UNKNOWN_GROUP, "/bind community xinhe")
    await world.reply_from_bot(UNKNOWN_GROUP, contains="新河街道")
    await world.send(RESIDENT, UNKNOWN_GROUP, "/appeal 路灯坏了一周了")
    await world.reply_from_bot(UNKNOWN_GROUP, contains="#2026-000001")
    assert (await world.scalar(select(Ticket))).area_code == "xinhe"


async def test_admin_gives_and_takes_the_dispatcher_role(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 垃圾没人清运")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await world.send(ADMIN, DISPATCH_CHAT, f"/role {RESIDENT_2} dispatcher")
    await world.reply_from_bot(DISPATCH_CHAT, contains=str(RESIDENT_2))
    qid = await world.sb.press(RESIDENT_2, DISPATCH_CHAT, card["message_id"], "派单")
    assert not (await world.sb.callback_answer(qid)).get("show_alert")
    await world.send(ADMIN, DISPATCH_CHAT, f"/role {RESIDENT_2} -dispatcher")
    await world.reply_from_bot(DISPATCH_CHAT, contains="撤销")
    await world.send(STRANGER, DISPATCH_CHAT, f"/role {STRANGER} admin")
    await world.reply_from_bot(DISPATCH_CHAT, contains="管理员")


async def test_department_group_migrates_to_supergroup_and_keeps_hearing(world: World):
    basic, new_id = -4000000020, -1002000000020
    world.sb.add_chat(basic, type="group", title="城管局（普通群）", members={20001: "member"})
    await world.send(ADMIN, basic, "/bind department cgj")
    await world.reply_from_bot(basic, contains="城市管理局")
    await world.sb.migrate_chat(basic, new_id)
    await world.settle()
    assert (await world.scalar(select(Department).where(Department.code == "cgj"))).chat_id == new_id
    assert (await world.scalar(select(Chat).where(Chat.id == new_id))).kind == "department"
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 垃圾桶满了没人清运")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    qid = await world.sb.press(DISPATCHER, DISPATCH_CHAT, card["message_id"], "派单")
    await world.sb.callback_answer(qid)
    await world.reply_from_bot(new_id, predicate=lambda m: "签收" in str(world.sb.buttons(m)))


async def test_lang_switches_the_chat_language_admin_only_in_groups(world: World):
    await world.send(RESIDENT, COMMUNITY, "/lang en")
    await world.reply_from_bot(COMMUNITY, contains="管理员")
    await world.send(ADMIN, COMMUNITY, "/lang en")
    await world.reply_from_bot(COMMUNITY, contains="English")
    await world.send(RESIDENT, COMMUNITY, "/appeal rubbish not collected")
    ack = await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    assert "registered" in ack["text"]
    await world.send(RESIDENT, RESIDENT, "/lang en")
    await world.reply_from_bot(RESIDENT, contains="English")
    await world.send(RESIDENT, RESIDENT, "/help")
    await world.reply_from_bot(RESIDENT, contains="/appeal")


async def test_ticket_and_my_show_status_to_those_entitled(world: World):
    await world.send(RESIDENT, COMMUNITY, "/appeal 小区垃圾没人清运")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await world.send(RESIDENT, RESIDENT, "/ticket #2026-000001")
    view = await world.reply_from_bot(RESIDENT, contains="#2026-000001")
    assert "待派单" in view["text"] and "受理" in view["text"]
    await world.send(STRANGER, STRANGER, "/ticket 2026-1")
    await world.reply_from_bot(STRANGER, contains="没有找到")
    await world.send(RESIDENT, RESIDENT, "/my")
    await world.reply_from_bot(RESIDENT, contains="#2026-000001")
    await world.send(RESIDENT, RESIDENT, "/nonsense")
    await world.reply_from_bot(RESIDENT, contains="/help")
    await world.send(DISPATCHER, DISPATCH_CHAT, "/ticket #2026-000001")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")


async def test_stickers_edits_and_service_messages_are_quiet(world: World):
    await world.send(RESIDENT, COMMUNITY, sticker=True)
    appeal = await world.send(RESIDENT, COMMUNITY, "/appeal 楼道灯坏了")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await world.sb.user_edits(RESIDENT, COMMUNITY, appeal["message_id"], "/appeal 楼道灯坏了，三楼")
    await world.sb.service_message(COMMUNITY, new_chat_members=[{"id": 777, "is_bot": False, "first_name": "新人"}])
    await world.settle()
    assert len(await world.rows(select(Ticket))) == 1
    assert len(world.sb.bot_messages(COMMUNITY)) == 1
    # The private chat gets a gentle word for a sticker.
    await world.send(RESIDENT, RESIDENT, sticker=True)
    await world.reply_from_bot(RESIDENT, contains="文字")


async def test_help_fits_the_chat(world: World):

    await world.send(HANDLER_A, CGJ_CHAT, "/help")
    assert "签收" in (await world.reply_from_bot(CGJ_CHAT))["text"]
    await world.send(DISPATCHER, DISPATCH_CHAT, "/help")
    assert "/queue" in (await world.reply_from_bot(DISPATCH_CHAT))["text"]
    await world.send(RESIDENT, COMMUNITY, "/help")
    assert "/appeal" in (await world.reply_from_bot(COMMUNITY))["text"]


async def test_role_with_a_huge_user_id_gets_a_clear_answer(world: World):
    msg = await world.send(ADMIN, ADMIN, "/role 99999999999999999999 dispatcher")
    answer = await world.reply_from_bot(ADMIN, contains="99999999999999999999")
    assert answer["text"] == ZH("role.bad_user", user="99999999999999999999")
    assert answer["reply_to_message"]["message_id"] == msg["message_id"]


async def test_an_admin_makes_a_leader_without_a_department_and_a_handler_only_with_one(world: World):
    # `/role <id> leader` was refused as "没有代码为  的部门", though the org file takes a leader
    # without one; a handler without its department now hears what is missing.
    from storage.models import PersonRole
    await world.send(ADMIN, ADMIN, "/role 555 leader")
    await world.reply_from_bot(ADMIN, contains="555")
    await world.send(ADMIN, ADMIN, "/role 556 handler")
    refusal = await world.reply_from_bot(ADMIN, contains="部门代码")
    assert refusal["text"] == ZH("role.needs_department", role="handler")
    await world.send(ADMIN, ADMIN, "/role 557 leader nosuch")
    await world.reply_from_bot(ADMIN, contains="nosuch")
    rows = await world.rows(select(PersonRole).where(PersonRole.person_id.in_([555, 556, 557])))
    assert [(r.person_id, r.role, r.scope) for r in rows] == [(555, "leader", "")]
