"""Dates people type in chats ('2026-12-05', '12-05', '12月5日', '12/5')."""
from __future__ import annotations

import re
from datetime import date, time

_FULL = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
# A short date is no building range ("3-5栋", "6-8号楼"), no amount ("3-5天", "1.5万元", "2/3的住户" is
# a share) and no time span: what follows the digits says so.
_SHORT = re.compile(r"(?<![\d.])(\d{1,2})([-/.月])(\d{1,2})"
                    r"(?:[日号](?![楼栋幢座])|(?![\d.%]|\s*(?:号楼|[栋幢座楼单元室户层天周万千元块小时个的]|分钟)))")
# Words that introduce the day asked for: "延期至 12/20", "延到12月24日", "截止 12-20".
_TO_DAY = re.compile(r"(?:至|到|延期|延长|截止|截至|until|to|by)\s*$", re.IGNORECASE)


JUST_PAST_DAYS = 60


def split_date(text: str, today: date) -> tuple[date | None, str]:
    """The date in `text` and the words around it (an extension's reason).

    A full date (with its year) first; else the last short date introduced by 至/到/延期/截止…; else
    the last one written with 月; else the first short one. A date without a year is the next such
    day from `today`. Building ranges, amounts and shares are no dates: the first short date of
    "3-5栋需统一协调，延期至12月4日" made an extension of more than three months."""
    m = _FULL.search(text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))), _without(text, m)
        except ValueError:
            return None, _without(text, m)
    shorts = list(_SHORT.finditer(text))
    if not shorts:
        return None, _without(text, None)
    introduced = [s for s in shorts if _TO_DAY.search(text[max(0, s.start() - 6):s.start()])]
    written_out = [s for s in shorts if s.group(2) == "月"]
    m = (introduced or written_out or shorts[:1])[-1]
    try:
        d = date(today.year, int(m.group(1)), int(m.group(3)))
    except ValueError:
        return None, _without(text, m)
    # Next year only for a day far behind (1月5日 written in late December); a day just past is a
    # slip and stays this year, where the caller refuses it (a request for 11月20日 on 11-23 was
    # read as a year's extension, one tap from being approved).
    far_behind = (today - d).days > JUST_PAST_DAYS
    return (date(today.year + 1, d.month, d.day) if far_behind else d), _without(text, m)


def _without(text: str, m: re.Match[str] | None) -> str:
    rest = text if m is None else text[:m.start()] + " " + text[m.end():]
    return " ".join(rest.split())


def find_date(text: str, today: date) -> date | None:
    return split_date(text, today)[0]


def strip_date(text: str) -> str:
    """The words around the date: the reason for an extension (the year does not matter here)."""
    return split_date(text, date.min)[1]


def parse_hhmm(text: str) -> time:
    """'09:00' (or '9') from the org file as a wall time."""
    hh, _, mm = str(text).strip().partition(":")
    return time(int(hh), int(mm or 0))
