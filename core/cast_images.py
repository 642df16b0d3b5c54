"""Checking a reference image a producer uploads (a presenter's photo, a set's still) before it is stored.

The rules, each refused with a sentence that names the file and what to do:
- not empty, and at most `max_bytes` (the studio's upload limit);
- a PNG, JPEG or WebP (a GIF, HEIC, PDF, web page or anything else is named as what it looks like);
- at most MAX_PIXELS pixels, read from the header before any pixel is decoded (a 20000 × 20000 "bomb" is
  refused without allocating it), and at least MIN_SIDE pixels on its short side (a model cannot take identity
  from an icon);
- every pixel decodes (a truncated or damaged file is refused, not stored and sent to every render).
"""

from __future__ import annotations

import io
import warnings

from core.errors import ValidationError
from core.render.media import MediaInfo

MAX_PIXELS = 40_000_000  # 40 megapixels: larger photos gain nothing as references and cost memory
MIN_SIDE = 64
_FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"), "WEBP": ("image/webp", "webp")}


def _looks_like(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "a web page"
    if data[:5] == b"%PDF-":
        return "a PDF document"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "a GIF image"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return "a HEIC photo"
    if data[4:8] == b"ftyp":
        return "a video"
    if data[:2] == b"PK":
        return "a zip archive (or an Office document)"
    if head.startswith((b"{", b"[")):
        return "a JSON file"
    return "not an image"


def check_reference_image(data: bytes, *, what: str = "The reference image",
                          max_bytes: int = 20 * 1024 * 1024) -> MediaInfo:
    """The image's type and size when it can be used as a reference; else a `ValidationError` a producer reads."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ValidationError(f"{what} is empty (0 bytes): choose the photo again")
    if len(data) > max_bytes:
        raise ValidationError(f"{what} is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit: "
                              "save it smaller (a 2000-pixel JPEG is plenty) and upload it again")
    try:
        with warnings.catch_warnings():  # a huge header is refused below, in words, not warned about
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = (probe.format or "").upper()
                width, height = probe.size
    except Image.DecompressionBombError:
        raise ValidationError(f"{what} has far more pixels than the {MAX_PIXELS // 1_000_000} megapixel limit: "
                              "resize it (2000 pixels on the long side is plenty)") from None
    except UnidentifiedImageError:
        raise ValidationError(f"{what} cannot be read as a picture (it looks like {_looks_like(data)}): use a "
                              "PNG, JPEG or WebP photo") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ValidationError(f"{what} is damaged or incomplete ({err}): export it again") from None
    if fmt not in _FORMATS:
        raise ValidationError(f"{what} is a {fmt or 'unknown'} image: use a PNG, JPEG or WebP photo")
    if width * height > MAX_PIXELS:
        raise ValidationError(f"{what} is {width} × {height} pixels, over the {MAX_PIXELS // 1_000_000} "
                              "megapixel limit: resize it (2000 pixels on the long side is plenty)")
    if min(width, height) < MIN_SIDE:
        raise ValidationError(f"{what} is only {width} × {height} pixels: a model needs at least {MIN_SIDE} "
                              "pixels on the short side to keep a face or a set")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # a truncated file fails here, not in verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ValidationError(f"{what} is damaged or incomplete ({err}): export it again") from None
    content_type, ext = _FORMATS[fmt]
    return MediaInfo("image", content_type, ext, width, height, len(data))
