"""Full page runs this server process is drawing: how many at once, and a count that background work gives way to.

Streamlit draws every tab's page in its own thread of one interpreter. Twenty pages drawn at once share the GIL in
5 ms slices, and every run pays for the others' switching: under bench/load.py the p95 page run was 1.3–2.1 s with
all runs let in at once, 0.9 s with at most two (the same 5 s of work, done with less thrashing). So a run waits for
one of `SLOTS`, but never longer than `MAX_WAIT_S`: a page busy with something slow (a large upload, a planner call)
delays the others by at most that, then they run beside it as before.

A producer's click waits for its page run; a live status poll (studio/live.py) is background work that can wait a
moment: it gives way while `in_flight()` says pages are being drawn. Each run of the app counts itself in and out
(studio/app.py); a fragment's own rerun does not run the app, so it is neither counted nor held back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

SLOTS = 2  # page runs drawn at once; more wait for a slot
MAX_WAIT_S = 2.0  # ... but no longer than this

_lock = threading.Lock()
_in_flight = 0
_slots = threading.BoundedSemaphore(SLOTS)


@contextmanager
def drawing(*, slots: threading.BoundedSemaphore | None = None, max_wait_s: float | None = None) -> Iterator[bool]:
    """Count this page run in for as long as it draws (a stop or a rerun ends it too), in one of the slots when one
    frees up within `MAX_WAIT_S`. Yields whether it got a slot (tests pass their own `slots`)."""
    global _in_flight
    gate = _slots if slots is None else slots
    with _lock:
        _in_flight += 1
    held = gate.acquire(timeout=MAX_WAIT_S if max_wait_s is None else max_wait_s)
    try:
        yield held
    finally:
        if held:
            gate.release()
        with _lock:
            _in_flight -= 1


def in_flight() -> int:
    """How many page runs are being drawn or waiting for a slot right now, in this process."""
    return _in_flight
