"""Small JPEG previews of rendered images, made once when the image is rendered, next to it in the storage.

Why: the Storyboard and Images pages draw every frame's image as a preview (`studio/thumbnails.py`), and making
one is a full decode of the 1280×720 render plus a JPEG encode (~20 ms of CPU). Made in the studio on a page's
first view, that work landed on the producers who opened a video just after its renders finished, in the one
process that serves every producer. The worker makes the preview right after it stores the render instead, so
the studio only reads ~30 KB; the studio still makes one itself when none was stored (older renders, object
storage whose local cache has not fetched the preview).

Layout: the preview of asset `assets/ab/<sha256>.<ext>` is `previews/ab/<sha256>.jpg` in the same storage, so a
local file of the asset at `<root>/assets/ab/…` has its preview at `<root>/previews/ab/…` (`preview_path`).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from core.assets import AssetStore, check_asset_key

log = logging.getLogger(__name__)

PREVIEW_WIDTH = 640  # a frame column of the studio's wide layout, with room for high-density screens
PREVIEW_QUALITY = 82


def preview_key(asset_key: str) -> str:
    """The storage key of the preview of the asset `asset_key`."""
    _, shard, name = check_asset_key(asset_key).split("/")
    return f"previews/{shard}/{name.rsplit('.', 1)[0]}.jpg"


def preview_path(asset_file: Path) -> Path:
    """Where the preview of the asset whose local file is `asset_file` (`<root>/assets/ab/<sha256>.<ext>`) lives
    under the same root."""
    return asset_file.parents[2] / "previews" / asset_file.parent.name / f"{asset_file.stem}.jpg"


def make_preview(source: bytes | Path) -> bytes:
    """JPEG bytes at most PREVIEW_WIDTH wide. Raises OSError / ValueError when `source` is not a readable image."""
    from PIL import Image

    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
        img.draft("RGB", (PREVIEW_WIDTH, PREVIEW_WIDTH))  # JPEG sources decode at a reduced scale
        small = img.convert("RGB")
    # A box reduce by a whole factor is a tenth of the cost of a filtered resize, and as sharp at this size.
    if small.width >= 2 * PREVIEW_WIDTH:
        small = small.reduce(small.width // PREVIEW_WIDTH)
    if small.width > PREVIEW_WIDTH:
        small.thumbnail((PREVIEW_WIDTH, PREVIEW_WIDTH * 4), resample=Image.Resampling.BILINEAR)
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=PREVIEW_QUALITY)
    return out.getvalue()


def store_preview(store: AssetStore, asset_key: str, data: bytes) -> bool:
    """Make and store the preview of the image `data` stored under `asset_key`. A preview is an optimisation:
    failing to make one is logged and returns False, never fails the render."""
    try:
        store.storage.put(preview_key(asset_key), make_preview(data))
    except Exception as err:  # noqa: BLE001 - the studio makes the preview itself when none was stored
        log.warning("no preview stored for %s: %s", asset_key, err)
        return False
    return True
