"""Word lists and kind detection for `bot.domain.routing` (DESIGN §2 kinds and urgency)."""
from __future__ import annotations

import re
from functools import lru_cache

from bot.domain.routing_text import normalize

KINDS = ("consultation", "help", "complaint", "suggestion", "report")
DEFAULT_THRESHOLD = 0.6
DOUBT = 0.6  # K in confidence = best / (best + second + K)

DEFAULT_URGENT_WORDS: tuple[str, ...] = (
    # fire, gas, electricity
    "火灾", "着火", "起火", "失火", "火警", "浓烟", "冒烟", "爆炸", "燃气泄漏", "煤气泄漏",
    "天然气泄漏", "天然气味", "漏电", "触电",
    # collapse, natural disasters
    "坍塌", "塌方", "倒塌", "垮塌", "塌陷", "危房", "洪水", "内涝", "溺水", "落水", "台风", "地震",
    "山体滑坡", "泥石流",
    # accidents, injuries, public health, public safety
    "受伤", "重伤", "流血", "死亡", "车祸", "交通事故", "疫情", "传染病", "中毒", "食物中毒",
    "很危险", "太危险", "非常危险", "有危险", "救命", "被困", "持刀", "拿刀", "拿着刀", "动刀", "砍人", "跳楼", "轻生",
    "fire", "on fire", "explosion", "gas leak", "collapse", "collapsed", "injured",
    "injury", "hurt", "accident", "flood", "flooded", "flooding", "poisoning", "food poisoning",
    "trapped", "drowning", "emergency", "bleeding", "electrocuted",
    # everyday wording (seed 004 应急): the word itself, falls, smells of gas, water coming in,
    # things giving way, people hurt or stuck — "老人摔倒了起不来，快来人" is urgent
    "紧急", "急救", "快来人", "来人啊", "救人", "摔倒", "跌倒", "摔伤", "跌伤", "起不来", "晕倒", "昏倒", "昏迷",
    "不省人事", "呼吸困难", "骨折", "出血", "砸伤", "烧伤", "烫伤", "煤气味", "燃气味", "闻到煤气", "漏气",
    "被淹", "淹了", "水淹", "倒灌", "水漫", "塌了", "困人", "电梯困人", "困在电梯", "烧起来", "大火",
    "被车撞", "被撞", "撞伤", "撞倒", "摔了一跤", "头破了", "头破血流", "晕过去", "掉进河", "掉进河里",
    "掉进水里", "掉河里", "压到人", "压到了人", "压伤", "流了很多血",
    "urgent", "fell", "fallen", "can't get up", "cannot get up", "unconscious", "fainted", "smell gas",
    "smell of gas", "gas smell", "stuck in the lift", "stuck in the elevator", "broken bone",
)
DEFAULT_DIVERT_WORDS: tuple[str, ...] = (
    "诉讼", "起诉", "上诉", "法院", "判决", "裁决", "强制执行", "仲裁", "劳动仲裁", "行政复议",
    "行政诉讼", "纪检", "纪委", "监察", "监委", "举报干部", "贪污", "受贿", "行贿", "腐败",
    "lawsuit", "sue", "sued", "suing", "court", "judgment", "judgement", "arbitration",
    "administrative reconsideration", "corruption", "bribe", "bribery", "embezzlement",
)

# Kind cues. Strong ones override the catalogue entry's kind; weak ones only decide when no
# entry matched.
_REPORT_ZH = ("举报", "检举")
_COMPLAINT_ZH = ("投诉", "我要告")
_CONSULT_ZH = ("咨询", "怎么办理", "如何办理", "怎样办理", "办理流程", "什么材料", "哪些材料",
               "要带什么", "需要准备什么", "在哪里办", "在哪办", "去哪里办", "去哪办", "怎么申请",
               "如何申请", "怎么补办", "如何补办", "怎么提取", "如何提取", "怎么交", "如何缴纳",
               "申请条件", "有什么条件", "怎么上户口")
_SUGGEST_ZH = ("建议", "提议", "提个建议", "增设", "多设", "多建", "希望增加", "希望能增加")
_REPORT_EN = ("report",)
_COMPLAINT_EN = ("complain", "complaint", "complaining")
_CONSULT_EN = ("how do i", "how can i", "how to apply", "where can i", "where do i",
               "what documents", "what do i need", "can i apply", "enquire", "inquire")
_SUGGEST_EN = ("suggest", "suggestion", "propose", "proposal", "would be nice", "please consider",
               "could the", "can the", "would it be possible", "install more", "add more", "build more")
_WEAK_CONSULT_ZH = ("请问", "想问", "问一下", "问问", "吗？", "吗?", "么？", "是否", "能否")
_WEAK_CONSULT_EN = ("is it possible", "is there", "can i", "could you tell", "when will", "?")


def _has_en(text: str, phrases: tuple[str, ...]) -> bool:
    return _en_phrases(phrases).search(text) is not None


@lru_cache(maxsize=None)
def _en_phrases(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for a list of phrases, each as whole words (built once: every appeal asks)."""
    return re.compile("|".join(rf"(?<![a-z]){re.escape(p)}(?![a-z])" for p in phrases))


def says_report_in_chinese(text: str) -> bool:
    """举报 / 检举 written out: the one way another channel's words make a 举报 (an English form's
    "report" means any problem reported)."""
    t = normalize(text)
    return any(c in t for c in _REPORT_ZH)


def stated_kind(text: str) -> str | None:
    """The kind the text states outright, or None (report > complaint > consultation > suggestion)."""
    t = normalize(text)
    if any(c in t for c in _REPORT_ZH) or _has_en(t, _REPORT_EN):
        return "report"
    if any(c in t for c in _COMPLAINT_ZH) or _has_en(t, _COMPLAINT_EN):
        return "complaint"
    if any(c in t for c in _CONSULT_ZH) or _has_en(t, _CONSULT_EN):
        return "consultation"
    if any(c in t for c in _SUGGEST_ZH) or _has_en(t, _SUGGEST_EN):
        return "suggestion"
    return None


def detect_kind(text: str, default: str = "help") -> str:
    """Kind guessed from the text alone: stated cues, then weak question cues, else `default`."""
    kind = stated_kind(text)
    if kind:
        return kind
    t = normalize(text)
    if any(c in t for c in _WEAK_CONSULT_ZH) or _has_en(t, _WEAK_CONSULT_EN):
        return "consultation"
    return default
