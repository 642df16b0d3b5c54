"""Choosing how a storyboard is cut (fixed grid or paced by the narration) with a preview of what each video
would get; the upload form and the Rebuild control; the producer's corrections of how the script was read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from core.board_layout import MAX_FRAMES, MAX_PACE_S, MAX_SHOTS, Density
from core.db import session_scope
from core.errors import StudioError
from core.ingest.segment import Segmentation, line_key
from core.ingest.validate import browser_upload_mb, upload_limit_text
from core.library import get_video, ingest_file
from core.runtime import Runtime
from core.script_corrections import flip_table, mark_line, overrides_of, script_tables
from core.settings import Settings
from core.storyboard_store import narration_coverage, preview_layout
from studio import state, widgets
from studio.actions import ok, perform

FIXED, PACED = "Fixed grid", "Paced by the narration"
UPLOAD_KEY = "upload-docx"
_SOURCES = {"line": "its own line", "note": "a [note] inside a line"}


@dataclass(frozen=True)
class VideoText:
    title: str
    body: str
    scenes: list[dict[str, Any]]


def density_inputs(cfg: Settings, *, key: str, initial: Density | None = None) -> Density | None:
    """The density widgets; None (with the reason on the page) when the choice is not valid."""
    start = initial or Density(kind="paced" if cfg.storyboard_pace_s else "fixed", shots=cfg.shots_per_video,
                               frames=cfg.frames_per_shot, pace_s=cfg.storyboard_pace_s)
    kind = st.radio("Density", [FIXED, PACED], index=1 if start.kind == "paced" else 0, horizontal=True,
                    key=f"{key}-kind", help="Fixed: about N shots × M frames per video. Paced: about one frame per "
                    f"S seconds of narration (at {cfg.speaking_rate_wpm:g} words a minute), in shots of at most M.")
    c1, c2 = st.columns(2)
    if kind == FIXED:
        shots = c1.number_input("Shots per video", 1, MAX_SHOTS, min(start.shots, MAX_SHOTS), key=f"{key}-shots")
        frames = c2.number_input("Frames per shot", 1, MAX_FRAMES, start.frames, key=f"{key}-frames")
        pace = None
    else:
        pace = c1.number_input("Seconds of narration per frame", 1.0, MAX_PACE_S, float(start.pace_s or 8.0),
                               step=1.0, key=f"{key}-pace")
        frames = c2.number_input("Most frames per shot", 1, MAX_FRAMES, start.frames, key=f"{key}-frames")
        shots = start.shots
    try:
        return Density(kind="paced" if kind == PACED else "fixed", shots=int(shots), frames=int(frames),
                       pace_s=float(pace) if pace is not None else None, wpm=cfg.speaking_rate_wpm)
    except StudioError as err:
        st.error(str(err))
        return None


def preview(videos: list[VideoText], density: Density, *, key: str) -> None:
    """A table: per video, the shots and frames it would get and why it departs from what was asked."""
    rows = []
    for v in videos:
        layout = preview_layout(v.body, density, scenes=v.scenes)
        rows.append({"Video": v.title, "Shots": len(layout.shots), "Frames": layout.frame_count,
                     "Note": layout.note})
    if not rows:
        return
    total_f = sum(r["Frames"] for r in rows)
    with st.container(key=f"{key}-preview"):
        if len(rows) == 1:
            one = rows[0]
            st.caption(f"Preview ({density.label()}): {one['Shots']} shot(s), {one['Frames']} frame(s). "
                       f"{one['Note']}")
            return
        st.caption(f"Preview ({density.label()}): {sum(r['Shots'] for r in rows)} shots, {total_f} frames in "
                   f"{len(rows)} videos.")
        st.table(pd.DataFrame(rows).set_index("Video"))


@st.cache_data(max_entries=4, show_spinner="Reading the script…")
def _segment(data: bytes, max_upload: int, max_uncompressed: int) -> Segmentation:
    from core.ingest import segment_docx

    return segment_docx(data, max_upload_bytes=max_upload, max_uncompressed_bytes=max_uncompressed)


INGEST_WARNINGS = "ingest-warnings"  # (script id, warnings) of the upload just made, shown once after the rerun


def draw_upload(rt: Runtime) -> None:
    """The upload form: the file, the density with a preview of each video's board, and the Ingest button."""
    cfg = rt.settings
    upload = st.file_uploader(
        f"Script (.docx, up to {upload_limit_text(cfg.max_upload_bytes)})", type=["docx"], key=UPLOAD_KEY,
        max_upload_size=browser_upload_mb(cfg.max_upload_bytes),
        help="Each video starts at a header such as 'Video 1: …' (or 'الفيديو الأول'). "
             "Your file is kept as uploaded; uploading the same file twice reuses the first copy.",
    )
    density = density_inputs(cfg, key="upload")
    if upload is not None and density is not None:
        try:
            seg = _segment(upload.getvalue(), cfg.max_upload_bytes, cfg.max_uncompressed_bytes)
        except Exception as err:  # noqa: BLE001 - shown in words, never a trace
            widgets.show_ingest_error(err)
            return
        preview([VideoText(v.title, v.body, [{"at": m.at} for m in v.scenes]) for v in seg.videos], density,
                key="upload")
    if st.button("Ingest script", icon=":material/upload:", type="primary", disabled=density is None):
        if upload is None:
            st.warning("Choose a .docx file first.")
            return
        assert density is not None
        try:
            with session_scope(rt.sessions) as session:  # one unit of work: all stored, or nothing
                result = ingest_file(session, upload.getvalue(), upload.name, settings=cfg, shots=density.shots,
                                     frames=density.frames, density=density.kind, pace_s=density.pace_s,
                                     actor=cfg.author_name)
        except Exception as err:  # noqa: BLE001 - shown in words, never a trace
            widgets.show_ingest_error(err)
            return
        # Shown by the Library page after the rerun (a warning drawn before `st.rerun()` never reaches the
        # browser), and kept on the script there.
        st.session_state[INGEST_WARNINGS] = (result.source_file_id, list(result.warnings))
        st.session_state.pop(UPLOAD_KEY, None)
        state.choose(script=result.source_file_id, video=None)
        state.flash("Script ingested." if result.created else "This file was already in the library.")
        st.rerun()


def draw_rebuild(rt: Runtime, video_id: int, *, can_edit: bool, current: Any = None) -> None:
    """The Rebuild popover's content: density, this video's preview, the button."""
    from core.storyboard_store import rebuild_board

    cfg = rt.settings
    st.caption("Cut the narration again into a new version. The current one stays reachable, read-only.")
    initial = None
    if current is not None:
        paced = current.density == "paced" and current.pace_s
        initial = Density(kind="paced" if paced else "fixed", shots=min(current.shots_requested, MAX_SHOTS),
                          frames=min(current.frames_requested, MAX_FRAMES),
                          pace_s=current.pace_s if paced else None, wpm=cfg.speaking_rate_wpm)
    density = density_inputs(cfg, key=f"rebuild-{video_id}", initial=initial)
    if density is None:
        return
    with rt.sessions() as session:
        video = get_video(session, video_id)
        text = VideoText(video.title, video.body, list(video.scenes or []))
    preview([text], density, key="rebuild")
    if st.button("Build new version", type="primary", disabled=not can_edit) and ok(perform(
        rt, lambda s: rebuild_board(s, video_id, density, actor=cfg.author_name),
        success="New storyboard version built.",
    )):
        st.rerun()


def draw_note(note: str) -> None:
    """The board's note to the producer (why it has fewer frames than asked, how it was paced)."""
    if note:
        st.info(note, icon=":material/info:")


def draw_coverage(body: str, narrations: list[str]) -> None:
    """The Narration coverage tab: every sentence of the script in exactly one shot, or what is wrong."""
    cover = narration_coverage(body, narrations)
    if cover.exact:
        st.success(f"All {cover.sentences} sentences of the narration are in a shot, each in exactly one.")
    if cover.missing:
        st.warning(f"{len(cover.missing)} sentence(s) of the narration are in no shot:")
        for i, line in enumerate(cover.missing):
            widgets.show_text(line, key=f"missing-{i}")
    if cover.repeated:
        st.warning(f"{len(cover.repeated)} sentence(s) are narrated more than once:")
        for i, line in enumerate(cover.repeated):
            widgets.show_text(line, key=f"repeated-{i}")


def draw_corrections(rt: Runtime, video_id: int, *, can_edit: bool) -> None:
    """The Script reading tab: what the script says and what it shows, and the producer's corrections."""
    cfg = rt.settings
    with rt.sessions() as session:
        video = get_video(session, video_id)
        file_id = video.source_file_id
        directions = list(video.directions or [])
        lines = [line for line in video.body.split("\n") if line.strip()]
        marks = overrides_of(video.source_file)["marks"]
        tables = script_tables(session, file_id, settings=cfg)
    st.caption("Ingestion told what is said (narration) from what is seen (directions). If it misread a line or a "
               "table, correct it here: the script is read again and the storyboard follows as a new version.")

    def act(fn: Any, success: str) -> None:
        if ok(perform(rt, fn, success=success)):
            st.rerun()

    st.subheader("Directions (not spoken)")
    if not directions:
        st.caption("No visual directions were found in this video.")
    for i, d in enumerate(directions):
        row = st.columns([6, 2], vertical_alignment="center")
        with row[0]:
            where = (f"picture column of table {d['table']}" if d.get("source") == "table"
                     else _SOURCES.get(str(d.get("source", "line")), "its own line"))
            widgets.show_text(f"{d['text']}  ·  {where}", key=f"direction-{video_id}-{i}")
        if d.get("source") != "table" and row[1].button(
                "Read as narration", key=f"as-narration-{video_id}-{i}", disabled=not can_edit,
                icon=":material/record_voice_over:"):
            act(lambda s, t=d["text"]: mark_line(s, file_id, t, "narration", settings=cfg, actor=cfg.author_name),
                "The line is read as narration now.")
    with st.expander(f"Narration lines ({len(lines)})", icon=":material/subject:"):
        for i, line in enumerate(lines):
            row = st.columns([6, 2], vertical_alignment="center")
            with row[0]:
                widgets.show_text(line, key=f"narration-line-{video_id}-{i}")
            marked = marks.get(line_key(line)) == "narration"
            label = "Back to the rules" if marked else "Read as direction"
            if row[1].button(label, key=f"as-direction-{video_id}-{i}", disabled=not can_edit,
                             icon=":material/visibility:"):
                act(lambda s, t=line, m=marked: mark_line(s, file_id, t, "auto" if m else "direction", settings=cfg,
                                                          actor=cfg.author_name),
                    "The line is read by the rules again." if marked else "The line is read as a direction now.")
    if tables:
        st.subheader("Tables of the script")
    for t in tables:
        said = ", ".join(str(i + 1) for i in t.narration) if t.narration else "every column"
        head = " | ".join(t.rows[0]) if t.rows else ""
        row = st.columns([6, 2], vertical_alignment="center")
        with row[0]:
            widgets.show_text(f"Table {t.number}: {head}", key=f"table-{video_id}-{t.number}")
            st.caption(f"Said: column {said} of {t.width}" + (f" ({t.reason})" if t.reason else ""))
        if row[1].button("Flip columns", key=f"flip-{video_id}-{t.number}", disabled=not can_edit,
                         icon=":material/swap_horiz:"):
            act(lambda s, n=t.number: flip_table(s, file_id, n, settings=cfg, actor=cfg.author_name),
                f"Table {t.number} is read the other way round now.")
