"""The animatic — the narrated cut once shots are voiced: one H.264 MP4 per video that plays the cut
(`core.exports.cut`) at the narration's pace.

Clips play at their own speed; stills get a slow push-in so a still shot does not look frozen; a shot with no
image shows a title card. Subtitles (the caption cues) can be burned in; they are off by default because the
captions are also delivered as SRT / WebVTT. Frames are generated one at a time and streamed into the encoder,
so memory stays flat however long the video is.

When any shot has narration audio, the file carries the narration track (AAC): each voiced shot's audio, sample-
exact on the shot's time (the audio sets that time, `core.timing`), silence under shots not voiced yet. Audio is
encoded shot by shot as the pictures are, so memory stays flat here too (one shot's audio at a time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont, ImageOps

from core.errors import StudioError, ValidationError
from core.exports.captions import DEFAULT_WPM, Cue, caption_cues
from core.exports.cut import CutEvent, video_cut
from core.exports.data import VideoRow
from core.exports.pdf import has_arabic
from core.exports.captions import ShotTiming, shot_timings

FONTS = Path(__file__).resolve().parent.parent / "fonts"
BACKGROUND = (18, 18, 24)


@dataclass(frozen=True)
class AnimaticOptions:
    width: int = 1280
    height: int = 720
    fps: int = 25
    wpm: float = DEFAULT_WPM  # speaking rate that sets each shot's length
    subtitles: bool = False  # burn the caption cues into the picture
    push_in: float = 0.08  # how much a still zooms in over its time on screen (0.08 = 8 %)


@dataclass(frozen=True)
class AnimaticResult:
    path: Path
    duration_s: float
    frames: int
    width: int
    height: int
    audio_s: float | None = None  # the narration track's length; None for a silent animatic
    voiced_shots: int = 0


def render_animatic(video: VideoRow, out: Path, *, options: AnimaticOptions = AnimaticOptions(),
                    progress: Callable[[int, int], None] | None = None) -> AnimaticResult:
    """Encode the animatic of `video` to `out` (MP4). `progress(done, total)` follows the shots encoded."""
    if options.width % 2 or options.height % 2 or options.width < 16 or options.height < 16:
        raise ValidationError("The animatic size must be even and at least 16×16 pixels")
    if not video.shots:
        raise ValidationError(f"Video {video.number} has no storyboard to make an animatic from")
    size = (options.width, options.height)
    cues = caption_cues(video, wpm=options.wpm) if options.subtitles else []
    captions = _CaptionLayer(cues, size) if cues else None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    total = 0
    voiced = sum(1 for shot in video.shots if shot.voice_path is not None)
    narration: _NarrationTrack | None = None
    timings = {t.shot_id: t for t in shot_timings(video.shots, wpm=options.wpm)}
    with av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=options.fps, options={"preset": "veryfast", "crf": "23"})
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, options.fps)
        if voiced:
            narration = _NarrationTrack(container)
        spoken: set[int] = set()
        events = video_cut(video, wpm=options.wpm)
        for done, event in enumerate(events, 1):
            if narration is not None and event.shot.shot_id not in spoken:
                spoken.add(event.shot.shot_id)
                narration.add_shot(event.shot.voice_path, timings[event.shot.shot_id])
            first, last = round(event.start * options.fps), round(event.end * options.fps)
            for frame in _event_frames(event, last - first, size, options):
                if captions is not None:
                    frame = captions.apply(frame, (total + 0.5) / options.fps)
                frame.pts = total
                for packet in stream.encode(frame):
                    container.mux(packet)
                total += 1
            if progress is not None:
                progress(done, len(events))
        for packet in stream.encode():
            container.mux(packet)
        if narration is not None:
            narration.close()
    tmp.replace(out)
    return AnimaticResult(out, total / options.fps, total, options.width, options.height,
                          narration.seconds if narration is not None else None, voiced)


class _NarrationTrack:
    """The AAC narration stream: shots' audio appended in order, each padded with silence (or trimmed) to its
    exact sample count on the timeline, so the sound never drifts from the pictures."""

    def __init__(self, container: av.container.OutputContainer) -> None:
        from core.voice.audio import SAMPLE_RATE

        self.rate = SAMPLE_RATE
        self.container = container
        self.stream = container.add_stream("aac", rate=self.rate, layout="mono")
        self.stream.bit_rate = 96_000
        self.frame_size = 1024  # AAC's frame; only the very last frame may be shorter
        self.pending = np.zeros(0, np.float32)
        self.written = 0  # samples placed on the timeline so far
        self.pts = 0

    @property
    def seconds(self) -> float:
        return self.written / self.rate

    def add_shot(self, voice: Path | None, timing: ShotTiming) -> None:
        from core.voice.audio import decode

        want = round(timing.end * self.rate) - self.written
        if want <= 0:
            return
        samples = np.zeros(want, np.float32)
        if voice is not None:
            try:
                spoken = decode(voice.read_bytes())[:want]
                samples[: spoken.size] = spoken
            except (OSError, StudioError):
                pass  # unreadable audio becomes silence for its time, never a failed cut
        self.written += want
        self.pending = np.concatenate([self.pending, samples])
        while self.pending.size >= self.frame_size:
            self._encode(self.pending[: self.frame_size])
            self.pending = self.pending[self.frame_size:]

    def _encode(self, chunk: npt.NDArray[np.float32] | None) -> None:
        frame = None
        if chunk is not None:
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = self.rate
            frame.pts = self.pts
            frame.time_base = Fraction(1, self.rate)
            self.pts += chunk.size
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        if self.pending.size:
            self._encode(self.pending)
            self.pending = np.zeros(0, np.float32)
        self._encode(None)


def _to_frame(image: Image.Image, size: tuple[int, int]) -> av.VideoFrame:
    """An encoder-ready frame: FFmpeg's scaler resizes and converts to YUV in one pass (far faster than Pillow)."""
    frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
    scaled: av.VideoFrame = frame.reformat(width=size[0], height=size[1], format="yuv420p",
                                           interpolation="BILINEAR")
    return scaled


def _event_frames(event: CutEvent, count: int, size: tuple[int, int],
                  options: AnimaticOptions) -> Iterator[av.VideoFrame]:
    """Exactly `count` frames for one event of the cut."""
    done = 0
    if count <= 0:
        return
    if event.kind == "clip" and event.media is not None:
        try:
            for frame in _clip_frames(event.media, count, size, options.fps):
                yield frame
                done += 1
        except (av.error.FFmpegError, OSError, StopIteration):
            pass  # an unreadable clip becomes a card for the rest of its time, never a failed animatic
    elif event.kind == "still" and event.media is not None:
        yield from _push_in(event.media, count, size, options.push_in)
        return
    if done < count:
        card = _to_frame(_card(event, size), size)
        for _ in range(count - done):
            yield card


def _fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Letterbox to the output's aspect (nothing cut off); same-aspect images pass through untouched."""
    if abs(image.width * size[1] - image.height * size[0]) <= max(image.width, image.height) // 100:
        return image.convert("RGB")
    scale = min(size[0] / image.width, size[1] / image.height)
    box = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return ImageOps.pad(image.convert("RGB"), size, color=(0, 0, 0)) if box != size else image.convert("RGB")


def _clip_frames(path: Path, count: int, size: tuple[int, int], fps: int) -> Iterator[av.VideoFrame]:
    """`count` output frames from the clip at its own speed; past its end, its last frame holds."""
    with av.open(str(path)) as src:
        decoded = src.decode(src.streams.video[0])
        current = next(decoded)
        pending = next(decoded, None)
        frame = _to_frame(_fit(current.to_image(), size), size)  # type: ignore[no-untyped-call]
        for i in range(count):
            t = i / fps
            changed = False
            while pending is not None and (pending.time or 0.0) <= t + 1e-6:
                current, pending, changed = pending, next(decoded, None), True
            if changed:
                frame = _to_frame(_fit(current.to_image(), size), size)  # type: ignore[no-untyped-call]
            yield frame


def _push_in(path: Path, count: int, size: tuple[int, int], amount: float) -> Iterator[av.VideoFrame]:
    """A slow centred zoom: crop a shrinking box of the still and let the scaler bring it to full size."""
    with Image.open(path) as src:
        base = ImageOps.pad(src.convert("RGB"), size, color=(0, 0, 0))
    w, h = size
    for i in range(count):
        scale = 1.0 + amount * (i / max(1, count - 1))
        cw, ch = max(2, round(w / scale)), max(2, round(h / scale))
        x, y = (w - cw) // 2, (h - ch) // 2
        yield _to_frame(base.crop((x, y, x + cw, y + ch)), size)


def _font(text: str, px: int) -> ImageFont.FreeTypeFont:
    name = "NotoSansArabic-Regular.ttf" if has_arabic(text) else "NotoSans-Regular.ttf"
    # Raqm shapes Arabic and orders it right to left; Pillow falls back to basic layout without it.
    return ImageFont.truetype(str(FONTS / name), px, layout_engine=ImageFont.Layout.RAQM)


def _card(event: CutEvent, size: tuple[int, int]) -> Image.Image:
    img = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(img)
    w, h = size
    title = f"Shot {event.shot.position}"
    draw.text((w / 2, h * 0.4), title, font=_font(title, max(10, h // 12)), fill=(235, 235, 235), anchor="mm")
    scene = next((f.scene_text for f in event.shot.frames if f.scene_text.strip()), "")[:120]
    if scene:
        draw.text((w / 2, h * 0.58), scene, font=_font(scene, max(8, h // 24)), fill=(180, 180, 190), anchor="mm")
    return img


class _CaptionLayer:
    """Burns the active cue into a frame; each cue's overlay is drawn once and reused."""

    def __init__(self, cues: list[Cue], size: tuple[int, int]) -> None:
        self.cues = cues
        self.size = size
        self._cache: dict[int, Image.Image] = {}

    def apply(self, frame: av.VideoFrame, t: float) -> av.VideoFrame:
        for n, cue in enumerate(self.cues):
            if cue.start <= t < cue.end:
                overlay = self._cache.get(n) or self._cache.setdefault(n, self._draw(cue.text))
                image = frame.to_image().convert("RGBA")  # type: ignore[no-untyped-call]
                image.alpha_composite(overlay)
                return _to_frame(image.convert("RGB"), self.size)
        return frame

    def _draw(self, text: str) -> Image.Image:
        w, h = self.size
        layer = Image.new("RGBA", self.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        font = _font(text, max(8, h // 22))
        box = draw.multiline_textbbox((w / 2, h * 0.92), text, font=font, anchor="md", align="center")
        pad = max(2, h // 90)
        draw.rectangle((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), fill=(0, 0, 0, 160))
        draw.multiline_text((w / 2, h * 0.92), text, font=font, anchor="md", align="center", fill=(255, 255, 255, 255))
        return layer
