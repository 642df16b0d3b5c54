"""One entry point for every deliverable, shared by the CLI and the Exports page.

`run_export(session, kind, file_id=…, video_id=…, out=…)` writes the files and returns their paths (an
`ExportResult`: a list of paths that also carries warnings for the producer, such as narration audio that is out
of date). Without `out`, files go to `<data dir>/exports/script-<id>/` under stable names (re-exporting replaces
them), and the project archive goes to `<data dir>/archives/`. Per-video kinds (animatic, captions, timeline) make
one file per video, named `v01…`; with `out` they write there (a file for one video, a folder for several).

The timeline is written as `otio` (with its `<name>_media/` folder beside it) and `edl` by default; `otioz` is the
same timeline, its EDL and its media in one file, for handing over (the Exports page offers that one).
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from core.assets import AssetStore
from core.errors import ValidationError
from core.exports import animatic, captions, files, pdf, shotlist, timeline, word
from core.exports.archive import export_archive
from core.exports.data import ScriptSnapshot, VideoRow, collect_script, export_dir, script_of_video
from core.settings import Settings

ExportKind = Literal["pdf", "shotlist", "animatic", "captions", "timeline", "docx", "archive"]
EXPORT_KINDS: tuple[str, ...] = ("pdf", "shotlist", "animatic", "captions", "timeline", "docx", "archive")
FORMATS: dict[str, tuple[str, ...]] = {"shotlist": ("csv", "xlsx"), "captions": ("srt", "vtt"),
                                       "timeline": ("otio", "edl", "otioz")}
DEFAULT_FORMATS: dict[str, tuple[str, ...]] = {"timeline": ("otio", "edl")}  # else: all of FORMATS
VOICED_KINDS = ("animatic", "captions", "timeline")  # the exports that play, or are timed by, the narration audio


class ExportResult(list[Path]):
    """The written paths, in order (a list, as `run_export` always returned), and `warnings`: what the producer
    should know about them before sending them (the Exports page and the CLI show these)."""

    def __init__(self, paths: Iterable[Path] = (), warnings: Iterable[str] = ()) -> None:
        super().__init__(paths)
        self.warnings: tuple[str, ...] = tuple(warnings)


@dataclass(frozen=True)
class ExportOptions:
    formats: tuple[str, ...] = ()  # empty: the kind's defaults
    wpm: float | None = None  # speaking rate; None: the settings' (or the default)
    subtitles: bool = False  # animatic only
    width: int = 1280
    height: int = 720
    fps: int = 25


Progress = Callable[[float, str], None]  # (fraction done 0..1, what is being written), for a progress bar


def _quiet(fraction: float, message: str) -> None:
    return None


def run_export(session: Session, kind: str, *, settings: Settings, file_id: int | None = None,
               video_id: int | None = None, out: Path | None = None,
               options: ExportOptions = ExportOptions(), progress: Progress = _quiet) -> ExportResult:
    if kind not in EXPORT_KINDS:
        raise ValidationError(f"Unknown export {kind!r}; choose one of: {', '.join(EXPORT_KINDS)}")
    if file_id is None:
        if video_id is None:
            raise ValidationError("Say which script (--file) or video (--video) to export")
        file_id = script_of_video(session, video_id)
    formats = _formats(kind, options.formats, out)
    data_dir = settings.data_dir
    store = AssetStore.from_settings(settings)  # images and clips may live in shared object storage
    if kind == "archive":
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        target = out or data_dir / "archives" / f"script-{file_id}-{stamp}.zip"
        return ExportResult([export_archive(
            session, file_id, data_dir=data_dir, out=target, store=store,
            progress=lambda done, total: progress(done / total, f"Packing take {done} of {total}")).path])
    snapshot = collect_script(session, file_id, data_dir=data_dir, video_id=video_id, store=store)
    base = export_dir(data_dir, file_id)
    wpm = options.wpm or captions.speaking_rate(settings)
    suffix = f"-{snapshot.videos[0].slug}" if video_id is not None and snapshot.videos else ""
    if kind == "pdf":
        return ExportResult([pdf.render_storyboard_pdf(
            snapshot, out or base / f"storyboard{suffix}.pdf",
            progress=lambda done, total: progress(done / total, f"Shot page {done} of {total}"))])
    if kind == "docx":
        return ExportResult([word.write_storyboard_docx(snapshot, out or base / f"storyboard{suffix}.docx")])
    if kind == "shotlist":
        return ExportResult(_shot_list(snapshot, formats, out, base / f"shotlist{suffix}", wpm))
    return ExportResult(_per_video(snapshot, kind, formats, out, base, wpm, options, progress),
                        warnings=stale_narration(snapshot) if kind in VOICED_KINDS else ())


def stale_narration(snapshot: ScriptSnapshot) -> list[str]:
    """One warning per video whose export uses narration audio that no longer matches its shot (the narration,
    the voice or the lexicon changed since it was voiced). The audio is still used, as better than silence, but
    the old words would play under the new captions unless the producer voices those shots again."""
    out: list[str] = []
    for video in snapshot.videos:
        stale = [s for s in video.shots if s.voice_path is not None and s.voice_freshness.stale]
        if not stale:
            continue
        which = ", ".join(str(s.position) for s in stale)
        reasons = "; ".join(dict.fromkeys(r for s in stale for r in s.voice_freshness.reasons))
        out.append(f"Video {video.number}: the narration audio of shot{'s' if len(stale) > 1 else ''} {which} is "
                   f"out of date ({reasons or 'changed since it was voiced'}). This export still uses it, so the "
                   f"old words play and set the timing; voice {'these shots' if len(stale) > 1 else 'the shot'} "
                   f"again, then export again.")
    return out


def _formats(kind: str, wanted: tuple[str, ...], out: Path | None) -> tuple[str, ...]:
    allowed = FORMATS.get(kind, ())
    if out is not None and out.suffix.lstrip(".").lower() in allowed and not wanted:
        return (out.suffix.lstrip(".").lower(),)
    chosen = wanted or DEFAULT_FORMATS.get(kind, allowed)
    bad = [f for f in chosen if f not in allowed]
    if bad and allowed:
        raise ValidationError(f"{kind} can be written as {', '.join(allowed)}, not {', '.join(bad)}")
    return chosen


def _shot_list(snapshot: ScriptSnapshot, formats: tuple[str, ...], out: Path | None, stem: Path,
               wpm: float) -> list[Path]:
    paths: list[Path] = []
    for fmt in formats:
        target = out if out is not None and len(formats) == 1 else (out or stem).with_suffix(f".{fmt}")
        if fmt == "csv":
            files.write_bytes(target, shotlist.shot_list_csv(snapshot, wpm=wpm))
        else:
            shotlist.write_shot_list_xlsx(snapshot, target, wpm=wpm)
        paths.append(target)
    return paths


def _per_video(snapshot: ScriptSnapshot, kind: str, formats: tuple[str, ...], out: Path | None, base: Path,
               wpm: float, options: ExportOptions, progress: Progress = _quiet) -> list[Path]:
    videos = [v for v in snapshot.videos if v.shots]
    if not videos:
        raise ValidationError("No video of this script has a storyboard yet; there is nothing to export")
    exts = formats or ("mp4",)
    single = out is not None and len(videos) == 1 and out.suffix != ""
    paths: list[Path] = []
    steps = len(videos) * len(exts)
    for n, (video, ext) in enumerate((v, e) for v in videos for e in exts):
        def step(done: int, total: int, n: int = n, video: VideoRow = video) -> None:
            progress((n + done / max(1, total)) / steps, f"Video {video.number}: shot {done} of {total}")

        if single and out is not None:
            target = out if len(exts) == 1 else out.with_suffix(f".{ext}")
        else:
            target = (out or base) / f"{video.slug}.{ext}"
        paths.append(_write_video(kind, ext, video, target, wpm, options, step, beside_otio="otio" in exts))
        progress((n + 1) / steps, f"Video {video.number} written")
    return paths


def _write_video(kind: str, ext: str, video: VideoRow, target: Path, wpm: float, options: ExportOptions,
                 step: Callable[[int, int], None] | None = None, *, beside_otio: bool = False) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "animatic":
        opts = animatic.AnimaticOptions(width=options.width, height=options.height, fps=options.fps, wpm=wpm,
                                        subtitles=options.subtitles)
        return animatic.render_animatic(video, target, options=opts, progress=step).path
    if kind == "captions":
        cues = captions.caption_cues(video, wpm=wpm)
        return files.write_text(target, captions.to_srt(cues) if ext == "srt" else captions.to_vtt(cues))
    if ext == "edl":
        # Beside the .otio, the EDL is part of its bundle: it names the copies in `<name>_media/`, not the store.
        media_name = timeline.media_folder(target).name if beside_otio else None
        with files.writing(target) as tmp:  # the timeline writers write in place: they get the temporary name
            timeline.write_edl(video, tmp, wpm=wpm, fps=options.fps, media_name=media_name)
        return target
    if ext == "otioz":
        with files.writing(target) as tmp:
            timeline.write_otioz(video, tmp, wpm=wpm, fps=options.fps, edl_name=f"{target.stem}.edl")
        return target
    # The .otio refers to its media bundle (`<name>_media/`) by the final name; the bundle is staged under a
    # temporary name and swapped in with the .otio, so a killed export leaves the last good pair.
    media = timeline.media_folder(target)
    files.sweep_staging(media)
    staging = media.with_name(f"{media.name}{files.PART}-{secrets.token_hex(4)}")
    try:
        with files.writing(target) as tmp:
            timeline.write_otio(video, tmp, wpm=wpm, fps=options.fps, media_into=staging, media_name=media.name)
            if media.exists():
                shutil.rmtree(media)
            if staging.exists():
                staging.rename(media)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
