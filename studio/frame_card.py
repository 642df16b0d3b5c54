"""Drawing one frame card and one shot row, shared by the Storyboard and Images pages."""

from __future__ import annotations

import streamlit as st

from studio.board import FrameView, ShotView
from studio.thumbnails import show_preview
from studio.widgets import escape_markdown, show_text, status_chip

REVIEW_COLORS = {"draft": "gray", "in_review": "blue", "needs_changes": "orange", "approved": "green",
                 "locked": "violet"}


def review_badge(status: str) -> None:
    st.badge(status.replace("_", " "), color=REVIEW_COLORS.get(status, "gray"),  # type: ignore[arg-type]
             icon=":material/lock:" if status == "locked" else None)


def thumbnail(frame: FrameView, *, width: int | str = "stretch") -> None:
    """The selected image as a small cached preview (`studio.thumbnails`), never the full render."""
    if frame.image_path is not None:
        show_preview(frame.image_path, width=width)
    else:
        st.caption(":material/image_not_supported: no image yet")


def frame_card(frame: FrameView, *, show_prompt: bool = True) -> None:
    """Scene text (right-to-left when Arabic), selected prompt, thumbnail, review and render status."""
    with st.container(border=True, key=f"frame-card-{frame.id}"):
        head = st.columns([3, 2], vertical_alignment="center")
        head[0].markdown(f"**{frame.label}**")
        with head[1]:
            review_badge(frame.review_status)
        thumbnail(frame)
        show_text(frame.scene_text, key=f"scene-{frame.id}", placeholder="no scene text")
        if show_prompt:
            if frame.prompt:
                st.caption(_prompt_caption(frame.prompt))
            else:
                st.caption("No prompt yet: refine it on the Prompts page.")
        status_chip(frame.chip, reason=frame.job_error)


def _prompt_caption(prompt: str) -> str:
    short = prompt if len(prompt) <= 220 else prompt[:220] + "…"
    return ":material/edit_note: " + escape_markdown(short)


def narration(shot: ShotView) -> None:
    st.markdown(f"**Shot {shot.position}**")
    review_badge(shot.review_status)
    show_text(shot.narration, key=f"narration-{shot.id}", placeholder="no narration")
