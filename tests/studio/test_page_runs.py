"""Page runs are let in a few at a time (never held back long), and background polls give way to them."""

from __future__ import annotations

import threading
import time

import pytest

from studio import live, page_runs


def test_a_page_run_counts_itself_in_and_out_even_when_it_stops_early() -> None:
    assert page_runs.in_flight() == 0
    with page_runs.drawing():
        assert page_runs.in_flight() == 1
        with pytest.raises(RuntimeError), page_runs.drawing():
            assert page_runs.in_flight() == 2
            raise RuntimeError("st.stop() or a rerun ends a run with an exception")
        assert page_runs.in_flight() == 1
    assert page_runs.in_flight() == 0


def test_a_run_waits_for_a_free_slot_and_a_slow_one_holds_the_others_back_only_briefly() -> None:
    slots = threading.BoundedSemaphore(1)
    first_in, release_first, order = threading.Event(), threading.Event(), []

    def slow() -> None:
        with page_runs.drawing(slots=slots, max_wait_s=5) as held:
            order.append(("slow", held))
            first_in.set()
            release_first.wait(5)

    thread = threading.Thread(target=slow)
    thread.start()
    first_in.wait(5)
    threading.Timer(0.2, release_first.set).start()
    began = time.monotonic()
    with page_runs.drawing(slots=slots, max_wait_s=5) as held:  # waits for the slot the slow run frees
        order.append(("next", held))
        waited = time.monotonic() - began
    thread.join(5)
    assert order == [("slow", True), ("next", True)] and waited >= 0.15

    with slots:  # a run that never frees its slot: the next one goes ahead without it, after the bound
        with page_runs.drawing(slots=slots, max_wait_s=0.1) as held:
            assert not held
    with page_runs.drawing(slots=slots, max_wait_s=0.1) as held:  # the slot was not leaked either way
        assert held


def test_a_poll_waits_while_others_draw_but_checks_at_least_every_few_seconds() -> None:
    state: dict[str, object] = {}
    assert not live.gives_way(state, "k", now=100.0)  # nobody drawing: it checks
    with page_runs.drawing():
        assert live.gives_way(state, "k", now=102.0)  # someone's page is being drawn: later
        assert live.gives_way(state, "k", now=100.0 + live.CHECK_AT_LEAST_S - 0.1)
        assert not live.gives_way(state, "k", now=100.0 + live.CHECK_AT_LEAST_S)  # stale enough: checks anyway
        assert live.gives_way(state, "k", now=100.0 + live.CHECK_AT_LEAST_S + 2)
    assert not live.gives_way(state, "k", now=100.0 + live.CHECK_AT_LEAST_S + 2)  # quiet again: checks
