"""Text machinery behind `bot.domain.routing`: normalisation, segmentation, term matching.

Pure functions and small classes; jieba's dictionary is loaded lazily, once per process (the
module itself is cheap to import), and every router gets its own copy of the dictionary (a private `jieba.Tokenizer`) so the catalogue
words it adds never leak into the global tokenizer or into another router.
"""
from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import jieba

# --------------------------------------------------------------------------- normalisation

# Well-known misspellings (错别字) in residents' messages, fixed before segmentation.
COMMON_TYPOS: dict[str, str] = {
    "拉圾": "垃圾",
    "垃级": "垃圾",
    "辣鸡": "垃圾",
    "燥音": "噪音",
    "躁音": "噪音",
    "噪间": "噪音",
    "电悌": "电梯",
    "物叶": "物业",
    "停电梯": "电梯停",
    "欠新": "欠薪",
    "井jia": "井盖",
}
_TYPO_RE = re.compile("|".join(map(re.escape, sorted(COMMON_TYPOS, key=len, reverse=True))))


def normalize(text: str) -> str:
    """NFKC (full-width → ASCII), lower case, curly apostrophes, common typos."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = text.replace("’", "'").replace("‘", "'")
    return _TYPO_RE.sub(lambda m: COMMON_TYPOS[m.group(0)], text)


_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_EN_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@lru_cache(maxsize=8192)
def _prepared(term: str) -> tuple[str, bool, tuple[str, ...], tuple[str, ...]]:
    """A catalogue term as `Analysis.find` matches it: normalised, whether it is Chinese, its English
    words and their stems. The terms are the org file's few hundred keywords, looked up for every
    appeal: made once each."""
    term = normalize(term).strip()
    parts = tuple(_EN_WORD_RE.findall(term))
    return term, has_cjk(term), parts, tuple(stem(p) for p in parts)


def has_cjk(term: str) -> bool:
    return bool(_CJK_RE.search(term))


def stem(word: str) -> str:
    """A very light English stemmer: leaks/leaking/leaked → leak, potholes → pothole."""
    if word.endswith("'s"):
        word = word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            if suffix == "es" and not word[:-2].endswith(("sh", "ch", "x", "z", "ss")):
                continue  # "fires" → "fire" via the plain "s" rule, not "fir"
            return word[: -len(suffix)]
    return word


def canon(term: str) -> str:
    """One key per keyword: normalised Chinese, or stemmed English (cockroach = cockroaches)."""
    term = normalize(term).strip()
    if has_cjk(term):
        return term
    return " ".join(stem(w) for w in _EN_WORD_RE.findall(term))


def specificity(term: str) -> float:
    """Weight of a keyword by its length: one Chinese character says little, a phrase a lot."""
    if has_cjk(term):
        n = len(re.sub(r"\s+", "", term))
        return {1: 0.5, 2: 1.0, 3: 1.25}.get(n, 1.5)
    return 1.5 if len(term.split()) > 1 else 1.0


def idf(df: int, n: int) -> float:
    """Catalogue IDF scaled to 1.0 for a keyword that belongs to one entry only."""
    if n <= 1:
        return 1.0
    return math.log(1 + n / df) / math.log(1 + n)


# --------------------------------------------------------------------------- jieba

_BASE: "jieba.Tokenizer | None" = None
_BASE_LOCK = threading.Lock()
_BOOST_FREQ = 50_000  # makes a catalogue word win over the neighbours jieba would glue it to


def _base_tokenizer() -> "jieba.Tokenizer":
    global _BASE
    with _BASE_LOCK:
        if _BASE is None:
            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            tk.initialize()
            _BASE = tk
        return _BASE


def make_tokenizer(words: Iterable[str]) -> "jieba.Tokenizer":
    """A private tokenizer: the base dictionary (loaded once) plus `words` as whole tokens."""
    base = _base_tokenizer()
    tk = jieba.Tokenizer()
    tk.FREQ = dict(base.FREQ)
    tk.total = base.total
    tk.initialized = True
    for word in sorted(set(words)):
        word = word.strip()
        if not has_cjk(word) or " " in word:
            continue
        old = tk.FREQ.get(word, 0)
        if len(word) == 1:
            # Boosting single characters would tear real words apart (小偷 → 小/偷).
            freq = max(old, 1)
        else:
            freq = max(old, _BOOST_FREQ)
        tk.add_word(word, freq=freq)
    # add_word grows `total`, which would make every split costlier and glue unrelated
    # neighbours together (吵到); keep the base total so only the added words change.
    tk.total = base.total
    return tk


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Hit:
    term: str
    start: int
    end: int


# Negation (light): "不是垃圾的问题，是噪音" / "跟垃圾没关系" / "it's not the trash, it's the noise".
NEG_BEFORE_ZH = frozenset({"不是", "并非", "并不是", "倒不是", "也不是", "不属于", "不再是"})
NEG_AFTER_ZH = frozenset({"无关", "没关系", "没有关系", "不相干"})
NEG_BEFORE_EN = ("not about", "not the", "not a", "not an", "isn't about", "isn't the", "isn't a",
                 "isn't really", "not really about", "nothing to do with", "not because of")
NEG_AFTER_EN = ("is not the problem", "isn't the problem", "is not the issue", "isn't the issue",
                "is fine", "are fine")
# Hypotheticals don't make a matter urgent: "万一着火了消防车都进不来".
HYPOTHETICAL_ZH = frozenset({"万一", "如果", "要是", "一旦", "假如", "假设", "如若", "以防", "防止"})
HYPOTHETICAL_EN = ("if", "in case", "what if", "prevent")
_DENIED_BEFORE = ("不", "没", "未", "没有", "并无", "不会")
# A clause ends at punctuation or a contrast word.
_CLAUSE_PUNCT = set("，,。.！!？?；;：:\n（）()…~～")
_CONTRAST_ZH = frozenset({"是", "而是", "就是", "而", "但是", "但", "只是", "其实是", "主要是", "关键是"})
_CONTRAST_EN = frozenset({"but", "it's", "rather", "actually", "instead", "whereas"})


def search_boundaries(tokenizer: "jieba.Tokenizer", cut: list[tuple[str, int, int]]) -> tuple[set[int], set[int]]:
    """Where the tokens of jieba's search mode start and end, from the default cut: the same words,
    plus each dictionary word of two or three characters inside a longer one, as
    ``tokenize(mode="search")`` finds them; without cutting the text a second time."""
    starts, ends, freq = {s for _, s, _ in cut}, {e for _, _, e in cut}, tokenizer.FREQ
    for word, start, _ in cut:
        for size in (2, 3):
            if len(word) <= size:  # only words longer than the piece hold pieces of it
                break
            for i in range(len(word) - size + 1):
                if freq.get(word[i:i + size]):
                    starts.add(start + i)
                    ends.add(start + i + size)
    return starts, ends


class TermIndex:
    """A word list, for asking which of its words occur in a text at all.

    `Analysis.find` matches a Chinese term only where the text holds it as a substring, and an
    English one only where the text's English words hold its first word (as written, with a
    plural ending, or stemmed). The urgent and divert lists run to a hundred and more words, the
    catalogue's to hundreds, and every appeal was searched for each of them in turn. Here the
    text's substrings of the lengths the Chinese terms have, and its English words, are looked
    up in the list instead. Only the terms found that way go on to `find`, in the list's order,
    so what `find` reports is unchanged.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = tuple(terms)
        self._cjk: dict[str, list[int]] = {}  # a Chinese term's normalised form → its places in the list
        self._by_word: dict[str, list[int]] = {}  # an English term's first word, as the text may write it
        self._by_stem: dict[str, list[int]] = {}  # … and its stem
        for i, term in enumerate(self.terms):
            norm, cjk, parts, stems = _prepared(term)
            if norm and cjk:
                self._cjk.setdefault(norm, []).append(i)
            elif parts:
                for form in {parts[0], parts[0] + "s", parts[0] + "es"}:
                    self._by_word.setdefault(form, []).append(i)
                self._by_stem.setdefault(stems[0], []).append(i)
        self._lengths = sorted({len(n) for n in self._cjk})

    def present(self, a: "Analysis") -> list[str]:
        """The terms `a.find` may find in the text, in the list's order."""
        text = a.text
        seen = {text[i:i + k] for k in self._lengths for i in range(len(text) - k + 1)}
        places = {i for norm in seen.intersection(self._cjk) for i in self._cjk[norm]}
        for word, _, _ in a.words:
            places.update(self._by_word.get(word, ()))
        for word_stem in a.stems:
            places.update(self._by_stem.get(word_stem, ()))
        return [self.terms[i] for i in sorted(places)]


class Analysis:
    """One text, segmented once; answers 'where does this term occur as whole tokens?'."""

    def __init__(self, raw: str, tokenizer: "jieba.Tokenizer") -> None:
        self.text = normalize(raw)
        text = self.text
        # HMM off: jieba's HMM glues unknown neighbours into new "words" (吵到), hiding keywords.
        cut = list(tokenizer.tokenize(text, HMM=False))
        self.tokens = [t for t in cut if t[0].strip()]
        self.starts, self.ends = search_boundaries(tokenizer, cut)
        self.words = [(m.group(0), m.start(), m.end()) for m in _EN_WORD_RE.finditer(text)]
        self.stems = [stem(w) for w, _, _ in self.words]
        self._negated = self._negation_scopes()
        self._hypothetical = self._scopes(HYPOTHETICAL_ZH, HYPOTHETICAL_EN, after=False)

    # -- matching

    def find(self, term: str, *, stemmed: bool = True) -> list[Hit]:
        """Occurrences of `term` that start and end on token boundaries (never inside a word)."""
        term, cjk, parts, stems = _prepared(term)
        if not term:
            return []
        if cjk:
            hits, i = [], self.text.find(term)
            while i >= 0:
                j = i + len(term)
                if i in self.starts and j in self.ends:
                    hits.append(Hit(term, i, j))
                i = self.text.find(term, i + 1)
            return hits
        if not parts:
            return []
        if stemmed:
            want, have = list(stems), self.stems
        else:  # exact, or a plain plural ("fire" must not match "fired")
            want, have = list(parts), None
        hits = []
        n = len(parts)
        for k in range(len(self.words) - n + 1):
            if have is not None:
                ok = have[k : k + n] == want
            else:
                ok = all(self.words[k + m][0] in (want[m], want[m] + "s", want[m] + "es") for m in range(n))
            if ok:
                hits.append(Hit(term, self.words[k][1], self.words[k + n - 1][2]))
        return hits

    def negated(self, hit: Hit) -> bool:
        return any(a <= hit.start < b for a, b in self._negated)

    def hypothetical(self, hit: Hit) -> bool:
        """In a hypothetical clause (万一着火了…) or directly denied (打不着火, 没有着火, 未受伤)."""
        if has_cjk(hit.term) and self.text[max(0, hit.start - 3) : hit.start].endswith(_DENIED_BEFORE):
            return True
        return any(a <= hit.start < b for a, b in self._hypothetical)

    # -- scopes

    def _clause_edges(self) -> tuple[list[int], list[int]]:
        """Positions where clauses break: punctuation and contrast words (start of such token)."""
        breaks = {i for i, ch in enumerate(self.text) if ch in _CLAUSE_PUNCT}
        breaks |= {s for w, s, _ in self.tokens if w in _CONTRAST_ZH}
        breaks |= {s for w, s, _ in self.words if w in _CONTRAST_EN}
        return sorted(breaks), sorted(breaks | {0})

    def _scopes(self, zh: frozenset[str], en: tuple[str, ...], *, after: bool) -> list[tuple[int, int]]:
        """Spans governed by a cue: from the cue to the clause end (or clause start to the cue)."""
        breaks, _ = self._clause_edges()
        cues: list[tuple[int, int]] = [(s, e) for w, s, e in self.tokens if w in zh]
        for phrase in en:
            cues += [(h.start, h.end) for h in self.find(phrase, stemmed=False)]
        spans = []
        for s, e in cues:
            if after:
                begin = max([b for b in breaks if b < s] + [0])
                spans.append((begin, s))
            else:
                end = min([b for b in breaks if b > e] + [len(self.text)])
                spans.append((e, end))
        return spans

    def _negation_scopes(self) -> list[tuple[int, int]]:
        return self._scopes(NEG_BEFORE_ZH, NEG_BEFORE_EN, after=False) + self._scopes(
            NEG_AFTER_ZH, NEG_AFTER_EN, after=True
        )
