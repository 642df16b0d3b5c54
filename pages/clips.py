"""Clips: one clip per shot from its start and end images; render one shot or all of them (estimate first)."""

from __future__ import annotations

import streamlit as st

from core.batch_check import check_video_clips
from core.jobs import request_video_clips
from core.money import Quote, combined
from core.one_click import approve_and_render_shots
from core.review import clip_gate_relaxed
from core.jobs.planning import clips_out_of_step
from studio import auth, state
from studio.actions import ok, perform
from studio.clip_plan import clip_model_note
from studio.batch_summary import batch_toast, draw_batch_check
from studio.clip_row import offers_one_click, shot_row
from studio.context import get_runtime
from studio.live import live_status
from studio.one_click_button import one_click_offers
from studio.sidebar import require_board
from studio.widgets import escape_markdown

rt = get_runtime()
cfg = rt.settings
video_id, board = require_board(rt)

st.title("Clips")
st.caption(f"{board.video_title} · each clip as long as its shot's narration (the nearest length the model takes) · "
           + (f"model `{cfg.higgs_video_model}`" if cfg.active_renderer != "offline" else "rendered offline (free)"))
clip_model_note(rt, video_id)
live_status(rt, frame_ids=[f.id for f in board.frames], shot_ids=[s.id for s in board.shots],
            key="clips-fingerprint")
done = sum(1 for s in board.shots if s.clip_id)
st.progress(done / max(len(board.shots), 1), text=f"{done} of {len(board.shots)} shots have a clip")

relax = clip_gate_relaxed(cfg)
offered = one_click_offers(rt, video_id, [s.id for s in board.shots if offers_one_click(s, relax=relax)])
with rt.sessions() as session:  # read before anything is offered: the button says at once whether it can help
    check = check_video_clips(session, video_id, settings=cfg)
    out_of_step = clips_out_of_step(session, video_id, settings=cfg)
confirm_key = f"{state.CONFIRM_CLIPS}-{video_id}"
if not st.session_state.get(confirm_key):
    priced = {sid: q for sid, q in offered.items() if isinstance(q, Quote)}
    bar = st.container(horizontal=True, key="clips-batch-actions")
    if auth.can(cfg, "render") and bar.button(
            "Render all shots", icon=":material/movie:", type="primary", disabled=not check.admitted,
            help=None if check.admitted else f"{check.headline()} " + "; ".join(check.reasons(3))):
        st.session_state[confirm_key] = True
        st.rerun()
    if len(priced) > 1 and bar.button(
            f"Approve and render {len(priced)} shots", icon=":material/task_alt:",
            help=f"Approves their frames in your name, renders their missing images, then their clips: "
                 f"{combined(list(priced.values())).summary()}"):
        results = perform(rt, lambda s: approve_and_render_shots(s, list(priced), settings=cfg,
                                                                 actor=auth.actor_name(cfg)))
        if ok(results):
            state.flash(f"{len(priced)} shots approved; their clips are queued.", icon=":material/movie:")
            st.rerun()
    if not check.admitted:
        st.caption(escape_markdown(check.headline()) + (" Approve a shot below, or all of them at once."
                                                        if len(priced) > 1 else " Approve a shot below."
                                                        if priced else ""))
else:
    draw_batch_check(check)
    go, cancel = st.columns(2)
    if go.button("Confirm and render", type="primary", icon=":material/check:", disabled=not check.admitted):
        batch = perform(rt, lambda s: request_video_clips(s, video_id, settings=cfg, actor=auth.actor_name(cfg)))
        st.session_state[confirm_key] = False
        if ok(batch):
            state.flash(batch_toast(batch, "clip"))  # type: ignore[arg-type]
            st.rerun()
    if cancel.button("Cancel", icon=":material/close:"):
        st.session_state[confirm_key] = False
        st.rerun()

for shot in board.shots:
    shot_row(rt, shot, offered.get(shot.id), out_of_step=out_of_step.get(shot.id))
