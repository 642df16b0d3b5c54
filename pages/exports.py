"""Exports: the deliverables of a script (PDF, shot list, animatic, captions, timeline, Word, archive)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.exports.archive import import_archive
from core.exports.captions import speaking_rate
from core.exports.data import export_dir
from core.exports.files import is_partial
from core.exports.runner import ExportOptions
from core.exports.timeline import is_bundled_media
from core.exports.word import apply_docx_edits
from core.jobs.exports import export_jobs
from studio import auth, state
from studio.actions import ok, perform
from studio.context import get_runtime

KINDS = {
    "pdf": ("PDF storyboard", ("For client sign-off: a cover page, then a page per shot with frames, scene "
                               "text, prompt, status and comments.")),
    "shotlist": ("Shot list (CSV + XLSX)", "One row per frame: scene text, prompt, status, image and clip files."),
    "animatic": ("Narrated cut / animatic MP4", ("Clips in order, stills with a slow push-in, timed to the narration "
                                                 "audio with its voice track where shots are voiced (else paced by "
                                                 "the words, silent).")),
    "captions": ("Captions (SRT + WebVTT)", "The narration timed on the animatic's pace."),
    "timeline": ("Editor timeline (OTIO bundle)", ("For Resolve, Premiere or Final Cut: pictures, the narration "
                                                   "audio and caption markers in one .otioz file per video (a zip of "
                                                   "the .otio, an EDL and the media at relative paths), to open on "
                                                   "another machine.")),
    "docx": ("Word storyboard", "The script with a table per video: thumbnail, scene text, prompt."),
    "archive": ("Project archive (zip)", "Everything about this script, importable into another studio."),
}
MIME = {".pdf": "application/pdf", ".csv": "text/csv", ".mp4": "video/mp4", ".zip": "application/zip",
        ".otioz": "application/zip",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}

ARCHIVE_LIMIT = 2 * 1024**3  # archives carry clips: the Word upload limit is far too small for them
rt = get_runtime()
st.title("Exports")
file_id = state.script_id()

if auth.can(rt.settings, "edit"):  # importing creates a script: a producer's step
    with st.expander("Import a project archive", icon=":material/upload:"):
        upload = st.file_uploader("Archive (.zip) exported from a studio", type=["zip"], key="archive-upload")
        if upload is not None and st.button("Import", type="primary"):
            result = perform(rt, lambda s: import_archive(
                s, upload.getvalue(), data_dir=rt.data_dir, actor=rt.settings.author_name,
                max_uncompressed_bytes=max(rt.settings.max_uncompressed_bytes, ARCHIVE_LIMIT), store=rt.assets))
            if ok(result):
                state.choose(script=result.source_file_id, video=None)  # type: ignore[union-attr]
                state.flash("Archive imported")
                st.rerun()

if file_id is None:
    st.info("Choose a script in the sidebar to export it.", icon=":material/arrow_back:")
    st.stop()

kind = st.radio("Deliverable", list(KINDS), format_func=lambda k: KINDS[k][0], key="export-kind")
st.caption(KINDS[kind][1])
only_video = st.toggle("Only the video chosen in the sidebar", value=False,
                       disabled=state.video_id() is None or kind == "archive")
options = ExportOptions()
if kind in ("animatic", "captions", "timeline"):
    wpm = st.slider("Speaking rate (words per minute)", 80, 220, int(speaking_rate(rt.settings)),
                    help="Sets the length of shots without narration audio; a voiced shot lasts as long as its "
                         "audio. The animatic, captions and timeline agree.")
    subtitles = kind == "animatic" and st.checkbox("Burn subtitles into the animatic", value=False)
    size = (st.selectbox("Animatic size", ["1280x720", "854x480", "640x360"]) if kind == "animatic"
            else "1280x720")
    width, height = (int(x) for x in size.split("x"))
    options = ExportOptions(wpm=float(wpm), subtitles=bool(subtitles), width=width, height=height,
                            formats=("otioz",) if kind == "timeline" else ())  # a browser hands over one file

jobs = export_jobs(rt)
if st.button(f"Export {KINDS[kind][0]}", type="primary", icon=":material/file_download:"):
    # A job: a whole script's PDF or animatic takes a while, and the page stays usable while it is written.
    submitted = perform(rt, lambda s: jobs.submit(kind, file_id=file_id,
                                                  video_id=state.video_id() if only_video else None,
                                                  options=options, requested_by=rt.settings.author_name))
    if ok(submitted):
        st.session_state["export-job"] = submitted.id  # type: ignore[union-attr]


def offer(path: Path, key: str) -> None:
    # A callable: the bytes are read only when the button is clicked, not on every rerun. Streamlit then holds the
    # whole file in memory to serve it (st.download_button reads a file object whole too: it cannot stream).
    st.download_button(path.name, data=path.read_bytes, file_name=path.name,
                       mime=MIME.get(path.suffix, "application/octet-stream"), key=key, icon=":material/download:")


@st.fragment(run_every=1.0)
def export_progress() -> None:
    """The latest export of this script: a progress bar while it runs, its files to download when ready."""
    job = next(iter(jobs.for_script(file_id)), None)  # type: ignore[arg-type]
    if job is None:
        return
    label = KINDS.get(job.kind, (job.kind, ""))[0]
    watching = f"export-watch-{job.id}"
    if job.status in ("waiting", "running"):
        st.session_state[watching] = True
    elif st.session_state.pop(watching, False):
        st.rerun()  # it finished during this fragment's refresh: the Files list below still says what was before
    if job.status == "waiting":
        st.progress(0.0, text=f"{label}: waiting ({jobs.ahead_of(job.id)} export(s) before it)")
    elif job.status == "running":
        st.progress(job.fraction, text=f"{label}: {job.message} ({job.fraction:.0%})")
    elif job.status == "failed":
        st.error(f"{label} failed: {job.error}", icon=":material/error:")
    else:
        st.success(f"{label} ready: wrote {len(job.paths)} file(s)", icon=":material/task_alt:")
        for warning in job.warnings:
            st.warning(warning, icon=":material/warning:")
        for i, path in enumerate(p for p in job.paths if p.is_file()):
            offer(path, f"job-{job.id}-{i}")


export_progress()


if auth.can(rt.settings, "edit"):  # applying a writer's edits changes the storyboard
    with st.expander("Bring back a writer's edits from the Word storyboard", icon=":material/sync_alt:"):
        st.caption("Upload the .docx exported here after the writer edited scene texts in it. Frames changed in the "
                   "studio since that export, or locked, are refused and nothing is applied.")
        edited = st.file_uploader("Edited storyboard (.docx)", type=["docx"], key="docx-edits")
        if edited is not None and st.button("Apply the edits"):
            changed = perform(rt, lambda s: apply_docx_edits(
                s, file_id, edited.getvalue(), data_dir=rt.data_dir, actor=rt.settings.author_name))
            if ok(changed):
                st.success(f"{len(changed)} scene text(s) updated"  # type: ignore[arg-type]
                           if changed else "No scene text changed")

st.subheader("Files")
folder = export_dir(rt.data_dir, file_id)
files = sorted(p for p in folder.rglob("*") if p.is_file() and not is_partial(p) and not is_bundled_media(p)
               ) if folder.is_dir() else []
archives = sorted((rt.data_dir / "archives").glob(f"script-{file_id}-*.zip"), reverse=True)[:3]
if not files and not archives:
    st.caption("Nothing exported yet.")
for i, path in enumerate(files + archives):
    left, right = st.columns([3, 1])
    left.write(f"`{path.name}` · {path.stat().st_size / 1024:,.0f} KB")
    with right:
        offer(path, f"dl-{i}-{path.name}")
