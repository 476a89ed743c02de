"""Routing's cost per appeal, with the term index against asking `find` for every term (issue 14).

    .venv/bin/python bench/routing_speed.py [--org config/org.example.yaml] [--rounds 9]

`CatalogMatcher.suggest` on appeals written as residents write them, two ways in one process,
interleaved: as it runs (`TermIndex.present` picks the terms a text can hold), and with every
term of the catalogue and of the urgent and divert lists handed to `Analysis.find`, as before
the index (the baseline). CPU µs per appeal, median of the rounds, and the ratio to the baseline.
Both ways must route every text alike; the run stops if they do not.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.domain import routing_text  # noqa: E402
from bot.domain.routing import CatalogMatcher  # noqa: E402
from bot.org import load_org  # noqa: E402


def every_term(index: routing_text.TermIndex, _a: routing_text.Analysis) -> list[str]:
    return list(index.terms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--org", type=Path, default=ROOT / "config" / "org.example.yaml")
    parser.add_argument("--samples", type=Path, default=ROOT / "tests" / "data" / "routing_samples.yaml")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    org = load_org(args.org)
    matcher = CatalogMatcher.from_org([c.model_dump() for c in org.catalog], [k.model_dump() for k in org.knowledge],
                                      urgent_words=org.urgent_words or None, divert_words=org.divert_words or None,
                                      threshold=org.dispatch.confidence)
    matcher.warm()
    texts = [s["text"] for s in yaml.safe_load(args.samples.read_text(encoding="utf-8"))]
    indexed = routing_text.TermIndex.present
    ways = {"every term to find (baseline)": every_term, "term index (now)": indexed}
    answers: dict[str, list] = {}
    took: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, present in ways.items():
            routing_text.TermIndex.present = present  # type: ignore[method-assign]
            start = time.process_time()
            answers[name] = [matcher.suggest(t) for t in texts]
            took[name].append((time.process_time() - start) / len(texts) * 1e6)
    routing_text.TermIndex.present = indexed  # type: ignore[method-assign]
    first, second = answers.values()
    if first != second:
        raise SystemExit("the two ways routed some text differently")
    base = statistics.median(took["every term to find (baseline)"])
    print(f"{args.org.name}: {len(texts)} appeals, the same routes both ways")
    for name, values in took.items():
        print(f"  {name:32s} {statistics.median(values):7.0f} µs per appeal  ratio {statistics.median(values) / base:.2f}")


if __name__ == "__main__":
    main()
