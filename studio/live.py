"""Live render status: a fragment polls the job table every 2 s and reruns the page when it changed (at most every
5 s while renders go on, at once when the last one finished); while something is active it says where the page's
jobs stand in the whole queue and about when they are done.

Each poll is one aggregate query (`job_fingerprint`). A full page run asks once: the fragment, drawn in that same
run, reuses what the page was drawn from instead of asking again.
"""

from __future__ import annotations

import time

import streamlit as st

from core.runtime import Runtime
from core.queue_position import queue_status
from studio.queries import job_fingerprint
from studio.widgets import escape_markdown

_ACTIVE = ("pending", "submitted", "running")
REDRAW_EVERY_S = 5.0  # while renders go on; the caption below still updates every poll


def _fresh_key(key: str) -> str:
    return f"{key}-fresh"


def _may_redraw(key: str, *, finished: bool) -> bool:
    """Whether a change seen by the poll may redraw the whole page now: at most once every `REDRAW_EVERY_S` while
    renders go on (each redraw is a full page run, and twenty tabs redrawing every 2 s slowed every page); at once
    when the last one finished, so the page shows the end without waiting."""
    last = float(st.session_state.get(f"{key}-redrawn", 0.0))
    if not finished and time.monotonic() - last < REDRAW_EVERY_S:
        return False
    st.session_state[f"{key}-redrawn"] = time.monotonic()
    return True


def live_status(rt: Runtime, *, frame_ids: list[int] | None, shot_ids: list[int] | None, key: str) -> None:
    """Remember what the page was drawn from; the fragment compares and reruns the whole app on a change."""
    with rt.sessions() as session:
        st.session_state[key] = job_fingerprint(session, frame_ids=frame_ids, shot_ids=shot_ids)
    st.session_state[_fresh_key(key)] = True
    st.session_state[f"{key}-redrawn"] = time.monotonic()  # this run is a redraw too
    _poll(rt, frame_ids, shot_ids, key)


@st.fragment(run_every=2)
def _poll(rt: Runtime, frame_ids: list[int] | None, shot_ids: list[int] | None, key: str) -> None:
    fresh = st.session_state.pop(_fresh_key(key), False)
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
                                 concurrency=rt.settings.render_concurrency)
        st.caption(f":material/autorenew: {escape_markdown(where.summary())} — this page updates by itself.")
    else:
        st.caption(":material/check: Nothing rendering right now.")
