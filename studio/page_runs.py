"""Full page runs this server process is drawing right now, so that background refreshes give way to them.

A producer's click waits for its page run; a live status poll (studio/live.py) is background work that can wait a
moment. Under twenty tabs the polls and the redraws they start were about a third of the server's work, and every
click waited behind them (bench/load.py). Each run of the app counts itself in and out (studio/app.py); a
fragment's own rerun does not run the app, so it is not counted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_in_flight = 0


@contextmanager
def drawing() -> Iterator[None]:
    """Count this page run in for as long as it draws (a stop or a rerun ends it too)."""
    global _in_flight
    with _lock:
        _in_flight += 1
    try:
        yield
    finally:
        with _lock:
            _in_flight -= 1


def in_flight() -> int:
    """How many page runs are being drawn right now, in this process."""
    return _in_flight
