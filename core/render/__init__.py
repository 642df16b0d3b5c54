"""Rendering: offline renderers (storyboard cards, push-in clips), media checks, and the provider seam.

The renderers are loaded on first use (`core.render.render_clip` pulls in PyAV and NumPy), so importing the job
queue from a page stays cheap.
"""

from __future__ import annotations

from typing import Any

from core.render.media import MediaError, MediaInfo, verify_media
from core.render.providers import (
    InputImage,
    OfflineProvider,
    RemoteResult,
    RenderOutput,
    RenderProvider,
    RenderSpec,
    Submitted,
    make_provider,
    make_providers,
)

_LAZY = {"render_card": "core.render.offline_image", "classify_shot_size": "core.render.offline_image",
         "render_clip": "core.render.offline_clip"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'core.render' has no attribute {name!r}")


__all__ = [
    "InputImage", "MediaError", "MediaInfo", "OfflineProvider", "RemoteResult", "RenderOutput", "RenderProvider",
    "RenderSpec", "Submitted", "classify_shot_size", "make_provider", "make_providers", "render_card",
    "render_clip", "verify_media",
]
