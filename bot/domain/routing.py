"""Routing an appeal to the department that owns it (精准派单, DESIGN §1 catalog, §2 kinds/urgency).

The dispatch catalogue (派单目录 / 职责清单) of the org file lists categories, each with keywords,
a lead department (主办), co-departments (协办) and a kind. `CatalogMatcher.suggest(text)` proposes one
entry, says why (the keywords it matched), how sure it is, the runners-up, and whether the text
is urgent (灾害, 事故, 公共卫生, 社会安全) or needs a legal procedure instead (诉讼, 仲裁, 行政复议,
纪检监察 → 分流). `CatalogMatcher.answer(text)` finds a knowledge-base answer for a consultation.

Matching
    Chinese has no spaces, and plain substring search misroutes: "水果摊占道" contains 水,
    "打电话" is not "电梯", "不是垃圾的问题，是噪音" is about noise. So the text is segmented
    with jieba (a private `jieba.Tokenizer` per router, loaded lazily; the catalogue, knowledge,
    urgent and divert words are added to its dictionary so they come out as whole tokens).
    A keyword matches only where it starts and ends on token boundaries (precise-mode tokens,
    plus the dictionary sub-words of jieba's search mode, so 社保 matches 社保局 but 水 never
    matches 水果). English is lower-cased and matched word by word (phrases as consecutive
    words) with a light stemmer (leaking → leak); the urgent and divert lists match exact words
    and plain plurals only ("fired" is not "fire"). When one matched keyword lies inside another
    (施工 inside 夜间施工, 停车 inside 停车位) only the longer one counts. Light negation: a
    keyword governed by 不是/并非/不属于 … (to the end of its clause or a contrast word such as
    而是/是/但是), or followed by 无关/没关系, or English "not about/not the/isn't…", is ignored
    and reported in `negated`. Urgent words in a hypothetical (万一/如果/一旦 …, "if") or directly
    denied (打不着火, 没有着火, 未受伤) don't count; otherwise urgency and divert ignore negation.
    Before all this the text is NFKC-normalised (full-width → ASCII), lower-cased and a few
    well-known misspellings are fixed (拉圾 → 垃圾, 燥音 → 噪音). jieba's HMM is off: it glues
    unknown neighbours into new words and would hide keywords.

Scoring
    Each keyword weighs  specificity × idf:  specificity by length (one Chinese character 0.5,
    two 1.0, three 1.25, four or more 1.5; an English word 1.0, an English phrase 1.5), and
    idf = ln(1 + N/df) / ln(1 + N) over the N catalogue entries (1.0 for a keyword owned by one
    entry, less when entries share it). An entry's score is the sum of the weights of its distinct
    matched keywords. Entries are ranked by score, ties broken by the earliest mention in the
    text (residents usually open with their main issue), then by catalogue order.

Kind
    The entry's kind, unless the text states one outright (举报 → report, 投诉 → complaint,
    咨询/怎么办理/需要什么材料/how do I → consultation, 建议/suggest → suggestion). With no entry,
    weaker cues count too (请问, 吗？ → consultation); otherwise help.

Confidence
    confidence = best / (best + second + K) with K = 0.6, where best is the top entry's score and
    second the score of the best entry with a *different lead department* (two 城管 categories
    competing leave the department certain). The runner-up plus a fixed dose of doubt K keep it
    high only when the evidence is both strong and one-sided: one unshared two-character keyword
    alone gives 1/1.6 ≈ 0.63 (just confident at the default threshold 0.6), two give 0.77, a single
    Chinese character 0.45, and a tie between departments never exceeds 0.5. No match: category
    None, confidence 0.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple

from bot.domain.routing_kinds import (  # re-exported
    DEFAULT_DIVERT_WORDS,
    DEFAULT_THRESHOLD,
    DEFAULT_URGENT_WORDS,
    DOUBT,
    KINDS,
    detect_kind,
    stated_kind,
)
from bot.domain.routing_text import Analysis, Hit, TermIndex, canon, idf, make_tokenizer, normalize, specificity

__all__ = [
    "KINDS", "DEFAULT_THRESHOLD", "DEFAULT_URGENT_WORDS", "DEFAULT_DIVERT_WORDS", "CatalogEntry",
    "KnowledgeEntry", "Alternative", "RouteSuggestion", "CatalogMatcher", "detect_kind", "stated_kind", "is_urgent",
]


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class CatalogEntry:
    category: str
    keywords: tuple[str, ...]
    lead: str
    co: tuple[str, ...] = ()
    kind: str = "help"


@dataclass(frozen=True)
class KnowledgeEntry:
    keywords: tuple[str, ...]
    answer: str


class Alternative(NamedTuple):
    category: str
    lead: str
    score: float


@dataclass(frozen=True)
class RouteSuggestion:
    category: str | None
    lead: str | None
    co: tuple[str, ...]
    kind: str
    confidence: float
    matched: tuple[str, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    urgent: bool = False
    urgent_matched: tuple[str, ...] = ()
    divert: bool = False
    divert_matched: tuple[str, ...] = ()
    negated: tuple[str, ...] = ()  # keywords seen but ruled out by negation ("不是垃圾的问题")
    score: float = 0.0
    threshold: float = DEFAULT_THRESHOLD

    @property
    def confident(self) -> bool:
        return self.category is not None and self.confidence >= self.threshold


# --------------------------------------------------------------------------- router


class CatalogMatcher:
    def __init__(
        self,
        catalog: Iterable[CatalogEntry],
        knowledge: Iterable[KnowledgeEntry] = (),
        urgent_words: Iterable[str] | None = None,
        divert_words: Iterable[str] | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.catalog: tuple[CatalogEntry, ...] = tuple(catalog)
        self.knowledge: tuple[KnowledgeEntry, ...] = tuple(knowledge)
        self.urgent_words = tuple(DEFAULT_URGENT_WORDS if urgent_words is None else urgent_words)
        self.divert_words = tuple(DEFAULT_DIVERT_WORDS if divert_words is None else divert_words)
        self.threshold = threshold
        self._weights = self._keyword_weights([e.keywords for e in self.catalog])
        self._kweights = self._keyword_weights([k.keywords for k in self.knowledge])
        self._terms = TermIndex(dict.fromkeys(normalize(k).strip() for e in self.catalog for k in e.keywords if k.strip()))
        self._urgent, self._divert = TermIndex(self.urgent_words), TermIndex(self.divert_words)
        self._entry_keys = tuple(frozenset(canon(k) for k in e.keywords) for e in self.catalog)  # per entry, once
        self._tk = None
        self._lock = threading.Lock()

    @classmethod
    def from_org(
        cls,
        catalog: list[dict],
        knowledge: list[dict] | None = None,
        urgent_words: Iterable[str] | None = None,
        divert_words: Iterable[str] | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> "CatalogMatcher":
        """Build from the org file's raw `catalog:` and `knowledge:` rows (DESIGN §1)."""
        entries = [
            CatalogEntry(
                category=str(row["category"]),
                keywords=tuple(str(k) for k in row.get("keywords") or ()),
                lead=str(row["lead"]),
                co=tuple(str(c) for c in row.get("co") or ()),
                kind=str(row.get("kind") or "help"),
            )
            for row in catalog or ()
        ]
        answers = [
            KnowledgeEntry(keywords=tuple(str(k) for k in row.get("keywords") or ()), answer=str(row["answer"]))
            for row in knowledge or ()
        ]
        return cls(entries, answers, urgent_words, divert_words, threshold=threshold)

    # -- public API

    def suggest(self, text: str) -> RouteSuggestion:
        if not (text or "").strip():
            return RouteSuggestion(None, None, (), "help", 0.0, threshold=self.threshold)
        a = self._analyse(text)
        hits, negated = self._catalog_hits(a)
        first: dict[str, int] = {}  # canonical keyword → first position
        shown: dict[str, str] = {}  # canonical keyword → the keyword as written in the catalogue
        for h in sorted(hits, key=lambda h: h.start):
            key = canon(h.term)
            first.setdefault(key, h.start)
            shown.setdefault(key, h.term)
        ranked = []
        for i, entry_keys in enumerate(self._entry_keys):
            keys = sorted(entry_keys & first.keys(), key=first.__getitem__)
            if keys:
                score = sum(self._weights[k] for k in keys)
                ranked.append((-score, first[keys[0]], i, tuple(shown[k] for k in keys)))
        ranked.sort(key=lambda r: r[:3])
        urgent = self._flag_hits(a, self._urgent, skip_hypothetical=True)
        divert = self._flag_hits(a, self._divert, skip_hypothetical=False)
        common: dict[str, Any] = dict(
            urgent=bool(urgent), urgent_matched=urgent, divert=bool(divert), divert_matched=divert,
            negated=negated, threshold=self.threshold,
        )
        if not ranked:
            return RouteSuggestion(None, None, (), detect_kind(text), 0.0, **common)
        entry = self.catalog[ranked[0][2]]
        best = -ranked[0][0]
        # the runner-up that matters is another department: two 城管 categories don't make 城管 doubtful
        second = max((-r[0] for r in ranked[1:] if self.catalog[r[2]].lead != entry.lead), default=0.0)
        alternatives = tuple(
            Alternative(self.catalog[i].category, self.catalog[i].lead, round(-s, 3)) for s, _, i, _ in ranked[1:4]
        )
        return RouteSuggestion(
            category=entry.category,
            lead=entry.lead,
            co=entry.co,
            kind=stated_kind(text) or entry.kind or detect_kind(text),
            confidence=round(best / (best + second + DOUBT), 3),
            matched=tuple(ranked[0][3]),
            alternatives=alternatives,
            score=round(best, 3),
            **common,
        )

    def answer(self, text: str) -> KnowledgeEntry | None:
        """The knowledge-base entry answering a consultation, or None.

        Call it for consultations (the ticket's kind). It still refuses texts that state another
        kind ("居住证办了两个月还没拿到，我要投诉" is a complaint) and urgent ones ("燃气泄漏怎么办"
        needs people, not a leaflet). Among entries, the one whose matched keywords weigh most wins.
        """
        if not self.knowledge or not (text or "").strip():
            return None
        if stated_kind(text) in ("complaint", "report", "suggestion"):
            return None
        a = self._analyse(text)
        if self._flag_hits(a, self._urgent, skip_hypothetical=True):
            return None
        best, best_score = None, 0.0
        for entry in self.knowledge:
            keys = {canon(k) for k in entry.keywords if any(not a.negated(h) for h in a.find(k))}
            score = sum(self._kweights[k] for k in keys if k)
            if score > best_score:
                best, best_score = entry, score
        return best

    def is_urgent(self, text: str) -> bool:
        return bool(self._flag_hits(self._analyse(text), self._urgent, skip_hypothetical=True))

    def urgent_matches(self, text: str) -> tuple[str, ...]:
        return self._flag_hits(self._analyse(text), self._urgent, skip_hypothetical=True)

    def needs_divert(self, text: str) -> bool:
        return bool(self._flag_hits(self._analyse(text), self._divert, skip_hypothetical=False))

    # -- internals

    @staticmethod
    def _keyword_weights(groups: list[tuple[str, ...]]) -> dict[str, float]:
        """canonical keyword → specificity × idf (see the module docstring)."""
        df: dict[str, int] = {}
        spec: dict[str, float] = {}
        for keywords in groups:
            for k in keywords:
                if canon(k):
                    spec[canon(k)] = max(spec.get(canon(k), 0.0), specificity(normalize(k)))
            for key in {canon(k) for k in keywords if canon(k)}:
                df[key] = df.get(key, 0) + 1
        return {k: spec[k] * idf(n, len(groups)) for k, n in df.items()}

    def warm(self) -> None:
        """Load the word lists now (a second or so) instead of inside the first appeal."""
        self._tokenizer()

    def _tokenizer(self):
        with self._lock:
            if self._tk is None:
                words = [normalize(w) for w in self._all_words()]
                self._tk = make_tokenizer(words)
            return self._tk

    def _all_words(self) -> list[str]:
        words = [k for e in self.catalog for k in e.keywords]
        words += [k for e in self.knowledge for k in e.keywords]
        return words + list(self.urgent_words) + list(self.divert_words)

    def _analyse(self, text: str) -> Analysis:
        return Analysis(text or "", self._tokenizer())

    def _catalog_hits(self, a: Analysis) -> tuple[list[Hit], tuple[str, ...]]:
        hits = [h for term in self._terms.present(a) for h in a.find(term)]
        # longest match wins: drop a hit lying inside a longer one (施工 in 夜间施工)
        hits = [
            h for h in hits
            if not any(g.start <= h.start and h.end <= g.end and g.end - g.start > h.end - h.start for g in hits)
        ]
        kept = [h for h in hits if not a.negated(h)]
        negated = tuple(dict.fromkeys(h.term for h in hits if a.negated(h) and h.term not in {k.term for k in kept}))
        return kept, negated

    @staticmethod
    def _flag_hits(a: Analysis, words: TermIndex, *, skip_hypothetical: bool) -> tuple[str, ...]:
        found: dict[str, int] = {}
        for w in words.present(a):
            for h in a.find(w, stemmed=False):
                if skip_hypothetical and a.hypothetical(h):
                    continue
                found[h.term] = min(found.get(h.term, h.start), h.start)
        # report the longest, drop words contained in another found one (泄漏 in 燃气泄漏)
        terms = sorted(found, key=found.__getitem__)
        return tuple(t for t in terms if not any(t != u and t in u for u in terms))


# --------------------------------------------------------------------------- module helpers

_DEFAULT: CatalogMatcher | None = None
_DEFAULT_LOCK = threading.Lock()


def _default_matcher() -> CatalogMatcher:
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = CatalogMatcher(())
        return _DEFAULT


def is_urgent(text: str) -> bool:
    """Urgency with the default word list (a router built from the org file knows its own)."""
    return _default_matcher().is_urgent(text)
