"""The cycle collector's pause: nested and overlapping pauses, errors, a collector off."""

from __future__ import annotations

import gc
import threading

import pytest

from ciblage import cycle_collector


def test_a_pause_turns_the_collector_off_and_back_on_even_after_an_error() -> None:
    assert gc.isenabled()
    with cycle_collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cycle_collector.paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_pauses_end_with_the_outermost() -> None:
    with cycle_collector.paused():
        with cycle_collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still runs
    assert gc.isenabled()


def test_overlapping_pauses_in_threads_end_with_the_last_one() -> None:
    """Thread A pauses, B pauses, A ends first: the collector stays off until B ends, then
    is back (a naive save-and-restore per pause would leave it off, or on too early)."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def a() -> None:
        with cycle_collector.paused():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b() -> None:
        a_in.wait(5)
        with cycle_collector.paused():
            b_in.set()
            a_out.wait(5)
            seen["after A ended"] = gc.isenabled()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"after A ended": False}
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with cycle_collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
