"""Editor timelines per video: OpenTimelineIO (.otio, for Resolve / Premiere via plug-in / Final Cut via
converters) and a CMX 3600 EDL (read by every editor), both on the animatic's timing rule.

The events are the animatic's cut (`core.exports.cut`): clips, stills and gaps, in the same order and length, on
track V1; the narration audio of voiced shots on track A1 (gaps under shots not voiced yet); the caption cues on a
"Captions" track of markers. `write_otio` bundles by default: the media are copied (hard-linked where possible)
into a `<name>_media/` folder beside the .otio and referenced by relative paths, so the folder opens on another
machine; `bundle=False` references the studio's files by absolute `file://` URLs. The EDL lists the picture
events, then the audio events (channel A); written beside a bundle, its SOURCE FILE comments name the bundled
copies by the same relative paths. `write_otioz` makes the whole timeline one file: an OpenTimelineIO bundle
(`.otioz`, a zip: `content.otio`, the EDL and `media/`) that OTIO reads as is and any unzip opens. Bundled media
are readable by everyone (0644), whatever the studio's store keeps (owner-only).

A narration clip never runs past its audio: its source range is the shot's time floored to the audio's own
length in frames (rounding the shot's start and end to frames could add one), with a gap for the rest.
"""

from __future__ import annotations

import math
import os
import shutil
import stat
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import opentimelineio as otio
from opentimelineio.adapters import file_bundle_utils as otio_bundle

from core.exports.captions import caption_cues, shot_timings
from core.exports.cut import video_cut
from core.exports.data import VideoRow

DEFAULT_FPS = 25
READABLE = 0o644  # bundled files: an editor's machine (another user, a shared drive) must be able to read them
# The OTIOZ layout, as OpenTimelineIO's own otioz adapter writes and reads it: content.otio, version.txt, media/…
OTIOZ_MEDIA = otio_bundle.BUNDLE_DIR_NAME
OTIOZ_CONTENT = otio_bundle.BUNDLE_PLAYLIST_PATH
OTIOZ_VERSION = (otio_bundle.BUNDLE_VERSION_FILE, otio_bundle.BUNDLE_VERSION)


MediaRef = Callable[[Path], str]


def _absolute(path: Path) -> str:
    return path.resolve().as_uri()


def _store_path(path: Path) -> str:
    return str(path.resolve())


def bundled_name(folder: str, path: Path) -> str:
    """The relative path a bundle gives `path` (the .otio, the EDL and the zip all use this one rule)."""
    return f"{folder}/{path.name}"  # content-addressed names: two files never share one


def build_otio(video: VideoRow, *, wpm: float, fps: int = DEFAULT_FPS,
               media_ref: MediaRef = _absolute) -> otio.schema.Timeline:
    """The timeline; `media_ref` turns a media file into the URL written in the .otio."""
    timeline = otio.schema.Timeline(name=f"{video.number}. {video.title}")
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)

    def rt(seconds: float) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(round(seconds * fps), fps)

    for ev in video_cut(video, wpm=wpm):
        frames = _frames(ev.end, fps) - _frames(ev.start, fps)
        if frames <= 0:
            continue
        source = otio.opentime.TimeRange(rt(0), otio.opentime.RationalTime(frames, fps))
        meta = {"course_visual_studio": {"shot_id": ev.shot.shot_id, "shot": ev.shot.position,
                                         "status": ev.shot.status, "narration": ev.shot.narration,
                                         "directions": list(ev.shot.directions), "kind": ev.kind}}
        if ev.media is None:
            track.append(otio.schema.Gap(source_range=source, metadata=meta))
            continue
        available = None
        if ev.kind == "clip" and ev.shot.clip_duration_s:
            available = otio.opentime.TimeRange(rt(0), rt(ev.shot.clip_duration_s))
        ref = otio.schema.ExternalReference(target_url=media_ref(ev.media), available_range=available)
        clip = otio.schema.Clip(name=f"Shot {ev.shot.position} {ev.kind}", media_reference=ref,
                                source_range=source, metadata=meta)
        clip.markers.append(otio.schema.Marker(name=ev.shot.narration[:200],
                                               marked_range=otio.opentime.TimeRange(rt(0), rt(0))))
        track.append(clip)
    if any(shot.voice_path is not None for shot in video.shots):
        timeline.tracks.append(_narration_track(video, wpm=wpm, fps=fps, media_ref=media_ref))
    timeline.tracks.append(_caption_track(video, wpm=wpm, fps=fps))
    return timeline


def _narration_track(video: VideoRow, *, wpm: float, fps: int, media_ref: MediaRef) -> otio.schema.Track:
    """A1: each voiced shot's narration audio on the shot's time; a gap under a shot not voiced yet."""
    track = otio.schema.Track(name="A1 Narration", kind=otio.schema.TrackKind.Audio)
    for shot, timing in zip(video.shots, shot_timings(video.shots, wpm=wpm)):
        frames = _frames(timing.end, fps) - _frames(timing.start, fps)
        if frames <= 0:
            continue
        source = otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps), otio.opentime.RationalTime(frames, fps))
        meta = {"course_visual_studio": {"shot_id": shot.shot_id, "shot": shot.position, "kind": "narration",
                                         "estimated": timing.estimated}}
        if shot.voice_path is None:
            track.append(otio.schema.Gap(source_range=source, metadata=meta))
            continue
        heard = _audio_frames(frames, shot.voice_duration_s, fps)
        available = otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps),
                                            otio.opentime.RationalTime.from_seconds(shot.voice_duration_s or 0, fps))
        ref = otio.schema.ExternalReference(target_url=media_ref(shot.voice_path), available_range=available)
        track.append(otio.schema.Clip(name=f"Shot {shot.position} narration", media_reference=ref,
                                      source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps),
                                                                           otio.opentime.RationalTime(heard, fps)),
                                      metadata=meta))
        if heard < frames:  # the shot's last frame(s) past the audio: silence, so the next shot stays in sync
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, fps), otio.opentime.RationalTime(frames - heard, fps))))
    return track


def _audio_frames(slot: int, seconds: float | None, fps: int) -> int:
    """How many of a shot's `slot` frames its audio fills: never more than the audio's own length, floored."""
    if not seconds:
        return slot
    return min(slot, math.floor(seconds * fps + 1e-6))


def _caption_track(video: VideoRow, *, wpm: float, fps: int) -> otio.schema.Track:
    """The caption cues as markers (name = the cue's text) on a track of gaps, one gap per cue."""
    track = otio.schema.Track(name="Captions", kind=otio.schema.TrackKind.Video)
    at = 0
    for cue in caption_cues(video, wpm=wpm):
        start, end = _frames(cue.start, fps), _frames(cue.end, fps)
        if start > at:
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, fps), otio.opentime.RationalTime(start - at, fps))))
        if end <= start:
            continue
        length = otio.opentime.RationalTime(end - start, fps)
        gap = otio.schema.Gap(source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps), length),
                              metadata={"course_visual_studio": {"caption": cue.text}})
        gap.markers.append(otio.schema.Marker(name=cue.text, marked_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, fps), length), color=otio.schema.MarkerColor.YELLOW))
        track.append(gap)
        at = end
    return track


def media_folder(out: Path) -> Path:
    """Where the bundle of the .otio at `out` lives: `<stem>_media/` beside it."""
    return out.with_name(f"{out.stem}_media")


def is_bundled_media(path: Path) -> bool:
    """True for a file in the media folder of an .otio beside it: part of that timeline, not a deliverable alone."""
    folder = path.parent
    return folder.name.endswith("_media") and folder.with_name(f"{folder.name[:-len('_media')]}.otio").is_file()


def write_otio(video: VideoRow, out: Path, *, wpm: float, fps: int = DEFAULT_FPS, bundle: bool = True,
               media_into: Path | None = None, media_name: str | None = None) -> Path:
    """Write the .otio; with `bundle`, its media go into `<stem>_media/` beside it, referenced relatively.

    An export written under a temporary name (`core.exports.files.writing`) gives the bundle's final folder name
    (`media_name`, what the .otio refers to) and a staging folder to copy into (`media_into`), and moves the
    staging folder in place with the .otio, so neither a half-written bundle nor a temporary name is left behind."""
    out.parent.mkdir(parents=True, exist_ok=True)
    media_ref: MediaRef = _absolute
    if bundle:
        folder = media_into or media_folder(out)
        if folder.exists():
            shutil.rmtree(folder)  # a re-export replaces the bundle, as it replaces the .otio
        media_ref = _Bundler(folder, name=media_name)
    otio.adapters.write_to_file(build_otio(video, wpm=wpm, fps=fps, media_ref=media_ref), str(out))
    return out


class _Bundler:
    """Copies each media file once into the bundle folder and answers its path relative to the .otio."""

    def __init__(self, folder: Path, *, name: str | None = None) -> None:
        self.folder = folder
        self.name = name or folder.name  # the folder's name beside the .otio once the export is in place
        self.done: dict[Path, str] = {}

    def __call__(self, path: Path) -> str:
        if path in self.done:
            return self.done[path]
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / path.name  # content-addressed names: two files never share one
        if not target.exists():
            _copy_readable(path, target)
        self.done[path] = bundled_name(self.name, path)
        return self.done[path]


def _copy_readable(path: Path, target: Path) -> None:
    """`path` into the bundle, readable by everyone: hard-linked when the store's file already is (same disk, no
    copy), else copied and opened up (a link shares its mode, and the store's files stay owner-only)."""
    if stat.S_IMODE(path.stat().st_mode) & READABLE == READABLE:
        try:
            os.link(path, target)
            return
        except OSError:
            pass
    shutil.copy2(path, target)
    os.chmod(target, READABLE)


def write_otioz(video: VideoRow, out: Path, *, wpm: float, fps: int = DEFAULT_FPS,
                edl_name: str | None = None) -> Path:
    """The timeline as one file: an OTIOZ bundle (a zip) holding `content.otio`, the EDL (`edl_name`, default
    `<slug>.edl`) and every media file under `media/`, each referenced by its path inside the zip.

    Media are stored (not compressed: they are compressed already) and streamed in, so memory stays flat however
    long the clips; every entry is readable by everyone when unzipped."""
    names: dict[Path, str] = {}

    def ref(path: Path) -> str:
        return names.setdefault(path, bundled_name(OTIOZ_MEDIA, path))

    content = otio.adapters.write_to_string(build_otio(video, wpm=wpm, fps=fps, media_ref=ref), "otio_json")
    edl = build_edl(video, wpm=wpm, fps=fps, source=ref)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
        zf.writestr(_entry(OTIOZ_VERSION[0]), OTIOZ_VERSION[1])
        zf.writestr(_entry(OTIOZ_CONTENT), content)
        zf.writestr(_entry(edl_name or f"{video.slug}.edl"), edl.encode("ascii", errors="replace"))
        for path, name in names.items():
            found = path.stat()
            info = _entry(name, compress=zipfile.ZIP_STORED, mtime=found.st_mtime)
            info.file_size = found.st_size  # known up front: the zip decides on ZIP64 before streaming
            with open(path, "rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
    return out


def _entry(name: str, *, compress: int = zipfile.ZIP_DEFLATED, mtime: float | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.localtime(mtime if mtime is not None else time.time())[:6])
    info.compress_type = compress
    info.external_attr = (stat.S_IFREG | READABLE) << 16  # writestr's own default is owner-only (0600)
    return info


def _frames(seconds: float, fps: int) -> int:
    """Frame index of a time; events are cut on these, so consecutive events meet exactly."""
    return round(seconds * fps)


def _tc(frames: int, fps: int, *, hour: int = 0) -> str:
    frames += hour * 3600 * fps
    h, rem = divmod(frames, 3600 * fps)
    m, rem = divmod(rem, 60 * fps)
    s, f = divmod(rem, fps)
    return f"{h:02d}:{m:02d}:{s:02d}:{f:02d}"


def build_edl(video: VideoRow, *, wpm: float, fps: int = DEFAULT_FPS, source: MediaRef = _store_path) -> str:
    """A CMX 3600 EDL: record times start at 01:00:00:00 as editors expect; reel names are 8 characters.

    `source` names each media file in the SOURCE FILE comments: the studio's file, or its path in a bundle."""
    lines = [f"TITLE: V{video.number:02d} {_ascii(video.title)[:60]}".rstrip(), "FCM: NON-DROP FRAME", ""]
    n = 0
    for ev in video_cut(video, wpm=wpm):
        first, last = _frames(ev.start, fps), _frames(ev.end, fps)
        if last <= first:
            continue
        n += 1
        reel = "BL" if ev.media is None else f"S{ev.shot.position:03d}{'C' if ev.kind == 'clip' else 'S'}"
        src_in, src_out = _tc(0, fps), _tc(last - first, fps)
        rec_in, rec_out = _tc(first, fps, hour=1), _tc(last, fps, hour=1)
        lines.append(f"{n:03d}  {reel:<8} V     C        {src_in} {src_out} {rec_in} {rec_out}")
        if ev.media is not None:
            lines.append(f"* FROM CLIP NAME: {ev.media.name}")
            lines.append(f"* SOURCE FILE: {source(ev.media)}")
        lines.append(f"* COMMENT: SHOT {ev.shot.position} {ev.kind.upper()} {ev.shot.status.upper()}")
        lines.append("")
    for shot, timing in zip(video.shots, shot_timings(video.shots, wpm=wpm)):
        first, last = _frames(timing.start, fps), _frames(timing.end, fps)
        if shot.voice_path is None or last <= first:
            continue
        n += 1
        reel = f"S{shot.position:03d}A"
        heard = _audio_frames(last - first, shot.voice_duration_s, fps)  # never past the audio's own end
        lines.append(f"{n:03d}  {reel:<8} A     C        {_tc(0, fps)} {_tc(heard, fps)} {_tc(first, fps, hour=1)} "
                     f"{_tc(first + heard, fps, hour=1)}")
        lines.append(f"* FROM CLIP NAME: {shot.voice_path.name}")
        lines.append(f"* SOURCE FILE: {source(shot.voice_path)}")
        lines.append(f"* COMMENT: SHOT {shot.position} NARRATION")
        lines.append("")
    return "\n".join(lines)


def write_edl(video: VideoRow, out: Path, *, wpm: float, fps: int = DEFAULT_FPS,
              media_name: str | None = None) -> Path:
    """The EDL; `media_name`: it goes beside an .otio whose media bundle is that folder, so its SOURCE FILE
    comments name the bundled copies (`<media_name>/<file>`) rather than the studio's own files."""
    out.parent.mkdir(parents=True, exist_ok=True)
    source: MediaRef = _store_path if media_name is None else (lambda path: bundled_name(media_name, path))
    out.write_text(build_edl(video, wpm=wpm, fps=fps, source=source), encoding="ascii", errors="replace")
    return out


def _ascii(text: str) -> str:
    """EDL readers expect ASCII; Arabic titles are dropped from the TITLE line (the OTIO keeps them)."""
    return "".join(ch for ch in text if 32 <= ord(ch) < 127).strip()
