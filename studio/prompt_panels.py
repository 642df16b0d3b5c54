"""The Prompts page's panels: refine-all with progress, version compare with the word diff, the style bible form."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import select

from core.models import Asset, PromptVersion
from core.prompts import (
    frames_in_scope,
    make_refiner,
    refine_frames,
    update_style_bible,
    word_diff,
)
from core.prompts.style import find_style_bible, style_data
from core.runtime import Runtime
from studio import auth
from studio.actions import ok, perform
from studio.board import BoardView
from studio.labels import prompt_source
from studio.widgets import diff_html, escape_markdown, show_error, show_text

LAST_SUMMARY = "last_refine_summary"
STYLE_LABELS = {
    "visual_style": "Visual style", "palette": "Palette", "characters": "Presenter and recurring characters",
    "setting": "Setting", "aspect_ratio": "Aspect ratio", "negative_prompt": "Always avoid (negative prompt)",
}


def refine(rt: Runtime, frame_ids: list[int], *, force: bool, label: str) -> None:
    """Refine frames with a live progress bar, then a summary: refined, reused, failed (with reasons)."""
    cfg = rt.settings
    try:
        refiner = make_refiner(cfg)
    except Exception as err:  # noqa: BLE001 - a missing key is a message, not a crash
        show_error(err)
        return
    bar = st.progress(0.0, text=f"Refining {label}: 0/{len(frame_ids)}")

    def progress(done: int, total: int, _frame_id: int, _outcome: str) -> None:  # called on this thread
        bar.progress(done / max(total, 1), text=f"Refining {label}: {done}/{total}")

    summary = refine_frames(rt.sessions, frame_ids, refiner, concurrency=cfg.refine_concurrency, force=force,
                            progress=progress, actor=cfg.author_name)
    bar.empty()
    line = (f"{label}: {summary.refined} refined, {summary.reused} reused, {summary.skipped} skipped, "
            f"{summary.failed} failed ({refiner.name}, {summary.elapsed_s:.1f} s)")
    errors = [f"Frame {fid}: {err}" for fid, err in list(summary.errors.items())[:5]]
    # The page was drawn from the state before the batch: rerun so every panel shows the new prompts.
    st.session_state[LAST_SUMMARY] = (line, bool(summary.failed), errors)
    st.rerun()


def show_last_summary() -> None:
    last = st.session_state.get(LAST_SUMMARY)
    if last:
        line, failed, errors = last
        (st.warning if failed else st.success)(escape_markdown(line))
        for error in errors:
            st.caption(escape_markdown(error))  # the refiner's error text comes from outside


def refine_all_panel(rt: Runtime, board: BoardView, file_id: int) -> None:
    cols = st.container(key="stack-refine-all").columns([2, 2, 1, 1], vertical_alignment="bottom")
    scope = cols[0].segmented_control("Refine all prompts of", ["Shot", "Video", "Script"], default="Video",
                                      key="refine-scope")
    shot_pos = cols[1].selectbox("Shot", [s.position for s in board.shots], disabled=scope != "Shot",
                                 format_func=lambda p: f"Shot {p}", key="refine-shot")
    force = cols[2].toggle("Redo all", help="On: prompts that are up to date are written again too. Off: they are "
                                            "reused.")
    if auth.can(rt.settings, "refine") and cols[3].button("Refine all", icon=":material/auto_awesome:", type="primary",
                                                          width="stretch"):
        shot = next((s for s in board.shots if s.position == shot_pos), None)
        with rt.sessions() as session:
            if scope == "Shot" and shot is not None:
                ids, label = frames_in_scope(session, shot_id=shot.id), f"shot {shot.position}"
            elif scope == "Script":
                ids, label = frames_in_scope(session, file_id=file_id), "the whole script"
            else:
                ids, label = frames_in_scope(session, video_id=board.video_id), "this video"
        refine(rt, ids, force=force, label=label)
    show_last_summary()


def _image_of_version(rt: Runtime, version_id: int) -> str | None:
    with rt.sessions() as session:
        asset = session.scalar(select(Asset).where(Asset.prompt_version_id == version_id, Asset.kind == "image",
                                                   Asset.discarded_at.is_(None)).order_by(Asset.id.desc()))
    if asset is None:
        return None
    path = rt.assets.local_file(asset.storage_key)
    return str(path) if path is not None else None


def compare_panel(rt: Runtime, versions: list[PromptVersion]) -> None:
    """Any two versions side by side, the word diff highlighted, and their images when both were rendered."""
    numbers = [v.number for v in versions]
    if len(numbers) < 2:
        st.caption("Compare needs two versions: regenerate or edit the prompt to make another.")
        return
    by_number = {v.number: v for v in versions}
    c1, c2 = st.columns(2)
    a = c1.selectbox("Version A", numbers, index=1, format_func=lambda n: f"v{n}", key="cmp-a")
    b = c2.selectbox("Version B", numbers, index=0, format_func=lambda n: f"v{n}", key="cmp-b")
    for col, number in ((c1, a), (c2, b)):
        v = by_number[number]
        with col.container(border=True):
            st.caption(f"v{v.number} · {prompt_source(v.origin, v.provider, v.model)}")
            show_text(v.text, key=f"cmp-text-{v.id}")
    st.markdown("**Changes from A to B**")
    st.html(diff_html(word_diff(by_number[a].text, by_number[b].text)))
    image_a, image_b = (_image_of_version(rt, by_number[n].id) for n in (a, b))
    if image_a and image_b:
        i1, i2 = st.columns(2)
        i1.image(image_a, caption=f"Image of v{a}")
        i2.image(image_b, caption=f"Image of v{b}")


def style_bible_form(rt: Runtime, file_id: int) -> None:
    """The course's look, applied to every prompt of the script; saving marks existing prompts stale."""
    with rt.sessions() as session:  # read only: the row is created on the first save
        values = style_data(find_style_bible(session, file_id)).model_dump()
    with st.form("style-bible"):
        edited = {
            name: (st.text_input(label, values.get(name, "")) if name == "aspect_ratio"
                   else st.text_area(label, values.get(name, ""), height=68))
            for name, label in STYLE_LABELS.items()
        }
        if st.form_submit_button("Save style bible", icon=":material/save:",
                                 disabled=not auth.can(rt.settings, "edit")) and ok(perform(
            rt, lambda s: update_style_bible(s, file_id, actor=rt.settings.author_name, **edited),
            success="Style bible saved. Prompts made with the old one are now marked stale.",
        )):
            st.rerun()

