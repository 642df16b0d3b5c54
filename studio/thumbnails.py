"""Small JPEG previews of rendered images: read (or made) once per image file, kept in memory, drawn without
re-encoding.

Why: `st.image` of an RGB PNG path re-encodes it as JPEG on every run (its "auto" format), so drawing the
1280×720 renders directly cost a full decode and encode per image per page run — most of the Images and
Storyboard pages' time. The worker stores a preview next to each render (`core/previews.py`); this module reads
it once per file, or makes it when none was stored, and hands it to Streamlit as JPEG, which it passes through
untouched. Image files are content-addressed (`assets/ab/<sha256>.<ext>`, or the download cache's copy of that
key), so a preview never goes stale; size and mtime are part of the cache key anyway, for files rewritten in place.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

import streamlit as st

from core.previews import make_preview, preview_path

log = logging.getLogger("studio")

# About 30 KB each: a 30-video script's frames and their takes fit in a few tens of MB.
PREVIEW_CACHE_SIZE = 1024


@lru_cache(maxsize=PREVIEW_CACHE_SIZE)
def _preview(path: str, size: int, mtime_ns: int) -> bytes | None:
    """The JPEG preview of the image file at `path`: the worker's, else made here; None when the file is not a
    readable image (logged)."""
    from PIL import UnidentifiedImageError

    try:
        return preview_path(Path(path)).read_bytes()
    except (OSError, IndexError):  # none stored (an older render, a cached download), or not an asset's path
        pass
    try:
        return make_preview(Path(path))
    except (OSError, UnidentifiedImageError, ValueError) as err:
        log.warning("cannot make a preview of %s: %s", path, err)
        return None


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
