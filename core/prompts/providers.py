"""Choosing a refiner from settings, and the current template version of each provider (for staleness)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import ValidationError
from core.prompts.offline import OFFLINE_TEMPLATE_VERSION, OfflineRefiner
from core.prompts.template import SYSTEM_TEMPLATE_VERSION
from core.prompts.types import Refiner
from core.settings import Settings

if TYPE_CHECKING:
    from core.openai_chat import RetryPolicy

PROVIDERS = ("openai", "offline")
CURRENT_TEMPLATE_VERSIONS = {"openai": SYSTEM_TEMPLATE_VERSION, "offline": OFFLINE_TEMPLATE_VERSION}


def current_template_version(provider: str) -> str | None:
    """The template a fresh prompt from `provider` would use today; None for manual prompts."""
    return CURRENT_TEMPLATE_VERSIONS.get(provider)


def make_refiner(settings: Settings, provider: str | None = None, *, retry: RetryPolicy | None = None) -> Refiner:
    """The refiner for `provider`, or the configured default (openai when a key is set, else offline)."""
    chosen = (provider or settings.active_refiner).strip().lower()
    if chosen == "offline":
        return OfflineRefiner()
    if chosen == "openai":
        # Imported here: the SDK takes ~1 s to import, which every other CLI command should not pay.
        from core.openai_chat import RetryPolicy
        from core.prompts.openai_refiner import OpenAIRefiner

        if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
            raise ValidationError("The openai refiner needs OPENAI_API_KEY; set it or use --provider offline")
        return OpenAIRefiner(
            api_key=settings.openai_api_key.get_secret_value(),
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            temperature=settings.openai_temperature,
            timeout_s=settings.openai_timeout_s,
            retry=retry or RetryPolicy(max_attempts=settings.refine_max_attempts),
        )
    raise ValidationError(f"Unknown refiner {chosen!r}; choose one of: {', '.join(PROVIDERS)}")
