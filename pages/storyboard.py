"""Storyboard: the grid of shots × frames beside each shot's narration; edit scene text; rebuild as a new version."""

from __future__ import annotations

import streamlit as st

from core.library import list_storyboards, set_current_storyboard
from core.jobs.planning import Lookups
from core.jobs.voice import estimate_voices
from core.review import STATUS_LABELS, approval_progress, progress_of
from studio import auth, state
from studio.actions import ok, perform
from studio.board import current_storyboard_id, load_board
from studio.cast_panel import cast_editor, load_board_cast, reference_note, shot_chips
from studio.context import get_runtime
from studio.frame_card import frame_card, narration
from studio.grid_editor import draw_grid_editor, has_unsaved_edits
from studio.plan_panel import draw_version_diff, load_board_plan, plan_controls, shot_plan_line
from studio.one_click_button import one_click_button, one_click_offers
from studio.review_actions import approve_shot
from studio.sidebar import require_video
from studio.storyboard_density import draw_corrections, draw_coverage, draw_note, draw_rebuild
from studio.voice_panel import narration_player, voice_all_panel

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
    draw_rebuild(rt, video_id, can_edit=can_edit, current=next((b for b in versions if b.is_current), None))
if chosen is None:
    st.stop()
with rt.sessions() as session:
    board = load_board(session, chosen, rt.assets)
with top[0]:
    st.title(board.video_heading)
    st.caption(f"Version {board.version} · {len(board.shots)} shots · {len(board.frames)} frames")
    draw_note(next((b.note for b in versions if b.id == chosen), ""))
plan = load_board_plan(rt, board.storyboard_id)
plan_controls(rt, video_id, plan, editable=board.is_current and can_edit)
if not board.is_current:
    st.info("An older version: shown read-only. Rebuild or pick the current version to edit.",
            icon=":material/history:")
    if can_edit and st.button("Make this version current", icon=":material/restore:") and ok(perform(
        rt, lambda s: set_current_storyboard(s, board.storyboard_id, actor=cfg.author_name),
        success=f"Version {board.version} is current again.",
    )):
        st.rerun()

cast = load_board_cast(rt, video_id, [s.id for s in board.shots])  # the course's cast, who each shot shows
cast_editor(rt, cast, can_edit=can_edit, can_render=auth.can(cfg, "render"))

# Stateful tabs: only the open one is drawn (the editor's table and the coverage check cost as much as the board).
# The editor is also drawn behind a closed tab while it holds unsaved edits, so a look at the board keeps them.
tab_board, tab_edit, tab_lines, tab_reading, tab_diff = st.tabs(
    ["Board", "Edit scene text", "Narration coverage", "Script reading", "Compare versions"], key="storyboard-tab",
    on_change="rerun")
if tab_board.open:
    may_review = board.is_current and auth.can(cfg, "review")  # once per run: it reads the secrets
    with tab_board:
        # The board's statuses are everyone's (changed-since-approved included); its prices are read in one
        # session, the board's rows once for the one-click prices and Voice all alike.
        approval = progress_of(video_id, [f.review_status for f in board.frames],
                               [s.review_status for s in board.shots]) if board.is_current else None
        lookups: Lookups = {}
        with rt.sessions() as session:
            if approval is None:
                approval = approval_progress(session, video_id)
            offered = one_click_offers(rt, video_id, [
                s.id for s in board.shots if may_review and not s.clip_id and s.review_status != "locked"],
                session=session, lookups=lookups)
            voicing = estimate_voices(session, video_id=video_id, settings=cfg, lookups=lookups) \
                if board.is_current and auth.can(cfg, "render") else None
        bar, pick = st.columns([2, 3], vertical_alignment="bottom")
        bar.progress(approval.fraction, text=f"Review: {approval.summary()}")
        voice_all_panel(rt, board, voicing)
        shown = set(pick.pills("Show frames", list(STATUS_LABELS), format_func=STATUS_LABELS.__getitem__,
                               selection_mode="multi", key=REVIEW_FILTER,
                               default=None if kept_filter else list(STATUS_LABELS), wrap=True))
        for shot in board.shots:
            frames_shown = [f for f in shot.frames if f.review_status in shown]
            if not frames_shown:
                continue
            with st.container(border=False, key=f"shot-row-{shot.id}"):
                cols = st.columns([2] + [3] * max(len(shot.frames), 1), gap="small")
                with cols[0]:
                    narration(shot)
                    narration_player(rt, shot, key=f"voice-{shot.id}")
                    shot_plan_line(rt, plan.shots.get(shot.id), chain_on=plan.chain_shots,
                                   editable=board.is_current and can_edit)
                    shot_chips(rt, cast, shot.id, can_edit=can_edit and board.is_current)
                    if may_review and shot.review_status not in ("approved", "locked") and st.button(
                        "Approve shot", key=f"approve-{shot.id}", icon=":material/task_alt:",
                        help="Approve its frames and the shot: clips are rendered only from approved frames.",
                    ) and ok(perform(rt, lambda s, sid=shot.id: approve_shot(s, sid, actor=cfg.author_name),
                                     success=f"Shot {shot.position} approved.")):
                        st.rerun()
                    if shot.id in offered:
                        one_click_button(rt, shot, offered[shot.id], key=f"board-one-click-{shot.id}")
                for col, frame in zip(cols[1:], frames_shown):
                    with col:
                        frame_card(frame)
                        reference_note(cast, frame.id)
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
        draw_coverage(board.video_body, [s.narration for s in board.shots])
if tab_reading.open:
    with tab_reading:
        draw_corrections(rt, video_id, can_edit=can_edit and board.is_current)
if tab_diff.open:
    with tab_diff:
        draw_version_diff(rt, video_id)
