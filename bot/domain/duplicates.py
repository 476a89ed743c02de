"""Likely duplicates of a new ticket (归并办理, seed 003: "防范'多头访'被'重复办'").

Given a new ticket and candidates — open or recently closed tickets of the same area and
category, filed close in time (the storage query narrows to those) — score each by how alike the
words are (jieba tokens) and, when both have one, how close the places are; return the likely
duplicates, best first, each with the reason a dispatcher can read at a glance.

Words
    Both texts are normalised (NFKC, lower case, common typos: 拉圾 → 垃圾), segmented with jieba
    (precise mode, HMM off, plus a few dozen neighbourhood words so 垃圾桶 or 广场舞 stay whole);
    the dictionary words inside a long word join at half weight (广场舞 → 广场), so a longer and a
    shorter name of one thing still meet. Stop words go, and so do words every appeal of a category
    says (物业, 坏了, 修): they tell no matter from another. A few synonyms fold onto one token
    (菜场 = 菜市场, 厕所 = 公厕, 渣土 = 建筑垃圾). English words are stemmed, and a small glossary maps
    the English a neighbour writes onto the Chinese word for the same thing (bins → 垃圾桶), so
    mixed-language chats still meet. A token weighs 1.0 (one Chinese character 0.3). The similarity
    is the weighted overlap  shared / min(total_a, total_b) : a short "3栋垃圾还是没人收" repeats a
    long first appeal without restating all of it.

Places
    A building number ("3号楼" = "3栋" = "block 3") named by both: the same number is strong
    evidence (+0.25), different numbers rule the pair out. Locations shared by both: within NEAR_M
    (100 m) the same spot (+0.25), up to FAR_M (300 m) near (+0.1), beyond it a different spot
    (ruled out). A pair scoring THRESHOLD (0.3) or more is suggested.

Measured by bench/duplicates.py on tests/data/duplicates*.yaml (figures in its docstring).
"""
from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Sequence

from bot.domain.routing_text import make_tokenizer, normalize, stem

if TYPE_CHECKING:  # pragma: no cover
    import jieba


@dataclass(frozen=True)
class Matter:
    """A ticket as the suggester sees it."""

    id: int
    code: str
    text: str
    created_at: datetime
    area: str | None = None
    category: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    closed_at: datetime | None = None  # None while open
    result_given: bool = False  # resolved or answered, awaiting its rating or review: no merge into it

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class Suggestion:
    """One likely duplicate and why."""

    ticket_id: int
    code: str
    score: float
    shared_words: tuple[str, ...] = ()
    distance_m: float | None = None
    same_building: str | None = None
    closed: bool = False
    age: timedelta = timedelta(0)


@dataclass(frozen=True)
class Policy:
    open_window: timedelta = timedelta(days=14)  # open tickets filed this recently are candidates
    closed_window: timedelta = timedelta(days=7)  # closed tickets closed this recently are too
    threshold: float = 0.3
    near_m: float = 100.0
    far_m: float = 300.0
    limit: int = 3


NEAR_M = Policy.near_m
FAR_M = Policy.far_m

# Words that keep whole in a neighbourhood chat (jieba alone splits some of them).
_DOMAIN_WORDS = (
    "垃圾桶", "垃圾站", "垃圾车", "建筑垃圾", "渣土", "广场舞", "打桩", "下水道", "返水", "积水", "停水",
    "来水", "水管", "爆管", "井盖", "路灯", "坑洼", "电梯", "困人", "楼道灯", "外墙", "瓷砖", "小摊",
    "占道", "人行道", "烧烤", "烧烤店", "烧烤摊", "油烟", "排烟", "公厕", "狗屎", "小广告", "菜市场",
    "菜场", "地铁站", "地铁口", "出口", "工地", "装修", "噪音", "违建", "漏水", "停电", "绿化带",
)
# One thing, several names: fold them onto one token.
_SYNONYMS = {
    "菜场": "菜市场", "市场": "菜市场", "厕所": "公厕", "卫生间": "公厕", "地铁口": "地铁站", "地铁": "地铁站",
    "渣土": "建筑垃圾", "垃圾箱": "垃圾桶", "烧烤摊": "烧烤", "烧烤店": "烧烤", "露天烧烤": "烧烤",
    "撸串": "烧烤", "跳舞": "广场舞", "音响": "音箱", "小贩": "小摊", "摊贩": "小摊", "摊子": "小摊",
    "商贩": "小摊", "摊": "小摊", "没水": "停水", "断水": "停水", "淹": "积水", "水坑": "积水",
    "坑坑洼洼": "坑洼", "窨井盖": "井盖", "升降梯": "电梯", "狗粪": "狗屎", "狗狗": "狗", "遛狗": "狗",
}
_STOP = frozenset(
    "的 了 是 在 我 我们 你 你们 他 他们 她 它 有 都 也 还 就 很 太 啊 吧 呢 吗 嘛 哦 呀 啦 这 那 这个 那个 个 "
    "一 不 没 没有 人 什么 怎么 到 说 好 要 会 能 去 来 又 再 给 把 被 让 和 跟 对 上 下 里 边 上面 下面 "
    "旁边 那边 这边 附近 时候 现在 已经 一直 好几天 几天 天 每天 天天 麻烦 请 希望 管管 管 谁 问题 反映 "
    "一下 一个 一些 还是 到底 真的 实在 根本 特别 非常 都是 就是 可以 不能 没法 一样 这样 那样 如果 "
    "但是 而且 所以 因为 然后 之前 以后 今天 昨天 晚上 早上 白天 半夜 凌晨 多 几 点 了 过 着 得 地 "
    "下来 起来 出来 上来 一点 有人 有没有 没人 找 打 看 "
    "the a an and or is are was were be been it its to of in on at for by with from this that there "
    "here we our us i my me you they them he she not no nobody can cant again still every day night "
    "please all so very too also still any anyone "
    # Words every appeal of a category says; they tell no matter from another.
    "物业 修 修好 坏 坏了 号 楼 栋 号楼 幢 层 楼下 楼上 那段 那家 那个 这家 一家 门 问题 情况 影响 "
    "broken fix fixed again".split()
)
# The English neighbours write, mapped onto the Chinese word for the same thing.
_GLOSSARY = {
    "bin": "垃圾桶", "rubbish": "垃圾", "garbage": "垃圾", "trash": "垃圾", "litter": "垃圾",
    "overflow": "溢出", "elevator": "电梯", "lift": "电梯", "vendor": "小摊", "stall": "小摊",
    "hawker": "小摊", "pavement": "人行道", "sidewalk": "人行道", "metro": "地铁站", "subway": "地铁站",
    "exit": "出口", "construction": "工地", "pile": "打桩", "piling": "打桩", "noise": "噪音",
    "noisy": "噪音", "pothole": "坑洼", "avenue": "大道", "tree": "树", "typhoon": "台风",
    "school": "中学", "gate": "门口", "petrol": "加油站", "gas": "加油站", "streetlight": "路灯",
    "lamp": "路灯", "manhole": "井盖", "water": "水", "flood": "积水", "flooded": "积水",
    "drain": "下水道", "sewer": "下水道", "toilet": "公厕", "smoke": "油烟", "bbq": "烧烤",
    "barbecue": "烧烤", "market": "菜市场", "dog": "狗", "leak": "漏水", "power": "停电",
}
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_BUILDING_RE = re.compile(
    r"([0-9]+|[一二两三四五六七八九十]+)\s*(?:号楼|栋|幢|座)|\b(?:block|building|bldg|tower)\s*([0-9]+)"
)
_EN_RE = re.compile(r"[a-z]+")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")

_TOKENIZER: "jieba.Tokenizer | None" = None
_LOCK = threading.Lock()


def warm() -> None:
    """Load the word lists now instead of inside the first appeal's card."""
    _tokenizer()


def _tokenizer() -> "jieba.Tokenizer":
    global _TOKENIZER
    with _LOCK:
        if _TOKENIZER is None:
            _TOKENIZER = make_tokenizer(_DOMAIN_WORDS)
        return _TOKENIZER


def _cn_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _CN_DIGITS.get(text[1:], 0)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _CN_DIGITS.get(tens, 0) * 10 + _CN_DIGITS.get(ones, 0)
    return _CN_DIGITS.get(text, 0)


def building(text: str) -> str | None:
    """The building a text names ("3号楼", "3栋", "block 3" → "3"), if exactly one."""
    found = {str(_cn_number(m.group(1) or m.group(2))) for m in _BUILDING_RE.finditer(normalize(text))}
    return found.pop() if len(found) == 1 else None


def _add(out: dict[str, float], word: str, weight: float) -> None:
    word = _SYNONYMS.get(word, word)
    if word not in _STOP:
        out[word] = max(out.get(word, 0.0), weight)


def _add_cjk(out: dict[str, float], word: str, tk: "jieba.Tokenizer") -> None:
    """A word, and at half weight the dictionary words inside it (广场舞 → 广场), so a longer and a
    shorter name of one thing still meet without the pieces outweighing the whole."""
    _add(out, word, 0.3 if len(word) == 1 else 1.0)
    if len(word) >= 3:
        for n in (2, 3):
            for i in range(len(word) - n + 1):
                piece = word[i : i + n]
                if piece != word and tk.FREQ.get(piece):
                    _add(out, piece, 0.5)


def tokens(text: str) -> dict[str, float]:
    """Content tokens of a text with their weights."""
    tk = _tokenizer()
    norm = _BUILDING_RE.sub(" ", normalize(text))  # buildings are compared apart (`building`)
    out: dict[str, float] = {}
    for word in tk.lcut(norm, HMM=False):
        word = word.strip()
        if not word or word in _STOP:
            continue
        if _CJK_RE.search(word):
            _add_cjk(out, word, tk)
        elif _EN_RE.fullmatch(word):
            s = stem(word)
            if s in _STOP or word in _STOP or len(s) < 2:
                continue
            mapped = _GLOSSARY.get(s, _GLOSSARY.get(word))
            if mapped:
                _add_cjk(out, mapped, tk)
            else:
                _add(out, s, 1.0)
    return out


def similarity(a: dict[str, float], b: dict[str, float]) -> tuple[float, tuple[str, ...]]:
    """Weighted overlap of two token bags, and the shared words (heaviest first)."""
    if not a or not b:
        return 0.0, ()
    shared = sorted(set(a) & set(b), key=lambda w: (-min(a[w], b[w]), -len(w), w))
    common = sum(min(a[w], b[w]) for w in shared)
    return common / min(sum(a.values()), sum(b.values())), tuple(shared)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def is_candidate(new: Matter, old: Matter, policy: Policy = Policy()) -> bool:
    """Same area and category, filed before, open and recent, or closed recently."""
    if old.id == new.id or old.created_at > new.created_at:
        return False
    if old.area != new.area or old.category != new.category:
        return False
    if old.closed_at is not None and old.closed_at <= new.created_at:
        return new.created_at - old.closed_at <= policy.closed_window
    return new.created_at - old.created_at <= policy.open_window


@dataclass
class _Analysed:
    matter: Matter
    bag: dict[str, float] = field(default_factory=dict)
    building: str | None = None


def _analyse(m: Matter) -> _Analysed:
    bag, place = _text_facts(m.text)
    return _Analysed(m, bag, place)


@lru_cache(maxsize=4096)
def _text_facts(text: str) -> tuple[dict[str, float], str | None]:
    """A text's token bag and building, worked out once: every new ticket of an area and category
    is compared with the same open ones again (the bag is shared, and only read)."""
    return tokens(text), building(text)


def score_pair(new: Matter, old: Matter, policy: Policy = Policy(), *,
               _cache: dict[int, _Analysed] | None = None) -> Suggestion | None:
    """How likely `new` repeats `old`; None when a place rules it out."""
    a = _cache.get(id(new)) if _cache is not None else None
    a = a or _analyse(new)
    b = _analyse(old)
    dist = None
    if new.located and old.located:
        dist = distance_m(new.latitude, new.longitude, old.latitude, old.longitude)  # type: ignore[arg-type]
        if dist > policy.far_m:
            return None
    same_building = None
    if a.building and b.building:
        if a.building != b.building:
            return None
        same_building = a.building
    sim, shared = similarity(a.bag, b.bag)
    score = sim
    if same_building:
        score += 0.25
    if dist is not None:
        score += 0.25 if dist <= policy.near_m else 0.1
    closed = (old.closed_at is not None and old.closed_at <= new.created_at) or old.result_given
    return Suggestion(old.id, old.code, round(score, 3), shared[:4], None if dist is None else round(dist),
                      same_building, closed, new.created_at - old.created_at)


def suggest(new: Matter, candidates: Iterable[Matter], policy: Policy = Policy()) -> list[Suggestion]:
    """Likely duplicates of `new` among `candidates`, best first, at most `policy.limit`."""
    cache = {id(new): _analyse(new)}
    found = []
    for old in candidates:
        if not is_candidate(new, old, policy):
            continue
        s = score_pair(new, old, policy, _cache=cache)
        if s is not None and s.score >= policy.threshold:
            found.append(s)
    found.sort(key=lambda s: (-s.score, s.age))
    return found[: policy.limit]


def suggest_all(new: Matter, candidates: Sequence[Matter], policy: Policy = Policy()) -> list[Suggestion]:
    """Every suggestion above the threshold (no limit): what the benchmark measures."""
    return suggest(new, candidates, Policy(**{**policy.__dict__, "limit": len(candidates) or 1}))
