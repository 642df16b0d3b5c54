"""Storyboard: the grid of shots × frames beside each shot's narration; edit scene text; rebuild as a new version."""

from __future__ import annotations

import streamlit as st

from core.library import list_storyboards, rebuild_storyboard, set_current_storyboard
from core.review import STATUS_LABELS, approval_progress
from studio import auth, state
from studio.actions import ok, perform
from studio.board import current_storyboard_id, load_board, uncovered_sentences
from studio.context import get_runtime
from studio.frame_card import frame_card, narration
from studio.grid_editor import draw_grid_editor, has_unsaved_edits
from studio.one_click_button import one_click_button
from studio.review_actions import approve_shot
from studio.sidebar import require_video
from studio.widgets import show_text

REVIEW_FILTER = "review-filter"
kept_filter = REVIEW_FILTER in st.session_state
if kept_filter:  # kept while its tab is closed (a widget that is not drawn loses its state)
    st.session_state[REVIEW_FILTER] = st.session_state[REVIEW_FILTER]

rt = get_runtime()
cfg = rt.settings
can_edit = auth.can(cfg, "edit")  # reviewers see the board and approve; producers change it
video_id = require_video()
with rt.sessions() as session:
    versions = list(reversed(list_storyboards(session, video_id)))
    current = current_storyboard_id(session, video_id)
if not versions or current is None:
    st.warning("This video has no storyboard yet. Build one below.")
labels = {b.id: f"Version {b.version}" + (" (current)" if b.is_current else f" · {b.shots_requested}×"
          f"{b.frames_requested}, read-only") for b in versions}
top = st.container(key="stack-storyboard-top").columns([3, 2, 1], vertical_alignment="bottom")
chosen = top[1].selectbox("Storyboard version", list(labels), format_func=labels.__getitem__,
                          key=f"{state.STORYBOARD_VERSION}-{video_id}-{len(versions)}") if versions else None
with top[2].popover("Rebuild", icon=":material/grid_view:", width="stretch"):
    st.caption("Cut the narration again into a new version. The current one stays reachable, read-only.")
    shots = st.number_input("Shots", 1, 200, cfg.shots_per_video, key="rebuild-shots")
    frames = st.number_input("Frames per shot", 1, 50, cfg.frames_per_shot, key="rebuild-frames")
    if st.button("Build new version", type="primary", disabled=not can_edit) and ok(perform(
        rt, lambda s: rebuild_storyboard(s, video_id, shots=int(shots), frames=int(frames), actor=cfg.author_name),
        success="New storyboard version built.",
    )):
        st.rerun()
if chosen is None:
    st.stop()
with rt.sessions() as session:
    board = load_board(session, chosen, rt.assets)
with top[0]:
    st.title(board.video_title)
    st.caption(f"Version {board.version} · {len(board.shots)} shots · {len(board.frames)} frames")
if not board.is_current:
    st.info("An older version: shown read-only. Rebuild or pick the current version to edit.",
            icon=":material/history:")
    if can_edit and st.button("Make this version current", icon=":material/restore:") and ok(perform(
        rt, lambda s: set_current_storyboard(s, board.storyboard_id, actor=cfg.author_name),
        success=f"Version {board.version} is current again.",
    )):
        st.rerun()

# Stateful tabs: only the open one is drawn (the editor's table and the coverage check cost as much as the board).
# The editor is also drawn behind a closed tab while it holds unsaved edits, so a look at the board keeps them.
tab_board, tab_edit, tab_lines = st.tabs(["Board", "Edit scene text", "Narration coverage"], key="storyboard-tab",
                                         on_change="rerun")
if tab_board.open:
    may_review = board.is_current and auth.can(cfg, "review")  # once per run: it reads the secrets
    with tab_board:
        with rt.sessions() as session:
            approval = approval_progress(session, video_id)
        bar, pick = st.columns([2, 3], vertical_alignment="bottom")
        bar.progress(approval.fraction, text=f"Review: {approval.summary()}")
        shown = set(pick.pills("Show frames", list(STATUS_LABELS), format_func=STATUS_LABELS.__getitem__,
                               selection_mode="multi", key=REVIEW_FILTER,
                               default=None if kept_filter else list(STATUS_LABELS)))
        for shot in board.shots:
            frames_shown = [f for f in shot.frames if f.review_status in shown]
            if not frames_shown:
                continue
            with st.container(border=False, key=f"shot-row-{shot.id}"):
                cols = st.columns([2] + [3] * max(len(shot.frames), 1), gap="small")
                with cols[0]:
                    narration(shot)
                    if may_review and shot.review_status not in ("approved", "locked") and st.button(
                        "Approve shot", key=f"approve-{shot.id}", icon=":material/task_alt:",
                        help="Approve its frames and the shot: clips are rendered only from approved frames.",
                    ) and ok(perform(rt, lambda s, sid=shot.id: approve_shot(s, sid, actor=cfg.author_name),
                                     success=f"Shot {shot.position} approved.")):
                        st.rerun()
                    if may_review and not shot.clip_id and shot.review_status != "locked":
                        one_click_button(rt, shot, key=f"board-one-click-{shot.id}")
                for col, frame in zip(cols[1:], frames_shown):
                    with col:
                        frame_card(frame)
            st.divider()
if tab_edit.open or has_unsaved_edits(board.storyboard_id):
    with tab_edit:
        if board.is_current and can_edit:
            draw_grid_editor(rt, board)
        elif board.is_current:
            st.caption("Your role can review the storyboard; editing scene text is for producers.")
        else:
            st.caption("Older versions cannot be edited.")
if tab_lines.open:
    with tab_lines:
        missing = uncovered_sentences(board.video_body, [s.narration for s in board.shots])
        if missing:
            st.warning(f"{len(missing)} line(s) of the narration are in no shot:")
            for i, line in enumerate(missing):
                show_text(line, key=f"missing-{i}")
        else:
            st.success("Every line of the narration is covered by a shot.")
