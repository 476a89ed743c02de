"""Dates people type in chats ('2026-12-05', '12-05', '12月5日', '12/5')."""
from __future__ import annotations

import re
from datetime import date, time

_FULL = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_SHORT = re.compile(r"(?<!\d)(\d{1,2})[-/.月](\d{1,2})(?:日|号)?(?!\d)")


def find_date(text: str, today: date) -> date | None:
    """The first date in `text`; a date without a year is the next such day from `today`."""
    m = _FULL.search(text)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _SHORT.search(text)
        if m:
            d = date(today.year, int(m.group(1)), int(m.group(2)))
            return d if d >= today else date(today.year + 1, d.month, d.day)
    except ValueError:
        return None
    return None


def strip_date(text: str) -> str:
    """The words around the date: the reason for an extension."""
    text = _FULL.sub(" ", text)
    text = _SHORT.sub(" ", text)
    return " ".join(text.split())


def parse_hhmm(text: str) -> time:
    """'09:00' (or '9') from the org file as a wall time."""
    hh, _, mm = str(text).strip().partition(":")
    return time(int(hh), int(mm or 0))
