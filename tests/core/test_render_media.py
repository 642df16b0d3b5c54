"""Verifying downloaded bytes: real images and videos pass with their dimensions; anything else fails clearly."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.render.media import MediaError, verify_image, verify_media, verify_video
from core.render.offline_clip import render_clip

MB = 1024 * 1024


def _image(fmt: str, size: tuple[int, int] = (64, 36)) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, (30, 90, 160))
    img.paste((250, 250, 250), (0, 0, 20, 20))
    img.save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt, content_type, ext", [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"),
                                                    ("WEBP", "image/webp", "webp")])
def test_real_images_pass_with_their_size(fmt: str, content_type: str, ext: str) -> None:
    info = verify_image(_image(fmt), max_bytes=MB)
    assert (info.content_type, info.ext, info.width, info.height) == (content_type, ext, 64, 36)


@pytest.mark.parametrize("data, message", [
    (b"<!DOCTYPE html><html><head><title>403</title></head><body>Forbidden</body></html>", "web page"),
    (b'{"detail": "expired"}', "JSON message"),
    (b"", "empty"),
])
def test_things_that_are_not_images_are_named(data: bytes, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        verify_image(data, max_bytes=MB)


def test_truncated_and_oversized_images_fail() -> None:
    png = _image("PNG", (400, 300))
    with pytest.raises(MediaError, match="damaged or incomplete"):
        verify_image(png[: len(png) // 2], max_bytes=MB)
    with pytest.raises(MediaError, match="over the"):
        verify_image(png, max_bytes=len(png) - 1)
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    with pytest.raises(MediaError, match="expected PNG, JPEG or WebP"):
        verify_image(gif.getvalue(), max_bytes=MB)


def test_videos_are_probed_and_broken_ones_refused() -> None:
    mp4 = render_clip(_image("PNG", (320, 180)), duration_s=1.0, width=160, height=90)
    info = verify_media(mp4, kind="clip", max_bytes=MB)
    assert (info.codec, info.width, info.height, info.fps) == ("h264", 160, 90, 24.0)
    assert info.duration_s == pytest.approx(1.0, abs=0.1)
    with pytest.raises(MediaError):
        verify_video(mp4[: len(mp4) // 3], max_bytes=MB)
    with pytest.raises(MediaError, match="not an MP4 video .*a PNG image"):
        verify_video(_image("PNG"), max_bytes=MB)
    with pytest.raises(MediaError, match="over the"):
        verify_video(mp4, max_bytes=100)
