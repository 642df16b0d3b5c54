"""Check that downloaded bytes really are an image or a video before they become a take.

A CDN can answer with an HTML error page, a download can be cut short, a provider can send something huge:
each of those must fail the job with a message a producer understands, never store garbage.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

from core.errors import ProviderError

MediaKind = Literal["image", "clip", "voice"]

_IMAGE_FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"), "WEBP": ("image/webp", "webp")}


class MediaError(ProviderError):
    """The bytes are not a usable image or video. Not retryable: the same download gives the same bytes."""

    category = "bad_output"


@dataclass(frozen=True)
class MediaInfo:
    kind: MediaKind
    content_type: str
    ext: str
    width: int
    height: int
    size_bytes: int
    duration_s: float | None = None
    codec: str | None = None
    fps: float | None = None


def verify_media(data: bytes, *, kind: MediaKind, max_bytes: int) -> MediaInfo:
    """Verify `data` is an image (`kind="image"`) or an MP4 video (`kind="clip"`) no larger than `max_bytes`."""
    if kind == "image":
        return verify_image(data, max_bytes=max_bytes)
    if kind == "voice":
        from core.voice.audio import verify_audio

        return verify_audio(data, max_bytes=max_bytes)
    return verify_video(data, max_bytes=max_bytes)


def verify_image(data: bytes, *, max_bytes: int) -> MediaInfo:
    """A PNG, JPEG or WebP whose pixels decode completely."""
    check_size(data, max_bytes, "image")
    from PIL import Image, UnidentifiedImageError

    what = sniff(data)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            probe.verify()  # structure and checksums
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # a truncated file fails here, not in verify()
            width, height = img.size
    except UnidentifiedImageError:
        raise MediaError(f"The download is not an image (it looks like {what})") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise MediaError(f"The downloaded image is damaged or incomplete ({err})") from None
    if fmt not in _IMAGE_FORMATS:
        raise MediaError(f"The download is a {fmt or 'unknown'} image; expected PNG, JPEG or WebP")
    content_type, ext = _IMAGE_FORMATS[fmt]
    if width < 1 or height < 1:
        raise MediaError("The downloaded image is empty")
    return MediaInfo("image", content_type, ext, width, height, len(data))


def verify_video(data: bytes, *, max_bytes: int) -> MediaInfo:
    """An MP4 with a video stream that decodes from its first to its last packet."""
    check_size(data, max_bytes, "video")
    import av

    what = sniff(data)
    if what != "an MP4 video":
        raise MediaError(f"The download is not an MP4 video (it looks like {what})")
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise MediaError("The downloaded video has no picture track")
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            width, height = stream.codec_context.width, stream.codec_context.height
            fps = float(stream.average_rate) if stream.average_rate else None
            decoded = 0
            for _frame in container.decode(stream):
                decoded += 1
            duration = _duration_s(container, stream, decoded, fps)
    except MediaError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as err:
        raise MediaError(f"The downloaded video is damaged or incomplete ({err})") from None
    if decoded == 0 or width < 1 or height < 1:
        raise MediaError("The downloaded video has no frames")
    return MediaInfo("clip", "video/mp4", "mp4", width, height, len(data), duration, codec, fps)


def _duration_s(container: object, stream: object, decoded: int, fps: float | None) -> float:
    dur = getattr(stream, "duration", None)
    tb = getattr(stream, "time_base", None)
    if dur and tb:
        return round(float(dur * tb), 3)
    cdur = getattr(container, "duration", None)
    if cdur:
        return round(float(cdur) / 1_000_000, 3)
    return round(decoded / fps, 3) if fps else 0.0


def check_size(data: bytes, max_bytes: int, what: str) -> None:
    if len(data) == 0:
        raise MediaError(f"The {what} download is empty")
    if len(data) > max_bytes:
        raise MediaError(
            f"The {what} download is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit"
        )


def sniff(data: bytes) -> str:
    """A producer-readable guess at what some bytes are, for error messages."""
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "a web page"
    if head.startswith((b"{", b"[")):
        return "a JSON message"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "a PNG image"
    if data[:3] == b"\xff\xd8\xff":
        return "a JPEG image"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    if data[4:8] == b"ftyp":
        return "an MP4 video"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "a WAV sound"
    if data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "an MP3 sound"
    return "unknown data"
