"""附议 or a new appeal? Classify a neighbour's reply to the bot's message about a ticket.

In a neighbourhood chat most replies to "your appeal is #2026-000123" from other people are "+1",
"同意，我家楼下也是", "同问" or a 👍 — support for the same matter, not a second ticket. Some carry
a matter of their own ("楼道里还堆满了杂物", a photo of another pile, "7栋也是"). The line we draw:

- AGREE: nothing is left once agreement words, vague places (我家, 楼下, 我们这边), emotion (太臭了,
  受不了), pressure on the same matter (什么时候能修好, 有人管吗) and fillers are taken away; or an
  approving emoji/sticker (👍 ➕ 🙋 💯 …).
- SUBSTANCE: a photo, video, voice, file or location (we cannot tell "the same pile" from "another
  place" — when unsure we file: one tap on 合并 undoes it, a lost appeal cannot be undone); a
  specific place of its own ("7栋", "3号楼", "block 7"), since someone has to go there too; or words
  left over that say something new (a different problem, a detail of its own).
- CHATTER: thanks, ok, laughter, bare question marks, disagreement ("不同意", "我家没有") —
  neither support nor an appeal.

Pure: plain values in, a verdict out; no aiogram, no SQL.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    AGREE = "agree"
    SUBSTANCE = "substance"
    CHATTER = "chatter"


@dataclass(frozen=True)
class ReplyFacts:
    """What the classifier needs to know about a reply (no Telegram types)."""

    text: str = ""
    sticker_emoji: str | None = None  # the emoji a sticker stands for, if it is a sticker
    has_media: bool = False  # photo, video, voice, audio, document, animation
    has_location: bool = False
    context: str = ""  # the ticket's own words: repeating them ("垃圾车也没来") says nothing new


@dataclass(frozen=True)
class Classified:
    verdict: Verdict
    reason: str  # why, for logs and tests: "media", "place", "words", "agree", "emoji", "chatter", …
    leftover: str = ""


# Emoji that approve ("me too", "support"); anything else alone is chatter.
AGREE_EMOJI = frozenset("👍➕🙋✋☝👆💯✅🆙🔝⬆🤝👏💪")
_EMOJI_NOISE = re.compile("[\U0001F3FB-\U0001F3FF\uFE0F\u200D\u2640\u2642]")  # skin tones, VS16, ZWJ, ♀♂

# Agreement words, longest first at match time. "楼上" in a chat means "the person above".
_AGREE_ZH = (
    "附议", "同意", "赞同", "赞成", "支持", "同问", "同求", "同感", "同上", "同楼上", "楼上说得对",
    "楼上说的对", "楼上正解", "加一", "顶一下", "顶顶", "顶起", "顶", "蹲一个", "蹲后续", "蹲", "坐等",
    "等结果", "等回复", "等消息", "关注", "也一样", "一样", "同样", "我也是", "也是", "也有", "也这样",
    "也是这样", "也遇到了", "也遇到过", "遇到过", "深有同感", "确实", "的确", "没错", "对对对", "对的",
    "对", "是的", "是啊", "真的", "说得对", "说的对", "太对了", "必须的", "算我一个", "还有我",
    "我也反映过", "反映过", "求解决", "希望尽快解决", "希望早日解决", "希望早点解决", "盼解决",
    "尽快解决", "早该管了", "该管管了", "必须管管", "管管吧", "管一管", "管管", "强烈要求", "强烈支持",
    "赶紧处理", "尽快处理", "快点处理", "有人管吗", "有没有人管", "怎么还没人管", "没人管", "一直没人管",
    "根本不管", "都不管", "也不管", "不管",  # "物业根本不管": a grumble about the same matter
    # A witness to the same matter: "我天天路过", "我也看到了".
    "我作证", "作证", "亲眼看到", "看到了", "看见了", "天天路过", "每天路过", "刚路过", "路过",
)
_AGREE_RE_EXTRA = (
    r"\+\s*\d+",  # +1, + 1, +10086 (NFKC already turned ＋ into +)
    r"➕\s*\d*",
    r"^\s*1+\s*$",  # a bare "1" / "111" is "+1" in Chinese chats
    r"(还没|怎么还没|咋还没)(有)?(处理|解决|修|修好|弄|弄好|人来|来人|清理|清运)(吗|呢|啊)?",
    r"(没|没有)人?(来)?(收|来|清|清理|清运|处理|管|修|弄|倒)(过)?",  # "好几天没人收了": same matter, still undone
    r"(都|已经)?(好)?[0-9一二三四五六七八九十两几]+(个)?(天|星期|礼拜|周|月|小时)(了)?",
    r"(什么时候|啥时候|几时|何时)(能|可以|才能|会)?(修好|修|解决|处理|弄好|来人|有人来|清理|清运|来水|来电)",
)
_AGREE_EN = (
    "plus one", "me too", "same here", "same for us", "same problem", "same issue", "same thing",
    "us too", "here too", "i agree", "totally agree", "agreed", "agree", "seconded", "second this",
    "ditto", "same", "this", "yes", "yeah", "yep", "please fix", "please sort it out", "any update",
    "any news", "when will it be fixed", "what is the status", "what's the status", "whats the status",
    "status", "any progress",
)
# Places too vague to send anyone to: the neighbour's own home, "downstairs", "over here".
_VAGUE_PLACE_ZH = (
    "我家楼下", "我们楼下", "我家门口", "我们家", "俺家", "咱家", "我家", "我们小区", "我们楼", "我们单元",
    "我们那栋", "我们这栋", "我们这边", "我们这里", "我们这", "我这边", "我这里", "我这", "咱们这",
    "隔壁小区", "隔壁", "对面", "这边", "那边", "这里", "那里", "附近", "周围", "楼下", "门口", "我们", "咱们",
)
_VAGUE_PLACE_EN = ("at my place", "at our place", "in our building", "our building", "my building",
                   "downstairs", "our street", "my street", "over here", "here", "our", "my")
# Feelings about the same matter: support, not a new fact.
_EMOTION_ZH = (
    "臭死了", "臭得不行", "太臭了", "好臭", "吵死了", "太吵了", "受不了", "真受不了", "烦死了", "气死了",
    "太过分了", "过分", "无语", "服了", "难受", "天天这样", "每天都这样", "一直这样", "好几天了",
    "好多天了", "很久了", "好久了", "太久了", "得不行", "不得了", "死了",
)
_EMOTION_EN = ("terrible", "awful", "so bad", "unbearable", "ridiculous", "for days", "for weeks",
               "every day", "again", "still")
_CHATTER_ZH = ("谢谢", "感谢", "多谢", "辛苦了", "辛苦", "好的", "收到", "知道了", "明白", "哈哈", "呵呵",
               "嘿嘿", "嗯嗯", "嗯", "好", "谢",
               # News that it is done: the department hears the reporter's rating, not a new appeal.
               "已经解决了", "已经解决", "已解决", "解决了", "修好了", "弄好了", "清走了", "清理了", "搞定了",
               # Praise and satisfaction, most often under the 正面回应 ("感谢大家的监督与支持！"):
               # answered in kind, not a new matter (README: thanks stay unanswered).
               "给你们点个赞", "给你们点赞", "为你们点赞", "点个赞", "点赞", "好评", "非常满意", "很满意", "满意",
               "太好了", "真好", "好样的", "真棒", "很棒", "棒棒", "给力", "厉害", "效率真高", "效率很高", "效率高",
               "速度真快", "真快", "终于", "干净了", "同志们", "工作人员", "为民办实事", "办实事", "你们", "大家")
_CHATTER_EN = ("thank you", "thanks", "thx", "ok", "okay", "lol", "haha", "noted", "got it", "great job",
               "good job", "nice job", "well done", "nice work", "good work", "great work", "much appreciated",
               "appreciated", "very satisfied", "satisfied", "awesome", "excellent", "great", "brilliant",
               "all clean now", "clean now", "you guys", "guys", "team")
# Disagreement is not support ("不同意", "我家没有", "不一样").
_DISAGREE_RE = re.compile(r"(不|没)(同意|支持|赞同|赞成|一样|是这样|这回事)|反对|(没有|没)(这个)?(问题|事)|"
                          r"(我家|我们|我这|我们这|这边)(没有|不是|没)(这个|这种|这样的)?(问题|事|情况)?|\bdisagree\b|\bnot (here|us|me)\b")
_FILLERS = re.compile(r"[啊呀吧呢哦嘛啦了的得也都还就很太是哈嗯唉哎呃额诶哇呗喔么真又再]+")
# A place of its own: "7栋", "3号楼", "二单元", "幸福路", "block 7".
_SPECIFIC_PLACE = re.compile(
    r"(?<![+\d])[0-9一二三四五六七八九十百]+\s*(栋|幢|号楼|座|单元|楼|层|室|弄|巷|期|区)|"
    r"\b(block|building|bldg|unit|flat|no\.?|number|tower|lane|road|street|st|rd)\s*\d+|"
    r"\d+\s*(st|nd|rd|th)?\s*(street|road|lane|floor)\b"
)
# Named places (幸福路, 菜市场门口) need no pattern: they are words left over, and three characters say enough.
_PUNCT_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)
_EN_STOP = frozenset("the a an it is are was be at in on of to for and i we me us you they too also so "
                     "really very just please pls plz from with by".split())
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[a-z]+")
MIN_NEW_CJK = 3  # a new matter needs a subject and a predicate: "杂物堆满" — three characters at least
MIN_NEW_EN = 2


def _alternation(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_ZH_PHRASES = re.compile(
    "|".join([_alternation(_AGREE_ZH), *_AGREE_RE_EXTRA, _alternation(_VAGUE_PLACE_ZH), _alternation(_EMOTION_ZH)])
)
_EN_PHRASES = re.compile(
    r"\b(" + "|".join([_alternation(_AGREE_EN), _alternation(_VAGUE_PLACE_EN), _alternation(_EMOTION_EN)]) + r")\b"
)
_VAGUE_PLACE_RE = re.compile(_alternation(_VAGUE_PLACE_ZH))
_CHATTER_RE = re.compile(_alternation(_CHATTER_ZH) + r"|\b(" + _alternation(_CHATTER_EN) + r")\b")


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower().strip()


def _emoji_only(text: str) -> list[str] | None:
    """The emoji of a text made of emoji only (skin tones folded away), else None."""
    clean = _EMOJI_NOISE.sub("", text)
    chars = [c for c in clean if not c.isspace()]
    if not chars:
        return None
    if all(not c.isalnum() and unicodedata.category(c) in ("So", "Sm", "Sk") for c in chars):
        return chars
    return None


def _leftover(text: str) -> tuple[str, bool, bool]:
    """Take away agreement, vague places, emotion, chatter and fillers; say what was found."""
    agreed = bool(_ZH_PHRASES.search(text) or _EN_PHRASES.search(text))  # a vague place agrees too
    rest = _ZH_PHRASES.sub(" ", text)
    rest = _EN_PHRASES.sub(" ", rest)
    chatty = bool(_CHATTER_RE.search(rest))
    rest = _CHATTER_RE.sub(" ", rest)
    rest = _FILLERS.sub("", rest)
    rest = _PUNCT_SPACE.sub(" ", rest).strip()
    rest = " ".join(w for w in rest.split() if w not in _EN_STOP and not w.isdigit())
    return rest, agreed, chatty


def _shared_with(context: str, rest: str) -> str:
    """`rest` without the CJK runs of two or more characters the ticket's own text already has."""
    if not context:
        return rest
    ctx = _normal(context)
    out, i = [], 0
    while i < len(rest):
        j = i
        while j < len(rest) and _CJK.match(rest[j]) and rest[i : j + 1] in ctx:
            j += 1
        if j - i >= 2:
            i = j
            continue
        out.append(rest[i])
        i += 1
    return _PUNCT_SPACE.sub(" ", "".join(out)).strip()


def _says_something(rest: str) -> bool:
    cjk = len(_CJK.findall(rest))
    latin = len(_LATIN_WORD.findall(rest))
    return cjk >= MIN_NEW_CJK or latin >= MIN_NEW_EN or (cjk >= 2 and latin >= 1)


def _specific_place(text: str) -> str | None:
    m = _SPECIFIC_PLACE.search(text)
    return m.group(0) if m else None


def classify(facts: ReplyFacts) -> Classified:
    if facts.has_media or facts.has_location:
        return Classified(Verdict.SUBSTANCE, "media" if facts.has_media else "location")
    text = _normal(facts.text)
    if not text:
        if facts.sticker_emoji is not None:
            emoji = _EMOJI_NOISE.sub("", facts.sticker_emoji)
            if emoji and all(c in AGREE_EMOJI for c in emoji):
                return Classified(Verdict.AGREE, "sticker")
        return Classified(Verdict.CHATTER, "sticker" if facts.sticker_emoji is not None else "empty")
    only_emoji = _emoji_only(text)
    if only_emoji is not None:
        if any(c in AGREE_EMOJI for c in only_emoji):
            return Classified(Verdict.AGREE, "emoji")
        return Classified(Verdict.CHATTER, "emoji")
    place = _specific_place(text)
    if place and place.replace(" ", "") not in _normal(facts.context).replace(" ", ""):
        return Classified(Verdict.SUBSTANCE, "place", place)
    if place:
        text = text.replace(place, " ")  # the ticket's own place, named again
    disagrees = _DISAGREE_RE.search(text)
    if disagrees:
        text = _DISAGREE_RE.sub(" ", text)
    rest, agreed, chatty = _leftover(text)
    rest = _shared_with(facts.context, rest)
    if _says_something(rest):
        return Classified(Verdict.SUBSTANCE, "words", rest)
    if len(_CJK.findall(rest)) >= 2 and _VAGUE_PLACE_RE.search(text):
        # "我家也停电了" under a ticket about rubbish: a problem of its own, at the neighbour's place —
        # a two-character matter ("停电", "漏水") the ticket never mentions is not the ticket's.
        return Classified(Verdict.SUBSTANCE, "elsewhere", rest)
    if disagrees:
        return Classified(Verdict.CHATTER, "disagree", rest)
    if agreed or any(c in AGREE_EMOJI for c in text):
        return Classified(Verdict.AGREE, "agree", rest)
    return Classified(Verdict.CHATTER, "chatter" if chatty else "short", rest)


def is_agreement(text: str = "", *, sticker_emoji: str | None = None) -> bool:
    return classify(ReplyFacts(text=text, sticker_emoji=sticker_emoji)).verdict is Verdict.AGREE
