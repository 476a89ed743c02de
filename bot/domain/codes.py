"""Ticket codes: short, unique, human-readable (`#2026-000123`)."""
from __future__ import annotations

import re

CODE_RE = re.compile(r"#?(\d{4})-(\d{1,9})")


def make_code(year: int, seq: int) -> str:
    return f"{year}-{seq:06d}"


def display(code: str) -> str:
    return f"#{code}"


def parse_code(text: str) -> str | None:
    """Normalise what a person typed ('#2026-000123', '2026-123') to the stored code."""
    m = CODE_RE.fullmatch(text.strip())
    if not m:
        return None
    return make_code(int(m.group(1)), int(m.group(2)))
