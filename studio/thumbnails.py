"""Small JPEG previews of rendered images: made once per image file, kept in memory, drawn without re-encoding.

Why: `st.image` of an RGB PNG path re-encodes it as JPEG on every run (its "auto" format), so drawing the
1280×720 renders directly cost a full decode and encode per image per page run — most of the Images and
Storyboard pages' time. A preview is made once per file and handed to Streamlit as JPEG, which it passes through
untouched. Image files are content-addressed (`assets/ab/<sha256>.<ext>`, or the download cache's copy of that
key), so a preview never goes stale; size and mtime are part of the cache key anyway, for files rewritten in place.
"""

from __future__ import annotations

import io
import logging
import os
from functools import lru_cache
from pathlib import Path

import streamlit as st

log = logging.getLogger("studio")

PREVIEW_WIDTH = 640  # a frame column of the wide layout, with room for high-density screens
PREVIEW_QUALITY = 82
# About 30 KB each: a 30-video script's frames and their takes fit in a few tens of MB.
PREVIEW_CACHE_SIZE = 1024


@lru_cache(maxsize=PREVIEW_CACHE_SIZE)
def _preview(path: str, size: int, mtime_ns: int) -> bytes | None:
    """JPEG bytes at most PREVIEW_WIDTH wide, or None when the file is not a readable image (logged)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.draft("RGB", (PREVIEW_WIDTH, PREVIEW_WIDTH))  # JPEG sources decode at a reduced scale
            small = img.convert("RGB")
        # A box reduce by a whole factor is a tenth of the cost of a filtered resize, and as sharp at this size.
        if small.width >= 2 * PREVIEW_WIDTH:
            small = small.reduce(small.width // PREVIEW_WIDTH)
        if small.width > PREVIEW_WIDTH:
            small.thumbnail((PREVIEW_WIDTH, PREVIEW_WIDTH * 4), resample=Image.Resampling.BILINEAR)
        out = io.BytesIO()
        small.save(out, format="JPEG", quality=PREVIEW_QUALITY)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        log.warning("cannot make a preview of %s: %s", path, err)
        return None
    return out.getvalue()


def preview_bytes(path: Path) -> bytes | None:
    """The cached JPEG preview of the image file at `path`; None when it is missing or unreadable."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _preview(str(path), stat.st_size, stat.st_mtime_ns)


def show_preview(path: Path, *, width: int | str = "stretch") -> None:
    """Draw the image at `path` as its preview; a file that cannot be read says so instead of failing the page."""
    data = preview_bytes(path)
    if data is None:
        st.caption(":material/broken_image: this image file cannot be shown")
        return
    st.image(data, width=width, output_format="JPEG")  # type: ignore[arg-type]
