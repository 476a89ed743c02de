"""Where 附议 ends and a new appeal begins — replies as a real neighbourhood chat writes them."""
from __future__ import annotations

import pytest

from bot.domain.agreement import ReplyFacts, Verdict, classify, is_agreement

# Replies to the bot's acknowledgement of "3号楼下面的垃圾桶满了好几天没人清运" by other neighbours.
AGREE = [
    "+1", "+1+1", "＋1", "+10086", "1", "111", "➕1", "加一", "附议", "附议+1", "同意", "同意！",
    "同意，我家楼下也是", "我家也是", "我家也是！！！", "我们这边也是", "我们楼也一样", "同问", "同问，什么时候能修好？",
    "同感", "同上", "同楼上", "楼上说的对", "顶", "顶一下", "顶顶顶", "蹲一个后续", "坐等结果", "支持！",
    "强烈支持", "赞同", "确实", "确实是这样", "是的，好几天了", "对对对", "没错，太臭了", "真的臭死了",
    "受不了了", "我也是，天天这样", "我也遇到过", "深有同感", "我也反映过，一直没人管", "有人管吗",
    "怎么还没处理啊", "什么时候能清运啊", "希望尽快解决", "求解决🙏", "早该管管了", "+1 楼下也是",
    "隔壁也是", "对面也一样", "我家楼下也是，臭得不行", "算我一个", "👍", "👍🏻", "👍👍👍", "🙋‍♀️", "💯",
    "me too", "Same here", "+1 same", "same problem at my place", "Agreed, please fix", "ditto",
    "any update?", "this!", "us too", "Same here, it's terrible", "同意同意", "是啊，都一个星期了",
    "我们这边也是，太臭了", "我家也满了", "+1，好几天没人收了", "3号楼确实，我天天路过", "+1，垃圾车好几天没来了", "同意，垃圾桶都满出来了",
]

# Replies with a matter of their own: a different problem, another specific place, or a photo.
SUBSTANCE = [
    "不光垃圾，楼道里还堆满了杂物",
    "我们7栋也是，垃圾桶好几天没人倒了",
    "7栋也是",
    "同意，5号楼门口也堆着",
    "+1，另外小区东门的路灯也坏了",
    "我家楼下也是，而且下水道堵了污水横流",
    "还有菜市场门口也一样",
    "幸福路那边也是",
    "同意，还有人往绿化带里倒建筑垃圾",
    "二单元楼下也有一堆",
    "顺便说一下，电梯又坏了",
    "Same in block 7, the bins haven't been emptied since Monday",
    "Also the street light outside the school is broken",
    "同意，另外楼上装修天天吵到半夜",
    "楼上装修太吵了",
    "绿化带里的树也被砍了",
    # A different matter at the neighbour's own place: their own appeal, not a 附议.
    "我家也停电了", "我们这边也停水了", "我家楼下也漏水", "隔壁也停电了",
]

# Neither support nor an appeal.
CHATTER = [
    "谢谢", "谢谢！辛苦了", "好的", "收到", "哈哈哈", "？", "？？？", "嗯嗯", "ok", "Thanks!", "👌", "😂",
    "不同意", "我家没有", "我们这没这个问题", "不一样吧",
]


TICKET = "3号楼下面的垃圾桶满了好几天了，一直没人来清运，天一热臭得不行"


@pytest.mark.parametrize("text", AGREE)
def test_agreement(text: str) -> None:
    got = classify(ReplyFacts(text=text, context=TICKET))
    assert got.verdict is Verdict.AGREE, got


@pytest.mark.parametrize("text", SUBSTANCE)
def test_substance(text: str) -> None:
    got = classify(ReplyFacts(text=text, context=TICKET))
    assert got.verdict is Verdict.SUBSTANCE, got


@pytest.mark.parametrize("text", CHATTER)
def test_chatter(text: str) -> None:
    got = classify(ReplyFacts(text=text, context=TICKET))
    assert got.verdict is Verdict.CHATTER, got


def test_a_photo_is_an_appeal_even_with_agreeing_words() -> None:
    # "我家也是" with a photo may show another pile: file it; 合并 is one tap if it is the same.
    assert classify(ReplyFacts(text="我家也是", has_media=True)).verdict is Verdict.SUBSTANCE
    assert classify(ReplyFacts(text="", has_media=True)).reason == "media"
    assert classify(ReplyFacts(has_location=True)).verdict is Verdict.SUBSTANCE


def test_stickers() -> None:
    assert classify(ReplyFacts(sticker_emoji="👍")).verdict is Verdict.AGREE
    assert classify(ReplyFacts(sticker_emoji="👍🏽")).verdict is Verdict.AGREE
    assert classify(ReplyFacts(sticker_emoji="😂")).verdict is Verdict.CHATTER
    assert classify(ReplyFacts(sticker_emoji="")).verdict is Verdict.CHATTER
    assert is_agreement(sticker_emoji="🙋")


def test_reasons_name_what_was_seen() -> None:
    assert classify(ReplyFacts(text="7栋也是")).leftover == "7栋"
    assert classify(ReplyFacts(text="7栋也是")).reason == "place"
    got = classify(ReplyFacts(text="不光垃圾，楼道里还堆满了杂物"))
    assert (got.reason, got.leftover) == ("words", "不光垃圾 楼道里堆满杂物")
    assert classify(ReplyFacts(text="不同意")).reason == "disagree"


def test_the_tickets_own_words_are_not_news() -> None:
    # Without the ticket's words, "垃圾车也没来" reads as a matter of its own; with them, as agreement.
    assert classify(ReplyFacts(text="+1，垃圾车也没来")).verdict is Verdict.SUBSTANCE
    assert classify(ReplyFacts(text="+1，垃圾车也没来", context=TICKET)).verdict is Verdict.AGREE
    # The ticket's own building is no new place; another building is.
    assert classify(ReplyFacts(text="3号楼是的", context=TICKET)).verdict is Verdict.AGREE
    assert classify(ReplyFacts(text="5号楼是的", context=TICKET)).verdict is Verdict.SUBSTANCE
