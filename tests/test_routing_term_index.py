"""Routing's term index (bot/domain/routing_text.py `TermIndex`): a shortcut before `Analysis.find`
that must never hold back a term find would find, and keeps the list's order."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.domain.routing import CatalogMatcher
from bot.domain.routing_text import TermIndex

ROOT = Path(__file__).resolve().parent.parent
ORG = ROOT / "config" / "org.example.yaml"
SAMPLES = ROOT / "tests" / "data" / "routing_samples.yaml"


@pytest.fixture(scope="module")
def org() -> dict:
    return yaml.safe_load(ORG.read_text(encoding="utf-8"))


def test_term_index_passes_on_every_term_find_would_find(org):
    # The index is only a shortcut before `Analysis.find`: it may let a term through that find
    # then rejects, never hold back one find would have found, in either of find's two modes.
    matcher = CatalogMatcher.from_org(org["catalog"], org["knowledge"], org.get("urgent_words"), org.get("divert_words"))
    samples = yaml.safe_load(SAMPLES.read_text(encoding="utf-8"))
    texts = [s["text"] for s in samples] + [
        "Potholes everywhere and the street lights are broken", "Gas leaking in the kitchen, smell of gas",
        "The lifts stuck again 电梯又坏了", "3号楼 fire alarm 着火了", "FLOODED basement!!", "", "12345",
    ]
    lists = [[k for e in org["catalog"] for k in e["keywords"]], list(matcher.urgent_words), list(matcher.divert_words)]
    found_somewhere = 0
    for words in lists:
        index = TermIndex(words)
        for text in texts:
            a = matcher._analyse(text)
            present = index.present(a)
            found = [w for w in words if a.find(w) or a.find(w, stemmed=False)]
            assert set(found) <= set(present), (text, set(found) - set(present))
            assert present == sorted(present, key=words.index)  # the list's order, as find was asked
            found_somewhere += bool(found)
    assert found_somewhere > len(texts)  # the texts do hold terms of the lists (the check is not empty)


def test_term_index_finds_english_words_by_plural_and_stem():
    matcher = CatalogMatcher([])
    index = TermIndex(["pothole", "leak", "gas leak", "fire", "积水", "路灯"])
    # "gas leak" needs "gas" first: not here
    assert index.present(matcher._analyse("Two potholes and a leaking pipe")) == ["pothole", "leak"]
    assert index.present(matcher._analyse("路灯不亮，门口积水")) == ["积水", "路灯"]
    assert index.present(matcher._analyse("no trouble here")) == []
