"""Jobs: every render with its status, timings, attempts, cost and error; retry failed ones, cancel queued ones."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.jobs import background_worker_problem, cancel_job, retry_job
from studio import auth, state
from studio.actions import ok, perform
from studio.context import get_runtime
from studio.job_table import EMPTY, column_config, job_ids, job_rows
from studio.live import live_status
from studio.queries import video_options
from studio.widgets import escape_markdown, metrics

rt = get_runtime()
cfg = rt.settings
st.title("Jobs")
live_status(rt, frame_ids=None, shot_ids=None, key="jobs-fingerprint")
if (problem := background_worker_problem(rt)) is not None:
    st.warning(escape_markdown(problem), icon=":material/warning:")  # the error text comes from outside
FILTERS = {"Queued": ["pending"], "At the provider": ["submitted", "running"], "Failed": ["failed"],
           "Done": ["succeeded"], "Canceled": ["canceled"]}
pick_status, pick_video = st.columns([3, 2], vertical_alignment="bottom")
chosen = pick_status.pills("Show", list(FILTERS), selection_mode="multi", default=list(FILTERS), key="job-filter",
                           wrap=True)
statuses = [s for name in chosen for s in FILTERS[name]]
with rt.sessions() as session:  # plain columns, four queries: the videos, the table and the two pickers
    videos = {o.id: o.label for o in video_options(session, state.script_id())} if state.script_id() else {}
    only = pick_video.selectbox("Video", [None, *videos], format_func=lambda v: "Every video" if v is None
                                else videos[v], key="job-video-filter")
    rows = job_rows(session, statuses or None, limit=500, video_id=only)
    failed = job_ids(session, ["failed", "canceled"], limit=500)
    queued = job_ids(session, ["pending"], limit=500)

metrics((("Shown", len(rows)), ("Queued", len(queued)), ("Failed or canceled", len(failed)),
         ("Spent", f"${sum(r['Cost $'] or 0 for r in rows):.2f}")))
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config=column_config(),
                 placeholder=EMPTY)
else:
    st.info("No jobs to show. Render images or clips to fill the queue.", icon=":material/inbox:")

if not auth.can(cfg, "render"):
    st.caption("Your role can follow the queue; retrying and canceling jobs is for producers.")
    st.stop()
left, right = st.columns(2)
with left.container(border=True):
    st.markdown("**Retry**: failed and canceled jobs go back in the queue (attempts and errors are kept).")
    pick = st.selectbox("Job to retry", failed, format_func=lambda i: f"Job {i}", disabled=not failed)
    b1, b2 = st.columns(2)
    if b1.button("Retry job", disabled=pick is None) and ok(perform(
        rt, lambda s: retry_job(s, pick, actor=cfg.author_name), success=f"Job {pick} queued again.")):
        st.rerun()
    if b2.button(f"Retry all {len(failed)}", disabled=not failed) and ok(perform(
        rt, lambda s: [retry_job(s, j, actor=cfg.author_name) for j in failed],
        success=f"{len(failed)} job(s) queued again.")):
        st.rerun()
with right.container(border=True):
    st.markdown("**Cancel**: queued jobs that have not started are dropped.")
    drop = st.selectbox("Job to cancel", queued, format_func=lambda i: f"Job {i}", disabled=not queued)
    c1, c2 = st.columns(2)
    if c1.button("Cancel job", disabled=drop is None) and ok(perform(
        rt, lambda s: cancel_job(s, drop, actor=cfg.author_name, settings=cfg), success=f"Job {drop} canceled.")):
        st.rerun()
    if c2.button(f"Cancel all {len(queued)}", disabled=not queued) and ok(perform(
        rt, lambda s: [cancel_job(s, j, actor=cfg.author_name, settings=cfg) for j in queued],
        success=f"{len(queued)} job(s) canceled.")):
        st.rerun()
