"""Rules of the code that no linter knows: statuses are named by the enum only."""
from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

from bot.domain.lifecycle import Status

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage", "scheduler", "web")
# The enum itself, the sandbox (a fake Telegram, no tickets) and migrations (frozen history).
EXEMPT = ("bot/domain/lifecycle.py", "bot/sandbox/", "storage/migrations/")
STATUSES = {s.value for s in Status}


def raw_statuses(source: str) -> list[int]:
    """Lines where a string literal is exactly a status name ("CLOSED", not a docstring mentioning it)."""
    lines = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING:
            try:
                value = ast.literal_eval(tok.string)
            except (ValueError, SyntaxError):
                continue
            if value in STATUSES:
                lines.append(tok.start[0])
    return lines


def test_the_rule_finds_a_raw_status():
    assert raw_statuses('if t.status == "CLOSED":\n    pass\n') == [1]
    assert raw_statuses('"""The ticket is CLOSED."""\nx = Status.CLOSED\n') == []


def test_no_raw_status_strings_beside_the_enum():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(EXEMPT):
                continue
            text = path.read_text(encoding="utf-8")
            found += [f"{rel}:{n}: {text.splitlines()[n - 1].strip()}" for n in raw_statuses(text)]
    assert found == [], "name statuses by bot.domain.lifecycle.Status:\n" + "\n".join(found)
