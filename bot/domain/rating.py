"""Satisfaction rules (DESIGN §4, seed 002 一事一评 and 不满意诉求审核, seed 003 过程+结果满意).

Pure: plain values and a clock in, decisions out. The service (bot/services/ratings.py)
does the storing (the `rating_rounds` table, `tickets.public_response_at`) and the messages.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.appeal import is_reporter
from bot.domain.calendar import WorkCalendar
from bot.domain.lifecycle import Refusal, Status
from bot.domain.sla import Duration

# The four-level scale of seed 002's 满意度评价表, in button order.
VERY, FAIRLY, BASICALLY, UNSATISFIED = 4, 3, 2, 1
SCALE = (VERY, FAIRLY, BASICALLY, UNSATISFIED)
SKIP = 0  # the process question's "skip" button; never stored as a score
QUESTIONS = ("result", "process")
REASONS = ("unsolved", "slow", "attitude", "other")
NO_REASON = "none"  # the reporter said 不满意 but never told why

# How long we wait for the reason of a 不满意 before acting on it anyway (the ticket never sticks).
REASON_WAIT = timedelta(hours=1)

CLOSE_SATISFIED, CLOSE_NOT_RATED, CLOSE_EXPLAINED = "satisfied", "not_rated", "explained"
# A consultation answered from the knowledge base and not contested within the close window.
CLOSE_ANSWERED = "answered"
# Closings after which the community gets a 正面回应.
PUBLIC_RESPONSE_AFTER = frozenset({CLOSE_SATISFIED, CLOSE_NOT_RATED, CLOSE_EXPLAINED})


def is_satisfied(score: int) -> bool:
    """非常满意 / 比较满意 / 基本满意 count as satisfied; 不满意 does not."""
    if score not in SCALE:
        raise ValueError(f"not a score: {score!r}")
    return score != UNSATISFIED


def may_rate(user_id: int | None, reporter_id: int | None, on_behalf_user_id: int | None) -> bool:
    """The person who posted (a volunteer posting on someone's behalf included) or that someone."""
    return is_reporter(user_id, reporter_id, on_behalf_user_id)


def result_refusal(*, status: str, close_reason: str | None, button_round: int, current_round: int,
                   rated: bool) -> str | None:
    """Why a result-rating press must change nothing (a message key), or None when it may.

    `rated`: a result score is already stored for the button's round.
    """
    if rated:
        return "rate.already"
    if button_round != current_round or button_round < 1:
        return "rate.stale"
    if status == Status.CLOSED and close_reason == CLOSE_NOT_RATED:
        return "rate.auto_closed"
    if status != Status.RESOLVED:
        return "rate.closed" if status == Status.CLOSED else "rate.not_resolved"
    return None


def check_result(*, user_id: int | None, reporter_id: int | None, on_behalf_user_id: int | None, status: str,
                 close_reason: str | None, button_round: int, current_round: int, rated: bool, score: int) -> None:
    """Raise a Refusal when a result-rating press must change nothing."""
    if score not in SCALE:
        raise Refusal("error.bad_button")
    if not may_rate(user_id, reporter_id, on_behalf_user_id):
        raise Refusal("rate.not_yours")
    code = result_refusal(status=status, close_reason=close_reason, button_round=button_round,
                          current_round=current_round, rated=rated)
    if code:
        raise Refusal(code)


def after_unsatisfied(unsatisfied_rounds: int) -> Status:
    """Where a 不满意 sends the ticket: the 1st time back to the department, from the 2nd on to review.

    `unsatisfied_rounds` counts this one too.
    """
    if unsatisfied_rounds < 1:
        raise ValueError("at least this round is unsatisfied")
    return Status.REOPENED if unsatisfied_rounds == 1 else Status.REVIEW


@dataclass(frozen=True)
class Timers:
    rating_reminder: Duration
    rating_close: Duration
    calendar: WorkCalendar | None = None


@dataclass(frozen=True)
class RoundClock:
    """What the rating clock needs of the current round (a `rating_rounds` row)."""

    asked_at: datetime | None = None
    reminded_at: datetime | None = None
    reason_asked_at: datetime | None = None  # a 不满意 waiting for its reason since then


def next_check(*, status: str, resolved_at: datetime | None, closed_at: datetime | None,
               close_reason: str | None, round_: RoundClock | None, public_response_done: bool,
               timers: Timers) -> datetime | None:
    """When a RESOLVED or CLOSED ticket needs the rating clock looked at again."""
    if status == Status.RESOLVED:
        r = round_ or RoundClock()
        if r.reason_asked_at:
            return r.reason_asked_at + REASON_WAIT
        asked = r.asked_at or resolved_at
        if asked is None:
            return None
        remind_at = timers.rating_reminder.after(asked, timers.calendar)
        if not r.reminded_at:
            return remind_at
        close_at = timers.rating_close.after(asked, timers.calendar)
        # A reminder sent so late (the scan was down) that less than half the usual time to answer
        # is left leaves the whole of it: it was followed by "closed, not rated" a minute later.
        answer_time = max(close_at - remind_at, timedelta(0))
        if r.reminded_at - remind_at > answer_time / 2:
            return r.reminded_at + answer_time
        return close_at
    if status == Status.CLOSED and close_reason in PUBLIC_RESPONSE_AFTER and not public_response_done:
        return closed_at
    return None


def answered_close_at(answered_at: datetime, timers: Timers) -> datetime:
    """When an ANSWERED consultation closes unless the person said the answer did not help:
    the same window a resolved ticket waits for its rating (``rating_close``)."""
    return timers.rating_close.after(answered_at, timers.calendar)


def due_action(*, status: str, now: datetime, resolved_at: datetime | None, closed_at: datetime | None,
               close_reason: str | None, round_: RoundClock | None, public_response_done: bool,
               timers: Timers) -> str | None:
    """What the scan should do now: reason_timeout | remind | close_unrated | public_response | None."""
    when = next_check(status=status, resolved_at=resolved_at, closed_at=closed_at, close_reason=close_reason,
                      round_=round_, public_response_done=public_response_done, timers=timers)
    if when is None or when > now:
        return None
    if status == Status.CLOSED:
        return "public_response"
    r = round_ or RoundClock()
    if r.reason_asked_at:
        return "reason_timeout"
    if not r.reminded_at:
        # A close window not longer than the reminder's: remind first all the same, close on the next look.
        return "remind"
    return "close_unrated"


# 138 1234 5678, 138-1234-5678 and +86 / 0086 prefixes are how people write them too.
_PHONE = re.compile(r"(?<![\d+])((?:(?:\+|00)86[\s-]?)?1[3-9]\d)[\s-]?\d{4}[\s-]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)\d{7,8}(?!\d)")
# An e-mail address: the part before the @ is the person's (ASCII only: 邮箱wang@… keeps 邮箱).
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
# Full-width digits, as Chinese input methods type them (１３８…), are digits to every pattern here.
_WIDE_DIGITS = str.maketrans("０１２３４５６７８９＋－", "0123456789+-")
_ID_CARD = re.compile(r"(?<![\dXx])\d{6}(?:19|20)\d{2}\d{7}[\dXx](?![\dXx])")


# A home's door: 3号楼2单元502室, 3栋502, 502室, 3-2-502 — the building stays (it is where the matter is,
# and the neighbours know it), the flat is masked.
# The unit may be written in Chinese numerals (二单元) or, as in Beijing, as a 门 (5号楼2门301); a
# 单元 alone (3单元502) names a door too.
_UNIT = r"[\d一二三四五六七八九十]+\s*"
_FLAT_IN_BUILDING = re.compile(rf"((?:\d+\s*(?:号楼|栋|幢|座)\s*(?:{_UNIT}(?:单元|门)\s*)?|(?<![\d一二三四五六七八九十]){_UNIT}单元\s*))"
                               r"\d{3,4}(?!\d)"
                               r"(?!\s*(?:户|人|袋|车|个|米|元|平|吨|件|次|天|辆|棵|盏|处))(\s*(?:室|号|房))?")
_FLAT = re.compile(r"(?<![\d-])\d{3,4}(\s*(?:室|房间|房))")
_FLAT_DASHED = re.compile(r"(?<![\d-])(\d{1,3}-\d{1,2}-)\d{3,4}(?![\d-])")
# The everyday short form 楼号-门牌 ("3-502"): the door goes, the building stays. Not a quantity or a
# price ("3-500米", "2-300元"), and never a date or a phone (their parts are longer or shorter).
_FLAT_SHORT = re.compile(r"(?<![\d-])(\d{1,3}-)\d{3,4}(?![\d-])"
                         r"(?!\s*(?:户|人|袋|车|个|米|元|平|吨|件|次|天|辆|棵|盏|处|号楼|栋|km|m\b))")
# The same in English: "Flat 502", "Room 1203", "Apt. 5B", "Unit #12" (a block or building stays:
# it is where the matter is), and "Mr. Wang", "Mrs Li", "Dr. Chen".
_FLAT_EN = re.compile(r"\b(flat|room|rm|apartment|apt|unit|suite|door)(\.?\s*(?:no\.?\s*|#\s*)?)"
                      r"((?:[0-9][0-9a-z]*-)?)[0-9][0-9a-z]*\b", re.IGNORECASE)  # "unit 3-1204": the door
_TITLED_EN = re.compile(r"\b((?i:mr|mrs|ms|miss|mx|dr|madam|auntie|uncle))(\.?\s+)[A-Z][a-z]+\b")
# A person named by surname and title (王先生, 李阿姨): the surname is masked. Common surnames only,
# so 物业师傅 or 各位老师 stay as written.
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
             "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_COMPOUND = "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|令狐|夏侯|长孙|宇文|司徒|端木|南宫"
# A compound surname only where no word runs into it (物业公司马师傅 is 马师傅 of 公司, 家长孙老师 is 孙老师).
_TITLED = re.compile(f"((?<![\u4e00-\u9fff])(?:{_COMPOUND})|[{_SURNAMES}])"
                     "(先生|女士|小姐|阿姨|大爷|大妈|大姐|大哥|师傅|老师|奶奶|爷爷|叔叔|老人)")


def scrub(text: str, names: Iterable[str] = ()) -> str:
    """Mask phone and ID-card numbers, e-mail addresses, a home's flat number, a titled surname and the
    `names` the bot knows the reporter by (their Telegram name and @username, the name a volunteer gave):
    a public response carries no personal data (DESIGN: the neighbours' chat)."""
    text = text.translate(_WIDE_DIGITS)
    text = _EMAIL.sub(r"***@\1", text)
    text = _ID_CARD.sub("******************", text)
    text = _PHONE.sub(r"\1****\2", text)
    text = _LANDLINE.sub(r"\1********", text)
    text = _FLAT_IN_BUILDING.sub(lambda m: m.group(1) + "***" + (m.group(2) or ""), text)
    text = _FLAT.sub(r"***\1", text)
    text = _FLAT_DASHED.sub(r"\1***", text)
    text = _TITLED.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text)
    text = _FLAT_EN.sub(lambda m: m.group(1) + m.group(2) + m.group(3) + "***", text)
    text = _FLAT_SHORT.sub(r"\1***", text)  # after the English: "unit 3-1204" keeps its building
    text = _TITLED_EN.sub(lambda m: m.group(1) + m.group(2) + "***", text)
    return _known_names(text, names)  # last: a name with digits must not break a number's mask


def _known_names(text: str, names: Iterable[str]) -> str:
    """A known name keeps its first character (张**, as forms mask names); a username ("@name",
    written with or without its @) goes whole. Latin names and usernames match whole words only
    (Li Ming is not in Lift); a name of digits is a number's business, not a name's."""
    for given in sorted({n.strip() for n in names if n and len(n.strip().lstrip("@")) >= 2}, key=len, reverse=True):
        bare = given.lstrip("@")
        if any(ch.isdigit() for ch in bare):
            continue
        if given.startswith("@"):
            text = re.sub(rf"@?(?<![A-Za-z0-9_]){re.escape(bare)}(?![A-Za-z0-9_])", "@***", text, flags=re.IGNORECASE)
        elif bare.isascii():
            text = re.sub(rf"(?<![A-Za-z]){re.escape(bare)}(?![A-Za-z])", bare[0] + "*" * (len(bare) - 1), text)
        else:
            text = text.replace(bare, bare[0] + "*" * (len(bare) - 1))
    return text


def public_result(text: str | None, names: Iterable[str] = ()) -> str:
    """A department's result as the public sees it (rating request in a group, 正面回应, Open311):
    numbers and the reporter's `names` masked first, then cut — cut first, a number at the cut would
    lose its mask."""
    return clip(scrub(text or "", names), 200)


def clip(text: str, limit: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
