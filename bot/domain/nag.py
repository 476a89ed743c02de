"""What a ticket's clocks owe the department, and when to look again (DESIGN §3).

Pure: no I/O, no clock reads; the caller passes ``now``.  The bookkeeping lives in the
ticket's ``clock_state`` JSON (written only by bot/services/clocks.py)::

    {"clocks": {"resolve": {"start": iso, "due": iso, "sent": [0.5], "overdue": iso | null}},
     "nag_at": iso,            # the next daily nag, while some running clock is overdue
     "on_time": [0],           # rounds whose on-time resolution already cleared a streak
     "waiting": {"status": "REVIEW", "since": iso, "due": iso, "nag_at": iso | null, "sent": 0}}

* ``sync`` records each clock's window when its deadline first appears (it starts at the
  dispatch) or moves (an approved extension, a reopen: it restarts *now*, and the reminder
  marks already behind it count as sent, so moving a deadline never fires a burst).
* ``step`` turns the due moments into actions: a ``Reminder`` at each configured fraction
  of the window (only the latest one when several fell due together), an ``Overdue``
  notice once when the deadline passes, and a ``Nag`` once per working day afterwards.
* ``next_check`` is the earliest moment any of that becomes due: the ticket's
  ``next_check_at``.  After ``step(now)`` it is always later than ``now`` (or None).
* ``waiting`` / ``waiting_step`` / ``waiting_next``: the dispatchers' own clock while a ticket
  waits for them (TRIAGE, REVIEW): a reminder once the wait outlasts its window, then one
  each working day until the ticket moves on.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Any

from bot.domain.calendar import WorkCalendar
from bot.domain.sla import fraction_point
from bot.domain.lifecycle import Status

__all__ = ["CLOCKS", "Nag", "Overdue", "Reminder", "active_clocks", "card_key", "next_check",
           "next_nag_time", "overdue_clocks", "step", "sync", "tidy", "waiting", "waiting_next", "waiting_step"]

CLOCKS = ("accept", "progress", "resolve")


@dataclass(frozen=True)
class Reminder:
    clock: str
    fraction: float
    due: datetime


@dataclass(frozen=True)
class Overdue:
    clock: str
    due: datetime


@dataclass(frozen=True)
class Nag:
    clocks: tuple[str, ...]
    since: datetime  # the earliest missed deadline among them


Action = Reminder | Overdue | Nag


def _copy(value: Any) -> Any:
    """A deep copy of the JSON the state is made of (dicts, lists, scalars): the scan makes one
    or two per due ticket, and ``copy.deepcopy`` costs several times more."""
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


def _at(text: str) -> datetime:
    """A time the bookkeeping always has (a clock's start and due)."""
    value = _dt(text)
    if value is None:
        raise ValueError(f"not a time: {text!r}")
    return value


def _dt(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def active_clocks(status: str, *, progress_done: bool, resolved_before: bool) -> tuple[str, ...]:
    """The clocks a department is on in ``status``.

    DISPATCHED: accept.  ACCEPTED / REOPENED: resolve, and first progress feedback while no
    progress was reported and the ticket was never resolved (a result is feedback enough).
    """
    if status == Status.DISPATCHED:
        return ("accept",)
    if status in (Status.ACCEPTED, Status.REOPENED):
        return ("resolve",) if progress_done or resolved_before else ("progress", "resolve")
    return ()


def card_key(dept: str | None, round_: int) -> str:
    """One card per department per ticket per handling round (reopen_count)."""
    return f"{dept or '-'}:{round_}"


def sync(state: Mapping | None, dues: Mapping[str, datetime | None], now: datetime,
         fractions: Sequence[float], first_start: datetime | None = None) -> tuple[dict, tuple[str, ...]]:
    """Record new or moved deadlines; return the new state and the clocks that were (re)started.

    A clock seen for the first time starts at ``first_start`` (the dispatch) or ``now``; a
    clock whose deadline moved restarts at ``now``.  Clocks without a deadline are dropped.
    """
    new = _copy(state or {})
    clocks: dict = dict(new.get("clocks") or {})
    fresh: list[str] = []
    for clock in CLOCKS:
        due = dues.get(clock)
        entry = clocks.get(clock)
        if due is None:
            clocks.pop(clock, None)
            continue
        if entry and _dt(entry.get("due")) == due:
            continue
        start = min(now if entry else (first_start or now), due)
        # A moved deadline owes no reminders for marks already behind it; a clock seen for
        # the first time late (registered after its dispatch) still owes the latest one.
        sent = [f for f in fractions if entry and start < due and fraction_point(start, due, f) <= now]
        clocks[clock] = {"start": _iso(start), "due": _iso(due), "sent": sent, "overdue": None}
        fresh.append(clock)
    new["clocks"] = clocks
    return new, tuple(fresh)


def overdue_clocks(state: Mapping, active: Iterable[str]) -> list[str]:
    clocks = state.get("clocks") or {}
    return [c for c in active if (clocks.get(c) or {}).get("overdue")]


def tidy(state: dict, active: Iterable[str]) -> dict:
    """Forget the daily nag once no running clock is overdue (the ticket moved on)."""
    if not overdue_clocks(state, active):
        state.pop("nag_at", None)
    return state


def step(state: Mapping, active: Sequence[str], now: datetime, fractions: Sequence[float],
         next_nag: Callable[[datetime], datetime]) -> tuple[dict, list[Action]]:
    """What is due at ``now`` for the ``active`` clocks; the state records it as done."""
    new = _copy(state)
    clocks = new.setdefault("clocks", {})
    actions: list[Action] = []
    for clock in active:
        entry = clocks.get(clock)
        if not entry or entry.get("overdue"):
            continue
        due, start = _at(entry["due"]), _at(entry["start"])
        sent = list(entry.get("sent") or [])
        if now >= due:
            entry["overdue"] = _iso(now)
            entry["sent"] = sorted(set(sent) | set(fractions))
            actions.append(Overdue(clock, due))
            continue
        pending = [f for f in fractions if f not in sent and fraction_point(start, due, f) <= now]
        if pending:
            entry["sent"] = sorted(set(sent) | set(pending))
            actions.append(Reminder(clock, max(pending), due))
    late = overdue_clocks(new, active)
    if not late:
        new.pop("nag_at", None)
        return new, actions
    nag_at = _dt(new.get("nag_at"))
    if nag_at is None or now >= nag_at:
        if nag_at is not None and not any(isinstance(a, Overdue) for a in actions):
            since = min(_at(clocks[c]["due"]) for c in late)
            actions.append(Nag(tuple(late), since))
        new["nag_at"] = _iso(next_nag(now))
    return new, actions


def next_check(state: Mapping, active: Sequence[str], fractions: Sequence[float]) -> datetime | None:
    """The earliest pending reminder, deadline or nag of the ``active`` clocks."""
    clocks = state.get("clocks") or {}
    times: list[datetime] = []
    for clock in active:
        entry = clocks.get(clock)
        if not entry:
            continue
        if entry.get("overdue"):
            continue
        due, start = _at(entry["due"]), _at(entry["start"])
        sent = entry.get("sent") or []
        times += [fraction_point(start, due, f) for f in fractions if f not in sent]
        times.append(due)
    nag_at = _dt(state.get("nag_at"))
    if nag_at is not None and overdue_clocks(state, active):
        times.append(nag_at)
    return min(times) if times else None


def next_nag_time(cal: WorkCalendar, after: datetime, at: time = time(9, 0)) -> datetime:
    """``at`` local time on the first working day after ``after``'s local date."""
    day = cal.next_working_day(cal.local(after).date())
    # Through UTC, so that a wall time in a DST gap still gets a real offset.
    return datetime.combine(day, at, tzinfo=cal.tz).astimezone(timezone.utc).astimezone(cal.tz)


def waiting(state: Mapping, status: str, since: datetime, due: datetime) -> dict:
    """The wait entry for ``status`` entered at ``since``: kept while that same wait goes on,
    fresh (nothing sent, first reminder at ``due``) when the ticket entered the status anew."""
    entry = dict(state.get("waiting") or {})
    if entry.get("status") == status and _dt(entry.get("since")) == since and entry.get("due"):
        return entry
    return {"status": status, "since": _iso(since), "due": _iso(due), "nag_at": None, "sent": 0}


def waiting_next(entry: Mapping) -> datetime:
    """When the wait needs a look again: the next daily reminder, or the first one."""
    return _dt(entry.get("nag_at")) or _at(entry["due"])


def waiting_step(entry: Mapping, now: datetime,
                 next_nag: Callable[[datetime], datetime]) -> tuple[dict, bool]:
    """Whether a reminder is due at ``now``; the entry records it as sent (next one: ``next_nag``)."""
    new = dict(entry)
    if now < waiting_next(entry):
        return new, False
    new["sent"] = int(new.get("sent") or 0) + 1
    new["nag_at"] = _iso(next_nag(now))
    return new, True
