"""Live render status: a fragment polls the job table every 2 s and reruns the page when it changed (at most every
5 s while renders go on, at once when the last one finished); while something is active it says where the page's
jobs stand in the whole queue and about when they are done. A poll gives way to other tabs' page runs being drawn
(`studio.page_runs`: producers wait for those), checking at least every `CHECK_AT_LEAST_S` all the same.

Each poll is one aggregate query (`job_fingerprint`). A full page run asks once: the fragment, drawn in that same
run, reuses what the page was drawn from instead of asking again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import MutableMapping
from typing import Any

import streamlit as st
from sqlalchemy.orm import Session

from core.runtime import Runtime
from core.queue_position import queue_status, throughput
from studio import page_runs
from studio.queries import job_fingerprint
from studio.widgets import escape_markdown

_ACTIVE = ("pending", "submitted", "running")
REDRAW_EVERY_S = 5.0  # while renders go on; the caption below still updates every poll
REDRAW_BUSY_EVERY_S = 15.0  # the same while other tabs' pages are being drawn: producers wait for those
CHECK_AT_LEAST_S = 6.0  # a poll gives way to page runs being drawn, but checks at least this often
PACE_TTL_S = 5.0  # the workers' pace is the same for every tab: read once per process this often

_pace_lock = threading.Lock()
_paces: dict[str, tuple[float, float | None]] = {}  # database URL -> (monotonic time read, jobs per second)


def recent_pace(rt: Runtime, session: Session) -> float | None:
    """The workers' jobs per second (`core.queue_position.throughput`), read at most every `PACE_TTL_S` per process
    and database: twenty tabs polling every 2 s asked for the same number ten times a second."""
    key = str(rt.engine.url)
    with _pace_lock:
        when, rate = _paces.get(key, (float("-inf"), None))
    if time.monotonic() - when < PACE_TTL_S:
        return rate
    rate = throughput(session, concurrency=rt.settings.render_concurrency)
    with _pace_lock:
        _paces[key] = (time.monotonic(), rate)
    return rate


def _fresh_key(key: str) -> str:
    return f"{key}-fresh"


def _may_redraw(key: str, *, finished: bool) -> bool:
    """Whether a change seen by the poll may redraw the whole page now: at most once every `REDRAW_EVERY_S` while
    renders go on (each redraw is a full page run, and twenty tabs redrawing every 2 s slowed every page), every
    `REDRAW_BUSY_EVERY_S` while other page runs are being drawn; at once when the last one finished, so the page
    shows the end without waiting."""
    last = float(st.session_state.get(f"{key}-redrawn", 0.0))
    every = REDRAW_BUSY_EVERY_S if page_runs.in_flight() else REDRAW_EVERY_S
    if not finished and time.monotonic() - last < every:
        return False
    st.session_state[f"{key}-redrawn"] = time.monotonic()
    return True


def live_status(rt: Runtime, *, frame_ids: list[int] | None, shot_ids: list[int] | None, key: str) -> None:
    """Remember what the page was drawn from; the fragment compares and reruns the whole app on a change."""
    with rt.sessions() as session:
        st.session_state[key] = job_fingerprint(session, frame_ids=frame_ids, shot_ids=shot_ids)
    st.session_state[_fresh_key(key)] = True
    st.session_state[f"{key}-redrawn"] = st.session_state[f"{key}-checked"] = time.monotonic()  # a redraw, a check
    _poll(rt, frame_ids, shot_ids, key)


def gives_way(state: MutableMapping[str, Any], key: str, *, now: float) -> bool:
    """Whether this poll leaves its check for later: other page runs are being drawn (a producer waits for
    them), and this page checked less than `CHECK_AT_LEAST_S` ago. Otherwise it notes that it checks now."""
    last = float(state.get(f"{key}-checked", float("-inf")))
    if page_runs.in_flight() and now - last < CHECK_AT_LEAST_S:
        return True
    state[f"{key}-checked"] = now
    return False


@st.fragment(run_every=2)
def _poll(rt: Runtime, frame_ids: list[int] | None, shot_ids: list[int] | None, key: str) -> None:
    fresh = st.session_state.pop(_fresh_key(key), False)
    if not fresh and gives_way(st.session_state, key, now=time.monotonic()):
        st.caption(st.session_state.get(f"{key}-caption", ""))  # the last check's words, no query
        return
    if fresh:
        now = st.session_state[key]  # drawn in the page run that just read it
    else:
        with rt.sessions() as session:
            now = job_fingerprint(session, frame_ids=frame_ids, shot_ids=shot_ids)
    counts = {str(row[0]): int(row[1]) for row in now}  # type: ignore[index]
    active = sum(counts.get(s, 0) for s in _ACTIVE)
    if not fresh and now != st.session_state.get(key) and _may_redraw(key, finished=not active):
        st.session_state[key] = now
        st.rerun(scope="app")
    if active:  # only then: where these jobs stand in the whole queue, and about when they are done
        with rt.sessions() as session:
            where = queue_status(session, frame_ids=frame_ids, shot_ids=shot_ids,
                                 pace=lambda: recent_pace(rt, session))
        line = f":material/autorenew: {escape_markdown(where.summary())} — this page updates by itself."
    else:
        line = ":material/check: Nothing rendering right now."
    st.session_state[f"{key}-caption"] = line
    st.caption(line)
