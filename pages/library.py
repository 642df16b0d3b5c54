"""Library: upload a Word script, see every script with its videos, progress and last activity; archive."""

from __future__ import annotations

import streamlit as st

from core.db import session_scope
from core.library import archive_script, ingest_file, restore_script
from studio import state, widgets
from studio.actions import go, ok, perform
from studio.context import get_runtime
from studio.queries import last_activity, progress_by_video, scripts, total_progress

rt = get_runtime()
cfg = rt.settings
st.title("Library")

with st.expander("Upload a Word script (.docx)", expanded=not state.script_id(), icon=":material/upload_file:"):
    with st.form("upload", clear_on_submit=True, border=False):
        upload = st.file_uploader(
            f"Script (.docx, up to {cfg.max_upload_mb:g} MB)", type=["docx"],
            help="Each video starts at a header such as 'Video 1: …' (or 'الفيديو الأول'). "
                 "Your file is kept as uploaded; uploading the same file twice reuses the first copy.",
        )
        c1, c2 = st.columns(2)
        shots = c1.number_input("Shots per video", 1, 200, cfg.shots_per_video)
        frames = c2.number_input("Frames per shot", 1, 50, cfg.frames_per_shot)
        submitted = st.form_submit_button("Ingest script", icon=":material/upload:", type="primary")
    if submitted and upload is None:
        st.warning("Choose a .docx file first.")
    elif submitted and upload is not None:
        try:
            with session_scope(rt.sessions) as session:  # one unit of work: all stored, or nothing
                result = ingest_file(session, upload.getvalue(), upload.name, settings=cfg, shots=int(shots),
                                     frames=int(frames), actor=cfg.author_name)
        except Exception as err:  # noqa: BLE001 - shown in words, never a trace
            widgets.show_error(err)
            st.caption("Nothing was stored. Save the file again from Word as .docx and upload it once more.")
        else:
            for warning in result.warnings:
                st.warning(warning)
            state.choose(script=result.source_file_id, video=None)
            state.flash("Script ingested." if result.created else "This file was already in the library.")
            st.rerun()

show_archived = st.toggle("Show archived scripts")
with rt.sessions() as session:
    files = scripts(session, include_archived=show_archived)
    if not files:
        st.info("No scripts yet. Upload a Word script above to start.", icon=":material/info:")
    for f in files:
        progress = progress_by_video(session, f.id)
        total = total_progress(list(progress.values()))
        with st.container(border=True, key=f"script-{f.id}"):
            head, actions = st.columns([5, 1], vertical_alignment="center")
            with head:
                widgets.show_text(f.title or f.original_name, key=f"title-{f.id}")
                st.caption(f"{len(f.videos)} videos · {f.original_name} · {f.size_bytes / 1024:.0f} KB · "
                           f"last activity {widgets.relative_time(last_activity(session, f.id))}"
                           + (" · archived" if f.archived_at else ""))
            if f.archived_at is None:
                if actions.button("Archive", key=f"archive-{f.id}", icon=":material/archive:") and ok(perform(
                    rt, lambda s, fid=f.id: archive_script(s, fid, actor=cfg.author_name),
                    success="Archived. Turn on 'Show archived scripts' to restore it.",
                )):
                    st.rerun()
            elif actions.button("Restore", key=f"restore-{f.id}", icon=":material/unarchive:") and ok(perform(
                rt, lambda s, fid=f.id: restore_script(s, fid, actor=cfg.author_name), success="Restored.",
            )):
                st.rerun()
            frames_total = max(total.frames, 1)
            p1, p2, p3 = st.columns(3)
            p1.progress(total.prompted / frames_total, text=f"Prompts {total.prompted}/{total.frames}")
            p2.progress(total.imaged / frames_total, text=f"Images {total.imaged}/{total.frames}")
            p3.progress(total.clipped / max(total.shots, 1), text=f"Clips {total.clipped}/{total.shots}")
            for v in f.videos:
                vp = progress.get(v.id)
                label = f"{v.number}. {v.title}"
                counts = f"{vp.shots} shots · {vp.frames} frames" if vp else "no storyboard"
                if st.button(f"{label} — {counts}", key=f"open-{v.id}", type="tertiary",
                             icon=":material/arrow_forward:"):
                    state.choose(script=f.id, video=v.id)
                    go("storyboard")
