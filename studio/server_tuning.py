"""How the studio's server process hands elements to the browser when many producers' pages draw at once.

Streamlit runs every tab's script in its own thread of one interpreter and sends each element as a message of its
own: the script thread queues it, then wakes the server's event loop (`call_soon_threadsafe`, a write to the loop's
self-pipe) — once per element. That write lets go of the GIL, and while other tabs' scripts are running, taking
it back waits out the interpreter's switch interval (5 ms by default). A page of a hundred elements paid that wait
up to a hundred times whenever its run met another one.

So a script thread asks for one wake-up per flush, not one per element: while a wake-up is on its way to the loop,
later elements only queue (the loop sends every session's whole queue when it wakes), and a message queued after
the wake-up ran asks for a new one, so none is left unsent. bench/load.py: the p95 page run under load went from
103–112 ms (three runs) to 93–103 ms (five runs), idle unchanged. A shorter switch interval alone (1 ms) did not help.

This reaches into Streamlit's runtime (pinned in requirements.txt); when a Streamlit version lays it out
differently, the studio logs a warning and keeps Streamlit's own behaviour.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("studio")

_lock = threading.Lock()
_installed = False


def coalesced_wakeup(call_soon_threadsafe: Callable[[Callable[[], None]], Any],
                     wake: Callable[[], None]) -> Callable[[], None]:
    """A callback for "a message was queued": it schedules `wake` on the event loop unless one is already
    scheduled and has not run yet."""
    pending = False

    def woken() -> None:  # on the event loop, before it flushes the queues
        nonlocal pending
        pending = False
        wake()

    def enqueued() -> None:  # on a script thread, after the message is in its session's queue
        nonlocal pending
        if pending:
            return  # the wake-up on its way flushes this message too
        pending = True
        call_soon_threadsafe(woken)

    return enqueued


def tune_server() -> None:
    """Once per process, in a running studio: wake-ups per flush. Does nothing outside `streamlit run`."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    from streamlit.runtime import Runtime

    if not Runtime.exists():  # AppTest, bare mode: no server, no event loop to wake
        return
    try:
        runtime = Runtime.instance()
        loop_objects = runtime._get_async_objs()
        manager = runtime._session_mgr
        callback = coalesced_wakeup(loop_objects.eventloop.call_soon_threadsafe, loop_objects.need_send_data.set)
        sessions = [info.session for info in manager.list_sessions()]
        if not all(hasattr(s, "_message_enqueued_callback") for s in [manager, *sessions]):
            raise AttributeError("_message_enqueued_callback")
    except (AttributeError, RuntimeError) as err:
        log.warning("Streamlit's runtime is laid out differently (%s): elements wake the server one by one", err)
        return
    manager._message_enqueued_callback = callback  # sessions opened from now on
    for session in sessions:  # the ones already open (this very run's among them)
        session._message_enqueued_callback = callback
