"""Routing's segmentation: one jieba cut per appeal gives the boundaries of jieba's search mode
(bot/domain/routing_text.py `search_boundaries`), which used to take a second cut."""
from __future__ import annotations

from pathlib import Path

import jieba
import yaml

from bot.domain.routing_text import search_boundaries

SAMPLES = Path(__file__).resolve().parent / "data" / "routing_samples.yaml"


def test_search_boundaries_from_one_cut_are_jiebas_search_mode():
    # Routing cuts a text once and derives the search mode's extra words (routing_text.search_boundaries).
    tokenizer = jieba.Tokenizer()
    texts = [s["text"] for s in yaml.safe_load(SAMPLES.read_text(encoding="utf-8"))] + ["中华人民共和国国务院办公厅"]
    for text in texts:
        cut = list(tokenizer.tokenize(text, HMM=False))
        search = list(tokenizer.tokenize(text, mode="search", HMM=False))
        assert search_boundaries(tokenizer, cut) == ({s for _, s, _ in search}, {e for _, _, e in search}), text
