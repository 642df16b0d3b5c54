"""Choosing a planner from settings: `offline` (the deterministic builder's cut) or `openai` (a chat model)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import ValidationError
from core.planner.offline import OfflinePlanner
from core.planner.types import Planner
from core.settings import Settings

if TYPE_CHECKING:
    from core.openai_chat import RetryPolicy

PLANNERS = ("offline", "openai")


def default_planner(settings: Settings) -> str:
    """openai when a key is set, else offline (the refiner's rule)."""
    return "openai" if settings.openai_api_key is not None and settings.openai_api_key.get_secret_value() \
        else "offline"


def make_planner(settings: Settings, provider: str | None = None, *, retry: RetryPolicy | None = None) -> Planner:
    """The planner called `provider`, or the default; the OpenAI one takes the refiner's settings and retries."""
    chosen = (provider or default_planner(settings)).strip().lower()
    if chosen == "offline":
        return OfflinePlanner()
    if chosen == "openai":
        from core.planner.openai_planner import OpenAIPlanner  # the SDK is slow to import; only when needed
        from core.openai_chat import RetryPolicy

        if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
            raise ValidationError("The openai planner needs OPENAI_API_KEY; set it or use --provider offline")
        return OpenAIPlanner(
            api_key=settings.openai_api_key.get_secret_value(), model=settings.openai_model,
            base_url=settings.openai_base_url, temperature=settings.openai_temperature,
            timeout_s=max(settings.openai_timeout_s, 60.0),
            retry=retry or RetryPolicy(max_attempts=settings.refine_max_attempts))
    raise ValidationError(f"Unknown planner {chosen!r}; choose one of: {', '.join(PLANNERS)}")
