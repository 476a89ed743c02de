"""Precision and recall of "is a duplicate of" on the labelled set (tests/data/duplicates.yaml).

    .venv/bin/python bench/duplicates.py [--data FILE …] [--threshold 0.3] [-v]

By default both labelled sets: tests/data/duplicates.yaml (written blind, then tuned on) and
tests/data/duplicates_holdout.yaml (written after tuning, never tuned on).

History on duplicates.yaml: the first, blind version scored precision 0.900, recall 0.474
(F1 0.621); tuned (search-mode sub-words at half weight, a few synonyms, an English glossary,
stop words common to a whole category, building numbers compared apart): precision 1.000,
recall 0.868 (F1 0.930). The held-out set then: precision 1.000, recall 0.600 (F1 0.750) —
most misses there are an English appeal against a Chinese one.

Each ticket of a scene is put to the suggester with every ticket of its scene filed before it as
the candidates (the storage query would hand it the same: same area, same category, recent). A
predicted pair is (new ticket, suggested ticket); a true pair is two tickets of the same matter
that the candidate rules admit (an old closed ticket outside the window is not a candidate, so it
is counted as a miss only under "recall, all pairs").

For scale, the same pairs are scored by a naive baseline: Jaccard similarity of character bigrams
of the two texts ≥ 0.1, with no places and no segmentation.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.domain.duplicates import Matter, Policy, is_candidate, score_pair, suggest_all  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Labelled:
    matter: Matter
    label: str


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.strptime(str(text), "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


def load(path: Path) -> list[list[Labelled]]:
    scenes = yaml.safe_load(path.read_text(encoding="utf-8"))
    out, next_id = [], 1
    for scene in scenes:
        rows = []
        for t in scene["tickets"]:
            loc = t.get("loc") or (None, None)
            m = Matter(id=next_id, code=f"#T-{next_id:03d}", text=str(t["text"]), created_at=_time(t["at"]),
                       area=scene["area"], category=scene["category"], latitude=loc[0], longitude=loc[1],
                       closed_at=_time(t.get("closed")))
            rows.append(Labelled(m, str(t["matter"])))
            next_id += 1
        rows.sort(key=lambda r: r.matter.created_at)
        out.append(rows)
    return out


def _bigrams(text: str) -> set[str]:
    t = "".join(text.lower().split())
    return {t[i : i + 2] for i in range(len(t) - 1)}


def baseline(a: str, b: str) -> bool:
    x, y = _bigrams(a), _bigrams(b)
    return bool(x and y) and len(x & y) / len(x | y) >= 0.1


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    fn_outside: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def recall_all(self) -> float:
        total = self.tp + self.fn + self.fn_outside
        return self.tp / total if total else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(scenes: list[list[Labelled]], policy: Policy, verbose: bool = False) -> tuple[Score, Score]:
    ours, base = Score(), Score()
    for rows in scenes:
        for i, new in enumerate(rows):
            earlier = rows[:i]
            admitted = [r for r in earlier if is_candidate(new.matter, r.matter, policy)]
            predicted = {s.ticket_id: s for s in suggest_all(new.matter, [r.matter for r in admitted], policy)}
            for old in earlier:
                truth = old.label == new.label
                inside = old in admitted
                hit = old.matter.id in predicted
                naive = inside and baseline(new.matter.text, old.matter.text)
                for score, guess in ((ours, hit), (base, naive)):
                    if guess and truth:
                        score.tp += 1
                    elif guess:
                        score.fp += 1
                    elif truth and inside:
                        score.fn += 1
                    elif truth:
                        score.fn_outside += 1
                if verbose and hit != truth and (inside or hit):
                    s = predicted.get(old.matter.id) or score_pair(new.matter, old.matter, policy)
                    tag = "FALSE DUP" if hit else "MISSED"
                    why = f"{s.score:>6} {'/'.join(s.shared_words)}" if s else "ruled out by place"
                    print(f"  {tag:9} {why}\n      {new.matter.text[:50]}\n      {old.matter.text[:50]}")
    return ours, base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=[str(ROOT / "tests/data/duplicates.yaml"),
                                                  str(ROOT / "tests/data/duplicates_holdout.yaml")])
    ap.add_argument("--threshold", type=float, default=Policy.threshold)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    policy = Policy(threshold=args.threshold)
    for data in args.data:
        print(f"== {Path(data).name}")
        report(load(Path(data)), policy, args.verbose)


def report(scenes: list[list[Labelled]], policy: Policy, verbose: bool) -> None:
    ours, base = evaluate(scenes, policy, verbose)
    pairs = sum(len(r) * (len(r) - 1) // 2 for r in scenes)
    print(f"scenes {len(scenes)}, tickets {sum(map(len, scenes))}, pairs {pairs}, "
          f"true duplicates {ours.tp + ours.fn + ours.fn_outside} ({ours.fn_outside} outside the candidate window)")
    print(f"suggester  precision {ours.precision:.3f}  recall {ours.recall:.3f}  "
          f"(all pairs {ours.recall_all:.3f})  F1 {ours.f1:.3f}   tp {ours.tp} fp {ours.fp} fn {ours.fn}")
    print(f"baseline   precision {base.precision:.3f}  recall {base.recall:.3f}  "
          f"(all pairs {base.recall_all:.3f})  F1 {base.f1:.3f}   tp {base.tp} fp {base.fp} fn {base.fn}")
    print(f"F1 ratio suggester/baseline {ours.f1 / base.f1 if base.f1 else float('inf'):.2f}")


if __name__ == "__main__":
    main()
