"""Images: the video's gallery, shot rows × frame columns, with live status; render, re-roll, enlarge, pick."""

from __future__ import annotations

import streamlit as st

from core.batch_check import check_video_images
from core.jobs import request_video_images
from studio import auth, state
from studio.actions import ok, perform
from studio.batch_summary import batch_toast
from studio.context import get_runtime
from studio.cast_panel import load_board_cast, model_note, reference_note, rerender_stale
from studio.gallery import draw_full_size, gallery_rows, image_cell, per_row_choice, queue_images
from studio.live import live_status
from studio.queries import takes_by_frame
from studio.sidebar import require_board
from studio.widgets import escape_markdown

rt = get_runtime()
cfg = rt.settings
video_id, board = require_board(rt)
may_render, may_edit = auth.can(cfg, "render"), auth.can(cfg, "edit")  # once per run, not per frame
with rt.sessions() as session:
    check = check_video_images(session, video_id, settings=cfg)
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
    st.caption(escape_markdown(check.headline()))
    if check.budget_note:
        st.caption(f":material/savings: {escape_markdown(check.budget_note)}")
    if may_render and st.button("Render all missing images", type="primary", icon=":material/burst_mode:",
                                width="stretch", disabled=not check.admitted,
                                help="; ".join(check.reasons(3)) or None):
        batch = perform(rt, lambda s: request_video_images(s, video_id, settings=cfg, actor=auth.actor_name(cfg)))
        if ok(batch):
            state.flash(batch_toast(batch, "image"))  # type: ignore[arg-type]
            st.rerun()

per_row = per_row_choice()
for shot in board.shots:
    head = st.container(horizontal=True, vertical_alignment="center", key=f"shot-head-{shot.id}")
    head.markdown(f"**Shot {shot.position}** · {len(shot.frames)} frame(s)", width="content")
    head.space("stretch")
    ready = [f.id for f in shot.frames if f.prompt]
    if may_render and head.button("Render shot", key=f"shot-render-{shot.id}", disabled=not ready,
                                     icon=":material/burst_mode:",
                                     help="Render this shot's frames that have a prompt") and \
            queue_images(rt, ready, force=False, what=f"shot {shot.position}"):
        st.rerun()
    for row_key, frames in gallery_rows(list(shot.frames), per_row, key=str(shot.id)):
        with st.container(key=row_key):
            cols = st.columns(per_row)
            for col, frame in zip(cols, frames):
                with col:
                    image_cell(rt, frame, takes=takes[frame.id], may_render=may_render, may_edit=may_edit)
                    reference_note(cast, frame.id)
draw_full_size(board.frames)
