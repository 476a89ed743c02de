"""The flood gate books slots: concurrent sends never share one, limits hold, a 429 pauses the right scope.

The gate is pure: every call takes the time, so these tests drive it with exact numbers.
"""
from __future__ import annotations

import pytest

from bot.ratelimit import FloodGate

PRIVATE, OTHER, GROUP = 501, 502, -1001


def gate(**kw: float) -> FloodGate:
    values = dict(global_per_second=10, chat_interval=1.0, group_per_minute=20)
    values.update(kw)
    return FloodGate(**values)


def test_deliveries_booked_at_the_same_moment_get_distinct_slots():
    g = gate()
    slots = [g.reserve(chat, now=0.0) for chat in range(1, 6)]
    assert [s.at for s in slots] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_a_slot_waits_until_the_send_a_window_back_was_answered():
    g = gate()
    slots = [g.reserve(chat, now=0.0) for chat in range(1, 11)]
    g.done(slots[0], now=0.25)  # Telegram may have counted it as late as its answer
    assert g.reserve(11, now=0.5).at == pytest.approx(1.25)


def test_one_chat_waits_a_second_after_its_previous_answer():
    g = gate(global_per_second=1000)
    first = g.reserve(PRIVATE, now=0.0)
    g.done(first, now=0.2)
    assert g.chat_ready_at(PRIVATE, now=0.3) == pytest.approx(1.2)
    assert g.reserve(PRIVATE, now=0.3).at == pytest.approx(1.2)
    assert g.chat_ready_at(OTHER, now=0.3) == pytest.approx(0.3)


def test_beyond_the_horizon_nothing_is_booked():
    g = gate()
    g.done(g.reserve(PRIVATE, now=0.0), now=0.0)
    assert g.reserve(PRIVATE, now=0.1, horizon=0.5) is None
    assert g.reserve(OTHER, now=0.1).at == pytest.approx(0.1)  # the refused booking took no slot


def test_twenty_messages_a_minute_into_a_group_an_album_counting_each_photo():
    g = gate(global_per_second=1000, chat_interval=0.0)
    for n in range(9):
        g.done(g.reserve(GROUP, now=float(n)), now=float(n))
    album = g.reserve(GROUP, now=9.0, count=10)
    g.done(album, now=9.0)
    assert g.chat_ready_at(GROUP, now=10.0) == pytest.approx(10.0)  # 19 sent this minute
    g.done(g.reserve(GROUP, now=10.0), now=10.0)
    assert g.chat_ready_at(GROUP, now=11.0) == pytest.approx(60.0)  # the first leaves the minute
    assert g.chat_ready_at(GROUP, now=11.0, count=2) == pytest.approx(61.0)
    assert g.chat_ready_at(PRIVATE, now=11.0) == pytest.approx(11.0)  # private chats have no per-minute cap


def test_a_429_for_a_chat_that_was_idle_pauses_every_chat():
    g = gate()
    g.done(g.reserve(PRIVATE, now=0.0), now=0.01)
    booked = g.reserve(GROUP, now=4.9)
    failed = g.reserve(OTHER, now=5.0)
    assert g.on_retry_after(OTHER, 3, now=5.02, failed=failed) is True
    assert g.paused_until == pytest.approx(8.02)
    assert g.still_valid(booked) is False  # booked before the pause: book again
    assert g.reserve(PRIVATE, now=5.1).at == pytest.approx(8.02)
    assert g.chat_ready_at(GROUP, now=5.1) == pytest.approx(8.02)


def test_a_429_for_a_chat_we_just_wrote_to_blocks_only_that_chat():
    g = gate(global_per_second=1000, chat_interval=0.1)  # configured faster than Telegram allows
    g.done(g.reserve(PRIVATE, now=0.0), now=0.01)
    failed = g.reserve(PRIVATE, now=0.2)
    assert failed.at == pytest.approx(0.2)
    assert g.on_retry_after(PRIVATE, 2, now=0.21, failed=failed) is False
    assert g.chat_ready_at(PRIVATE, now=0.3) == pytest.approx(2.21)
    assert g.reserve(OTHER, now=0.3).at == pytest.approx(0.3)


def test_a_429_for_a_group_at_its_minute_cap_blocks_only_the_group():
    g = gate(global_per_second=1000, chat_interval=0.0, group_per_minute=100)  # the cap set too high
    for n in range(20):
        g.done(g.reserve(GROUP, now=n * 2.0), now=n * 2.0)
    failed = g.reserve(GROUP, now=41.0)
    assert g.on_retry_after(GROUP, 19, now=41.0, failed=failed) is False
    assert g.paused_until == float("-inf")


def test_a_cancelled_slot_gives_the_chat_its_previous_state_back():
    g = gate(global_per_second=1000)
    g.done(g.reserve(PRIVATE, now=0.0), now=0.1)
    unused = g.reserve(PRIVATE, now=0.5)
    assert unused.at == pytest.approx(1.1)
    g.cancel(unused)
    assert g.chat_ready_at(PRIVATE, now=0.5) == pytest.approx(1.1)


def test_chats_quiet_for_a_minute_are_forgotten():
    g = gate(global_per_second=1000)
    g.done(g.reserve(PRIVATE, now=0.0), now=0.0)
    g.done(g.reserve(GROUP, now=0.0), now=0.0)
    g.block(OTHER, until=5.0)
    g.sweep(now=100.0)
    assert (g._last, dict(g._groups), g._blocked_until) == ({}, {}, {})


def test_cancelled_and_expired_slots_leave_the_limits_they_counted_against():
    # The windows keep running totals: a cancelled slot frees its place at once, once only, and
    # a slot that has left its window before it is cancelled frees nothing a second time.
    g = gate(global_per_second=3, chat_interval=0.0, group_per_minute=3)
    a, b, c = (g.reserve(GROUP, now=0.0) for _ in range(3))
    for s in (a, b, c):
        g.done(s, now=s.at)
    g.cancel(b)
    g.cancel(b)
    d = g.reserve(GROUP, now=1.0)
    assert d.at == pytest.approx(1.0)  # b's place is free; the global window has passed too
    g.done(d, now=1.0)
    assert g.chat_ready_at(GROUP, now=1.0) == pytest.approx(60.0)  # a, c and d fill the minute: a leaves at 60
    assert g.chat_ready_at(GROUP, now=61.0) == pytest.approx(61.0)  # a, c and d have left the minute
    later = [g.reserve(GROUP, now=61.0) for _ in range(3)]
    for s in later:
        g.done(s, now=s.at)
    g.cancel(c)  # out of the minute already: it must not free a place among the three new ones
    assert g.chat_ready_at(GROUP, now=62.0) == pytest.approx(later[0].at + 60)
