"""Routing (精准派单): segmentation, negation, urgency, divert, knowledge answers, accuracy floor."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import jieba
import pytest
import yaml

from bot.domain.routing import (
    CatalogEntry,
    CatalogMatcher,
    KnowledgeEntry,
    RouteSuggestion,
    detect_kind,
    is_urgent,
    stated_kind,
)

ROOT = Path(__file__).resolve().parent.parent
ORG = ROOT / "config" / "org.example.yaml"
SAMPLES = ROOT / "tests" / "data" / "routing_samples.yaml"


@pytest.fixture(scope="module")
def org() -> dict:
    return yaml.safe_load(ORG.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def router(org) -> CatalogMatcher:
    return CatalogMatcher.from_org(org["catalog"], org["knowledge"])


@pytest.fixture(scope="module")
def tiny() -> CatalogMatcher:
    """A catalogue written the naive way, with one-character keywords that substrings would trip on."""
    return CatalogMatcher(
        [
            CatalogEntry("供水", ("水", "停水", "漏水"), "sw", (), "help"),
            CatalogEntry("占道经营", ("占道", "摊贩"), "cgj", ("sjj",), "complaint"),
            CatalogEntry("物业", ("电梯", "物业"), "zjj", (), "help"),
            CatalogEntry("通信", ("电话", "宽带"), "txb", (), "complaint"),
            CatalogEntry("治安", ("偷", "小偷"), "gaj", (), "report"),
        ],
        [KnowledgeEntry(("居住证",), "带身份证去派出所。")],
    )


# ---------------------------------------------------------------- segmentation beats substrings


def test_fruit_stall_is_not_water(tiny):
    s = tiny.suggest("水果摊占道，人行道都走不了")
    assert s.lead == "cgj"
    assert s.matched == ("占道",)
    assert all(a.lead != "sw" for a in s.alternatives)
    assert tiny.suggest("家里一直没水，做饭都不行").lead == "sw"


def test_lift_is_not_phone(tiny):
    assert tiny.suggest("电梯坏了三天了").lead == "zjj"
    s = tiny.suggest("打电话一直没人接")
    assert s.lead == "txb"
    assert all(a.lead != "zjj" for a in s.alternatives)


def test_sneakily_is_not_theft(tiny, router):
    assert tiny.suggest("化工厂晚上偷偷排废气").lead is None
    assert tiny.suggest("电动车被偷了").lead == "gaj"
    assert router.suggest("附近化工厂晚上偷偷排废气，味道刺鼻").lead is None


def test_longest_keyword_wins(router):
    s = router.suggest("工地夜间施工到凌晨")
    assert s.category == "噪音扰民"
    assert "夜间施工" in s.matched and "施工" not in s.matched


def test_common_typos_are_fixed(router):
    assert router.suggest("楼下的燥音太大了").category == "噪音扰民"
    assert router.suggest("拉圾好几天没人收了").category == "市容环卫"


def test_full_width_and_case(router):
    assert router.suggest("ＫＴＶ天天唱到凌晨").category == "噪音扰民"
    assert router.suggest("GARBAGE everywhere").category == "市容环卫"


# ---------------------------------------------------------------- negation


@pytest.mark.parametrize(
    "text",
    [
        "不是垃圾的问题，是噪音",
        "不是垃圾问题是噪音问题",
        "跟垃圾没关系，主要是隔壁的噪音",
        "It's not about the garbage, it's the noise from the bar.",
    ],
)
def test_negated_keyword_is_ruled_out(router, text):
    s = router.suggest(text)
    assert s.category == "噪音扰民"
    assert s.negated and s.negated[0] in ("垃圾", "garbage")
    assert all(a.category != "市容环卫" for a in s.alternatives)


def test_negation_stays_in_its_clause(router):
    s = router.suggest("垃圾清运不是很及时，垃圾桶也满了")
    assert s.category == "市容环卫"
    assert not s.negated


# ---------------------------------------------------------------- the suggestion itself


def test_suggestion_shape(router):
    s = router.suggest("小区门口的垃圾桶满了，没人清运，臭气熏天，旁边路灯也坏了")
    assert isinstance(s, RouteSuggestion)
    assert (s.category, s.lead, s.co, s.kind) == ("市容环卫", "cgj", (), "help")
    assert set(s.matched) >= {"垃圾桶", "清运"}
    assert 0 < s.confidence <= 1
    assert len(s.alternatives) <= 3
    assert s.alternatives[0].lead == "jtj" and s.alternatives[0].score > 0
    assert all(a.category != s.category for a in s.alternatives)
    with pytest.raises(AttributeError):
        s.lead = "x"  # frozen


def test_confidence_is_margin_aware(router):
    one = router.suggest("路灯不亮")
    two = router.suggest("路灯不亮，红绿灯也坏了")
    split = router.suggest("垃圾没人清理，电梯也坏了")
    assert one.confident and 0.6 <= one.confidence < two.confidence
    assert split.confidence < 0.5 and not split.confident


def test_threshold_is_configurable(org):
    strict = CatalogMatcher.from_org(org["catalog"], org["knowledge"], threshold=0.9)
    s = strict.suggest("路灯不亮")
    assert s.lead == "jtj" and not s.confident


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text(router, text):
    s = router.suggest(text)
    assert s.category is None and s.lead is None and s.co == ()
    assert s.confidence == 0 and not s.confident and not s.urgent and not s.divert
    assert router.answer(text) is None


def test_nothing_fits(router):
    s = router.suggest("孩子明年上小学，学区是怎么划分的")
    assert s.category is None and s.confidence == 0 and s.matched == ()


# ---------------------------------------------------------------- kinds


def test_kind_from_entry_unless_stated(router):
    assert router.suggest("路边小摊占道").kind == "complaint"
    assert router.suggest("我要投诉，楼下的垃圾三天没清运").kind == "complaint"
    assert router.suggest("我要举报有人在小区赌博").kind == "report"
    assert router.suggest("建议在新河街道多设几个公交站").kind == "suggestion"
    assert router.suggest("请问办理居住证需要什么材料").kind == "consultation"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("请问学区怎么划分？", "consultation"),
        ("How do I apply for a work permit?", "consultation"),
        ("我要投诉这家店", "complaint"),
        ("建议多建几个公园", "suggestion"),
        ("I suggest a new park", "suggestion"),
        ("举报有人卖假药", "report"),
        ("家里的猫跑丢了", "help"),
    ],
)
def test_detect_kind(text, kind):
    assert detect_kind(text) == kind


def test_stated_kind_ignores_weak_cues():
    assert stated_kind("请问路灯什么时候修？") is None
    assert detect_kind("请问路灯什么时候修？") == "consultation"


def test_kind_fallback_when_no_entry(router):
    assert router.suggest("请问学区怎么划分？").kind == "consultation"
    assert router.suggest("家里的猫跑丢了").kind == "help"


# ---------------------------------------------------------------- urgency


@pytest.mark.parametrize(
    "text",
    [
        "5号楼三楼着火了，浓烟滚滚",
        "楼道里一股煤气味，怀疑燃气泄漏了",
        "人民路口发生车祸，有人受伤了",
        "食堂好多学生上吐下泻，可能是食物中毒",
        "暴雨后地下车库内涝，车都泡了",
        "电梯卡在两层中间，有人被困在里面",
        "Gas leak in building 2, you can smell it on every floor!",
        "There's a fire in the basement",
        "A car accident at the roundabout, two people injured",
    ],
)
def test_urgent(router, text):
    s = router.suggest(text)
    assert s.urgent and s.urgent_matched
    assert router.is_urgent(text) and is_urgent(text)


@pytest.mark.parametrize(
    "text",
    [
        "楼下垃圾三天没清运了",
        "万一着火了消防车都进不来",  # hypothetical
        "水压太小，热水器都打不着火",  # "won't ignite", not a fire
        "I got fired and they never paid my wages",
        "If there's a fire nobody could get out",
    ],
)
def test_not_urgent(router, text):
    s = router.suggest(text)
    assert not s.urgent and s.urgent_matched == ()


def test_urgent_reports_the_longest_word(router):
    assert router.suggest("燃气泄漏了").urgent_matched == ("燃气泄漏",)


def test_custom_urgent_words(org):
    r = CatalogMatcher.from_org(org["catalog"], org["knowledge"], urgent_words=["马蜂窝"])
    assert r.suggest("阳台上有个马蜂窝").urgent
    assert not r.suggest("楼里着火了").urgent  # a custom list replaces the defaults


# ---------------------------------------------------------------- divert


@pytest.mark.parametrize(
    "text",
    [
        "我跟开发商的官司已经判决了，法院判他们赔钱",
        "我已经申请劳动仲裁了",
        "我要举报村支书贪污扶贫款",
        "对这个处罚不服，想申请行政复议",
        "I want to sue my landlord, which court do I go to?",
    ],
)
def test_divert(router, text):
    s = router.suggest(text)
    assert s.divert and s.divert_matched


def test_divert_still_routes(router):
    s = router.suggest("公司拖欠工资，我已经申请劳动仲裁了")
    assert s.divert and s.lead == "rsj"
    assert not router.suggest("公司拖欠工资三个月了").divert


# ---------------------------------------------------------------- knowledge answers


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("请问办理居住证需要带什么材料？", "居住证"),
        ("社保卡丢了怎么补办", "社保卡"),
        ("How do I apply for a residence permit?", "Residence permit"),
        ("I lost my social security card, where can I get a new one?", "Social security card"),
        ("我想咨询一下住房公积金怎么提取", "公积金"),
    ],
)
def test_answer(router, text, needle):
    found = router.answer(text)
    assert isinstance(found, KnowledgeEntry)
    assert needle in found.answer


def test_answer_refuses_complaints_urgent_and_strangers(router):
    assert router.answer("居住证办了两个月还没拿到，我要投诉派出所") is None
    assert router.answer("燃气泄漏了怎么办") is None
    assert router.answer("请问学区怎么划分") is None
    assert router.answer("楼下垃圾没人清运") is None


def test_answer_picks_the_best_entry(tiny):
    assert tiny.answer("请问居住证怎么办理").answer == "带身份证去派出所。"


# ---------------------------------------------------------------- English


@pytest.mark.parametrize(
    ("text", "lead"),
    [
        ("The water pipe is leaking in our stairwell", "sw"),
        ("Potholes all over Qingshan Road", "jtj"),
        ("The elevator in building 5 is broken again", "zjj"),
        ("My wallet was stolen on the bus", "gaj"),
        ("Street vendors block the pavement every evening", "cgj"),
        ("The restaurant sold me expired food", "sjj"),
    ],
)
def test_english(router, text, lead):
    assert router.suggest(text).lead == lead


def test_english_words_are_whole_words(tiny, router):
    # "street" contains "tree", "business" contains "bus": whole words only
    assert router.suggest("The street is busy with businesses").lead is None


# ---------------------------------------------------------------- construction


def test_from_org_tolerates_missing_optional_keys():
    r = CatalogMatcher.from_org([{"category": "垃圾", "keywords": ["垃圾"], "lead": "cgj"}], None)
    s = r.suggest("垃圾没人收")
    assert (s.lead, s.co, s.kind) == ("cgj", (), "help")
    assert r.answer("请问垃圾怎么分类") is None


def test_routers_do_not_share_words():
    a = CatalogMatcher([CatalogEntry("甲", ("流动摊点",), "cgj")])
    b = CatalogMatcher([CatalogEntry("乙", ("占道",), "sjj")])
    assert a.suggest("门口有流动摊点").matched == ("流动摊点",)
    assert b.suggest("门口有流动摊点").lead is None
    assert "流动摊点" in a._tokenizer().FREQ
    assert "流动摊点" not in b._tokenizer().FREQ  # each router has its own dictionary
    assert "流动摊点" not in jieba.dt.FREQ  # and the global tokenizer is untouched


def test_import_is_pure_and_leaves_the_dictionary_unloaded():
    """No aiogram, no SQL; jieba's dictionary (the cost, seconds) is loaded at the first analysis,
    not by importing the router or building one (the jieba module itself is imported, cheaply)."""
    code = (
        "import sys, jieba, bot.domain.routing as r, bot.domain.routing_text as rt; r.CatalogMatcher([]); "
        "print(rt._BASE is None, jieba.dt.initialized, 'aiogram' in sys.modules, 'sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "False", "False"]
    assert out.stderr == ""


def test_jieba_is_quiet():
    """jieba logs "Building prefix dict…" to stderr on first load; the router silences it."""
    code = "import bot.domain.routing as r; print(r.CatalogMatcher([]).suggest('垃圾').lead)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"
    assert out.stderr == ""


# ---------------------------------------------------------------- accuracy floor


def _bench():
    spec = importlib.util.spec_from_file_location("routing_accuracy", ROOT / "bench" / "routing_accuracy.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_accuracy_floor(router, org):
    bench = _bench()
    _, samples = bench.load(ORG, SAMPLES)
    assert len(samples) >= 120
    rep = bench.evaluate(router, org["catalog"], samples)
    assert rep.top1 >= 0.85, rep.misses
    assert rep.confident_acc >= 0.95
    assert rep.coverage >= 0.6
    assert rep.top1 > rep.baseline
    assert rep.urgent_recall >= 0.9 and rep.urgent_precision >= 0.85
    assert rep.divert_recall == 1.0 and rep.divert_precision >= 0.9
    assert rep.answer_recall == 1.0 and rep.answer_false <= 1


def test_samples_name_real_departments(org):
    depts = {d["code"] for d in org["departments"]}
    for s in yaml.safe_load(SAMPLES.read_text(encoding="utf-8")):
        assert s["lead"] == "none" or s["lead"] in depts, s

