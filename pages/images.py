"""Images: the video's gallery, shot rows × frame columns, with live status; render, re-roll, enlarge, pick."""

from __future__ import annotations

import streamlit as st

from core.cost import admit_video_batch
from core.jobs import estimate_video, request_video_images
from studio import auth
from studio.actions import ok, perform
from studio.context import get_runtime
from studio.cast_panel import load_board_cast, model_note, reference_note, rerender_stale
from studio.gallery import image_cell, queue_images
from studio.live import live_status
from studio.queries import takes_by_frame
from studio.sidebar import require_board

rt = get_runtime()
cfg = rt.settings
video_id, board = require_board(rt)
may_render, may_edit = auth.can(cfg, "render"), auth.can(cfg, "edit")  # once per run, not per frame
with rt.sessions() as session:
    estimate = estimate_video(session, video_id, settings=cfg, clips=False)
    takes = takes_by_frame(session, [f.id for f in board.frames])

st.title("Images")
st.caption(f"{board.video_title} · rendered by `{cfg.active_renderer}` · model `{cfg.higgs_image_model}`"
           if cfg.active_renderer != "offline" else f"{board.video_title} · rendered offline (free)")
live_status(rt, frame_ids=[f.id for f in board.frames], shot_ids=[], key="images-fingerprint")
model_note(cfg)  # whether the configured model takes the cast's reference photos
cast = load_board_cast(rt, video_id, [s.id for s in board.shots])
rerender_stale(rt, cast, may_render=may_render)
done = sum(1 for f in board.frames if f.image_id)
no_prompt = sum(1 for f in board.frames if not f.prompt)
head = st.columns([3, 2], vertical_alignment="center")
head[0].progress(done / max(len(board.frames), 1), text=f"{done} of {len(board.frames)} frames have an image")
if no_prompt:
    head[0].caption(f"{no_prompt} frame(s) have no prompt yet: refine them on the Prompts page first.")
with head[1]:
    st.caption(f"Missing images: {estimate.summary()}")
    if may_render and st.button("Render all missing images", type="primary", icon=":material/burst_mode:",
                                width="stretch"):
        missing = [f.id for f in board.frames if f.prompt and not f.image_id]
        with rt.sessions() as session:  # the budget decides before anything is queued
            admission = admit_video_batch(session, video_id, kind="image", settings=cfg, subject_ids=missing)
        batch = perform(rt, lambda s: request_video_images(s, video_id, settings=cfg, actor=cfg.author_name)) \
            if admission.admitted or not missing else None
        if batch is None:
            st.error(admission.reason, icon=":material/savings:")
        elif ok(batch):
            st.session_state["images-skipped"] = list(batch.skipped.values())  # type: ignore[union-attr]
            st.rerun()
for reason in st.session_state.pop("images-skipped", [])[:5]:
    st.caption(f"Skipped: {reason}")

for shot in board.shots:
    row = st.columns([1.5, 8], vertical_alignment="top")
    with row[0]:
        st.markdown(f"**Shot {shot.position}**")
        ready = [f.id for f in shot.frames if f.prompt]
        if may_render and st.button("Render shot", key=f"shot-render-{shot.id}", disabled=not ready,
                                    width="stretch") and \
                queue_images(rt, ready, force=False, what=f"shot {shot.position}"):
            st.rerun()
    with row[1]:
        cols = st.columns(max(len(shot.frames), 1))
        for col, frame in zip(cols, shot.frames):
            with col:
                image_cell(rt, frame, takes=takes[frame.id], may_render=may_render, may_edit=may_edit)
                reference_note(cast, frame.id)
