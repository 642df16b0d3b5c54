"""Editor timelines per video: OpenTimelineIO (.otio, for Resolve / Premiere via plug-in / Final Cut via
converters) and a CMX 3600 EDL (read by every editor), both on the animatic's timing rule.

The events are the animatic's cut (`core.exports.cut`): clips, stills and gaps, in the same order and length. Media are referenced by absolute
`file://` URLs into the studio's data folder; an editor relinks by file name when the media move.
"""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

from core.exports.cut import video_cut
from core.exports.data import VideoRow

DEFAULT_FPS = 25


def build_otio(video: VideoRow, *, wpm: float, fps: int = DEFAULT_FPS) -> otio.schema.Timeline:
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
        ref = otio.schema.ExternalReference(target_url=ev.media.resolve().as_uri(), available_range=available)
        clip = otio.schema.Clip(name=f"Shot {ev.shot.position} {ev.kind}", media_reference=ref,
                                source_range=source, metadata=meta)
        clip.markers.append(otio.schema.Marker(name=ev.shot.narration[:200],
                                               marked_range=otio.opentime.TimeRange(rt(0), rt(0))))
        track.append(clip)
    return timeline


def write_otio(video: VideoRow, out: Path, *, wpm: float, fps: int = DEFAULT_FPS) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    otio.adapters.write_to_file(build_otio(video, wpm=wpm, fps=fps), str(out))
    return out


def _frames(seconds: float, fps: int) -> int:
    """Frame index of a time; events are cut on these, so consecutive events meet exactly."""
    return round(seconds * fps)


def _tc(frames: int, fps: int, *, hour: int = 0) -> str:
    frames += hour * 3600 * fps
    h, rem = divmod(frames, 3600 * fps)
    m, rem = divmod(rem, 60 * fps)
    s, f = divmod(rem, fps)
    return f"{h:02d}:{m:02d}:{s:02d}:{f:02d}"


def build_edl(video: VideoRow, *, wpm: float, fps: int = DEFAULT_FPS) -> str:
    """A CMX 3600 EDL: record times start at 01:00:00:00 as editors expect; reel names are 8 characters."""
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
            lines.append(f"* SOURCE FILE: {ev.media.resolve()}")
        lines.append(f"* COMMENT: SHOT {ev.shot.position} {ev.kind.upper()} {ev.shot.status.upper()}")
        lines.append("")
    return "\n".join(lines)


def write_edl(video: VideoRow, out: Path, *, wpm: float, fps: int = DEFAULT_FPS) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_edl(video, wpm=wpm, fps=fps), encoding="ascii", errors="replace")
    return out


def _ascii(text: str) -> str:
    """EDL readers expect ASCII; Arabic titles are dropped from the TITLE line (the OTIO keeps them)."""
    return "".join(ch for ch in text if 32 <= ord(ch) < 127).strip()
