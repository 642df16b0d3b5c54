"""The offline clip renderer: a real H.264 MP4 made with PyAV, no keys needed.

A slow push-in on the start image; when an end image is given, the last part crossfades to it (still pushing
in), so an animatic of offline clips already reads like the storyboard. Frames are drawn at 640×360 and encoded
with x264's ultrafast preset so a 5 s clip takes well under two seconds.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
from PIL import Image

FPS = 24
CROSSFADE_FROM = 0.55  # fraction of the clip after which the end image fades in
PUSH_IN = 0.12  # total zoom over the clip


def render_clip(start_image: bytes, end_image: bytes | None = None, *, duration_s: float = 5.0,
                width: int = 640, height: int = 360, fps: int = FPS) -> bytes:
    """MP4 bytes (H.264, yuv420p, `fps`) of a push-in on `start_image`, crossfading to `end_image`."""
    width, height = _even(width), _even(height)
    start = _prepared(start_image, width, height)
    end = _prepared(end_image, width, height) if end_image else None
    total = max(1, round(duration_s * fps))

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        stream.options = {"preset": "ultrafast", "crf": "26", "tune": "stillimage"}
        for i in range(total):
            t = i / max(total - 1, 1)
            pixels = _zoomed(start, t, width, height)
            if end is not None and t > CROSSFADE_FROM:
                a = (t - CROSSFADE_FROM) / (1 - CROSSFADE_FROM)
                a = a * a * (3 - 2 * a)  # smoothstep: no visible kink where the fade starts
                pixels = (pixels * (1 - a) + _zoomed(end, t, width, height) * a)
            frame = av.VideoFrame.from_ndarray(pixels.astype(np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def _prepared(data: bytes, width: int, height: int) -> Image.Image:
    """The image cover-fitted to the push-in's largest extent, kept as a Pillow image for fast crops."""
    with Image.open(io.BytesIO(data)) as img:
        src = img.convert("RGB")
    big_w, big_h = int(width * (1 + PUSH_IN)) + 2, int(height * (1 + PUSH_IN)) + 2
    scale = max(big_w / src.width, big_h / src.height)
    resized = src.resize((max(big_w, round(src.width * scale)), max(big_h, round(src.height * scale))),
                         Image.Resampling.BILINEAR)
    left, top = (resized.width - big_w) // 2, (resized.height - big_h) // 2
    return resized.crop((left, top, left + big_w, top + big_h))


def _zoomed(img: Image.Image, t: float, width: int, height: int) -> np.ndarray:
    zoom = 1 + PUSH_IN * (t * t * (3 - 2 * t))  # ease in and out
    cw, ch = img.width / zoom, img.height / zoom
    left, top = (img.width - cw) / 2, (img.height - ch) / 2
    crop = img.resize((width, height), Image.Resampling.BILINEAR, box=(left, top, left + cw, top + ch))
    return np.asarray(crop, dtype=np.float32)


def _even(n: int) -> int:
    return max(2, n - n % 2)
