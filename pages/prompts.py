"""Prompts: per frame the selected prompt, its provenance and staleness; regenerate, edit, compare, choose."""

from __future__ import annotations

import streamlit as st

from core.prompts import (
    add_manual_version,
    list_versions,
    prompt_staleness,
    select_version,
)
from studio import auth, state
from studio.actions import ok, perform
from studio.board import current_storyboard_id, load_board
from studio.context import get_runtime
from studio.labels import prompt_source
from studio.prompt_panels import (
    compare_panel,
    refine,
    refine_all_panel,
    style_bible_form,
)
from studio.sidebar import require_video
from studio.voice_panel import voice_style_form
from studio.widgets import escape_markdown, isolate, relative_time, show_text

rt = get_runtime()
cfg = rt.settings
video_id = require_video()
with rt.sessions() as session:
    board_id = current_storyboard_id(session, video_id)
    board = load_board(session, board_id, rt.assets) if board_id else None
if board is None or not board.frames:
    st.warning("This video has no frames yet: build its storyboard first.")
    st.stop()
st.title("Prompts")
st.caption(f"{board.video_title} · prompts by `{cfg.active_refiner}`")
with st.container(border=True):
    refine_all_panel(rt, board, state.script_id() or 0)
with st.expander("Style bible: the look of every video of this script", icon=":material/palette:"):
    style_bible_form(rt, state.script_id() or 0)
with st.expander("Voice: how every video of this script sounds", icon=":material/record_voice_over:"):
    voice_style_form(rt, state.script_id() or 0)

frames = {f.id: f for f in board.frames}
wanted = st.session_state.get(state.PROMPT_FRAME)
frame_id = st.selectbox("Frame", list(frames), index=list(frames).index(wanted) if wanted in frames else 0,
                        format_func=lambda i: f"{frames[i].label} — {isolate(frames[i].scene_text[:60])}")
st.session_state[state.PROMPT_FRAME] = frame_id
frame = frames[frame_id]
with rt.sessions() as session:
    versions = list(reversed(list_versions(session, frame_id)))  # newest first
    staleness = prompt_staleness(session, frame_id)
selected = next((v for v in versions if v.id == frame.prompt_id), None)

left, right = st.columns(2)
with left.container(border=True):
    st.markdown("**Scene text**")
    show_text(frame.scene_text, key=f"prompt-scene-{frame.id}", placeholder="no scene text")
with right.container(border=True):
    head = st.columns([3, 2], vertical_alignment="center")
    head[0].markdown(f"**Selected prompt** {f'v{selected.number}' if selected else ''}")
    with head[1]:
        st.badge(staleness.describe() if staleness.state != "fresh" else "up to date",
                 color="orange" if staleness.stale else ("gray" if staleness.state == "missing" else "green"))
    if selected:
        show_text(selected.text, key=f"prompt-selected-{selected.id}")
        st.caption(f"{prompt_source(selected.origin, selected.provider, selected.model)} · "
                   + (f"template {selected.template_version} · " if selected.template_version else "")
                   + f"{escape_markdown(selected.author or 'studio')} · {relative_time(selected.created_at)}")
    if auth.can(cfg, "refine") and st.button("Regenerate this frame", icon=":material/refresh:"):
        refine(rt, [frame_id], force=True, label=frame.label)

tab_edit, tab_compare, tab_versions = st.tabs(["Edit by hand", "Compare versions", "All versions"])
with tab_edit, st.form(f"edit-{frame_id}"):
    text = st.text_area("Prompt (English)", selected.text if selected else "", height=140)
    negative = st.text_input("Avoid", selected.negative_prompt if selected else "")
    if st.form_submit_button("Save as a new version", icon=":material/save:",
                             disabled=not auth.can(cfg, "edit")) and ok(perform(
        rt, lambda s: add_manual_version(s, frame_id, text, author=cfg.author_name, negative_prompt=negative),
        success="Saved as a new version; the previous one is kept.",
    )):
        st.rerun()
with tab_compare:
    compare_panel(rt, versions)
with tab_versions:
    for v in versions:
        row = st.columns([1, 6, 2], vertical_alignment="center")
        row[0].markdown(f"**v{v.number}**" + (" ✓" if v.id == frame.prompt_id else ""))
        with row[1]:
            show_text(v.text, key=f"version-{v.id}")
            st.caption(f"{prompt_source(v.origin, v.provider, v.model)} · {relative_time(v.created_at)}")
        if v.id != frame.prompt_id and auth.can(cfg, "edit") and row[2].button(
                "Use this version", key=f"use-{v.id}") and ok(perform(
            rt, lambda s, vid=v.id: select_version(s, frame_id, vid, actor=cfg.author_name),
            success=f"Version {v.number} selected.",
        )):
            st.rerun()
