"""The Images page's cells: a frame's thumbnail, live chip, render / re-roll, enlarge, and its takes."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import streamlit as st

from core.jobs import discard_take, request_image, restore_take, select_take
from core.runtime import Runtime
from studio.actions import ok, perform
from studio.board import FrameView
from studio.frame_card import thumbnail, tile_text, title_line
from studio.queries import Take
from studio.thumbnails import show_preview
from studio.widgets import chip_reason, escape_markdown, show_text

MAX_TAKES = 6


def _stored_format(path: Path) -> Literal["PNG", "JPEG", "auto"]:
    suffix = path.suffix.lower()
    return "PNG" if suffix == ".png" else "JPEG" if suffix in (".jpg", ".jpeg") else "auto"


_OPEN_TAKES = "takes-open"  # the frame whose takes dialog is open


_OPEN_FULL = "full-size-open"  # the frame whose full-size view is open


def _close_full() -> None:
    st.session_state.pop(_OPEN_FULL, None)


def draw_full_size(frames: list[FrameView]) -> None:
    """The full-size view, when a tile asked for it: drawn once per page run, after the gallery."""
    shown = [f for f in frames if f.image_path is not None]
    wanted = st.session_state.get(_OPEN_FULL)
    index = next((i for i, f in enumerate(shown) if f.id == wanted), None)
    if index is not None:
        _full_size(shown, index)


@st.dialog("Frame", width="large", on_dismiss=_close_full)
def _full_size(frames: list[FrameView], index: int) -> None:
    """One frame at full size with the previous and next ones a click (or ← / →) away."""
    frame = frames[index]
    prev, label, nxt = st.columns([1, 4, 1], vertical_alignment="center")
    label.markdown(f"**{escape_markdown(frame.label)}** · {index + 1} of {len(frames)}")
    if prev.button("", key="full-prev", icon=":material/chevron_left:", shortcut="Left", disabled=index == 0,
                   help="Previous frame (← key)", width="stretch"):
        st.session_state[_OPEN_FULL] = frames[index - 1].id
        st.rerun()
    if nxt.button("", key="full-next", icon=":material/chevron_right:", shortcut="Right",
                  disabled=index >= len(frames) - 1, help="Next frame (→ key)", width="stretch"):
        st.session_state[_OPEN_FULL] = frames[index + 1].id
        st.rerun()
    if frame.image_path is not None:
        # The full render, only when asked for. PNG as stored: "auto" would re-encode it as JPEG on every run.
        st.image(str(frame.image_path), width="stretch", output_format=_stored_format(frame.image_path))
    show_text(frame.scene_text, key=f"dialog-scene-{frame.id}")
    if frame.prompt:
        st.caption(escape_markdown(frame.prompt))


def queue_images(rt: Runtime, frame_ids: list[int], *, force: bool, what: str) -> bool:
    """Queue image jobs (all in one transaction); the worker renders them."""
    cfg = rt.settings
    result = perform(rt, lambda s: [request_image(s, fid, settings=cfg, force=force, actor=cfg.author_name)
                                    for fid in frame_ids],
                     success=f"Queued {what}. The gallery updates as images arrive.")
    return ok(result)


def _use_take(rt: Runtime, asset_id: int) -> bool:
    return ok(perform(rt, lambda s: select_take(s, asset_id, actor=rt.settings.author_name),
                      success="Take selected."))


def _discard_take(rt: Runtime, asset_id: int) -> bool:
    return ok(perform(rt, lambda s: discard_take(s, asset_id, actor=rt.settings.author_name),
                      success="Take discarded. It stays under 'Discarded takes', where Restore brings it back."))


def _restore_take(rt: Runtime, asset_id: int) -> bool:
    return ok(perform(rt, lambda s: restore_take(s, asset_id, actor=rt.settings.author_name),
                      success="Take restored."))


def _take_image(rt: Runtime, take: Take) -> None:
    path = rt.assets.local_file(take.storage_key)
    if path is not None:
        show_preview(path)


def takes_picker(rt: Runtime, frame: FrameView, every: list[Take], *, may_edit: bool) -> None:
    """A button that opens the frame's takes (`every`: newest first, discarded ones too) to use one, discard one
    (soft) or restore a discarded one. A dialog, not a popover: a popover's content is drawn on every page run,
    and a gallery of re-rolled frames then drew every take of every frame each time the page moved."""
    takes = [t for t in every if not t.discarded][:MAX_TAKES]
    discarded = [t for t in every if t.discarded][:MAX_TAKES]
    if not takes and not discarded:
        return
    label = f"Takes ({len(takes)})" + (f" · {len(discarded)} discarded" if discarded else "")
    if st.button(str(len(takes)), key=f"takes-{frame.id}", icon=":material/photo_library:",
                 help=f"{label}: use, discard or restore one"):
        st.session_state[_OPEN_TAKES] = frame.id
    if st.session_state.get(_OPEN_TAKES) == frame.id:  # stays open while the live status redraws the page
        _takes_dialog(rt, frame, takes, discarded, may_edit=may_edit)


def _close_takes() -> None:
    st.session_state.pop(_OPEN_TAKES, None)


def _done(changed: bool) -> None:
    """After a take was used, discarded or restored: close the dialog and redraw the page."""
    if changed:
        _close_takes()
        st.rerun()


@st.dialog("Takes", width="large", on_dismiss=_close_takes)
def _takes_dialog(rt: Runtime, frame: FrameView, takes: list[Take], discarded: list[Take], *,
                  may_edit: bool) -> None:
    st.markdown(f"**{frame.label}**")
    cols = st.columns(3)
    for i, take in enumerate(takes):
        with cols[i % 3]:
            _take_image(rt, take)
            if take.id == frame.image_id:
                st.caption("selected")
            elif may_edit and st.button("Use this take", key=f"take-{take.id}"):
                _done(_use_take(rt, take.id))
            if may_edit and st.button("Discard", key=f"discard-take-{take.id}", icon=":material/delete:"):
                _done(_discard_take(rt, take.id))
    if discarded:
        st.caption("Discarded takes")
        cols = st.columns(3)
        for i, take in enumerate(discarded):
            with cols[i % 3]:
                _take_image(rt, take)
                if may_edit and st.button("Restore", key=f"restore-take-{take.id}",
                                          icon=":material/restore_from_trash:"):
                    _done(_restore_take(rt, take.id))


def image_cell(rt: Runtime, frame: FrameView, *, takes: list[Take], may_render: bool, may_edit: bool) -> None:
    """One tile of the gallery: title and badges, the image, the scene text and prompt under it, and icon buttons
    (render / re-roll, full size, takes) with tooltips. `takes` come from one `takes_by_frame` query for the whole
    page, and the role's rights are looked up once per page run: per frame, both cost a query or a secrets read."""
    with st.container(border=True, key=f"image-cell-{frame.id}"):
        title_line(frame.label, frame.review_status, frame.chip)
        chip_reason(frame.chip, frame.job_error)
        thumbnail(frame)
        st.markdown(tile_text(frame))
        busy = frame.chip in ("pending", "submitted", "running")
        with st.container(horizontal=True, key=f"tile-actions-{frame.id}"):
            what = "Re-roll: render another take" if frame.image_id else "Render: this frame's image"
            if may_render and st.button(
                    "", key=f"render-{frame.id}", icon=":material/brush:", disabled=busy or not frame.prompt,
                    help=what if frame.prompt else "Refine this frame's prompt first.") and \
                    queue_images(rt, [frame.id], force=bool(frame.image_id), what=frame.label):
                st.rerun()
            if st.button("", key=f"enlarge-{frame.id}", icon=":material/open_in_full:",
                         disabled=frame.image_path is None, help="Full size, with the previous and next frame"):
                st.session_state[_OPEN_FULL] = frame.id
            takes_picker(rt, frame, takes, may_edit=may_edit)


PER_ROW = "gallery-per-row"
PER_ROW_CHOICES = (2, 3, 4)


def per_row_choice() -> int:
    """How many tiles a row holds (2 by default: at 1440 px a tile is then over 360 px wide)."""
    picked = st.segmented_control("Images per row", PER_ROW_CHOICES, default=PER_ROW_CHOICES[0], key=PER_ROW,
                                  format_func=str, help="Fewer per row: bigger images. Below about 800 px the "
                                  "gallery is one column.")
    return int(picked or PER_ROW_CHOICES[0])


def gallery_rows(frames: list[FrameView], per_row: int, *, key: str) -> list[tuple[str, list[FrameView]]]:
    """The frames cut into rows of `per_row`, each with the container key its CSS (wrap to one column) uses."""
    return [(f"gallery-row-{key}-{i}", frames[i:i + per_row]) for i in range(0, len(frames), per_row)]
