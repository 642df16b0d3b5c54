"""Library: upload a Word script, see every script with its videos, progress and last activity; archive."""

from __future__ import annotations

import streamlit as st

from core.library import (
    archive_script,
    list_scripts,
    list_videos,
    restore_script,
)
from studio import auth, state, widgets
from studio.actions import go, ok, perform
from studio.context import get_runtime
from studio.first_steps import first_five_minutes
from studio.queries import progress_by_video, script_warnings
from studio.storyboard_density import INGEST_WARNINGS, draw_upload

rt = get_runtime()
cfg = rt.settings
st.title("Library")

can_edit = auth.can(cfg, "edit")  # reviewers see the library; uploading and archiving is for producers
if can_edit:
    with st.expander("Upload a Word script (.docx)", expanded=not state.script_id(), icon=":material/upload_file:"):
        draw_upload(rt)  # the file, fixed or paced density with a preview per video, the Ingest button
just_ingested = st.session_state.pop(INGEST_WARNINGS, None)
if just_ingested and just_ingested[1]:
    st.warning("Read the script with care:  \n" + "  \n".join(f"- {widgets.escape_markdown(w)}"
                                                              for w in just_ingested[1]), icon=":material/warning:")

show_archived = st.toggle("Show archived scripts")
with rt.sessions() as session:
    rows = list_scripts(session, include_archived=show_archived)
    videos = {r.id: list_videos(session, r.id) for r in rows}
    per_video = {r.id: progress_by_video(session, r.id) for r in rows}
    warned = script_warnings(session, [r.id for r in rows if r.warnings])
if not rows:
    first_five_minutes()
for row in rows:
    with st.container(border=True, key=f"script-{row.id}"):
        head, actions = st.container(key=f"stack-script-head-{row.id}").columns([5, 1], vertical_alignment="center")
        with head:
            widgets.show_text(row.title or row.original_name, key=f"title-{row.id}")
            st.caption(f"{row.video_count} videos · {row.shot_count} shots · {row.frame_count} frames · "
                       f"{widgets.isolate_file_name(widgets.escape_markdown(row.original_name))} · last activity {widgets.relative_time(row.last_activity_at)}"
                       + (" · archived" if row.archived else ""))
            if warned.get(row.id):
                with st.expander(f"{len(warned[row.id])} ingest warning(s)", icon=":material/warning:"):
                    for w in warned[row.id]:
                        st.caption(widgets.escape_markdown(w))
        if not can_edit:
            pass
        elif not row.archived:
            if actions.button("Archive", key=f"archive-{row.id}", icon=":material/archive:") and ok(perform(
                rt, lambda s, fid=row.id: archive_script(s, fid, actor=cfg.author_name),
                success="Archived. Turn on 'Show archived scripts' to restore it.",
            )):
                st.rerun()
        elif actions.button("Restore", key=f"restore-{row.id}", icon=":material/unarchive:") and ok(perform(
            rt, lambda s, fid=row.id: restore_script(s, fid, actor=cfg.author_name), success="Restored.",
        )):
            st.rerun()
        frames_total = max(row.frame_count, 1)
        p1, p2, p3 = st.columns(3)
        p1.progress(row.frames_with_prompt / frames_total, text=f"Prompts {row.frames_with_prompt}/{row.frame_count}")
        p2.progress(row.frames_with_image / frames_total, text=f"Images {row.frames_with_image}/{row.frame_count}")
        p3.progress(row.shots_with_clip / max(row.shot_count, 1), text=f"Clips {row.shots_with_clip}/{row.shot_count}")
        for v in videos[row.id]:
            vp = per_video[row.id].get(v.id)
            counts = f"{vp.shots} shots · {vp.frames} frames" if vp else "no storyboard"
            if st.button(f"Video {v.number}: {widgets.isolate(widgets.escape_markdown(v.title))} · {counts}", key=f"open-{v.id}", type="tertiary",
                         icon=":material/arrow_forward:", disabled=row.archived):
                state.choose(script=row.id, video=v.id)
                go("storyboard")
