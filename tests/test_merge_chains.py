"""A merge of merges: an appeal merged into one that was later merged into a third."""
from __future__ import annotations

from tests.harness import CGJ_CHAT, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, RESIDENT_2, STRANGER, World
from tests.steps import appeal, has_button, press


async def test_the_reporter_of_a_merge_of_merges_hears_the_carriers_news(world: World):
    for who in (RESIDENT_2, STRANGER):
        await world.send(who, who, "/start")
        await world.reply_from_bot(who)
    await appeal(world, RESIDENT, "幸福花园3号楼下面的垃圾桶满了好几天了，一直没人来清运，臭得不行")
    first = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await appeal(world, RESIDENT_2, "幸福花园3号楼楼下垃圾桶满了，好几天没人清运")
    second = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    await appeal(world, STRANGER, "幸福花园3号楼垃圾桶满了好几天没人清运")
    third = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000003")
    # #3 joins #2 first; later the dispatcher sees that #2 is #1's matter too.
    await press(world, DISPATCHER, DISPATCH_CHAT, third, "合并到 #2026-000002")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, second["message_id"]),
                "合并到 #2026-000001")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, first["message_id"]), "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    await world.send(HANDLER_A, CGJ_CHAT, "明天上午清运", reply_to=dept_card["message_id"])
    # Both later reporters follow the ticket that now carries their matter.
    for who in (RESIDENT_2, STRANGER):
        told = await world.reply_from_bot(who, contains="明天上午清运")
        assert "#2026-000001" in told["text"], (who, told["text"])
