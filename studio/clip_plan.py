"""The Clips page's word on what the configured video model can use, said before anything is paid: a start-only
model animates from each shot's first keyframe (its middle and end frames are not rendered for clips unless the
producer asks), and with "chain shots" on, how many shots start on the previous shot's last image."""

from __future__ import annotations

import streamlit as st

from core.continuity import chain_links
from core.higgs.schema import MODEL_SPECS
from core.jobs import request_image
from core.jobs.planning import live_frames, takes_end_frame
from core.library import get_video
from core.models import SourceFile
from core.review import current_shots
from core.runtime import Runtime
from studio import auth, state
from studio.actions import ok, perform
from studio.widgets import escape_markdown


def clip_model_note(rt: Runtime, video_id: int) -> None:
    cfg = rt.settings
    with rt.sessions() as session:
        source = session.get(SourceFile, get_video(session, video_id).source_file_id)
        shots = current_shots(session, video_id)
        chained = len(chain_links(shots, enabled=bool(source and source.chain_shots)))
        unused = [f.id for s in shots for f in live_frames(s)[1:] if f.selected_image_id is None
                  and f.selected_prompt_id is not None]
    if chained:
        st.caption(f":material/link: Chain shots is on: {chained} shot(s) start on the previous shot's last "
                   "keyframe image (rendered and paid once).")
    if takes_end_frame(cfg, cfg.active_renderer):  # `core.catalog`'s answer for the configured model
        return
    both = ", ".join(f"`{s.slug}`" for s in MODEL_SPECS.values() if s.kind == "clip" and s.end_field)
    st.warning(f"The clip model `{escape_markdown(cfg.higgs_video_model)}` takes only a start image: each clip "
               "animates from its shot's first keyframe, so the middle and end frames are not rendered for clips "
               f"(nothing is paid for them). To end each clip on its last keyframe, choose a model that takes a "
               f"last frame in the settings ({both}).", icon=":material/warning:")
    if unused and auth.can(cfg, "render") and st.button(
            f"Render the {len(unused)} middle and end frame(s) anyway", icon=":material/image:",
            key="render-unused-frames", help="For the board and the PDF; the clips will not use them."):
        def queue_all(session: object) -> int:
            for frame_id in unused:
                request_image(session, frame_id, settings=cfg, actor=cfg.author_name)  # type: ignore[arg-type]
            return len(unused)

        if ok(perform(rt, queue_all)):
            state.flash(f"Queued {len(unused)} image(s) for the middle and end frames.")
            st.rerun()
