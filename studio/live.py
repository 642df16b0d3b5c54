"""Live render status: a fragment polls the job table every 2 s and reruns the page only when it changed; while
something is active it says where the page's jobs stand in the whole queue and about when they are done.

Each poll is one aggregate query (`job_fingerprint`). A full page run asks once: the fragment, drawn in that same
run, reuses what the page was drawn from instead of asking again.
"""

from __future__ import annotations

import streamlit as st

from core.runtime import Runtime
from core.queue_position import queue_status
from studio.queries import job_fingerprint
from studio.widgets import escape_markdown

_ACTIVE = ("pending", "submitted", "running")


def _fresh_key(key: str) -> str:
    return f"{key}-fresh"


def live_status(rt: Runtime, *, frame_ids: list[int] | None, shot_ids: list[int] | None, key: str) -> None:
    """Remember what the page was drawn from; the fragment compares and reruns the whole app on a change."""
    with rt.sessions() as session:
        st.session_state[key] = job_fingerprint(session, frame_ids=frame_ids, shot_ids=shot_ids)
    st.session_state[_fresh_key(key)] = True
    _poll(rt, frame_ids, shot_ids, key)


@st.fragment(run_every=2)
def _poll(rt: Runtime, frame_ids: list[int] | None, shot_ids: list[int] | None, key: str) -> None:
    if st.session_state.pop(_fresh_key(key), False):
        now = st.session_state[key]  # drawn in the page run that just read it
    else:
        with rt.sessions() as session:
            now = job_fingerprint(session, frame_ids=frame_ids, shot_ids=shot_ids)
        if now != st.session_state.get(key):
            st.session_state[key] = now
            st.rerun(scope="app")
    counts = {str(row[0]): int(row[1]) for row in now}  # type: ignore[index]
    active = sum(counts.get(s, 0) for s in _ACTIVE)
    if active:  # only then: where these jobs stand in the whole queue, and about when they are done
        with rt.sessions() as session:
            where = queue_status(session, frame_ids=frame_ids, shot_ids=shot_ids,
                                 concurrency=rt.settings.render_concurrency)
        st.caption(f":material/autorenew: {escape_markdown(where.summary())} — this page updates by itself.")
    else:
        st.caption(":material/check: Nothing rendering right now.")
