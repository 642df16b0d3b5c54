"""Drawing one frame card and one shot row, shared by the Storyboard and Images pages.

A card's title line is one markdown element holding the label and its badges: each element is a message the
server sends on its own, and the Storyboard and Images pages draw a dozen cards per run (bench/load.py).
"""

from __future__ import annotations

import streamlit as st

from studio.board import FrameView, ShotView
from studio.thumbnails import show_preview
from studio.widgets import badge, chip, chip_reason, escape_markdown, show_text

DIRECTION_ICON = ":material/videocam:"  # what is seen
BEAT_ICON = ":material/record_voice_over:"  # what is said over it
REVIEW_COLORS = {"draft": "gray", "in_review": "blue", "needs_changes": "orange", "approved": "green",
                 "locked": "violet", "changed": "red"}


def review_md(status: str) -> str:
    """A review status as a badge in markdown ("changed": approved once, changed since — core.approvals)."""
    text = "changed since approved" if status == "changed" else status.replace("_", " ")
    icon = ":material/lock:" if status == "locked" else (":material/history:" if status == "changed" else None)
    return badge(text, REVIEW_COLORS.get(status, "gray"), icon)


def title_line(label: str, review_status: str, render_status: str | None = None) -> None:
    """`label` in bold, then its review badge and its render status (when given)."""
    parts = [f"**{escape_markdown(label)}**", review_md(review_status)]
    if render_status is not None:
        parts.append(chip(render_status))
    st.markdown(" ".join(parts))


def thumbnail(frame: FrameView, *, width: int | str = "stretch") -> None:
    """The selected image as a small cached preview (`studio.thumbnails`), never the full render."""
    if frame.image_path is not None:
        show_preview(frame.image_path, width=width)
    else:
        st.caption(":material/image_not_supported: no image yet")


def frame_card(frame: FrameView, *, show_prompt: bool = True) -> None:
    """Review and render status, thumbnail, then one text block: what the frame shows (its direction), its beat of
    the narration, the selected prompt and staleness (`card_text`)."""
    with st.container(border=True, key=f"frame-card-{frame.id}"):
        title_line(frame.label, frame.review_status, frame.chip)
        chip_reason(frame.chip, frame.job_error)
        thumbnail(frame)
        st.markdown(card_text(frame, show_prompt=show_prompt))


def card_text(frame: FrameView, *, show_prompt: bool = True) -> str:
    """A card's words as one markdown element, a paragraph each: what the frame shows over its own beat of the
    narration (so a shot's frames read as start, middle and end), then in small type the beat, the prompt and what
    is stale. Each paragraph takes the direction of its first strong letter (the card's CSS, `bidi_css`): Arabic
    reads right to left aligned right, an English prompt left to right. One element, not six: a board draws a dozen
    cards per run, and every element is a message the server sends on its own (bench/load.py)."""
    parts = [f"{DIRECTION_ICON} {_scene(frame)}"]
    beat = escape_markdown(" ".join(frame.beat.split())) if frame.beat.strip() else "*no narration of its own*"
    parts.append(small(f"{BEAT_ICON} {beat}"))
    if show_prompt:
        parts.append(small(_prompt(frame)))
    stale = [f"{what} {fresh.describe()}" for what, fresh in (("Prompt", frame.prompt_freshness),
                                                               ("Image", frame.image_freshness)) if fresh.stale]
    if stale:
        parts.append(small(":material/update: " + escape_markdown(" · ".join(stale))))
    return "\n\n".join(parts)


def tile_text(frame: FrameView) -> str:
    """A gallery tile's words under its image, as one markdown element like `card_text`: the scene, the prompt."""
    return f"{_scene(frame)}\n\n{small(_prompt(frame))}"


def _scene(frame: FrameView) -> str:
    return escape_markdown(frame.scene_text) if frame.scene_text.strip() else "*no scene text*"


def _prompt(frame: FrameView) -> str:
    return prompt_caption(frame.prompt) if frame.prompt else "No prompt yet: refine it on the Prompts page."


def small(markdown: str) -> str:
    """Secondary text in small grey type inside a markdown element (as `st.caption` draws it, without an element
    of its own); `markdown` is already escaped and on one line."""
    return f":gray[:small[{markdown}]]"


def prompt_caption(prompt: str) -> str:
    """A prompt shortened to 220 characters, as a caption (escaped: a model's text)."""
    short = " ".join(prompt.split())
    short = short if len(short) <= 220 else short[:220] + "…"
    return ":material/edit_note: " + escape_markdown(short)


def narration(shot: ShotView) -> None:
    title_line(f"Shot {shot.position}", shot.review_status)
    show_text(shot.narration, key=f"narration-{shot.id}", placeholder="no narration")
    for direction in shot.directions:  # what is seen, apart from what is said
        st.caption(f":material/videocam: {escape_markdown(direction)}")
