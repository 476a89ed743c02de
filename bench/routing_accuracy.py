"""Routing accuracy on the labelled samples: the segmented router against a naive substring baseline.

    .venv/bin/python bench/routing_accuracy.py [--org config/org.example.yaml]
        [--samples tests/data/routing_samples.yaml] [--threshold 0.6] [-v]

Prints top-1 accuracy of the lead department, accuracy among confident suggestions, coverage
(the share that is confident), urgency and divert flags, knowledge answers, and the baseline:
per catalogue entry, count the keywords that occur as plain substrings of the lower-cased text;
the entry with most wins (catalogue order breaks ties); no substring → none.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.domain.routing import CatalogMatcher  # noqa: E402


def load(org_path: Path, samples_path: Path) -> tuple[dict, list[dict]]:
    org = yaml.safe_load(org_path.read_text(encoding="utf-8"))
    samples = yaml.safe_load(samples_path.read_text(encoding="utf-8"))
    for s in samples:
        s["lead"] = None if s.get("lead") in (None, "none") else str(s["lead"])
    return org, samples


def substring_baseline(catalog: list[dict], text: str) -> str | None:
    t = text.lower()
    best, best_n = None, 0
    for row in catalog:
        n = sum(1 for k in row["keywords"] if str(k).lower() in t)
        if n > best_n:
            best, best_n = row["lead"], n
    return best


@dataclass
class Report:
    n: int
    top1: float
    confident_acc: float
    coverage: float
    baseline: float
    urgent_recall: float
    urgent_precision: float
    divert_recall: float
    divert_precision: float
    answer_recall: float
    answer_false: int
    misses: list[tuple[str, str | None, str | None, float]]


def evaluate(router: CatalogMatcher, catalog: list[dict], samples: list[dict]) -> Report:
    ok = conf_n = conf_ok = base_ok = 0
    tp_u = fp_u = fn_u = tp_d = fp_d = fn_d = 0
    ans_want = ans_got = ans_false = 0
    misses = []
    for s in samples:
        text, want = s["text"], s["lead"]
        r = router.suggest(text)
        hit = r.lead == want
        ok += hit
        if r.confident:
            conf_n += 1
            conf_ok += hit
        if not hit:
            misses.append((text, want, r.lead, r.confidence))
        base_ok += substring_baseline(catalog, text) == want
        u, d = bool(s.get("urgent")), bool(s.get("divert"))
        tp_u += r.urgent and u
        fp_u += r.urgent and not u
        fn_u += u and not r.urgent
        tp_d += r.divert and d
        fp_d += r.divert and not d
        fn_d += d and not r.divert
        # as the bot does it: the knowledge base is asked for consultations only
        answered = r.kind == "consultation" and router.answer(text) is not None
        if s.get("answer"):
            ans_want += 1
            ans_got += answered
        else:
            ans_false += answered
    n = len(samples)

    def ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    return Report(
        n=n,
        top1=ok / n,
        confident_acc=ratio(conf_ok, conf_n),
        coverage=conf_n / n,
        baseline=base_ok / n,
        urgent_recall=ratio(tp_u, tp_u + fn_u),
        urgent_precision=ratio(tp_u, tp_u + fp_u),
        divert_recall=ratio(tp_d, tp_d + fn_d),
        divert_precision=ratio(tp_d, tp_d + fp_d),
        answer_recall=ratio(ans_got, ans_want),
        answer_false=ans_false,
        misses=misses,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--org", type=Path, default=ROOT / "config" / "org.example.yaml")
    p.add_argument("--samples", type=Path, default=ROOT / "tests" / "data" / "routing_samples.yaml")
    p.add_argument("--threshold", type=float, default=None, help="default: the org file's dispatch.confidence or 0.6")
    p.add_argument("-v", "--verbose", action="store_true", help="list the misrouted samples")
    args = p.parse_args(argv)

    org, samples = load(args.org, args.samples)
    threshold = args.threshold
    if threshold is None:
        threshold = float((org.get("dispatch") or {}).get("confidence", 0.6))
    catalog = org.get("catalog") or []
    router = CatalogMatcher.from_org(catalog, org.get("knowledge") or [], threshold=threshold)
    t0 = time.perf_counter()
    router.suggest("预热")  # jieba's dictionary loads once, on first use
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = evaluate(router, catalog, samples)
    per_text_ms = (time.perf_counter() - t0) / max(rep.n, 1) * 1000 / 2  # suggest + answer

    english = sum(1 for s in samples if not any("\u4e00" <= ch <= "\u9fff" for ch in s["text"]))
    print(f"samples: {rep.n} ({english} English), catalogue entries: {len(catalog)}, threshold {threshold:.2f}")
    print(f"top-1 lead accuracy:           {rep.top1:6.1%}")
    print(f"accuracy when confident:       {rep.confident_acc:6.1%}")
    print(f"coverage (share confident):    {rep.coverage:6.1%}")
    print(f"substring baseline top-1:      {rep.baseline:6.1%}")
    ratio = rep.top1 / rep.baseline if rep.baseline else float("inf")
    print(f"router / baseline:             {ratio:6.2f}x")
    print(f"urgent recall / precision:     {rep.urgent_recall:6.1%} / {rep.urgent_precision:.1%}")
    print(f"divert recall / precision:     {rep.divert_recall:6.1%} / {rep.divert_precision:.1%}")
    print(f"knowledge answers found:       {rep.answer_recall:6.1%} (false answers: {rep.answer_false})")
    print(f"timing: dictionary load {load_s:.2f} s once, then {per_text_ms:.2f} ms per text")
    if args.verbose and rep.misses:
        print("\nmisrouted:")
        for text, want, got, conf in rep.misses:
            print(f"  want {want or 'none':4} got {got or 'none':4} ({conf:.2f})  {text[:70]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
