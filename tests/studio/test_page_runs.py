"""Background polls give way to page runs being drawn, but never go stale for long."""

from __future__ import annotations

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


def test_a_poll_waits_while_others_draw_but_checks_at_least_every_few_seconds() -> None:
    state: dict[str, object] = {}
    assert not live.gives_way(state, "k", now=100.0)  # nobody drawing: it checks
    with page_runs.drawing():
        assert live.gives_way(state, "k", now=102.0)  # someone's page is being drawn: later
        assert live.gives_way(state, "k", now=100.0 + live.CHECK_AT_LEAST_S - 0.1)
        assert not live.gives_way(state, "k", now=100.0 + live.CHECK_AT_LEAST_S)  # stale enough: checks anyway
        assert live.gives_way(state, "k", now=100.0 + live.CHECK_AT_LEAST_S + 2)
    assert not live.gives_way(state, "k", now=100.0 + live.CHECK_AT_LEAST_S + 2)  # quiet again: checks
