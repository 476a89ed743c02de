"""The weighted ranking of departments (seed 002: 半年一排名、年终总评; 年度测评后两位 写出书面检查).

Pure. Score, on a 0-100 scale:

    score = 100 × (w_response·响应率 + w_resolution·办结率 + w_satisfaction·满意率) / (sum of the
            weights of the rates that have something to measure)  −  red_card_penalty × red cards

A rate with nothing to measure (no dispatch whose clock ended, no rating) drops out and the
remaining weights are scaled up, so a department is neither rewarded nor punished for what
did not happen. Arithmetic is exact (`Fraction`); rounding is for display only.

Order: higher score first; equal scores keep the alphabetical order of the department code.
A department with nothing measured in the period (no tickets) is listed after the ranked ones,
unranked, also in code order.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from bot.domain.rates import Figures

DEFAULT_WEIGHTS = {"response": 0.2, "resolution": 0.4, "satisfaction": 0.4}
DEFAULT_RED_CARD_PENALTY = 5.0


@dataclass(frozen=True)
class Weights:
    response: Fraction = Fraction(1, 5)
    resolution: Fraction = Fraction(2, 5)
    satisfaction: Fraction = Fraction(2, 5)
    red_card_penalty: Fraction = Fraction(5)

    @classmethod
    def of(cls, response: float = DEFAULT_WEIGHTS["response"],
           resolution: float = DEFAULT_WEIGHTS["resolution"],
           satisfaction: float = DEFAULT_WEIGHTS["satisfaction"],
           red_card_penalty: float = DEFAULT_RED_CARD_PENALTY) -> Weights:
        """From the org file's decimals (0.2 means exactly 1/5, not the nearest float)."""
        values = [Fraction(str(v)) for v in (response, resolution, satisfaction, red_card_penalty)]
        if any(v < 0 for v in values):
            raise ValueError("reports: weights and red_card_penalty must not be negative")
        if sum(values[:3]) == 0:
            raise ValueError("reports: at least one weight must be above 0")
        return cls(*values)


def score(fig: Figures, weights: Weights) -> Fraction | None:
    """The department's score, or None when it has nothing measured (unranked)."""
    parts = [(weights.response, fig.response_rate), (weights.resolution, fig.resolution_rate),
             (weights.satisfaction, fig.satisfaction_rate)]
    used = [(w, r) for w, r in parts if r is not None and w > 0]
    total_weight = sum((w for w, _ in used), Fraction(0))
    if not used:
        return None
    base = 100 * sum((w * r for w, r in used), Fraction(0)) / total_weight
    return base - weights.red_card_penalty * fig.red


@dataclass(frozen=True)
class Place:
    dept: str
    position: int | None  # 1-based; None: unranked
    score: Fraction | None
    figures: Figures


def rank(figures: dict[str, Figures], departments: list[str], weights: Weights) -> list[Place]:
    """Every department of `departments` (and any other code in `figures`) in ranking order."""
    codes = sorted(set(departments) | set(figures))
    scored = [(code, score(figures.get(code) or Figures(), weights)) for code in codes]
    ranked = sorted(((c, s) for c, s in scored if s is not None), key=lambda cs: (-cs[1], cs[0]))
    places = [Place(c, i, s, figures.get(c) or Figures()) for i, (c, s) in enumerate(ranked, 1)]
    places += [Place(c, None, None, figures.get(c) or Figures()) for c, s in scored if s is None]
    return places


def bottom_two(places: list[Place]) -> list[Place]:
    """The departments named for a written review after a half-year or a year (seed 002).

    The last two ranked; never the top-ranked one, so with two ranked departments only the
    second is named and with one nobody is.
    """
    ranked = [p for p in places if p.position is not None]
    return ranked[max(1, len(ranked) - 2):]
