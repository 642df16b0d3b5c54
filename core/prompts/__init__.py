"""Prompt refinement: scene text → versioned, professional English image prompts (OpenAI or offline).

Modules: `types` (request / answer / Refiner protocol), `offline` and `openai_refiner` (the two providers),
`providers` (`make_refiner`), `context` (requests from the store, input hashes, staleness), `versions`
(append-only versions, selection, word diff), `style` (the style bible), `batch` (many frames at once).
"""

from typing import TYPE_CHECKING, Any

from core.prompts.batch import BatchSummary, frames_in_scope, refine_frames
from core.prompts.context import Staleness, build_request, prompt_staleness, request_hash, staleness_for_frames
from core.prompts.offline import OfflineRefiner
from core.prompts.providers import make_refiner
from core.prompts.style import get_style_bible, update_style_bible
from core.prompts.types import RefinedPrompt, RefineRequest, Refiner, StyleBibleData
from core.prompts.versions import (
    add_manual_version,
    diff_versions,
    get_version,
    list_versions,
    select_version,
    word_diff,
)

if TYPE_CHECKING:
    from core.prompts.openai_refiner import OpenAIRefiner, RetryPolicy


def __getattr__(name: str) -> Any:
    # The OpenAI SDK is imported on first use only (it is slow to import and most callers never need it).
    if name in ("OpenAIRefiner", "RetryPolicy"):
        from core.prompts import openai_refiner

        return getattr(openai_refiner, name)
    raise AttributeError(f"module 'core.prompts' has no attribute {name!r}")


__all__ = [
    "BatchSummary", "OfflineRefiner", "OpenAIRefiner", "RefineRequest", "RefinedPrompt", "Refiner",
    "RetryPolicy", "Staleness", "StyleBibleData", "add_manual_version", "build_request", "diff_versions",
    "frames_in_scope", "get_style_bible", "get_version", "list_versions", "make_refiner", "prompt_staleness",
    "refine_frames", "request_hash", "staleness_for_frames", "select_version", "update_style_bible", "word_diff",
]
