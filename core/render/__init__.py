"""Rendering: offline renderers (storyboard cards, push-in clips), media checks, and the provider seam."""

from core.render.media import MediaError, MediaInfo, verify_media
from core.render.offline_clip import render_clip
from core.render.offline_image import classify_shot_size, render_card
from core.render.providers import (
    InputImage,
    OfflineProvider,
    RemoteResult,
    RenderOutput,
    RenderProvider,
    RenderSpec,
    Submitted,
    make_provider,
)

__all__ = [
    "InputImage", "MediaError", "MediaInfo", "OfflineProvider", "RemoteResult", "RenderOutput", "RenderProvider",
    "RenderSpec", "Submitted", "classify_shot_size", "make_provider", "render_card", "render_clip", "verify_media",
]
