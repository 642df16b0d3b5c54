"""The Clips page's word on what the configured video model can use, said before anything is paid: a start-only
model animates from each shot's first keyframe (its middle and end frames are not rendered for clips unless the
producer asks), and with "chain shots" on, how many shots start on the previous shot's last image. The answer is
the one requests and quotes use (`core.jobs.planning.clip_model_view`): from the model's published input schema,
or from the built-in model table when the schema cannot be had, and then the note says so."""

from __future__ import annotations

import streamlit as st

from core.continuity import chain_links
from core.jobs import request_image
from core.jobs.planning import ClipModelView, clip_model_view, live_frames
from core.library import get_video
from core.models import SourceFile
from core.review import current_shots
from core.runtime import Runtime
from studio import auth, state
from studio.actions import ok, perform
from studio.widgets import escape_markdown

SUGGESTED = 4  # models named in the "choose a model that takes a last frame" advice


def _code(text: str | None) -> str:
    """A slug or field name as code: shown literally (markdown is not read inside a code span, so no escaping)."""
    return "`" + (text or "").replace("`", "'").replace("\n", " ") + "`"


def _durations(view: ClipModelView) -> str:
    durations = view.caps.durations
    if durations is None:
        return "one fixed length"
    if not durations:
        return "any whole second"
    if len(durations) > 4 and list(durations) == list(range(durations[0], durations[-1] + 1)):
        return f"{durations[0]}–{durations[-1]} s"
    return " or ".join(str(d) for d in durations) + " s"


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
    view = clip_model_view(cfg, cfg.active_renderer)
    model = _code(view.model)
    source = "from its published input schema" if view.table_because is None else "by the built-in model table"
    if view.table_because is not None:
        st.caption(f":material/cloud_off: The published input schema of {model} could not be read "
                   f"({escape_markdown(view.table_because)}), so what it takes goes by the built-in model table; "
                   "the worker checks the real schema before paying.")
    if view.caps.takes_end_frame:
        if cfg.active_renderer == "higgs":
            st.caption(f"{model} takes a start and an end image ({_code(view.caps.start_field)}, "
                       f"{_code(view.caps.end_field)}) and {_durations(view)} ({source}): each clip runs from its shot's "
                       "first keyframe to its last.")
        return
    both = ", ".join(_code(slug) for slug in view.with_end_frame[:SUGGESTED])
    advice = f" To end each clip on its last keyframe, choose a model that takes a last frame in the settings " \
             f"({both})." if both else ""
    st.warning(f"The clip model {model} takes only a start image ({source}): each clip animates from its shot's "
               "first keyframe, so the middle and end frames are not rendered for clips (nothing is paid for "
               f"them).{advice}", icon=":material/warning:")
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
